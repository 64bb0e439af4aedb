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

	"github.com/opscentre/opscentre/alertmanager-webhook/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/store/sqlite"
	"github.com/opscentre/opscentre/alertmanager-webhook/store/storetest"
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
