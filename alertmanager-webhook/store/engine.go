package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/incident"
)

// Tx runs fn in a write transaction of the store (SQLite: through the single writer, so
// its commit is grouped with ingest; PostgreSQL: a transaction, retried on serialization
// failures — fn may run more than once). For the escalation worker, which keeps its own
// tables in this database.
func (s *DB) Tx(ctx context.Context, op string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.write(ctx, op, fn)
}

// Exec runs a statement in tx with ? placeholders.
func (s *DB) Exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	return s.exec(ctx, tx, query, args...)
}

// Query runs a query in tx with ? placeholders.
func (s *DB) Query(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	return s.query(ctx, tx, query, args...)
}

// SkipLocked is the suffix of a SELECT that claims rows another replica may be claiming:
// PostgreSQL locks them and skips rows already locked; SQLite needs nothing, its single
// writer already serializes.
func (s *DB) SkipLocked() string {
	if s.d.ForUpdate == "" {
		return ""
	}
	return s.d.ForUpdate + " SKIP LOCKED"
}

// IncidentTx loads (and on PostgreSQL locks) an incident inside tx.
func (s *DB) IncidentTx(ctx context.Context, tx *sql.Tx, id int64) (*Incident, error) {
	return s.loadIncident(ctx, tx, id)
}

// SystemNote adds a timeline entry by actor inside tx (escalation steps, suppressions).
func (s *DB) SystemNote(ctx context.Context, tx *sql.Tx, id int64, at time.Time, actor, kind, note string) error {
	return s.addTimeline(ctx, tx, incident.TimelineEntry{IncidentID: id, At: at, Actor: actor, Kind: kind, Note: truncate(note, 1000)})
}

// Nanos and FromNanos convert times to and from the stored integer form.
func Nanos(t time.Time) int64 { return nanos(t) }

// FromNanos converts a stored time back.
func FromNanos(n int64) time.Time { return fromNanos(n) }
