// Package postgres opens the incident store on PostgreSQL, for several incidentd replicas
// sharing one database behind a load balancer.
//
// Every write is its own READ COMMITTED transaction. Replicas ingesting the same alert group
// at once queue on that group's row lock (SELECT … FOR UPDATE) and the unique constraints
// on occurrences and transitions turn their duplicates into no-ops, so Alertmanager HA pairs
// produce one incident per group. Serialization failures and deadlocks are retried.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Dialect is PostgreSQL's SQL flavour.
var Dialect = store.Dialect{Name: "postgres", Numbered: true, ForUpdate: " FOR UPDATE", Corrupt: Corrupt}

// Corrupt reports whether err is PostgreSQL's data_corrupted or index_corrupted.
func Corrupt(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "XX001" || pe.Code == "XX002")
}

// Migrations returns the embedded schema migrations.
func Migrations() ([]store.Migration, error) { return store.LoadMigrations(migrationsFS, "migrations") }

// Options configure the PostgreSQL store.
type Options struct {
	DSN     string
	Config  store.Config
	Now     func() time.Time
	Observe func(op string, d time.Duration)
	// MaxConns bounds the connection pool (default 16).
	MaxConns int
}

// migrationLock is the advisory lock key replicas take while migrating, so two replicas
// starting together do not both run the same step.
const migrationLock = 0x696e6364 // "incd"

// Open connects and migrates.
func Open(ctx context.Context, o Options) (*store.DB, error) {
	db, err := sql.Open("pgx", o.DSN)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 16
	}
	db.SetMaxOpenConns(o.MaxConns)
	db.SetMaxIdleConns(o.MaxConns)
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return store.New(store.Options{DB: db, Dialect: Dialect, Writer: &writer{db: db}, Config: o.Config, Now: o.Now, Observe: o.Observe}), nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer func() { _, _ = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, migrationLock) }()
	if err := store.Migrate(ctx, db, Dialect, ms, -1); err != nil {
		return fmt.Errorf("migrate postgres: %w", err)
	}
	return nil
}

type writer struct{ db *sql.DB }

// retryable reports PostgreSQL errors that a fresh attempt can fix.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", "40P01", "23505", "55P03": // serialization, deadlock, unique race, lock not available
			return true
		}
	}
	return false
}

func (w *writer) Write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
			case <-ctx.Done():
				return fmt.Errorf("%w: %w", store.ErrUnavailable, ctx.Err())
			}
		}
		err = w.once(ctx, fn)
		if err == nil || !retryable(err) {
			break
		}
	}
	var inv *store.InvalidError
	if err != nil && !errors.As(err, &inv) && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrUnavailable) {
		err = fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

func (w *writer) once(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	tx, err := w.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

func (w *writer) Close() error { return nil }
