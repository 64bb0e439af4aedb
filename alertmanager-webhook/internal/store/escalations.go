package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
)

// The escalation enums are the API's (incidentapi declares them once); the store checks
// every stored value with their Parse functions when it reads a row.
type (
	EscalationState  = incidentapi.EscalationState
	EscalationAction = incidentapi.EscalationAction
)

// The escalation states and actions, as the store's callers name them.
const (
	EscalationPending    = incidentapi.EscalationPending
	EscalationDone       = incidentapi.EscalationDone
	EscalationStopped    = incidentapi.EscalationStopped
	EscalationPage       = incidentapi.EscalationPage
	EscalationHold       = incidentapi.EscalationHold
	EscalationQueue      = incidentapi.EscalationQueue
	EscalationBacklog    = incidentapi.EscalationBacklog
	EscalationSuppressed = incidentapi.EscalationSuppressed
	EscalationUnrouted   = incidentapi.EscalationUnrouted
	EscalationStale      = incidentapi.EscalationStale
	EscalationNone       = incidentapi.EscalationNone
)

// Escalation is the escalation worker's row for one incident: the routing decision and
// the durable timer of its next step.
type Escalation struct {
	IncidentID int64
	Team       string
	Policy     string
	Tier       incident.Tier
	Action     EscalationAction
	State      EscalationState
	// Step and Round are 0-based: the next step to run and the repetition of the policy.
	Step, Round int
	DueAt       time.Time
	// ReopenSeen is the incident's reopen count the worker last acted on.
	ReopenSeen int
	// AckedNotified and ResolvedNotified: the acknowledge and resolve notices are queued.
	AckedNotified, ResolvedNotified bool
	CreatedAt, UpdatedAt            time.Time
}

const escalationCols = `incident_id, team, policy, tier, action, state, step, round, due_at, reopen_seen, acked_notified, resolved_notified, created_at, updated_at`

func scanEscalation(r scanner) (*Escalation, error) {
	var e Escalation
	var tier, action, state string
	var due, created, updated int64
	var acked, resolved int
	if err := r.Scan(&e.IncidentID, &e.Team, &e.Policy, &tier, &action, &state, &e.Step, &e.Round, &due, &e.ReopenSeen, &acked, &resolved, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	if e.Action, err = incidentapi.ParseEscalationAction(action); err != nil {
		return nil, fmt.Errorf("escalation of incident %d: action: %w", e.IncidentID, err)
	}
	if e.State, err = incidentapi.ParseEscalationState(state); err != nil {
		return nil, fmt.Errorf("escalation of incident %d: state: %w", e.IncidentID, err)
	}
	e.Tier, e.DueAt, e.CreatedAt, e.UpdatedAt = incident.Tier(tier), fromNanos(due), fromNanos(created), fromNanos(updated)
	e.AckedNotified, e.ResolvedNotified = acked != 0, resolved != 0
	return &e, nil
}

// check refuses a row the store could not read back.
func (e *Escalation) check() error {
	if _, err := incidentapi.ParseEscalationAction(string(e.Action)); err != nil {
		return invalid("escalation of incident %d: action: %w", e.IncidentID, err)
	}
	if _, err := incidentapi.ParseEscalationState(string(e.State)); err != nil {
		return invalid("escalation of incident %d: state: %w", e.IncidentID, err)
	}
	return nil
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Escalation returns the escalation of an incident, nil if the worker has not routed it.
func (s *DB) Escalation(ctx context.Context, incidentID int64) (*Escalation, error) {
	e, err := scanEscalation(s.readRow(ctx, `SELECT `+escalationCols+` FROM escalations WHERE incident_id = ?`, incidentID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.unavailable(err)
	}
	return e, nil
}

// readRows runs a read outside transactions, through the statement cache if enabled: the
// escalation worker asks the same questions every second.
func (s *DB) readRows(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s.d.CachePrepared {
		if st, err := s.prepared(ctx, query); err == nil {
			return st.QueryContext(ctx, args...)
		}
	}
	return s.db.QueryContext(ctx, s.d.q(query), args...)
}

// readIDs runs a read-only query returning incident ids.
func (s *DB) readIDs(ctx context.Context, query string, args ...any) ([]int64, error) {
	rows, err := s.readRows(ctx, query, args...)
	if err != nil {
		return nil, s.unavailable(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, s.unavailable(err)
		}
		out = append(out, id)
	}
	return out, s.unavailable(rows.Err())
}

// UnroutedIncidents lists up to limit incidents created at or after since that have no
// escalation yet, oldest first. The bound on creation time keeps the worker's every-second
// question an index range instead of a scan of the whole history.
func (s *DB) UnroutedIncidents(ctx context.Context, since time.Time, limit int) ([]int64, error) {
	return s.readIDs(ctx, `SELECT i.id FROM incidents i LEFT JOIN escalations e ON e.incident_id = i.id
		WHERE i.created_at >= ? AND e.incident_id IS NULL ORDER BY i.created_at, i.id LIMIT ?`, nanos(since), limit)
}

// EscalationsToNotify lists up to limit incidents updated at or after since whose
// escalation lags behind them: acknowledged while paging or holding and not yet told,
// resolved and not yet told, or reopened since the worker last looked.
func (s *DB) EscalationsToNotify(ctx context.Context, since time.Time, limit int) ([]int64, error) {
	return s.readIDs(ctx, `SELECT e.incident_id FROM incidents i JOIN escalations e ON e.incident_id = i.id
		WHERE i.updated_at >= ? AND (
		      (e.acked_notified = 0 AND i.triaged_at <> 0 AND e.action IN (?, ?))
		   OR (e.resolved_notified = 0 AND i.resolved_at <> 0)
		   OR i.reopen_count > e.reopen_seen)
		ORDER BY e.incident_id LIMIT ?`, nanos(since), string(EscalationPage), string(EscalationHold), limit)
}

// EscalationTx is one write transaction of the escalation worker over its tables, the
// maintenance windows, the outbox and the incidents' timelines. It is valid only inside
// the function given to UpdateEscalations.
type EscalationTx struct {
	s  *DB
	tx *sql.Tx
}

// UpdateEscalations runs fn in a write transaction (SQLite: through the single writer, so
// its commit is grouped with ingest; PostgreSQL: a transaction retried on serialization
// failures — fn may run more than once and must not keep state across runs).
func (s *DB) UpdateEscalations(ctx context.Context, op string, fn func(ctx context.Context, tx *EscalationTx) error) error {
	return s.write(ctx, op, func(ctx context.Context, tx *sql.Tx) error {
		return fn(ctx, &EscalationTx{s: s, tx: tx})
	})
}

// Incident loads (and on PostgreSQL locks) an incident.
func (t *EscalationTx) Incident(ctx context.Context, id int64) (*Incident, error) {
	return t.s.loadIncident(ctx, t.tx, id)
}

// SystemNote is a timeline entry written by incidentd itself.
type SystemNote struct {
	IncidentID int64
	At         time.Time
	Actor      string
	Kind       string // routing, maintenance, escalation, flap
	Text       string // truncated to 1000 bytes
}

// Note adds n to its incident's timeline.
func (t *EscalationTx) Note(ctx context.Context, n SystemNote) error {
	return t.s.addTimeline(ctx, t.tx, incident.TimelineEntry{IncidentID: n.IncidentID, At: n.At, Actor: n.Actor, Kind: n.Kind, Note: truncate(n.Text, 1000)})
}

// Insert records the escalation of an incident routed for the first time. It reports
// false, writing nothing, when the incident already has one (another replica routed it).
func (t *EscalationTx) Insert(ctx context.Context, e Escalation) (bool, error) {
	if err := e.check(); err != nil {
		return false, err
	}
	res, err := t.s.exec(ctx, t.tx, `INSERT INTO escalations (`+escalationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (incident_id) DO NOTHING`,
		e.IncidentID, e.Team, e.Policy, string(e.Tier), string(e.Action), string(e.State), e.Step, e.Round, nanos(e.DueAt),
		e.ReopenSeen, flag(e.AckedNotified), flag(e.ResolvedNotified), nanos(e.CreatedAt), nanos(e.UpdatedAt))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Update writes back an escalation read in this transaction (Lock or Due), all of it but
// its incident and creation time.
func (t *EscalationTx) Update(ctx context.Context, e Escalation) error {
	if err := e.check(); err != nil {
		return err
	}
	_, err := t.s.exec(ctx, t.tx, `UPDATE escalations SET team = ?, policy = ?, tier = ?, action = ?, state = ?, step = ?, round = ?, due_at = ?,
		reopen_seen = ?, acked_notified = ?, resolved_notified = ?, updated_at = ? WHERE incident_id = ?`,
		e.Team, e.Policy, string(e.Tier), string(e.Action), string(e.State), e.Step, e.Round, nanos(e.DueAt),
		e.ReopenSeen, flag(e.AckedNotified), flag(e.ResolvedNotified), nanos(e.UpdatedAt), e.IncidentID)
	return err
}

// Lock reads (and on PostgreSQL locks, until the transaction ends) the escalation of an
// incident; nil if it has none.
func (t *EscalationTx) Lock(ctx context.Context, incidentID int64) (*Escalation, error) {
	rows, err := t.s.query(ctx, t.tx, `SELECT `+escalationCols+` FROM escalations WHERE incident_id = ?`+t.s.d.ForUpdate, incidentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	return scanEscalation(rows)
}

// Due claims up to limit pending escalations due at or before now, soonest first. On
// PostgreSQL the rows stay locked until the transaction ends and rows another replica
// holds are skipped, so each step runs once.
func (t *EscalationTx) Due(ctx context.Context, now time.Time, limit int) ([]Escalation, error) {
	rows, err := t.s.query(ctx, t.tx, `SELECT `+escalationCols+` FROM escalations WHERE state = ? AND due_at <= ? ORDER BY due_at, incident_id LIMIT ?`+t.s.skipLocked(),
		string(EscalationPending), nanos(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Escalation
	for rows.Next() {
		e, err := scanEscalation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

// skipLocked is the suffix of a SELECT that claims rows another replica may be claiming:
// PostgreSQL locks them and skips rows already locked; SQLite needs nothing, its single
// writer already serializes.
func (s *DB) skipLocked() string {
	if s.d.ForUpdate == "" {
		return ""
	}
	return s.d.ForUpdate + " SKIP LOCKED"
}
