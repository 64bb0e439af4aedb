package app

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// postValues posts one event per value of feature x for model m.
func postValues(t *testing.T, url string, xs ...float64) {
	t.Helper()
	var b strings.Builder
	for _, x := range xs {
		fmt.Fprintf(&b, `{"model":"m","version":"v1","features":{"x":%g}}`+"\n", x)
	}
	status, out := request(t, http.MethodPost, url+"/api/v1/events", "application/x-ndjson", []byte(b.String()))
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, len(xs), out["accepted"], "%v", out)
}

func valuesTotal(t *testing.T, a *App) float64 {
	t.Helper()
	fams, err := a.opts.Registry.Gather()
	require.NoError(t, err)
	var sum float64
	for _, f := range fams {
		if f.GetName() != "aiops_feature_values_total" {
			continue
		}
		for _, m := range f.Metric {
			if hasLabels(m, map[string]string{"feature": "x"}) {
				sum += m.Counter.GetValue()
			}
		}
	}
	return sum
}

// The reference is captured from the events of a pinned range only; the drift counters keep
// every later value even after its sub-window is reused, and they and the window survive a
// restart.
func TestRangeCaptureAndDriftCountersAcrossSlotReuseAndRestart(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	cfg := `
window: {sub_windows: 4, sub_window_duration: 1m}
limits: {max_event_age: 1m}
models:
  m:
    reference: {from: 2026-11-02T09:01:00Z, to: 2026-11-02T09:02:00Z}
`
	a, srv := clockApp(t, dir, cfg, clock)
	ramp := func(n int, shift float64) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(i%50) + shift
		}
		return xs
	}
	postValues(t, srv.URL, 1000, 2000) // before the range: not in the reference
	clock.Advance(time.Minute)
	postValues(t, srv.URL, ramp(100, 0)...) // the reference
	status, list := request(t, http.MethodGet, srv.URL+"/api/v1/references", "", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, true, list["references"].([]any)[0].(map[string]any)["capturing"])
	clock.Advance(time.Minute) // the range is over: the next scrape freezes it
	_, err := a.opts.Registry.Gather()
	require.NoError(t, err)
	status, list = request(t, http.MethodGet, srv.URL+"/api/v1/references", "", nil)
	require.Equal(t, http.StatusOK, status)
	ref := list["references"].([]any)[0].(map[string]any)
	require.Equal(t, "capture", ref["source"])
	require.EqualValues(t, 100, ref["rows"], "only the range's events")
	require.Nil(t, ref["capturing"])
	status, prof := request(t, http.MethodGet, srv.URL+"/api/v1/models/m/versions/v1/reference", "", nil)
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 49, prof["features"].([]any)[0].(map[string]any)["max"], "the events before the range are not in it")

	// 100 values per minute for 10 minutes: the 4-slot ring is reused over and over.
	for range 10 {
		postValues(t, srv.URL, ramp(100, 20)...)
		clock.Advance(time.Minute)
	}
	postValues(t, srv.URL, ramp(100, 20)...)
	require.InDelta(t, 1100, valuesTotal(t, a), 0, "no value lost when sub-windows are reused")
	labels := map[string]string{"feature": "x", "method": "psi"}
	psi := mustMetric(t, a, "aiops_feature_drift_score", labels)
	require.Greater(t, psi, 0.5)

	require.NoError(t, a.Snapshot())
	require.NoError(t, a.store.Close())
	srv.Close()
	b, srv := clockApp(t, dir, cfg, clock)
	defer b.store.Close()
	require.InDelta(t, 1100, valuesTotal(t, b), 0)
	require.InDelta(t, psi, mustMetric(t, b, "aiops_feature_drift_score", labels), 1e-12, "the window's drift counts came back")
	postValues(t, srv.URL, 1, 2, 3)
	require.InDelta(t, 1103, valuesTotal(t, b), 0)
}

// Events with ids, labels, scrapes, snapshots and reference uploads at the same time (run with
// -race): every label joins exactly one prediction.
func TestConcurrentDriftAndLabels(t *testing.T) {
	a, srv := newApp(t, "reference: {capture_first: 50}\n")
	const posters, batches, perBatch = 3, 10, 40
	var wg sync.WaitGroup
	for p := range posters {
		wg.Go(func() {
			for b := range batches {
				var events, labels strings.Builder
				for i := range perBatch {
					id := fmt.Sprintf("p%d-b%d-%d", p, b, i)
					fmt.Fprintf(&events, `{"model":"m","id":%q,"features":{"x":%d,"c":"v%d"},"prediction":"yes","scores":{"yes":0.7}}`+"\n", id, i, i%3)
					fmt.Fprintf(&labels, `{"model":"m","id":%q,"label":"yes"}`+"\n", id)
				}
				for _, post := range []struct{ path, body string }{{"/api/v1/events", events.String()}, {"/api/v1/labels", labels.String()}} {
					status, out := request(t, http.MethodPost, srv.URL+post.path, "application/x-ndjson", []byte(post.body))
					require.Equal(t, http.StatusOK, status)
					require.EqualValues(t, perBatch, out["accepted"], "%v", out)
				}
			}
		})
	}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, err := a.opts.Registry.Gather()
			require.NoError(t, err)
			require.NoError(t, a.Snapshot())
			status, _ := request(t, http.MethodPut, srv.URL+"/api/v1/models/m/versions/other/reference", "text/csv", []byte("x\n1\n2\n3\n"))
			require.Equal(t, http.StatusOK, status)
		}
	})
	wg.Wait()
	close(stop)
	bg.Wait()
	total := float64(posters * batches * perBatch)
	require.InDelta(t, total, mustMetric(t, a, "aiops_labels_total", map[string]string{"model": "m", "result": "joined"}), 0)
	require.InDelta(t, 0, mustMetric(t, a, "aiops_predictions_awaiting_label", map[string]string{"model": "m", "version": "default"}), 0)
	require.InDelta(t, total-50, valuesTotal(t, a), 0, "every event after the captured 50 is binned")
}
