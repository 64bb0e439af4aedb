package evidence

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestJaccard(t *testing.T) {
	for _, c := range []struct {
		a, b []string
		want float64
	}{
		{nil, nil, 0},
		{[]string{"x"}, nil, 0},
		{[]string{"x", "y"}, []string{"x", "y"}, 1},
		{[]string{"x", "y"}, []string{"y", "z"}, 1.0 / 3},
		{[]string{"a", "b", "c", "d"}, []string{"a"}, 0.25},
	} {
		require.InDelta(t, c.want, jaccard(set(c.a), set(c.b)), 1e-12, "%v %v", c.a, c.b)
	}
	// A label is its name and value together: the same name with another value differs.
	require.Equal(t, 0.0, jaccard(pairs(map[string]string{"model": "a"}), pairs(map[string]string{"model": "b"})))
}

func TestSimilarIncidents(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	cur := Incident{ID: 10, Alertname: "ModelDrift", Model: "fraud", DetectedAt: t0, HasReport: true,
		Labels:    map[string]string{"alertname": "ModelDrift", "model": "fraud", "feature": "amount", "tier": "P2"},
		Supported: []string{InputsChanged}}
	past := []Incident{
		// The same fault before: same alert, model, labels and cause, resolved by a rollback.
		{ID: 3, Title: "drift on amount", Alertname: "ModelDrift", Model: "fraud", DetectedAt: t0.Add(-48 * time.Hour), HasReport: true,
			Labels:    map[string]string{"alertname": "ModelDrift", "model": "fraud", "feature": "amount", "tier": "P2"},
			Supported: []string{InputsChanged}, ResolvedAt: t0.Add(-47 * time.Hour), ResolvedBy: "alice",
			RootCause: "upstream ETL switched currency", ActionItems: []string{"validate currency"}},
		// Same alert and model, another feature, no evidence pattern in common.
		{ID: 5, Alertname: "ModelDrift", Model: "fraud", DetectedAt: t0.Add(-time.Hour), HasReport: true,
			Labels:    map[string]string{"alertname": "ModelDrift", "model": "fraud", "feature": "age", "tier": "P2"},
			Supported: []string{VersionMismatch}},
		// Same model only.
		{ID: 6, Alertname: "HighLatency", Model: "fraud", DetectedAt: t0.Add(-2 * time.Hour),
			Labels: map[string]string{"alertname": "HighLatency", "model": "fraud"}},
		// Neither alert nor model: not similar.
		{ID: 7, Alertname: "HighLatency", Model: "chat", DetectedAt: t0.Add(-time.Hour), Labels: map[string]string{"model": "chat"}},
		// Itself and a later incident are never listed.
		{ID: 10, Alertname: "ModelDrift", Model: "fraud", DetectedAt: t0},
		{ID: 11, Alertname: "ModelDrift", Model: "fraud", DetectedAt: t0.Add(time.Minute)},
	}
	got := SimilarIncidents(cur, past, 0)
	ids := []int64{}
	for _, s := range got {
		ids = append(ids, s.ID)
	}
	require.Equal(t, []int64{3, 5, 6}, ids)

	first := got[0]
	require.Equal(t, 1.0, first.Score, "alert 0.4 + model 0.2 + labels 0.2×1 + causes 0.2×1")
	require.Equal(t, []string{InputsChanged}, first.SameCauses)
	require.Equal(t, "alice", first.ResolvedBy)
	require.Equal(t, 3600.0, first.TimeToResolveSeconds)
	require.Equal(t, "upstream ETL switched currency", first.RootCause)
	require.Equal(t, []string{"validate currency"}, first.ActionItems)

	// #5: labels share 3 of 5 pairs, causes none.
	require.InDelta(t, 0.4+0.2+0.2*0.6, got[1].Score, 1e-9)
	require.Empty(t, got[1].SameCauses)
	// #6: model only; labels share model=fraud of {alertname×2, model, feature, tier} = 1/5;
	// no evidence, so causes do not count.
	require.InDelta(t, 0.2+0.2*0.2, got[2].Score, 1e-9)
	require.Zero(t, got[2].TimeToResolveSeconds, "still open")

	require.Len(t, SimilarIncidents(cur, past, 1), 1, "k bounds the list")
}

// On a tie the most recent incident comes first.
func TestSimilarTieMostRecentFirst(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	cur := Incident{ID: 9, Alertname: "A", DetectedAt: t0}
	past := []Incident{{ID: 1, Alertname: "A", DetectedAt: t0.Add(-3 * time.Hour)}, {ID: 2, Alertname: "A", DetectedAt: t0.Add(-time.Hour)}}
	got := SimilarIncidents(cur, past, 0)
	require.Equal(t, int64(2), got[0].ID)
	require.Equal(t, int64(1), got[1].ID)
}
