package postgres

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/storetest"
	"github.com/opscentre/opscentre/test/testbin"
)

// BenchmarkList100k lists filtered pages over 100,000 incidents on PostgreSQL (target < 50 ms).
func BenchmarkList100k(b *testing.B) {
	ctx := context.Background()
	dsn := testbin.PostgresDatabase(b)
	s, err := Open(ctx, Options{DSN: dsn, Config: store.DefaultConfig()})
	require.NoError(b, err)
	defer s.Close()
	raw, err := sql.Open("pgx", dsn)
	require.NoError(b, err)
	defer raw.Close()
	require.NoError(b, storetest.Seed(ctx, raw, Dialect, 100000))
	_, err = raw.ExecContext(ctx, `ANALYZE incidents`)
	require.NoError(b, err)
	for name, f := range map[string]store.Filter{
		"tier+state":      {Tier: incident.P1, States: []incident.State{incident.Detected, incident.Triaged}, Limit: 50},
		"team+time-range": {Team: "team-3", From: storetest.SeedStart.Add(10 * 24 * time.Hour), To: storetest.SeedStart.Add(40 * 24 * time.Hour), Limit: 50},
		"model":           {Model: "model-17", Limit: 50},
		"text":            {Text: "model-42 ", Limit: 50},
		"no-filter":       {Limit: 50},
	} {
		b.Run(name, func(b *testing.B) {
			p, err := s.List(ctx, f)
			require.NoError(b, err)
			require.NotEmpty(b, p.Incidents)
			f.Cursor = p.NextCursor
			for b.Loop() {
				if _, err := s.List(ctx, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
