package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/containment"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/audit"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
)

const containmentCols = `id, model, version, action, match_feature, match_value, match_class, fallback_version, reason, incident_id,
	policy, created_by, created_at, until_kind, expires_at, lift_after, lifted_at, lifted_by, lift_reason`

func scanContainment(r scanner, now time.Time) (*containment.Containment, error) {
	var c containment.Containment
	var feat, val, class, action, until string
	var created, expires, liftAfter, lifted int64
	if err := r.Scan(&c.ID, &c.Model, &c.Version, &action, &feat, &val, &class, &c.FallbackVersion, &c.Reason, &c.IncidentID,
		&c.Policy, &c.CreatedBy, &created, &until, &expires, &liftAfter, &lifted, &c.LiftedBy, &c.LiftReason); err != nil {
		return nil, err
	}
	c.Action, c.Until = containment.Action(action), containment.Until(until)
	if feat != "" || val != "" || class != "" {
		c.Match = &containment.Match{Feature: feat, Value: val, InputClass: class}
	}
	c.CreatedAt, c.ExpiresAt, c.LiftedAt = fromNanos(created), fromNanos(expires), fromNanos(lifted)
	c.LiftAfterSeconds = time.Duration(liftAfter).Seconds()
	c.Active = c.IsActive(now)
	return &c, nil
}

// describe is the one-line account of a containment on timelines.
func describe(c *containment.Containment) string {
	target := c.Model
	if c.Version != "" {
		target += " " + c.Version
	}
	s := fmt.Sprintf("#%d %s %s", c.ID, c.Action, target)
	switch c.Action {
	case containment.Fallback:
		s += " → " + c.FallbackVersion
	case containment.BlockInputs:
		if c.Match.InputClass != "" {
			s += " input_class=" + c.Match.InputClass
		} else {
			s += " " + c.Match.Feature + "=" + c.Match.Value
		}
	}
	return s + ": " + truncate(c.Reason, 160)
}

// knownModel says whether any incident or change mentions model: a containment of a
// model incidentd never heard of is most likely a typo that would contain nothing.
func (s *DB) knownModel(ctx context.Context, tx *sql.Tx, model string) (bool, error) {
	var n int
	err := s.queryRow(ctx, tx, `SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM incidents WHERE model = ? LIMIT 1) a)
		+ (SELECT COUNT(*) FROM (SELECT 1 FROM changes WHERE model = ? LIMIT 1) b)`, model, model).Scan(&n)
	return n > 0, err
}

// ApplyContainment stores a validated containment (containment.Request.Validate) applied
// by actor, with its audit entry and, when it names an incident, a timeline entry there.
// Everything is one transaction: a refusal leaves nothing behind.
func (s *DB) ApplyContainment(ctx context.Context, c containment.Containment, actor string) (*containment.Containment, error) {
	if strings.TrimSpace(actor) == "" {
		return nil, invalid("actor is required")
	}
	var out *containment.Containment
	err := s.write(ctx, "containment_apply", func(ctx context.Context, tx *sql.Tx) error {
		now := s.now().UTC()
		if c.IncidentID != 0 {
			if _, err := s.loadIncident(ctx, tx, c.IncidentID); err != nil {
				if errors.Is(err, ErrNotFound) {
					return invalid("incident: no incident %d", c.IncidentID)
				}
				return err
			}
		} else {
			known, err := s.knownModel(ctx, tx, c.Model)
			if err != nil {
				return fmt.Errorf("look up model: %w", err)
			}
			if !known {
				return invalid("model: no incident or change mentions model %q; check the name (or record a change for it first)", c.Model)
			}
		}
		if err := s.checkActiveBound(ctx, tx, c.Model, now); err != nil {
			return err
		}
		var err error
		out, err = s.insertContainment(ctx, tx, c, actor, "", now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Bounds of the active containments: what an application polls must fit in one listing,
// and a flood of applies must not grow it without end.
const (
	MaxActivePerModel = 50
	MaxActive         = MaxContainmentPage
)

func (s *DB) checkActiveBound(ctx context.Context, tx *sql.Tx, model string, now time.Time) error {
	var perModel, total int
	if err := s.queryRow(ctx, tx, `SELECT COALESCE(SUM(CASE WHEN model = ? THEN 1 ELSE 0 END), 0), COUNT(*) FROM containments
		WHERE lifted_at = 0 AND (expires_at = 0 OR expires_at > ?)`, model, nanos(now)).Scan(&perModel, &total); err != nil {
		return fmt.Errorf("count active containments: %w", err)
	}
	switch {
	case perModel >= MaxActivePerModel:
		return invalid("model: %d containments of %q are already active, the most allowed; lift some first", perModel, model)
	case total >= MaxActive:
		return invalid("model: %d containments are already active, the most allowed; lift some first", total)
	}
	return nil
}

func (s *DB) insertContainment(ctx context.Context, tx *sql.Tx, c containment.Containment, actor, policy string, now time.Time) (*containment.Containment, error) {
	c.CreatedBy, c.CreatedAt, c.Policy = actor, now, policy
	var m containment.Match
	if c.Match != nil {
		m = *c.Match
	}
	liftAfter := int64(c.LiftAfterSeconds * float64(time.Second))
	if err := s.queryRow(ctx, tx, `INSERT INTO containments (`+strings.TrimPrefix(containmentCols, "id, ")+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', '') RETURNING id`,
		c.Model, c.Version, string(c.Action), m.Feature, m.Value, m.InputClass, c.FallbackVersion, c.Reason, c.IncidentID,
		policy, actor, nanos(now), string(c.Until), nanos(c.ExpiresAt), liftAfter).Scan(&c.ID); err != nil {
		return nil, fmt.Errorf("insert containment: %w", err)
	}
	c.Active = c.IsActive(now)
	if _, err := s.exec(ctx, tx, `UPDATE containment_head SET seq = seq + 1 WHERE id = 1`); err != nil {
		return nil, err
	}
	if c.IncidentID != 0 {
		if err := s.addTimeline(ctx, tx, incident.TimelineEntry{IncidentID: c.IncidentID, At: now, Actor: actor, Kind: "containment_applied", Note: describe(&c)}); err != nil {
			return nil, err
		}
	}
	if err := s.enqueueHooks(ctx, tx, &c, "containment.applied", now); err != nil {
		return nil, err
	}
	after, _ := json.Marshal(c)
	return &c, s.appendAudit(ctx, tx, audit.Entry{At: now, Actor: actor, Action: "containment.applied", Object: "containment/" + strconv.FormatInt(c.ID, 10), After: after})
}

// LiftContainment ends an active containment. Lifting one already lifted or expired is
// refused (containment.ErrNotActive) and changes nothing.
func (s *DB) LiftContainment(ctx context.Context, id int64, actor, reason string) (*containment.Containment, error) {
	if strings.TrimSpace(actor) == "" {
		return nil, invalid("actor is required")
	}
	if len(reason) > containment.MaxReasonBytes {
		return nil, invalid("reason: at most %d bytes", containment.MaxReasonBytes)
	}
	var out *containment.Containment
	err := s.write(ctx, "containment_lift", func(ctx context.Context, tx *sql.Tx) error {
		var err error
		out, err = s.liftTx(ctx, tx, id, actor, reason, s.now().UTC())
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *DB) liftTx(ctx context.Context, tx *sql.Tx, id int64, actor, reason string, now time.Time) (*containment.Containment, error) {
	c, err := scanContainment(s.queryRow(ctx, tx, `SELECT `+containmentCols+` FROM containments WHERE id = ?`+s.d.ForUpdate, id), now)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("containment %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load containment %d: %w", id, err)
	}
	if !c.LiftedAt.IsZero() {
		return nil, fmt.Errorf("containment %d was lifted at %s by %s: %w", id, c.LiftedAt.Format(time.RFC3339), c.LiftedBy, containment.ErrNotActive)
	}
	before, _ := json.Marshal(c)
	c.LiftedAt, c.LiftedBy, c.LiftReason = now, actor, reason
	c.Active = false
	if _, err := s.exec(ctx, tx, `UPDATE containments SET lifted_at = ?, lifted_by = ?, lift_reason = ? WHERE id = ?`, nanos(now), actor, reason, id); err != nil {
		return nil, err
	}
	if _, err := s.exec(ctx, tx, `UPDATE containment_head SET seq = seq + 1 WHERE id = 1`); err != nil {
		return nil, err
	}
	if c.IncidentID != 0 {
		note := fmt.Sprintf("#%d %s %s lifted", c.ID, c.Action, c.Model)
		if reason != "" {
			note += ": " + truncate(reason, 160)
		}
		if err := s.addTimeline(ctx, tx, incident.TimelineEntry{IncidentID: c.IncidentID, At: now, Actor: actor, Kind: "containment_lifted", Note: note}); err != nil {
			return nil, err
		}
	}
	if err := s.enqueueHooks(ctx, tx, c, "containment.lifted", now); err != nil {
		return nil, err
	}
	after, _ := json.Marshal(c)
	return c, s.appendAudit(ctx, tx, audit.Entry{At: now, Actor: actor, Action: "containment.lifted", Object: "containment/" + strconv.FormatInt(id, 10), Before: before, After: after})
}

// GetContainment reads one containment.
func (s *DB) GetContainment(ctx context.Context, id int64) (*containment.Containment, error) {
	c, err := scanContainment(s.readRow(ctx, `SELECT `+containmentCols+` FROM containments WHERE id = ?`, id), s.now())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("containment %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, s.unavailable(err)
	}
	return c, nil
}

// ContainmentFilter selects containments; zero fields do not filter.
type ContainmentFilter struct {
	Model    string
	Incident int64
	// Active: only those in force now (not lifted, not expired).
	Active bool
	Limit  int
}

// MaxContainmentPage bounds a listing.
const MaxContainmentPage = 1000

// ListContainments returns containments oldest first (the order Decide breaks ties by).
func (s *DB) ListContainments(ctx context.Context, f ContainmentFilter) ([]containment.Containment, error) {
	if f.Limit <= 0 {
		f.Limit = 500
	}
	if f.Limit > MaxContainmentPage {
		return nil, invalid("limit: at most %d", MaxContainmentPage)
	}
	now := s.now()
	var where []string
	var args []any
	if f.Active {
		where = append(where, "lifted_at = 0 AND (expires_at = 0 OR expires_at > ?)")
		args = append(args, nanos(now))
	}
	if f.Model != "" {
		where = append(where, "model = ?")
		args = append(args, f.Model)
	}
	if f.Incident != 0 {
		where = append(where, "incident_id = ?")
		args = append(args, f.Incident)
	}
	q := `SELECT ` + containmentCols + ` FROM containments`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	// The newest Limit, returned oldest first.
	q = `SELECT * FROM (` + q + ` ORDER BY id DESC LIMIT ?) t ORDER BY id`
	args = append(args, f.Limit)
	rows, err := s.db.QueryContext(ctx, s.d.q(q), args...)
	if err != nil {
		return nil, s.unavailable(err)
	}
	defer rows.Close()
	out := []containment.Containment{}
	for rows.Next() {
		c, err := scanContainment(rows, now)
		if err != nil {
			return nil, s.unavailable(err)
		}
		out = append(out, *c)
	}
	return out, s.unavailable(rows.Err())
}

// ActiveContainments counts the containments in force by model and action, for
// incidentd_containments_active.
func (s *DB) ActiveContainments(ctx context.Context) (map[[2]string]int, error) {
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT model, action, COUNT(*) FROM containments
		WHERE lifted_at = 0 AND (expires_at = 0 OR expires_at > ?) GROUP BY model, action`), nanos(s.now()))
	if err != nil {
		return nil, s.unavailable(err)
	}
	defer rows.Close()
	out := map[[2]string]int{}
	for rows.Next() {
		var m, a string
		var n int
		if err := rows.Scan(&m, &a, &n); err != nil {
			return nil, s.unavailable(err)
		}
		out[[2]string{m, a}] = n
	}
	return out, s.unavailable(rows.Err())
}

// Outcomes of an automatic policy on an incident.
const (
	OutcomeApplied     = "applied"
	OutcomeDryRun      = "dry_run"
	OutcomeRateLimited = "rate_limited"
	OutcomeSkipped     = "skipped"
)

// PolicyRun is what one policy did for one incident.
type PolicyRun struct {
	Incident    int64
	Policy      string
	Outcome     string
	Containment *containment.Containment // when applied (or, dry run, what would have been)
	Note        string
}

// AutoContainLookback bounds the incidents automation looks at: those incidentd opened
// within it (opened, not detected: an alert with a long `for` starts long before it fires).
const AutoContainLookback = time.Hour

// AutoContain applies the automatic policies to open incidents opened in the last
// AutoContainLookback that a policy matches and has not run for yet. Each (incident,
// policy) runs once across all replicas: its row in containment_policy_runs is inserted
// in the same transaction as the containment, and a replica that loses the race inserts
// nothing. The hourly cap is counted under the lock of containment_head, so two replicas
// cannot both take the last slot.
func (s *DB) AutoContain(ctx context.Context, cfg *containment.Compiled) ([]PolicyRun, error) {
	if cfg == nil || !cfg.Enabled || len(cfg.Policies) == 0 {
		return nil, nil
	}
	now := s.now().UTC()
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT `+incidentCols+` FROM incidents
		WHERE state IN ('detected', 'triaged', 'contained', 'investigating') AND created_at >= ? ORDER BY id LIMIT 500`),
		nanos(now.Add(-AutoContainLookback)))
	if err != nil {
		return nil, s.unavailable(err)
	}
	var incs []*Incident
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			rows.Close()
			return nil, s.unavailable(err)
		}
		incs = append(incs, inc)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.unavailable(err)
	}
	var out []PolicyRun
	for _, inc := range incs {
		ls := make(map[string]string, len(inc.Labels)+1)
		for k, v := range inc.Labels {
			ls[k] = v
		}
		if _, ok := ls["tier"]; !ok && inc.Tier != "" {
			ls["tier"] = string(inc.Tier) // policies may match the incident's tier
		}
		for _, pl := range cfg.Plan(containment.Incident{ID: inc.ID, Model: inc.Model, Labels: ls}) {
			var done int
			if err := s.readRow(ctx, `SELECT COUNT(*) FROM containment_policy_runs WHERE incident_id = ? AND policy = ?`, inc.ID, pl.Policy).Scan(&done); err != nil {
				return out, s.unavailable(err)
			}
			if done > 0 {
				continue
			}
			run, err := s.runPolicy(ctx, cfg, inc.ID, pl)
			if err != nil {
				return out, err
			}
			if run != nil {
				out = append(out, *run)
			}
		}
	}
	return out, nil
}

func (s *DB) runPolicy(ctx context.Context, cfg *containment.Compiled, incID int64, pl containment.Planned) (*PolicyRun, error) {
	var run *PolicyRun
	err := s.write(ctx, "containment_auto", func(ctx context.Context, tx *sql.Tx) error {
		run = nil
		now := s.now().UTC()
		var seq int64
		if err := s.queryRow(ctx, tx, `SELECT seq FROM containment_head WHERE id = 1`+s.d.ForUpdate).Scan(&seq); err != nil {
			return fmt.Errorf("containment head: %w", err)
		}
		inc, err := s.loadIncident(ctx, tx, incID)
		if err != nil {
			return err
		}
		if !inc.State.Open() {
			return nil // resolved meanwhile: nothing to contain
		}
		r := PolicyRun{Incident: incID, Policy: pl.Policy}
		ct := pl.Containment
		switch {
		case pl.Skip != "":
			r.Outcome, r.Note = OutcomeSkipped, fmt.Sprintf("policy %s matched but %s", pl.Policy, pl.Skip)
		case cfg.DryRun:
			r.Outcome, r.Note = OutcomeDryRun, fmt.Sprintf("dry run: policy %s would apply %s %s", pl.Policy, ct.Action, describeTarget(&ct))
		default:
			var n int
			if err := s.queryRow(ctx, tx, `SELECT COUNT(*) FROM containment_policy_runs WHERE outcome = 'applied' AND at > ?`,
				nanos(now.Add(-time.Hour))).Scan(&n); err != nil {
				return fmt.Errorf("count automatic containments: %w", err)
			}
			if !containment.Allow(n, cfg.MaxActionsPerHour) {
				r.Outcome, r.Note = OutcomeRateLimited, fmt.Sprintf("policy %s not applied: %d automatic containments in the last hour, the cap is %d (containment.max_actions_per_hour)",
					pl.Policy, n, cfg.MaxActionsPerHour)
			} else {
				r.Outcome = OutcomeApplied
			}
		}
		if r.Outcome == OutcomeApplied {
			if err := s.checkActiveBound(ctx, tx, ct.Model, now); err != nil {
				r.Outcome, r.Note = OutcomeSkipped, fmt.Sprintf("policy %s not applied: %v", pl.Policy, err)
			}
		}
		var cid int64
		if r.Outcome == OutcomeApplied {
			c, err := s.insertContainment(ctx, tx, ct, SystemActor, pl.Policy, now)
			if err != nil {
				return err
			}
			r.Containment, cid = c, c.ID
		} else {
			r.Containment = &ct
			if err := s.addTimeline(ctx, tx, incident.TimelineEntry{IncidentID: incID, At: now, Actor: SystemActor, Kind: "containment_" + r.Outcome, Note: r.Note}); err != nil {
				return err
			}
		}
		res, err := s.exec(ctx, tx, `INSERT INTO containment_policy_runs (incident_id, policy, at, outcome, containment_id) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (incident_id, policy) DO NOTHING`, incID, pl.Policy, nanos(now), r.Outcome, cid)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			// Another replica ran this policy for this incident first: undo ours.
			return errAlreadyRun
		}
		run = &r
		return nil
	})
	if errors.Is(err, errAlreadyRun) {
		return nil, nil
	}
	return run, err
}

var errAlreadyRun = errors.New("policy already ran for this incident")

func describeTarget(c *containment.Containment) string {
	s := c.Model
	if c.Version != "" {
		s += " " + c.Version
	}
	if c.Action == containment.Fallback {
		s += " → " + c.FallbackVersion
	}
	return s
}

// LiftDue lifts, as incidentd, the containments that expired or whose incident resolved
// their lift_after ago; it returns those it lifted.
func (s *DB) LiftDue(ctx context.Context) ([]containment.Containment, error) {
	now := s.now().UTC()
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT `+prefixed("c.", containmentCols)+`, COALESCE(i.resolved_at, 0), COALESCE(i.state, '')
		FROM containments c LEFT JOIN incidents i ON i.id = c.incident_id
		WHERE c.lifted_at = 0 AND ((c.expires_at != 0 AND c.expires_at <= ?) OR (c.until_kind = 'resolved' AND i.resolved_at > 0))
		ORDER BY c.id LIMIT 200`), nanos(now))
	if err != nil {
		return nil, s.unavailable(err)
	}
	type due struct {
		id     int64
		reason string
	}
	var dues []due
	for rows.Next() {
		var resolved int64
		var state string
		var c containment.Containment
		sc := scanFunc(func(dest ...any) error { return rows.Scan(append(dest, &resolved, &state)...) })
		cp, err := scanContainment(sc, now)
		if err != nil {
			rows.Close()
			return nil, s.unavailable(err)
		}
		c = *cp
		var resolvedAt time.Time
		if st := incident.State(state); st != "" && !st.Open() {
			resolvedAt = fromNanos(resolved)
		}
		if ok, why := containment.LiftDue(&c, resolvedAt, now); ok {
			dues = append(dues, due{c.ID, why})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.unavailable(err)
	}
	var out []containment.Containment
	for _, d := range dues {
		c, err := s.LiftContainment(ctx, d.id, SystemActor, d.reason)
		if errors.Is(err, containment.ErrNotActive) {
			continue // lifted meanwhile, by a person or another replica
		}
		if err != nil {
			return out, err
		}
		out = append(out, *c)
	}
	return out, nil
}

type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
