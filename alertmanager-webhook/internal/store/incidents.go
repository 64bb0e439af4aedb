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

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/audit"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
)

const incidentCols = `id, group_key, title, summary, tier, alert_tier, team, model, labels, runbook_url, state, assignee,
	detected_at, triaged_at, contained_at, investigating_at, resolved_at, reviewed_at, resolved_by,
	alerts_firing, alerts_total, reopen_count, created_at, updated_at`

type scanner interface{ Scan(...any) error }

func scanIncident(r scanner) (*Incident, error) {
	var (
		i                          Incident
		labels, tier, aTier, state string
		det, tri, con, inv, res    int64
		rev, created, updated      int64
	)
	if err := r.Scan(&i.ID, &i.GroupKey, &i.Title, &i.Summary, &tier, &aTier, &i.Team, &i.Model, &labels, &i.RunbookURL, &state, &i.Assignee,
		&det, &tri, &con, &inv, &res, &rev, &i.ResolvedBy, &i.AlertsFiring, &i.AlertsTotal, &i.ReopenCount, &created, &updated); err != nil {
		return nil, err
	}
	i.Tier, i.AlertTier, i.State = incident.Tier(tier), incident.Tier(aTier), incident.State(state)
	i.DetectedAt, i.TriagedAt, i.ContainedAt, i.InvestigAt = fromNanos(det), fromNanos(tri), fromNanos(con), fromNanos(inv)
	i.ResolvedAt, i.ReviewedAt, i.CreatedAt, i.UpdatedAt = fromNanos(res), fromNanos(rev), fromNanos(created), fromNanos(updated)
	if err := json.Unmarshal([]byte(labels), &i.Labels); err != nil {
		return nil, fmt.Errorf("incident %d labels: %w", i.ID, err)
	}
	return &i, nil
}

// scanIncidentRaw is scanIncident for listings written by AppendJSON: the labels stay the
// JSON the store wrote (json.Marshal of the map, so the same bytes encoding the map again
// gives), checked for validity but not decoded into a map.
func scanIncidentRaw(r scanner, i *Incident) error {
	var (
		labels                  []byte
		tier, aTier, state      string
		det, tri, con, inv, res int64
		rev, created, updated   int64
	)
	if err := r.Scan(&i.ID, &i.GroupKey, &i.Title, &i.Summary, &tier, &aTier, &i.Team, &i.Model, &labels, &i.RunbookURL, &state, &i.Assignee,
		&det, &tri, &con, &inv, &res, &rev, &i.ResolvedBy, &i.AlertsFiring, &i.AlertsTotal, &i.ReopenCount, &created, &updated); err != nil {
		return err
	}
	i.Tier, i.AlertTier, i.State = incident.Tier(tier), incident.Tier(aTier), incident.State(state)
	i.DetectedAt, i.TriagedAt, i.ContainedAt, i.InvestigAt = fromNanos(det), fromNanos(tri), fromNanos(con), fromNanos(inv)
	i.ResolvedAt, i.ReviewedAt, i.CreatedAt, i.UpdatedAt = fromNanos(res), fromNanos(rev), fromNanos(created), fromNanos(updated)
	if !json.Valid(labels) {
		return fmt.Errorf("incident %d labels: stored value is not JSON", i.ID)
	}
	i.labelsJSON = labels
	return nil
}

func (s *DB) loadIncident(ctx context.Context, tx *sql.Tx, id int64) (*Incident, error) {
	inc, err := scanIncident(s.queryRow(ctx, tx, `SELECT `+incidentCols+` FROM incidents WHERE id = ?`+s.d.ForUpdate, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("incident %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load incident %d: %w", id, err)
	}
	return inc, nil
}

func (s *DB) insertIncident(ctx context.Context, tx *sql.Tx, i *Incident) error {
	labels := i.labelsJSON
	if labels == nil {
		labels, _ = json.Marshal(i.Labels)
	}
	const q = `INSERT INTO incidents (group_key, title, summary, tier, alert_tier, team, model, labels, runbook_url, state, assignee,
		detected_at, triaged_at, contained_at, investigating_at, resolved_at, reviewed_at, resolved_by,
		alerts_firing, alerts_total, reopen_count, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, 0, 0, 0, 0, 0, '', ?, ?, 0, ?, ?)`
	args := []any{i.GroupKey, i.Title, i.Summary, string(i.Tier), string(i.AlertTier), i.Team, i.Model, string(labels), i.RunbookURL, string(i.State),
		nanos(i.DetectedAt), i.AlertsFiring, i.AlertsTotal, nanos(i.CreatedAt), nanos(i.UpdatedAt)}
	if !s.d.SingleWriter {
		return s.queryRow(ctx, tx, q+` RETURNING id`, args...).Scan(&i.ID)
	}
	// SQLite reports the rowid of the insert; RETURNING would cost more than the insert.
	res, err := s.exec(ctx, tx, q, args...)
	if err != nil {
		return err
	}
	if i.ID, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("insert incident: %w", err)
	}
	return nil
}

// saveIncident writes the columns of i that differ from orig: SQLite and PostgreSQL then
// only touch the indexes of columns that changed (counts and updated_at are not indexed).
func (s *DB) saveIncident(ctx context.Context, tx *sql.Tx, i, orig *Incident) error {
	var set []string
	var args []any
	add := func(changed bool, col string, v any) {
		if changed {
			set = append(set, col+" = ?")
			args = append(args, v)
		}
	}
	add(i.Tier != orig.Tier, "tier", string(i.Tier))
	add(i.AlertTier != orig.AlertTier, "alert_tier", string(i.AlertTier))
	add(i.State != orig.State, "state", string(i.State))
	add(i.Assignee != orig.Assignee, "assignee", i.Assignee)
	add(!i.DetectedAt.Equal(orig.DetectedAt), "detected_at", nanos(i.DetectedAt))
	add(!i.TriagedAt.Equal(orig.TriagedAt), "triaged_at", nanos(i.TriagedAt))
	add(!i.ContainedAt.Equal(orig.ContainedAt), "contained_at", nanos(i.ContainedAt))
	add(!i.InvestigAt.Equal(orig.InvestigAt), "investigating_at", nanos(i.InvestigAt))
	add(!i.ResolvedAt.Equal(orig.ResolvedAt), "resolved_at", nanos(i.ResolvedAt))
	add(!i.ReviewedAt.Equal(orig.ReviewedAt), "reviewed_at", nanos(i.ReviewedAt))
	add(i.ResolvedBy != orig.ResolvedBy, "resolved_by", i.ResolvedBy)
	add(i.AlertsFiring != orig.AlertsFiring, "alerts_firing", i.AlertsFiring)
	add(i.AlertsTotal != orig.AlertsTotal, "alerts_total", i.AlertsTotal)
	add(i.ReopenCount != orig.ReopenCount, "reopen_count", i.ReopenCount)
	if len(set) == 0 {
		return nil
	}
	add(true, "updated_at", nanos(i.UpdatedAt))
	args = append(args, i.ID)
	_, err := s.exec(ctx, tx, `UPDATE incidents SET `+strings.Join(set, ", ")+` WHERE id = ?`, args...)
	return err
}

// Action is a human change to an incident.
type Action struct {
	Actor string
	Note  string
}

// change runs fn on a locked incident and records the timeline entry and audit entry.
func (s *DB) change(ctx context.Context, op string, id int64, a Action, fn func(inc *Incident, now time.Time) (kind string, from, to incident.State, err error)) (*Incident, error) {
	return s.changeTx(ctx, op, id, a, func(_ context.Context, _ *sql.Tx, inc *Incident, now time.Time) (string, incident.State, incident.State, error) {
		return fn(inc, now)
	})
}

// changeTx is change for steps that read other rows in the same transaction.
func (s *DB) changeTx(ctx context.Context, op string, id int64, a Action, fn func(ctx context.Context, tx *sql.Tx, inc *Incident, now time.Time) (kind string, from, to incident.State, err error)) (*Incident, error) {
	if strings.TrimSpace(a.Actor) == "" {
		return nil, invalid("actor is required")
	}
	var result *Incident
	err := s.write(ctx, op, func(ctx context.Context, tx *sql.Tx) error {
		inc, err := s.loadIncident(ctx, tx, id)
		if err != nil {
			return err
		}
		before, _ := json.Marshal(inc)
		orig := *inc
		now := s.now().UTC()
		kind, from, to, err := fn(ctx, tx, inc, now)
		if err != nil {
			return err
		}
		if kind == "" { // nothing to do
			result = inc
			return nil
		}
		inc.UpdatedAt = now
		if err := s.saveIncident(ctx, tx, inc, &orig); err != nil {
			return err
		}
		if err := s.addTimeline(ctx, tx, incident.TimelineEntry{IncidentID: inc.ID, At: now, Actor: a.Actor, Kind: kind, From: from, To: to, Note: a.Note}); err != nil {
			return err
		}
		after, _ := json.Marshal(inc)
		result = inc
		return s.appendAudit(ctx, tx, audit.Entry{At: now, Actor: a.Actor, Action: "incident." + kind, Object: "incident/" + strconv.FormatInt(id, 10), Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	result.compute(s.config(ctx).SLA, s.now())
	return result, nil
}

// Transition moves an incident to a later state. Skipped steps keep no time, except the
// acknowledgement: any human move from detected acknowledges the incident, so MTTA and the
// SLA count it.
//
// Moving to reviewed needs a stored post-mortem: the review is of that document.
func (s *DB) Transition(ctx context.Context, id int64, to incident.State, a Action) (*Incident, error) {
	return s.changeTx(ctx, "transition", id, a, func(ctx context.Context, tx *sql.Tx, inc *Incident, now time.Time) (string, incident.State, incident.State, error) {
		from := inc.State
		if err := incident.CheckTransition(from, to); err != nil {
			return "", "", "", &InvalidError{Err: err}
		}
		if to == incident.Reviewed {
			var n int
			if err := s.queryRow(ctx, tx, `SELECT COUNT(*) FROM postmortems WHERE incident_id = ?`, id).Scan(&n); err != nil {
				return "", "", "", fmt.Errorf("read post-mortem: %w", err)
			}
			if n == 0 {
				return "", "", "", invalid("to: incident %d has no post-mortem yet; PUT /api/v1/incidents/%d/postmortem before moving it to reviewed", id, id)
			}
		}
		at := now
		if l := inc.latestStep(); at.Before(l) {
			at = l // monotonic even if our clock stepped back
		}
		if inc.TriagedAt.IsZero() {
			inc.TriagedAt = at
		}
		if inc.stepTime(to).IsZero() || to == incident.Resolved || to == incident.Reviewed {
			inc.setStep(to, at)
		}
		inc.State = to
		if to == incident.Resolved {
			inc.ResolvedBy = "human"
		}
		return "transition", from, to, nil
	})
}

// Ack acknowledges an incident (moves it to triaged). Acknowledging one already past
// detection changes nothing and is not an error, so double clicks are harmless.
func (s *DB) Ack(ctx context.Context, id int64, a Action) (*Incident, error) {
	return s.change(ctx, "ack", id, a, func(inc *Incident, now time.Time) (string, incident.State, incident.State, error) {
		if inc.State != incident.Detected {
			return "", "", "", nil
		}
		at := now
		if l := inc.latestStep(); at.Before(l) {
			at = l
		}
		inc.TriagedAt, inc.State = at, incident.Triaged
		return "ack", incident.Detected, incident.Triaged, nil
	})
}

// Reopen returns a resolved or reviewed incident to detected.
func (s *DB) Reopen(ctx context.Context, id int64, a Action) (*Incident, error) {
	return s.change(ctx, "reopen", id, a, func(inc *Incident, now time.Time) (string, incident.State, incident.State, error) {
		if inc.State.Open() {
			return "", "", "", invalid("incident %d is %s, only a resolved or reviewed incident can be reopened", id, inc.State)
		}
		from := inc.State
		inc.State = incident.Detected
		inc.ResolvedAt, inc.ReviewedAt, inc.ResolvedBy = time.Time{}, time.Time{}, ""
		inc.ReopenCount++
		return "reopened", from, incident.Detected, nil
	})
}

// Assign gives an incident to a person or team ("" unassigns).
func (s *DB) Assign(ctx context.Context, id int64, assignee string, a Action) (*Incident, error) {
	if len(assignee) > 256 {
		return nil, invalid("assignee: longer than 256 characters")
	}
	return s.change(ctx, "assign", id, a, func(inc *Incident, now time.Time) (string, incident.State, incident.State, error) {
		if inc.Assignee == assignee {
			return "", "", "", nil
		}
		inc.Assignee = assignee
		return "assigned", "", "", nil
	})
}

// SetTier overrides the incident's tier ("" returns to the alerts' tier).
func (s *DB) SetTier(ctx context.Context, id int64, tier incident.Tier, a Action) (*Incident, error) {
	return s.change(ctx, "tier", id, a, func(inc *Incident, now time.Time) (string, incident.State, incident.State, error) {
		if tier == "" {
			tier = inc.AlertTier
		}
		if inc.Tier == tier {
			return "", "", "", nil
		}
		inc.Tier = tier
		return "tier_changed", "", "", nil
	})
}

// NoteInput is a note, link or containment action to attach.
type NoteInput struct {
	Kind            string // note, link, containment
	ContainmentKind string
	Text            string
	URL             string
}

// Validate checks a note before it is stored.
func (n NoteInput) Validate() error {
	switch n.Kind {
	case "note", "link", "containment":
	default:
		return invalid("kind: expected note, link or containment, got %q", n.Kind)
	}
	if n.Kind == "containment" {
		if err := incident.CheckContainmentKind(n.ContainmentKind); err != nil {
			return &InvalidError{Err: fmt.Errorf("containment_kind: %w", err)}
		}
	} else if n.ContainmentKind != "" {
		return invalid("containment_kind: only allowed with kind containment")
	}
	if n.Kind == "link" && !strings.HasPrefix(n.URL, "http://") && !strings.HasPrefix(n.URL, "https://") {
		return invalid("url: a link needs an http(s) URL")
	}
	if strings.TrimSpace(n.Text) == "" && n.Kind != "link" {
		return invalid("text: must not be empty")
	}
	if len(n.Text) > 16384 || len(n.URL) > 2048 {
		return invalid("text: at most 16384 bytes, url: at most 2048")
	}
	return nil
}

// AddNote attaches a note to an incident.
func (s *DB) AddNote(ctx context.Context, id int64, n NoteInput, a Action) (*Note, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(a.Actor) == "" {
		return nil, invalid("actor is required")
	}
	var note Note
	err := s.write(ctx, "note", func(ctx context.Context, tx *sql.Tx) error {
		if _, err := s.loadIncident(ctx, tx, id); err != nil {
			return err
		}
		now := s.now().UTC()
		note = Note{At: now, Actor: a.Actor, Kind: n.Kind, ContainmentKind: n.ContainmentKind, Text: n.Text, URL: n.URL}
		if err := s.queryRow(ctx, tx, `INSERT INTO notes (incident_id, at, actor, kind, containment_kind, text, url) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			id, nanos(now), a.Actor, n.Kind, n.ContainmentKind, n.Text, n.URL).Scan(&note.ID); err != nil {
			return fmt.Errorf("insert note: %w", err)
		}
		if err := s.addTimeline(ctx, tx, incident.TimelineEntry{IncidentID: id, At: now, Actor: a.Actor, Kind: n.Kind, Note: truncate(n.Text, 200)}); err != nil {
			return err
		}
		after, _ := json.Marshal(note)
		return s.appendAudit(ctx, tx, audit.Entry{At: now, Actor: a.Actor, Action: "incident." + n.Kind, Object: "incident/" + strconv.FormatInt(id, 10), After: after})
	})
	if err != nil {
		return nil, err
	}
	return &note, nil
}

// RecordAudit appends an audit entry outside incident changes (config reloads).
func (s *DB) RecordAudit(ctx context.Context, actor, action, object string, before, after any) error {
	b, err := marshalOrNil(before)
	if err != nil {
		return err
	}
	af, err := marshalOrNil(after)
	if err != nil {
		return err
	}
	return s.write(ctx, "audit", func(ctx context.Context, tx *sql.Tx) error {
		return s.appendAudit(ctx, tx, audit.Entry{At: s.now().UTC(), Actor: actor, Action: action, Object: object, Before: b, After: af})
	})
}

func marshalOrNil(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

// appendAudit adds an entry at the end of the chain. Locking the single head row makes
// appends from several replicas take turns, so the chain never forks.
func (s *DB) appendAudit(ctx context.Context, tx *sql.Tx, e audit.Entry) error {
	var seq int64
	var prev string
	if err := s.queryRow(ctx, tx, `SELECT seq, hash FROM audit_head WHERE id = 1`+s.d.ForUpdate).Scan(&seq, &prev); err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	e.Seq = seq + 1
	audit.Seal(&e, prev)
	if _, err := s.exec(ctx, tx, `INSERT INTO audit (seq, at, actor, action, object, before_json, after_json, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, nanos(e.At), e.Actor, e.Action, e.Object, string(e.Before), string(e.After), e.PrevHash, e.Hash); err != nil {
		return err
	}
	_, err := s.exec(ctx, tx, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, e.Seq, e.Hash)
	return err
}
