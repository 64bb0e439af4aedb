package investigate

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/evidence"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/sqlite"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/storetest"
)

// countingQuerier answers every query with an empty vector and counts them.
type countingQuerier struct{ n atomic.Int64 }

func (c *countingQuerier) Query(context.Context, string, time.Time, ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	c.n.Add(1)
	return model.Vector{}, nil, nil, nil
}

// An incident's evidence is gathered once; again only when its tier rises or when forced.
func TestGatherOnceUnlessTierRisesOrForced(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(storetest.T0.Add(time.Hour))
	db, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "i.db"), Config: store.DefaultConfig(), Now: clock.Now})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	q := &countingQuerier{}
	v := New(Options{Store: db, Querier: q, Registerer: prometheus.NewRegistry(), Now: clock.Now})

	out, err := db.Ingest(ctx, storetest.Msg("drift", storetest.A{FP: "a"}))
	require.NoError(t, err)
	id := out.Incidents[0]
	require.NoError(t, v.Gather(ctx, id, false))
	per := q.n.Load()
	require.Positive(t, per)
	e, err := db.Evidence(ctx, id)
	require.NoError(t, err)
	require.Equal(t, incident.P2, e.Tier)

	require.NoError(t, v.Gather(ctx, id, false))
	require.Equal(t, per, q.n.Load(), "same tier: not gathered again")

	_, err = db.SetTier(ctx, id, incident.P1, store.Action{Actor: "alice"})
	require.NoError(t, err)
	require.NoError(t, v.Gather(ctx, id, false))
	require.Equal(t, 2*per, q.n.Load(), "the tier rose: gathered again")
	e, err = db.Evidence(ctx, id)
	require.NoError(t, err)
	require.Equal(t, incident.P1, e.Tier)

	require.NoError(t, v.Gather(ctx, id, true))
	require.Equal(t, 3*per, q.n.Load(), "forced")
	require.Equal(t, 3.0, testutil.ToFloat64(v.results.WithLabelValues(ResultComplete)))
}

// The opening alert's evidence-hint annotations reach the stored report through the real
// store: the hinted cause listed first and flagged, the hints (and an unknown cause, as
// ignored) recorded — and the verdicts those of the data (none here: every cause unknown or
// not supported).
func TestGatherReadsHintsFromTheOpeningAlert(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(storetest.T0.Add(time.Hour))
	db, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "i.db"), Config: store.DefaultConfig(), Now: clock.Now})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	v := New(Options{Store: db, Querier: &countingQuerier{}, Registerer: prometheus.NewRegistry(), Now: clock.Now})

	m := storetest.Msg("slow", storetest.A{FP: "b", Start: time.Minute}, storetest.A{FP: "a"})
	for i := range m.Alerts {
		m.Alerts[i].Annotations[evidence.AnnotationCauses] = "capacity,gremlins"
		m.Alerts[i].Annotations[evidence.AnnotationFeatures] = "amount"
		if m.Alerts[i].Fingerprint == "b" { // a later alert: its hints are not the opening one's
			m.Alerts[i].Annotations[evidence.AnnotationCauses] = "version_mismatch"
		}
	}
	out, err := db.Ingest(ctx, m)
	require.NoError(t, err)
	id := out.Incidents[0]
	require.NoError(t, v.Gather(ctx, id, false))
	r, err := v.Report(ctx, id)
	require.NoError(t, err)
	require.Equal(t, evidence.Capacity, r.Causes[0].Name)
	require.True(t, r.Causes[0].Hinted)
	require.NotEqual(t, evidence.Supported, r.Causes[0].Verdict, "no data: a hint supports nothing")
	for _, c := range r.Causes[1:] {
		require.False(t, c.Hinted, c.Name)
	}
	require.NotNil(t, r.Hints)
	require.Equal(t, []string{"capacity"}, r.Hints.Causes)
	require.Equal(t, []string{"amount"}, r.Hints.Features)
	require.Len(t, r.Hints.Ignored, 1)
	require.Contains(t, r.Hints.Ignored[0], `unknown cause "gremlins"`)
	require.Empty(t, r.Errors, "an ignored hint is not a query error")
}
