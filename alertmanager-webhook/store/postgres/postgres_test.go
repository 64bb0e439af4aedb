package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/store/storetest"
	"github.com/opscentre/opscentre/test/testbin"
)

// freshDB creates a database with a random name on the test server and drops it afterwards.
func freshDB(t testing.TB) string {
	t.Helper()
	admin := testbin.PostgresDSN(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "incidentd_test_" + hex.EncodeToString(b)
	adb, err := sql.Open("pgx", admin)
	require.NoError(t, err)
	_, err = adb.Exec(`CREATE DATABASE ` + name)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := adb.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`)
		require.NoError(t, err)
		adb.Close()
	})
	u, err := url.Parse(admin)
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}

func factory(t *testing.T) storetest.Opener {
	dsn := freshDB(t)
	return func(cfg store.Config, now func() time.Time) *store.DB {
		s, err := Open(context.Background(), Options{DSN: dsn, Config: cfg, Now: now, MaxConns: 4})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		return s
	}
}

func TestStore(t *testing.T) { storetest.Run(t, factory) }

func TestMigrationsUpDown(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("pgx", freshDB(t))
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
