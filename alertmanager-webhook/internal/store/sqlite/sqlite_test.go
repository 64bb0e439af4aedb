package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/storetest"
)

func factory(t *testing.T) storetest.Backend {
	path := filepath.Join(t.TempDir(), "incidentd.db")
	raw, err := OpenDB(path)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, raw.Close()) })
	return storetest.Backend{Raw: raw, Dialect: Dialect, Open: func(cfg store.Config, now func() time.Time) *store.DB {
		s, err := Open(context.Background(), Options{Path: path, Config: cfg, Now: now})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		return s
	}}
}

func TestStore(t *testing.T) { storetest.Run(t, factory) }

func TestMigrationsUpDown(t *testing.T) {
	ctx := context.Background()
	db, err := OpenDB(filepath.Join(t.TempDir(), "m.db"))
	require.NoError(t, err)
	defer db.Close()
	ms, err := Migrations()
	require.NoError(t, err)
	tables := func() []string {
		rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'schema_migrations' ORDER BY name`)
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
		v, err := store.SchemaVersion(ctx, db)
		require.NoError(t, err)
		require.Equal(t, ms[len(ms)-1].Version, v)
		require.NoError(t, store.Migrate(ctx, db, Dialect, ms, 0))
		require.Empty(t, tables())
	}
}

// TestTransitionsRekeyKeepsRows: migration 5 rebuilds alert_transitions with another key
// order; the recorded transitions, which make replays duplicates, must survive both ways.
func TestTransitionsRekeyKeepsRows(t *testing.T) {
	ctx := context.Background()
	db, err := OpenDB(filepath.Join(t.TempDir(), "m.db"))
	require.NoError(t, err)
	defer db.Close()
	ms, err := Migrations()
	require.NoError(t, err)
	require.NoError(t, store.Migrate(ctx, db, Dialect, ms, 4))
	_, err = db.ExecContext(ctx, `INSERT INTO alert_transitions (fingerprint, starts_at, status, ends_at, received_at, external_url)
		VALUES ('a', 1, 'firing', 0, 5, 'http://am'), ('a', 1, 'resolved', 9, 6, 'http://am'), ('b', 2, 'firing', 0, 7, 'http://am')`)
	require.NoError(t, err)
	rows := func() []string {
		r, err := db.QueryContext(ctx, `SELECT fingerprint || '/' || starts_at || '/' || status || '/' || ends_at || '/' || received_at FROM alert_transitions ORDER BY 1`)
		require.NoError(t, err)
		defer r.Close()
		var out []string
		for r.Next() {
			var s string
			require.NoError(t, r.Scan(&s))
			out = append(out, s)
		}
		return out
	}
	want := []string{"a/1/firing/0/5", "a/1/resolved/9/6", "b/2/firing/0/7"}
	require.NoError(t, store.Migrate(ctx, db, Dialect, ms, 5))
	require.Equal(t, want, rows())
	_, err = db.ExecContext(ctx, `INSERT INTO alert_transitions (fingerprint, starts_at, status, ends_at, received_at, external_url)
		VALUES ('a', 1, 'firing', 0, 8, 'http://am') ON CONFLICT (fingerprint, starts_at, status, ends_at) DO NOTHING`)
	require.NoError(t, err)
	require.Equal(t, want, rows(), "the key still deduplicates")
	require.NoError(t, store.Migrate(ctx, db, Dialect, ms, 4))
	require.Equal(t, want, rows())
}

func TestRunbookBackfill(t *testing.T) {
	db, err := OpenDB(filepath.Join(t.TempDir(), "m.db"))
	require.NoError(t, err)
	defer db.Close()
	ms, err := Migrations()
	require.NoError(t, err)
	storetest.RunbookBackfill(t, db, Dialect, ms)
}
