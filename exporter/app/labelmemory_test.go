package app

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/internal/labels"
)

// Predictions awaiting their label and labels awaiting their prediction share one bound in
// bytes, ids included, across every model and version (labels.max_bytes): per-version
// max_awaiting alone lets thousands of versions grow together. Past it the oldest go first,
// whichever version holds them, and each eviction is counted with reason "memory".
func TestAwaitingMemoryBoundedAcrossVersions(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	const cfg = `
reference: {capture_first: 0}
labels: {max_awaiting: 1000000, max_age: 30d, unknown_id_ttl: 1h, max_bytes: 1MiB}
`
	a, srv := clockApp(t, t.TempDir(), cfg, clock)
	defer a.store.Close()
	longID := strings.Repeat("x", 200) // ids count: 200 bytes each
	per := labels.EntryBytes(len(longID) + 8)
	post := func(version string, from, to int) {
		t.Helper()
		var b strings.Builder
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, `{"model":"m","version":%q,"id":"%s-%s%06d","prediction":"yes"}`+"\n", version, version, longID[:200-len(version)], i)
		}
		status, out := request(t, http.MethodPost, srv.URL+"/api/v1/events", "application/x-ndjson", []byte(b.String()))
		require.Equal(t, http.StatusOK, status, "%v", out)
	}
	// v1 first, then v2 and v3, each with as many as the whole budget holds.
	fit := int((1 << 20) / per)
	for _, v := range []string{"v1", "v2", "v3"} {
		for i := 0; i < fit; i += 1000 {
			post(v, i, min(i+1000, fit))
			clock.Advance(time.Second)
		}
	}
	// Labels whose prediction never came take their share too.
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, `{"model":"m","id":"early-%s%06d","label":"yes"}`+"\n", longID[:190], i)
	}
	status, out := request(t, http.MethodPost, srv.URL+"/api/v1/labels", "application/x-ndjson", []byte(b.String()))
	require.Equal(t, http.StatusOK, status, "%v", out)

	used := a.state.LabelBytes()
	require.LessOrEqual(t, used, int64(1<<20), "the bound holds")
	var awaiting, evicted float64
	for _, v := range []string{"v1", "v2", "v3"} {
		mv := map[string]string{"model": "m", "version": v}
		awaiting += mustMetric(t, a, "aiops_predictions_awaiting_label", mv)
		evicted += mustMetric(t, a, "aiops_predictions_awaiting_evicted_total", map[string]string{"model": "m", "version": v, "reason": "memory"})
	}
	require.LessOrEqual(t, awaiting*float64(per), float64(1<<20))
	require.InDelta(t, float64(3*fit), awaiting+evicted, 0, "every prediction is waiting or counted as evicted")
	// Oldest first: all of v1's and v2's went before the first of v3's, which the labels
	// (the newest entries) then pushed out in part.
	for _, v := range []string{"v1", "v2"} {
		require.InDelta(t, float64(fit), mustMetric(t, a, "aiops_predictions_awaiting_evicted_total", map[string]string{"model": "m", "version": v, "reason": "memory"}), 0, v)
	}
	require.Less(t, mustMetric(t, a, "aiops_predictions_awaiting_evicted_total", map[string]string{"model": "m", "version": "v3", "reason": "memory"}), float64(fit/2))
	_, early := metric(t, a, "aiops_labels_total", map[string]string{"model": "m", "result": "evicted"})
	require.False(t, early, "the labels are the newest: none evicted")

	// The newest predictions still join their labels.
	id := fmt.Sprintf("v3-%s%06d", longID[:198], fit-1)
	status, out = request(t, http.MethodPost, srv.URL+"/api/v1/labels", "", []byte(fmt.Sprintf(`{"model":"m","id":%q,"label":"yes"}`, id)))
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.InDelta(t, 1, mustMetric(t, a, "aiops_labels_total", map[string]string{"model": "m", "version": "v3", "result": "joined"}), 0)

	// Evictions survive a snapshot and restart in the counters.
	require.NoError(t, a.Snapshot())
}
