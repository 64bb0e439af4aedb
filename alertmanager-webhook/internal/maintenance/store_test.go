package maintenance_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/maintenance"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/sqlite"
)

// TestStoreKeepsWindows: a window added over the API is audited and comes back from the
// database matching what it matched when posted, in and out of the escalation worker's
// transaction; a stored window that cannot be read is named in the error.
func TestStoreKeepsWindows(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	db, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "i.db"), Config: store.DefaultConfig(), Now: func() time.Time { return now }})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	ms := maintenance.Store{DB: db}

	w, err := maintenance.Normalize(maintenance.Input{Matchers: maintenance.Matchers{Equal: map[string]string{"team": "risk", "model": "fraud"}}, End: now.Add(2 * time.Hour).Format(time.RFC3339), Reason: "retrain"}, "alice", now)
	require.NoError(t, err)
	added, err := ms.Add(ctx, w)
	require.NoError(t, err)
	require.NotZero(t, added.ID)
	es, err := db.Audit(ctx, store.AuditFilter{Action: "maintenance."})
	require.NoError(t, err)
	require.Len(t, es, 1)
	require.Equal(t, "alice", es[0].Actor)

	check := func(ws []maintenance.Window) {
		t.Helper()
		require.Len(t, ws, 1)
		require.Equal(t, *added, ws[0])
		require.True(t, ws[0].Covers(map[string]string{"team": "risk", "model": "fraud", "tier": "P1"}, now.Add(time.Hour)))
		require.False(t, ws[0].Covers(map[string]string{"team": "risk", "model": "churn"}, now.Add(time.Hour)))
		require.False(t, ws[0].Covers(map[string]string{"team": "risk", "model": "fraud"}, now.Add(2*time.Hour)), "a window ends at its end")
	}
	ws, err := ms.Active(ctx, now)
	require.NoError(t, err)
	check(ws)
	require.NoError(t, db.UpdateEscalations(ctx, "test", func(ctx context.Context, tx *store.EscalationTx) error {
		ws, err := ms.ActiveTx(ctx, tx, now)
		require.NoError(t, err)
		check(ws)
		return nil
	}))
	ws, err = ms.Active(ctx, now.Add(2*time.Hour))
	require.NoError(t, err)
	require.Empty(t, ws)

	id, err := db.AddMaintenance(ctx, store.MaintenanceWindow{Matchers: `{"team":`, Start: now, End: now.Add(time.Hour), Reason: "garbled", CreatedBy: "bob", CreatedAt: now})
	require.NoError(t, err)
	_, err = ms.Active(ctx, now)
	require.ErrorContains(t, err, fmt.Sprintf("maintenance window %d: matchers", id))
}
