package postgres

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/storetest"
	"github.com/opscentre/opscentre/test/testbin"
)

func factory(t *testing.T) storetest.Backend {
	dsn := testbin.PostgresDatabase(t)
	raw, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, raw.Close()) })
	return storetest.Backend{Raw: raw, Dialect: Dialect, Open: func(cfg store.Config, now func() time.Time) *store.DB {
		s, err := Open(context.Background(), Options{DSN: dsn, Config: cfg, Now: now, MaxConns: 4})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		return s
	}}
}

func TestStore(t *testing.T) { storetest.Run(t, factory) }

func TestMigrationsUpDown(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("pgx", testbin.PostgresDatabase(t))
	require.NoError(t, err)
	defer db.Close()
	ms, err := Migrations()
	require.NoError(t, err)
	tables := func() []string {
		rows, err := db.QueryContext(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename != 'schema_migrations' ORDER BY tablename`)
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var n string
			require.NoError(t, rows.Scan(&n))
			out = append(out, n)
		}
		return out
	}
	for range 2 {
		require.NoError(t, store.Migrate(ctx, db, Dialect, ms, -1))
		require.Contains(t, tables(), "incidents")
		require.NoError(t, store.Migrate(ctx, db, Dialect, ms, 0))
		require.Empty(t, tables())
	}
}

func TestRunbookBackfill(t *testing.T) {
	db, err := sql.Open("pgx", testbin.PostgresDatabase(t))
	require.NoError(t, err)
	defer db.Close()
	ms, err := Migrations()
	require.NoError(t, err)
	storetest.RunbookBackfill(t, db, Dialect, ms)
}
