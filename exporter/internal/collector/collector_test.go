package collector

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func event(v *state.Version, e state.Event) {
	if e.Time.IsZero() {
		e.Time = t0
	}
	v.Apply(&e, nil)
}

func TestCollectExactExposition(t *testing.T) {
	cfg, err := config.Parse([]byte("models:\n  m:\n    features:\n      x: {type: numeric, expected_max: 10}\n"))
	require.NoError(t, err)
	st := state.New(cfg, state.Options{Now: func() time.Time { return t0 }})
	v, _ := st.Resolve([]byte("m"), []byte("v1"))
	for _, val := range []float64{1, 20, 5} {
		event(v, state.Event{Outcome: -1, Feedback: -1, Features: []state.FeatureValue{{Name: []byte("x"), Type: config.Numeric, Num: val}}})
	}
	event(v, state.Event{Outcome: 3, Feedback: 0, ErrorType: []byte("timeout")})
	st.Reject(state.Unknown, state.Unknown, "invalid_json")

	want := `
# HELP aiops_events_total Inference events accepted.
# TYPE aiops_events_total counter
aiops_events_total{model="m",version="v1"} 4
# HELP aiops_events_rejected_total Inference events rejected, by reason (a closed set; see exporter/README.md). Events naming no usable model have model and version "__unknown__".
# TYPE aiops_events_rejected_total counter
aiops_events_rejected_total{model="__unknown__",reason="invalid_json",version="__unknown__"} 1
# HELP aiops_feature_null_ratio Share of events in the sliding window whose feature was null or absent.
# TYPE aiops_feature_null_ratio gauge
aiops_feature_null_ratio{feature="x",model="m",version="v1"} 0.25
# HELP aiops_feature_outlier_ratio Share of a numeric feature's values in the sliding window outside its expected_min..expected_max.
# TYPE aiops_feature_outlier_ratio gauge
aiops_feature_outlier_ratio{feature="x",model="m",version="v1"} 0.3333333333333333
# HELP aiops_inference_errors_total Failed inferences, by error type.
# TYPE aiops_inference_errors_total counter
aiops_inference_errors_total{model="m",type="timeout",version="v1"} 1
# HELP aiops_task_outcomes_total Task outcomes: completed, failed, escalated, abandoned.
# TYPE aiops_task_outcomes_total counter
aiops_task_outcomes_total{model="m",outcome="abandoned",version="v1"} 1
aiops_task_outcomes_total{model="m",outcome="completed",version="v1"} 0
aiops_task_outcomes_total{model="m",outcome="escalated",version="v1"} 0
aiops_task_outcomes_total{model="m",outcome="failed",version="v1"} 0
`
	require.NoError(t, testutil.CollectAndCompare(New(st), strings.NewReader(want),
		"aiops_events_total", "aiops_events_rejected_total", "aiops_feature_null_ratio",
		"aiops_feature_outlier_ratio", "aiops_inference_errors_total", "aiops_task_outcomes_total"))
	// Lint the whole exposition with client_golang's own checks.
	problems, err := testutil.CollectAndLint(New(st))
	require.NoError(t, err)
	require.Empty(t, problems)
}

// fill builds models × features of state, each version with a few events, tokens and
// latencies, the shape of a big deployment.
func fill(tb testing.TB, models, features int) *state.State {
	tb.Helper()
	cfg := config.Default()
	cfg.Limits.MaxModels = models
	st := state.New(cfg, state.Options{Now: func() time.Time { return t0 }})
	for m := range models {
		v, _ := st.Resolve(fmt.Appendf(nil, "model-%03d", m), []byte("v1"))
		for i := range 10 {
			e := state.Event{Outcome: i % 4, Feedback: i % 7, HasLatency: true, Latency: float64(i) / 10,
				HasTokens: true, Tokens: [3]uint64{uint64(100 * i), uint64(10 * i), 0}, HasInputLen: true, InputLen: 400}
			for f := range features {
				e.Features = append(e.Features, state.FeatureValue{Name: fmt.Appendf(nil, "feature_%03d", f), Type: config.Numeric, Num: float64(f)})
			}
			event(v, e)
		}
	}
	return st
}

// BenchmarkScrape50x50 gathers and encodes /metrics for 50 models × 50 features; the target
// is well under 100 ms per scrape.
func BenchmarkScrape50x50(b *testing.B) {
	st := fill(b, 50, 50)
	reg := prometheus.NewRegistry()
	reg.MustRegister(New(st))
	var series int
	for b.Loop() {
		mfs, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		series = 0
		for _, mf := range mfs {
			series += len(mf.Metric)
		}
	}
	b.ReportMetric(float64(series), "series")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/scrape")
}

// TestMemoryFlatWithLongerWindow shows that state memory depends on the number of
// sub-windows and features, not on the window's length or the number of events in it: a
// 10× longer window (same number of sub-windows, each 10× wider) holding 10× the events
// uses the same memory, within allocator noise.
func TestMemoryFlatWithLongerWindow(t *testing.T) {
	measure := func(width time.Duration, events int) uint64 {
		cfg := config.Default()
		cfg.Window.SubWindowDuration = modelDuration(width)
		now := t0
		st := state.New(cfg, state.Options{Now: func() time.Time { return now }})
		v, _ := st.Resolve([]byte("m"), []byte("v1"))
		span := width * time.Duration(cfg.Window.SubWindows)
		feats := make([]state.FeatureValue, 20)
		for f := range feats {
			feats[f] = state.FeatureValue{Name: fmt.Appendf(nil, "f%02d", f), Type: config.Numeric}
		}
		for i := range events {
			now = t0.Add(span * time.Duration(i) / time.Duration(events))
			for f := range feats {
				feats[f].Num = float64(i % 1000)
			}
			event(v, state.Event{Time: now, Outcome: -1, Feedback: -1, HasLatency: true, Latency: float64(i%1000) / 100, Features: feats})
		}
		// The state's retained size: live heap with it minus live heap once it is dropped.
		var with, without runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&with)
		runtime.KeepAlive(st)
		st, v = nil, nil
		runtime.GC()
		runtime.ReadMemStats(&without)
		return with.HeapAlloc - min(with.HeapAlloc, without.HeapAlloc)
	}
	measure(5*time.Minute, 1000) // first use initialises runtime and package caches
	short := measure(5*time.Minute, 20_000)
	long := measure(50*time.Minute, 200_000)
	t.Logf("state heap: 1h window, 20k events: %d bytes; 10h window, 200k events: %d bytes", short, long)
	require.Less(t, float64(long), 1.5*float64(short)+64<<10, "memory grew with the window length")
}

func modelDuration(d time.Duration) model.Duration { return model.Duration(d) }

func TestCollectContainedEvents(t *testing.T) {
	cfg, err := config.Parse([]byte("models:\n  m: {}\n"))
	require.NoError(t, err)
	st := state.New(cfg, state.Options{Now: func() time.Time { return t0 }})
	v, _ := st.Resolve([]byte("m"), []byte("v1"))
	event(v, state.Event{Outcome: -1, Feedback: -1})
	c := New(st)
	n, err := testutil.GatherAndCount(prometheusRegistry(t, c), "aiops_contained_events_total")
	require.NoError(t, err)
	require.Zero(t, n, "no series before any contained event")
	event(v, state.Event{Outcome: -1, Feedback: -1, Contained: 1})
	event(v, state.Event{Outcome: -1, Feedback: -1, Contained: 3})
	event(v, state.Event{Outcome: -1, Feedback: -1, Contained: 3})
	require.NoError(t, testutil.GatherAndCompare(prometheusRegistry(t, c), strings.NewReader(`
# HELP aiops_contained_events_total Events produced under an incidentd containment, by its action: fallback, disable, block_inputs.
# TYPE aiops_contained_events_total counter
aiops_contained_events_total{action="block_inputs",model="m",version="v1"} 2
aiops_contained_events_total{action="disable",model="m",version="v1"} 0
aiops_contained_events_total{action="fallback",model="m",version="v1"} 1
`), "aiops_contained_events_total"))
}

func prometheusRegistry(t *testing.T, c prometheus.Collector) *prometheus.Registry {
	t.Helper()
	r := prometheus.NewRegistry()
	require.NoError(t, r.Register(c))
	return r
}
