package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/audit"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
)

// SystemActor is the actor of changes incidentd makes itself.
const SystemActor = incident.SystemActor

// part is an incident group of a notification, with its labels encoded as a new incident
// stores them (a map, never null) before the writer.
type part struct {
	incident.Group
	labelsJSON []byte
}

// encodedAlert is an alert's labels and annotations as stored. They are encoded before
// the write so that the writer's serial section runs only SQL.
type encodedAlert struct{ labels, annotations string }

func encodeAlerts(n *incident.Notification) map[*incident.Alert]encodedAlert {
	out := make(map[*incident.Alert]encodedAlert, len(n.Alerts))
	for i := range n.Alerts {
		a := &n.Alerts[i]
		out[a] = encodedAlert{labels: string(marshalStringMap(a.Labels)), annotations: string(marshalStringMap(a.Annotations))}
	}
	return out
}

// policy is the part of the configuration the lifecycle rules apply at ingest.
func (c Config) policy() incident.Policy {
	return incident.Policy{AutoResolve: c.AutoResolve, ReopenWindow: c.ReopenWindow}
}

// Ingest stores a notification; it returns after the commit. What the notification does
// to incidents is decided by incident.PlanGroup and incident.Settle; the store reads the
// state they decide from and persists their effects.
func (s *DB) Ingest(ctx context.Context, n *incident.Notification) (incident.Outcome, error) {
	cfg := s.config(ctx)
	groups := incident.Groups(n, cfg.GroupBy)
	parts := make([]part, len(groups))
	for i, g := range groups {
		l := g.Labels
		if l == nil {
			l = map[string]string{}
		}
		parts[i] = part{Group: g, labelsJSON: marshalStringMap(l)}
	}
	// Repeats, retries and every HA replica re-send what is already stored; recognising
	// them with a read keeps them out of the writer and its fsyncs. What is read is
	// committed, so answering 200 is still "durable before acknowledged".
	if dup, err := s.allRecorded(ctx, n); err != nil {
		return incident.Outcome{}, err
	} else if dup {
		return incident.Outcome{Duplicates: len(n.Alerts)}, nil
	}
	enc := encodeAlerts(n)
	var out incident.Outcome
	err := s.write(ctx, "ingest", func(ctx context.Context, tx *sql.Tx) error {
		u := &ingestTx{unit: unit{s: s, tx: tx, now: s.now().UTC()}, n: n, enc: enc, policy: cfg.policy()}
		out = incident.Outcome{}
		for _, p := range parts {
			if err := u.group(ctx, p, &out); err != nil {
				return fmt.Errorf("group %q: %w", p.Key, err)
			}
		}
		e, changed := incident.IngestAudit(n, out, u.now)
		if !changed {
			return nil
		}
		return u.appendAudit(ctx, e)
	})
	if err != nil {
		return incident.Outcome{}, err
	}
	return out, nil
}

// allRecorded reports whether every transition of n is already stored.
func (s *DB) allRecorded(ctx context.Context, n *incident.Notification) (bool, error) {
	if len(n.Alerts) == 0 || len(n.Alerts) > rowsPerStatement {
		return false, nil
	}
	if s.d.SingleWriter {
		// SQLite index lookups finish sooner than the driver can arm the interruption a
		// cancellable context costs it on every statement (a goroutine and a progress
		// handler), and a WAL reader never waits for a lock. A PostgreSQL query keeps the
		// request's context: it travels over a network that may hang.
		ctx = context.WithoutCancel(ctx)
	}
	// Most notifications that are not repeats carry a new transition in their first
	// alert already; one primary-key probe rules them out at a fraction of the cost of
	// checking the whole set.
	a := n.Alerts[0]
	var one int
	switch err := s.readRow(ctx, `SELECT 1 FROM alert_transitions WHERE fingerprint = ? AND starts_at = ? AND status = ? AND ends_at = ?`,
		a.Fingerprint, nanos(a.StartsAt), string(a.Status), nanos(a.EndsAt)).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, s.unavailable(err)
	}
	if len(n.Alerts) == 1 {
		return true, nil
	}
	uniq := map[transition]bool{}
	args := make([]any, 0, 4*len(n.Alerts))
	for i := range n.Alerts {
		k := transitionOf(&n.Alerts[i])
		if !uniq[k] {
			uniq[k] = true
			args = append(args, k.fp, k.start, k.status, k.ends)
		}
	}
	q := `SELECT COUNT(*) FROM alert_transitions WHERE (fingerprint, starts_at, status, ends_at) IN (VALUES ` +
		strings.TrimSuffix(strings.Repeat("(CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT)), ", len(uniq)), ", ") + `)`
	var cnt int
	if err := s.readRow(ctx, q, args...).Scan(&cnt); err != nil {
		return false, s.unavailable(err)
	}
	return cnt == len(uniq), nil
}

// transition is the key of alert_transitions.
type transition struct {
	fp, status  string
	start, ends int64
}

func transitionOf(a *incident.Alert) transition {
	return transition{a.Fingerprint, string(a.Status), nanos(a.StartsAt), nanos(a.EndsAt)}
}

// unit is one write transaction: the store, the transaction and the time every change made
// in it is recorded at.
type unit struct {
	s   *DB
	tx  *sql.Tx
	now time.Time
}

func (u *unit) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return u.s.exec(ctx, u.tx, query, args...)
}

func (u *unit) addTimeline(ctx context.Context, e incident.TimelineEntry) error {
	return u.s.addTimeline(ctx, u.tx, e)
}

func (u *unit) appendAudit(ctx context.Context, e audit.Entry) error {
	return u.s.appendAudit(ctx, u.tx, e)
}

// ingestTx is the unit of work of one notification.
type ingestTx struct {
	unit
	n      *incident.Notification
	enc    map[*incident.Alert]encodedAlert
	policy incident.Policy
}

// errGuessFailed reports that an assumption of the optimistic ingest path did not hold;
// the group is rolled back to its savepoint and ingested the careful way.
var errGuessFailed = errors.New("optimistic ingest: guess failed")

// group stores one incident group of the notification.
//
// With a single writer (SQLite) nothing can change between a read and a write of the same
// transaction, and a notification that is not a repeat usually brings only new
// transitions of alerts never seen. The first attempt bets on that: plain inserts whose
// row counts confirm the bet instead of INSERT … RETURNING (which costs SQLite twice a
// plain insert) and no lookup of existing alerts when every new transition is a firing
// one. When a count disagrees, the group's savepoint undoes the attempt and the careful
// path, the one PostgreSQL always takes, runs instead.
func (u *ingestTx) group(ctx context.Context, p part, out *incident.Outcome) error {
	if !u.s.d.SingleWriter {
		return u.groupOnce(ctx, p, out, false)
	}
	if _, err := u.exec(ctx, `SAVEPOINT ingest_group`); err != nil {
		return err
	}
	saved := *out
	saved.Incidents = slices.Clone(out.Incidents)
	err := u.groupOnce(ctx, p, out, true)
	if errors.Is(err, errGuessFailed) {
		*out = saved
		if _, err := u.exec(ctx, `ROLLBACK TO ingest_group`); err != nil {
			return err
		}
		err = u.groupOnce(ctx, p, out, false)
	}
	if err != nil {
		// The writer rolls back the whole write, this savepoint included.
		return err
	}
	_, err = u.exec(ctx, `RELEASE ingest_group`)
	return err
}

// groupOnce reads what the lifecycle rules need, lets them plan, and persists the plan.
func (u *ingestTx) groupOnce(ctx context.Context, p part, out *incident.Outcome, optimistic bool) error {
	curID, known, err := u.groupIncident(ctx, p.Key)
	if err != nil {
		return err
	}
	var cur *Incident
	if curID != 0 {
		if cur, err = u.s.loadIncident(ctx, u.tx, curID); err != nil {
			return err
		}
	}
	fresh, err := u.recordTransitions(ctx, p.Alerts, optimistic)
	if err != nil {
		return err
	}
	out.NewTransitions += len(fresh)
	out.Duplicates += len(p.Alerts) - len(fresh)
	// A firing transition never recorded is, but for out-of-order retries, an alert never
	// seen: the optimistic path skips the lookup and lets the insert's count confirm it.
	assumeNew := optimistic && !slices.ContainsFunc(fresh, (*incident.Alert).Resolved)
	var stored map[incident.Occurrence]incident.StoredAlert
	if !assumeNew {
		if stored, err = u.findAlerts(ctx, fresh); err != nil {
			return err
		}
	}
	in := incident.Input{Group: p.Group, GroupKnown: known, CommonAnnotations: u.n.CommonAnnotations, Transitions: fresh,
		Stored: stored, Policy: u.policy, Now: u.now}
	if cur != nil {
		r := recordOf(cur)
		in.Incident = &r
	}
	plan := incident.PlanGroup(in)
	out.Orphans += plan.Orphans

	if err := u.updateAlerts(ctx, plan.Update); err != nil {
		return err
	}
	var opened *Incident
	if plan.Open != nil {
		if opened, err = u.insertIncident(ctx, p, plan.Open); err != nil {
			return err
		}
	}
	id := func(id int64) int64 {
		if id == incident.NewIncident {
			return opened.ID
		}
		return id
	}
	for _, e := range plan.Timeline {
		e.IncidentID = id(e.IncidentID)
		if err := u.addTimeline(ctx, e); err != nil {
			return err
		}
	}
	if plan.SetGroup {
		if err := u.setGroupIncident(ctx, p.Key, id(plan.GroupIncident), known); err != nil {
			return err
		}
	}
	inserted, err := u.insertAlerts(ctx, p.Key, plan.Insert, id)
	if err != nil {
		return err
	}
	if assumeNew && inserted != len(plan.Insert) {
		return errGuessFailed
	}

	// Incidents are settled, and so locked, in ID order: concurrent replicas cannot deadlock.
	ids := make([]int64, 0, len(plan.Deltas))
	for i := range plan.Deltas {
		ids = append(ids, id(i))
	}
	slices.Sort(ids)
	for _, i := range ids {
		var inc *Incident
		var rec incident.Record
		switch {
		case opened != nil && i == opened.ID:
			inc, rec = opened, plan.Open.Record
			rec.ID = i
		case cur != nil && i == cur.ID:
			inc, rec = cur, *plan.Incident
		default:
			if inc, err = u.s.loadIncident(ctx, u.tx, i); err != nil {
				return err
			}
			rec = recordOf(inc)
		}
		d := plan.Deltas[i]
		if opened != nil && i == opened.ID {
			d = plan.Deltas[incident.NewIncident]
		}
		if err := u.settle(ctx, inc, incident.Settle(rec, d, u.policy, u.now)); err != nil {
			return err
		}
		out.Incidents = appendUnique(out.Incidents, i)
	}
	if plan.Incident != nil && len(ids) == 0 {
		out.Incidents = appendUnique(out.Incidents, plan.Incident.ID)
	}
	return nil
}

// settle persists an incident's settlement; orig is the incident as stored.
func (u *ingestTx) settle(ctx context.Context, orig *Incident, st incident.Settlement) error {
	if st.Resolved {
		var lastEnd sql.NullInt64
		if err := u.s.queryRow(ctx, u.tx, `SELECT MAX(ends_at) FROM alerts WHERE incident_id = ?`, orig.ID).Scan(&lastEnd); err != nil {
			return fmt.Errorf("last alert end: %w", err)
		}
		st.ResolveAt(fromNanos(lastEnd.Int64))
	}
	for _, e := range st.Timeline {
		if err := u.addTimeline(ctx, e); err != nil {
			return err
		}
	}
	inc := *orig
	inc.setRecord(st.Record)
	return u.s.saveIncident(ctx, u.tx, &inc, orig)
}

// updateAlerts changes stored occurrences. A resolution is conditional on the stored
// status: findAlerts locked the rows, so a writer of another group (the same alert routed
// twice) cannot have resolved it since, and a count that says otherwise is an error.
func (u *ingestTx) updateAlerts(ctx context.Context, ups []incident.AlertUpdate) error {
	for _, up := range ups {
		if !up.Resolve {
			if _, err := u.exec(ctx, `UPDATE alerts SET ends_at = ?, last_change = ? WHERE id = ? AND ends_at < ?`,
				nanos(up.EndsAt), nanos(u.now), up.ID, nanos(up.EndsAt)); err != nil {
				return err
			}
			continue
		}
		res, err := u.exec(ctx, `UPDATE alerts SET status = 'resolved', ends_at = ?, last_change = ? WHERE id = ? AND status = 'firing'`,
			nanos(up.EndsAt), nanos(u.now), up.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("resolve alert %d: %w", up.ID, err)
		} else if n != 1 {
			return fmt.Errorf("resolve alert %d: %w: it changed after it was read", up.ID, ErrUnavailable)
		}
	}
	return nil
}

// recordOf is the part of a stored incident the lifecycle rules decide on.
func recordOf(i *Incident) incident.Record {
	return incident.Record{ID: i.ID, State: i.State, Tier: i.Tier, AlertTier: i.AlertTier,
		DetectedAt: i.DetectedAt, TriagedAt: i.TriagedAt, ContainedAt: i.ContainedAt, InvestigatingAt: i.InvestigAt,
		ResolvedAt: i.ResolvedAt, ReviewedAt: i.ReviewedAt, ResolvedBy: i.ResolvedBy, ReopenCount: i.ReopenCount,
		AlertsFiring: i.AlertsFiring, AlertsTotal: i.AlertsTotal, UpdatedAt: i.UpdatedAt}
}

// setRecord copies a decided record onto the incident.
func (i *Incident) setRecord(r incident.Record) {
	i.State, i.Tier, i.AlertTier = r.State, r.Tier, r.AlertTier
	i.DetectedAt, i.TriagedAt, i.ContainedAt, i.InvestigAt = r.DetectedAt, r.TriagedAt, r.ContainedAt, r.InvestigatingAt
	i.ResolvedAt, i.ReviewedAt, i.ResolvedBy, i.ReopenCount = r.ResolvedAt, r.ReviewedAt, r.ResolvedBy, r.ReopenCount
	i.AlertsFiring, i.AlertsTotal, i.UpdatedAt = r.AlertsFiring, r.AlertsTotal, r.UpdatedAt
}

// insertIncident inserts the incident a plan opens and returns it as stored.
func (u *ingestTx) insertIncident(ctx context.Context, p part, o *incident.Opening) (*Incident, error) {
	inc := &Incident{Incident: incidentapi.Incident{GroupKey: o.GroupKey, Title: o.Title, Summary: o.Summary, RunbookURL: o.RunbookURL,
		Team: o.Team, Model: o.Model, Labels: o.Labels, CreatedAt: o.CreatedAt}}
	inc.setRecord(o.Record)
	inc.labelsJSON = p.labelsJSON // o.Labels is a copy of the group's labels
	if err := u.s.insertIncident(ctx, u.tx, inc); err != nil {
		return nil, err
	}
	return inc, nil
}

func appendUnique(s []int64, v int64) []int64 {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// rowsPerStatement bounds multi-row statements; a handful of distinct arities keeps the
// prepared-statement cache small while one statement still covers a typical group.
const rowsPerStatement = 32

func chunks[T any](xs []T, n int) [][]T {
	var out [][]T
	for len(xs) > n {
		out = append(out, xs[:n])
		xs = xs[n:]
	}
	if len(xs) > 0 {
		out = append(out, xs)
	}
	return out
}

func placeholders(rows, cols int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}

// recordTransitions inserts every (occurrence, status, endsAt) of the alerts and returns
// the alerts whose transition was not recorded before — all in a few statements, since
// per-statement cost dominates ingest on SQLite. Optimistic, it bets that every transition
// is new and fails with errGuessFailed if the inserted row count says otherwise.
func (u *ingestTx) recordTransitions(ctx context.Context, alerts []*incident.Alert, optimistic bool) ([]*incident.Alert, error) {
	byKey := map[transition]bool{}
	var uniq []*incident.Alert
	for _, a := range alerts {
		k := transitionOf(a)
		if !byKey[k] {
			byKey[k] = true
			uniq = append(uniq, a)
		}
	}
	const insert = `INSERT INTO alert_transitions (fingerprint, starts_at, status, ends_at, received_at, external_url) VALUES `
	const conflict = ` ON CONFLICT (fingerprint, starts_at, status, ends_at) DO NOTHING`
	args := func(c []*incident.Alert) []any {
		args := make([]any, 0, 6*len(c))
		for _, a := range c {
			args = append(args, a.Fingerprint, nanos(a.StartsAt), string(a.Status), nanos(a.EndsAt), nanos(u.now), u.n.ExternalURL)
		}
		return args
	}
	if optimistic {
		inserted := 0
		for _, c := range chunks(uniq, rowsPerStatement) {
			res, err := u.exec(ctx, insert+placeholders(len(c), 6)+conflict, args(c)...)
			if err != nil {
				return nil, fmt.Errorf("record transitions: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return nil, fmt.Errorf("record transitions: %w", err)
			}
			inserted += int(n)
		}
		if inserted != len(uniq) {
			return nil, errGuessFailed
		}
		return uniq, nil // every alert whose transition is new, each once, in order
	}
	fresh := map[transition]bool{}
	for _, c := range chunks(uniq, rowsPerStatement) {
		rows, err := u.s.query(ctx, u.tx, insert+placeholders(len(c), 6)+conflict+` RETURNING fingerprint, starts_at, status, ends_at`, args(c)...)
		if err != nil {
			return nil, fmt.Errorf("record transitions: %w", err)
		}
		for rows.Next() {
			var k transition
			if err := rows.Scan(&k.fp, &k.start, &k.status, &k.ends); err != nil {
				rows.Close()
				return nil, fmt.Errorf("record transitions: %w", err)
			}
			fresh[k] = true
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("record transitions: %w", err)
		}
	}
	var out []*incident.Alert
	for _, a := range alerts {
		k := transitionOf(a)
		if fresh[k] {
			out = append(out, a)
			delete(fresh, k) // a repeated alert counts once
		}
	}
	return out, nil
}

// findAlerts loads the stored occurrences among alerts. On PostgreSQL it locks them: the
// plan made from them must still hold when it is applied, though a writer of another group
// (the same alert routed twice) may be changing the same rows.
func (u *ingestTx) findAlerts(ctx context.Context, alerts []*incident.Alert) (map[incident.Occurrence]incident.StoredAlert, error) {
	out := map[incident.Occurrence]incident.StoredAlert{}
	for _, c := range chunks(alerts, rowsPerStatement) {
		args := make([]any, 0, 2*len(c))
		for _, a := range c {
			args = append(args, a.Fingerprint, nanos(a.StartsAt))
		}
		rows, err := u.s.query(ctx, u.tx, `SELECT id, incident_id, status, ends_at, fingerprint, starts_at FROM alerts WHERE (fingerprint, starts_at) IN (VALUES `+
			// PostgreSQL cannot infer the types of a bare VALUES list.
			strings.TrimSuffix(strings.Repeat("(CAST(? AS TEXT), CAST(? AS BIGINT)), ", len(c)), ", ")+`)`+u.s.d.ForUpdate, args...)
		if err != nil {
			return nil, fmt.Errorf("find alerts: %w", err)
		}
		for rows.Next() {
			var e incident.StoredAlert
			var o incident.Occurrence
			var status string
			var ends int64
			if err := rows.Scan(&e.ID, &e.IncidentID, &status, &ends, &o.Fingerprint, &o.StartsAt); err != nil {
				rows.Close()
				return nil, fmt.Errorf("find alerts: %w", err)
			}
			e.Status, e.EndsAt = incident.AlertStatus(status), fromNanos(ends)
			out[o] = e
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("find alerts: %w", err)
		}
	}
	return out, nil
}

// insertAlerts inserts the occurrences new to the store and returns how many rows it
// added; id maps the plan's incident IDs to stored ones.
func (u *ingestTx) insertAlerts(ctx context.Context, key string, rows []incident.NewAlert, id func(int64) int64) (int, error) {
	inserted := 0
	for _, c := range chunks(rows, rowsPerStatement) {
		args := make([]any, 0, 11*len(c))
		for _, r := range c {
			e := u.enc[r.Alert]
			args = append(args, id(r.IncidentID), key, r.Alert.Fingerprint, nanos(r.Alert.StartsAt), nanos(r.EndsAt), string(r.Status),
				e.labels, e.annotations, r.Alert.GeneratorURL, nanos(u.now), nanos(u.now))
		}
		// DO NOTHING: the same occurrence may already belong to another group (two routes).
		res, err := u.exec(ctx, `INSERT INTO alerts (incident_id, group_key, fingerprint, starts_at, ends_at, status, labels, annotations, generator_url, first_seen, last_change)
			VALUES `+placeholders(len(c), 11)+` ON CONFLICT (fingerprint, starts_at) DO NOTHING`, args...)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("insert alerts: %w", err)
		}
		inserted += int(n)
	}
	return inserted, nil
}

// groupIncident returns the incident an alert group points to and whether the group is
// known. On PostgreSQL it upserts the group row, which takes its row lock (ON CONFLICT DO
// UPDATE locks the row) and so serializes every replica ingesting this group until
// commit; the single SQLite writer needs no lock, and a read costs less than a write.
func (u *ingestTx) groupIncident(ctx context.Context, key string) (id int64, known bool, err error) {
	if u.s.d.SingleWriter {
		err = u.s.queryRow(ctx, u.tx, `SELECT incident_id FROM alert_groups WHERE group_key = ?`, key).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, false, nil
		}
	} else {
		err = u.s.queryRow(ctx, u.tx, `INSERT INTO alert_groups (group_key, incident_id) VALUES (?, 0)
		ON CONFLICT (group_key) DO UPDATE SET incident_id = alert_groups.incident_id RETURNING incident_id`, key).Scan(&id)
	}
	if err != nil {
		return 0, false, fmt.Errorf("lock group: %w", err)
	}
	return id, true, nil
}

// setGroupIncident points a group at its incident, creating the row of a new group.
func (u *ingestTx) setGroupIncident(ctx context.Context, key string, id int64, known bool) error {
	if known {
		_, err := u.exec(ctx, `UPDATE alert_groups SET incident_id = ? WHERE group_key = ?`, id, key)
		return err
	}
	_, err := u.exec(ctx, `INSERT INTO alert_groups (group_key, incident_id) VALUES (?, ?)
		ON CONFLICT (group_key) DO UPDATE SET incident_id = excluded.incident_id`, key, id)
	return err
}

// addTimeline records a step of an incident's history.
func (s *DB) addTimeline(ctx context.Context, tx *sql.Tx, e incident.TimelineEntry) error {
	_, err := s.exec(ctx, tx, `INSERT INTO timeline (incident_id, at, actor, kind, from_state, to_state, note) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.IncidentID, nanos(e.At), e.Actor, e.Kind, string(e.From), string(e.To), e.Note)
	return err
}
