// Package store keeps incidents, their alerts, timelines, notes and the audit log in SQL,
// and owns every other table of incidentd's database: the escalation worker's rows and
// outbox, maintenance windows and heartbeats. Other packages decide; they reach the
// database only through the store's typed methods, never through SQL of their own.
//
// The logic is written once against database/sql and a small Dialect; store/sqlite and
// store/postgres open the database, run the embedded migrations and provide the Writer
// that runs write transactions (SQLite: one goroutine batching concurrent writes into a
// shared commit; PostgreSQL: a transaction per write, retried on serialization failures).
//
// Ingest is idempotent: an alert occurrence is (fingerprint, startsAt) and a transition is
// recorded once per (occurrence, status, endsAt), so retries, repeat intervals and every
// replica of an Alertmanager cluster land on the same rows. Correctness across several
// incidentd replicas comes from unique constraints and a row lock per alert group, never
// from memory.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
)

// Errors callers map to responses.
var (
	ErrNotFound = errors.New("not found")
	// ErrUnavailable marks failures worth retrying: busy database, shutdown, exhausted pool.
	ErrUnavailable = errors.New("store unavailable")
	// ErrDamaged is a database that reported corruption: the store refuses writes and
	// reports unhealthy until a restart, whose integrity check decides again. It wraps
	// ErrUnavailable: Alertmanager is answered 503 and retries (another replica, later).
	ErrDamaged = fmt.Errorf("%w: database damaged", ErrUnavailable)
)

// InvalidError is a request the store refuses on its merits (bad transition, bad field).
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

func invalid(format string, a ...any) error { return &InvalidError{Err: fmt.Errorf(format, a...)} }

// Dialect captures the few SQL differences between SQLite and PostgreSQL.
type Dialect struct {
	Name string
	// Numbered placeholders ($1) instead of ?.
	Numbered bool
	// ForUpdate is appended to SELECTs that must lock the row (empty for SQLite, whose
	// single writer already serializes).
	ForUpdate string
	// CachePrepared keeps one prepared statement per query (SQLite compiles SQL on every
	// unprepared call). PostgreSQL's pgx driver caches per connection by itself, and
	// preparing on the pool from inside a transaction could wait for a connection that
	// only transactions waiting the same way would release.
	CachePrepared bool
	// SingleWriter: one writer owns the database (SQLite), so nothing can change between a
	// read and a write of one transaction; ingest then reads instead of locking, inserts
	// without RETURNING and bets on new rows, checking row counts (see ingestTx.group).
	SingleWriter bool
	// Corrupt recognises the database's errors for a damaged file or table (SQLite's
	// SQLITE_CORRUPT and SQLITE_NOTADB, PostgreSQL's data_corrupted); nil recognises none.
	Corrupt func(error) bool
}

// Rebind turns ? placeholders into the dialect's form.
func (d Dialect) Rebind(query string) string { return d.q(query) }

func (d Dialect) q(query string) string {
	if !d.Numbered {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Writer runs fn in a write transaction and returns only after the commit is durable.
// It may run fn several times (retries), so fn must not keep state across runs.
type Writer interface {
	Write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error
	Close() error
}

// Config is the incident policy the store applies while ingesting.
type Config struct {
	// GroupBy lists label names that key an incident; empty means Alertmanager's groupKey.
	GroupBy []string
	// AutoResolve resolves an incident when all its alerts resolved; otherwise the incident
	// waits for a human and the timeline says the alerts are gone.
	AutoResolve bool
	// ReopenWindow: an alert of the group firing again within this time after the incident
	// was resolved reopens it instead of opening a new one.
	ReopenWindow time.Duration
	SLA          incident.SLA
	// ChangeWindow is how far before detection a change counts as related (default 24 h).
	ChangeWindow time.Duration
	// ContainmentHooks are queued on every apply and lift of a containment.
	ContainmentHooks []HookTarget
}

// DefaultChangeWindow is how far before an incident's detection changes are shown.
const DefaultChangeWindow = 24 * time.Hour

// DefaultConfig matches incidentd's configuration defaults.
func DefaultConfig() Config {
	return Config{AutoResolve: true, ReopenWindow: 30 * time.Minute, SLA: incident.DefaultSLA(), ChangeWindow: DefaultChangeWindow}
}

// DB is the store.
type DB struct {
	db      *sql.DB
	d       Dialect
	w       Writer
	now     func() time.Time
	cfg     atomic.Pointer[Config] // swapped on config reload while requests run
	observe func(op string, d time.Duration)
	// damage is the first corruption the database reported; once set, never cleared.
	damage atomic.Pointer[error]

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt
	// txStmts are the statements of stmts bound to txStmtsOf, the transaction that last
	// used them: a group commit runs many writes in one transaction, and binding a
	// statement to it again for every statement costs an allocation and two locks.
	txStmtsOf *sql.Tx
	txStmts   map[string]*sql.Stmt
}

// Options assemble a DB; the sqlite and postgres packages fill them.
type Options struct {
	DB      *sql.DB
	Dialect Dialect
	Writer  Writer
	Config  Config
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Observe receives the duration of each store operation, for metrics; may be nil.
	Observe func(op string, d time.Duration)
}

// New builds a DB over an opened, migrated database.
func New(o Options) *DB {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Observe == nil {
		o.Observe = func(string, time.Duration) {}
	}
	o.Config = o.Config.withDefaults()
	s := &DB{db: o.DB, d: o.Dialect, w: o.Writer, now: o.Now, observe: o.Observe, stmts: map[string]*sql.Stmt{}}
	s.cfg.Store(&o.Config)
	return s
}

// SetConfig replaces the incident policy (config reload).
func (s *DB) SetConfig(c Config) {
	c = c.withDefaults()
	s.cfg.Store(&c)
}

// Config returns the policy in force.
func (s *DB) Config() Config { return *s.cfg.Load() }

func (c Config) withDefaults() Config {
	if c.SLA == nil {
		c.SLA = incident.DefaultSLA()
	}
	if c.ChangeWindow <= 0 {
		c.ChangeWindow = DefaultChangeWindow
	}
	return c
}

type configKey struct{}

// WithConfig pins the policy the store applies to calls made with the returned context,
// whatever a reload sets meanwhile: incidentd pins each request to the configuration that
// authorised it, so one request never mixes two files.
func WithConfig(ctx context.Context, c Config) context.Context {
	return context.WithValue(ctx, configKey{}, c.withDefaults())
}

// config is the policy pinned to ctx (WithConfig), or the one in force.
func (s *DB) config(ctx context.Context) Config {
	if c, ok := ctx.Value(configKey{}).(Config); ok {
		return c
	}
	return s.Config()
}

// Ping checks the database answers.
func (s *DB) Ping(ctx context.Context) error {
	if err := s.Health(); err != nil {
		return err
	}
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// Health is nil while the store can be trusted, and an error wrapping ErrDamaged once the
// database reported corruption: /-/ready and the webhook answer 503 from then on.
func (s *DB) Health() error {
	if e := s.damage.Load(); e != nil {
		return *e
	}
	return nil
}

// noteDamage remembers err if the database says it is corrupt.
func (s *DB) noteDamage(err error) {
	if err == nil || s.d.Corrupt == nil || !s.d.Corrupt(err) {
		return
	}
	d := fmt.Errorf("%w: %w", ErrDamaged, err)
	s.damage.CompareAndSwap(nil, &d)
}

// unavailable marks a failed read as worth retrying, after noting a corruption it reports.
func (s *DB) unavailable(err error) error {
	s.noteDamage(err)
	return unavailable(err)
}

// Close stops the writer and closes the database.
func (s *DB) Close() error {
	werr := s.w.Close()
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmtMu.Unlock()
	return errors.Join(werr, s.db.Close())
}

func (s *DB) write(ctx context.Context, op string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	// A damaged file takes no more writes: what it would store may be lost or garble more.
	if err := s.Health(); err != nil {
		return err
	}
	start := time.Now()
	defer func() { s.observe(op, time.Since(start)) }()
	err := s.w.Write(ctx, fn)
	s.noteDamage(err)
	return err
}

// stmt returns query prepared once per database; inside a transaction database/sql reuses
// the statement already prepared on that connection, which saves SQLite from compiling the
// same SQL for every alert of every notification (the largest CPU cost of ingest).
func (s *DB) stmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	if s.txStmtsOf == tx {
		if st, ok := s.txStmts[query]; ok {
			s.stmtMu.Unlock()
			return st, nil
		}
	}
	s.stmtMu.Unlock()
	st, err := s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	// Bound to tx, the statement closes with it; the cache only lets go of it when
	// another transaction comes.
	txst := tx.StmtContext(ctx, st)
	s.stmtMu.Lock()
	if s.txStmtsOf != tx {
		s.txStmtsOf, s.txStmts = tx, map[string]*sql.Stmt{}
	}
	s.txStmts[query] = txst
	s.stmtMu.Unlock()
	return txst, nil
}

// prepared returns the database-level prepared statement for query.
func (s *DB) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	st, ok := s.stmts[query]
	s.stmtMu.Unlock()
	if !ok {
		var err error
		if st, err = s.db.PrepareContext(ctx, s.d.q(query)); err != nil {
			return nil, fmt.Errorf("prepare %s: %w", firstWords(query), err)
		}
		s.stmtMu.Lock()
		if prev, raced := s.stmts[query]; raced {
			st.Close()
			st = prev
		} else {
			s.stmts[query] = st
		}
		s.stmtMu.Unlock()
	}
	return st, nil
}

func (s *DB) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if !s.d.CachePrepared {
		r, err := tx.ExecContext(ctx, s.d.q(query), args...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", firstWords(query), err)
		}
		return r, nil
	}
	st, err := s.stmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	r, err := st.ExecContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", firstWords(query), err)
	}
	return r, nil
}

// queryRow is QueryRowContext through the statement cache.
func (s *DB) queryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if !s.d.CachePrepared {
		return tx.QueryRowContext(ctx, s.d.q(query), args...)
	}
	st, err := s.stmt(ctx, tx, query)
	if err != nil {
		// A Row cannot carry an error; run the query unprepared so Scan reports it.
		return tx.QueryRowContext(ctx, s.d.q(query), args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// query is QueryContext through the statement cache.
func (s *DB) query(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if !s.d.CachePrepared {
		return tx.QueryContext(ctx, s.d.q(query), args...)
	}
	st, err := s.stmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// readRow runs a read outside transactions, through the statement cache if enabled.
func (s *DB) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	if s.d.CachePrepared {
		if st, err := s.prepared(ctx, query); err == nil {
			return st.QueryRowContext(ctx, args...)
		}
	}
	return s.db.QueryRowContext(ctx, s.d.q(query), args...)
}

func firstWords(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 48 {
		q = q[:48]
	}
	return q
}

// nanos stores a time as integer nanoseconds; the zero time is 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
