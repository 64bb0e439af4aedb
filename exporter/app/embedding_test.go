package app

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// embeddingJSON is a 16-dimensional embedding around a centre at distance 2 from the origin
// along axis, with unit noise.
func embeddingJSON(rng *rand.Rand, axis int) string {
	parts := make([]string, 16)
	for i := range parts {
		x := rng.NormFloat64()
		if i == axis {
			x += 2
		}
		parts[i] = strconv.FormatFloat(x, 'g', 6, 64)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// TestEmbeddingDriftEndToEnd: an NDJSON reference of LLM events with embeddings (no other
// features); events whose cluster is rotated by 90° set aiops_embedding_drifted on one version,
// events from the reference's cluster leave it at 0 on the other. Malformed embeddings are
// rejected naming the field, and an embedding of another dimension is counted, not dropped.
func TestEmbeddingDriftEndToEnd(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	a, srv := clockApp(t, t.TempDir(), "window: {sub_windows: 24, sub_window_duration: 1h}\nreference: {capture_first: 0}\n", clock)
	defer a.store.Close()
	rng := rand.New(rand.NewPCG(8, 8))
	var ref strings.Builder
	for range 2000 {
		fmt.Fprintf(&ref, `{"embedding":%s}`+"\n", embeddingJSON(rng, 3))
	}
	for _, version := range []string{"rotated", "steady"} {
		status, out := request(t, http.MethodPut, srv.URL+"/api/v1/models/chat/versions/"+version+"/reference", "application/x-ndjson", []byte(ref.String()))
		require.Equal(t, http.StatusOK, status, "%v", out)
	}
	post := func(version string, axis, n int) {
		var b strings.Builder
		for range n {
			fmt.Fprintf(&b, `{"model":"chat","version":%q,"embedding":%s}`+"\n", version, embeddingJSON(rng, axis))
		}
		status, out := request(t, http.MethodPost, srv.URL+"/api/v1/events", "application/x-ndjson", []byte(b.String()))
		require.Equal(t, http.StatusOK, status, "%v", out)
		require.EqualValues(t, n, out["accepted"], "%v", out)
	}
	post("rotated", 4, 300)
	post("steady", 3, 300)
	rotated := map[string]string{"model": "chat", "version": "rotated"}
	steady := map[string]string{"model": "chat", "version": "steady"}
	require.InDelta(t, 1, mustMetric(t, a, "aiops_embedding_drifted", rotated), 0)
	require.InDelta(t, 0, mustMetric(t, a, "aiops_embedding_drifted", steady), 0)
	require.Greater(t, mustMetric(t, a, "aiops_embedding_drift_distance", rotated), 2.5)

	status, out := request(t, http.MethodPost, srv.URL+"/api/v1/events", "", []byte(`[{"model":"chat","version":"steady","embedding":[1,"x"]},{"model":"chat","version":"steady","embedding":"abc"},{"model":"chat","version":"steady","embedding":[1,2]}]`))
	require.Equal(t, http.StatusOK, status, "%v", out)
	rejected := out["rejected"].([]any)
	require.Len(t, rejected, 2, "%v", out)
	require.Equal(t, "embedding[1]", rejected[0].(map[string]any)["field"])
	require.Equal(t, "embedding", rejected[1].(map[string]any)["field"])
	require.InDelta(t, 1, mustMetric(t, a, "aiops_feature_drift_unbinned_total", map[string]string{"version": "steady", "feature": "__embedding__"}), 0)
}
