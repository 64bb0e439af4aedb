package heartbeat_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/heartbeat"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/postgres"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/sqlite"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/storetest"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/webhook"
	"github.com/opscentre/opscentre/test/testbin"
)

func watchdog(at time.Time) *webhook.Message {
	return &webhook.Message{Version: "4", GroupKey: "{}:{alertname=\"Watchdog\"}", Status: webhook.StatusFiring, Receiver: "hook",
		Alerts:      []webhook.Alert{{Status: webhook.StatusFiring, Labels: map[string]string{"alertname": "Watchdog"}, StartsAt: storetest.T0.Add(-time.Hour), Fingerprint: "00000000000000aa"}},
		GroupLabels: map[string]string{"alertname": "Watchdog"}, CommonLabels: map[string]string{"alertname": "Watchdog"}}
}

func TestMissingWatchdogOpensAndResolvesAnIncident(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		testMissingWatchdog(t, func(now func() time.Time) (*store.DB, error) {
			return sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "i.db"), Config: store.DefaultConfig(), Now: now})
		})
	})
	// The watch finds the occurrences it opened through a partial index on PostgreSQL too.
	t.Run("postgres", func(t *testing.T) {
		dsn := testbin.PostgresDatabase(t)
		testMissingWatchdog(t, func(now func() time.Time) (*store.DB, error) {
			return postgres.Open(context.Background(), postgres.Options{DSN: dsn, Config: store.DefaultConfig(), Now: now, MaxConns: 4})
		})
	})
}

func testMissingWatchdog(t *testing.T, open func(now func() time.Time) (*store.DB, error)) {
	ctx := context.Background()
	clk := storetest.NewClock(storetest.T0)
	db, err := open(clk.Now)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	w := &heartbeat.Watch{DB: db, Ingest: webhook.Storing(db), Now: clk.Now, Config: func() []heartbeat.Config {
		return []heartbeat.Config{{Alertname: "Watchdog", After: model.Duration(10 * time.Minute), Team: "sre"}}
	}}
	in := w.Ingester(webhook.Storing(db))
	require.NoError(t, w.Start(ctx))
	list := func() []store.Incident {
		p, err := db.List(ctx, store.Filter{})
		require.NoError(t, err)
		return p.Incidents
	}

	// Heartbeats arrive every 5 minutes: recorded, never an incident.
	for range 4 {
		out, err := in.Ingest(ctx, watchdog(clk.Now()))
		require.NoError(t, err)
		require.Empty(t, out.Incidents)
		clk.Add(5 * time.Minute)
		require.NoError(t, w.Check(ctx))
	}
	require.Empty(t, list(), "the Watchdog itself opens no incident")

	// It stops; at 9m59s nothing, at 10m a P1.
	last := clk.Now().Add(-5 * time.Minute)
	clk.Set(last.Add(10*time.Minute - time.Second))
	require.NoError(t, w.Check(ctx))
	require.Empty(t, list())
	clk.Set(last.Add(10 * time.Minute))
	require.NoError(t, w.Check(ctx))
	clk.Add(time.Minute)
	require.NoError(t, w.Check(ctx), "checking again changes nothing")
	incs := list()
	require.Len(t, incs, 1)
	require.Equal(t, incident.P1, incs[0].Tier)
	require.Equal(t, "sre", incs[0].Team)
	require.Equal(t, last.Add(10*time.Minute), incs[0].DetectedAt)
	require.Contains(t, incs[0].Summary, "No Watchdog heartbeat")

	// It comes back: the incident resolves.
	_, err = in.Ingest(ctx, watchdog(clk.Now()))
	require.NoError(t, err)
	require.NoError(t, w.Check(ctx))
	incs = list()
	require.Len(t, incs, 1)
	require.Equal(t, incident.Resolved, incs[0].State)
}
