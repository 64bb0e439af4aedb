package gate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/rulegen/cli"
	"github.com/opscentre/opscentre/rulegen/gate"
	"github.com/opscentre/opscentre/rulegen/spec"
	"github.com/opscentre/opscentre/test/stack"
	"github.com/opscentre/opscentre/test/testbin"
)

// exposition is what a tiny exporter serves: v1 (baseline) accurate and cheap, v2 (candidate)
// less accurate, drifted and slower. Counters grow with each scrape.
func exposition(n int) string {
	return fmt.Sprintf(`# TYPE aiops_model_accuracy gauge
aiops_model_accuracy{model="m",version="v1"} 0.95
aiops_model_accuracy{model="m",version="v2"} 0.90
# TYPE aiops_drifted_features_ratio gauge
aiops_drifted_features_ratio{model="m",version="v1"} 0.1
aiops_drifted_features_ratio{model="m",version="v2"} 0.5
# TYPE aiops_events_total counter
aiops_events_total{model="m",version="v2"} %d
# TYPE aiops_cost_total counter
aiops_cost_total{model="m",version="v2",currency="usd"} %g
# TYPE aiops_inference_duration_seconds histogram
aiops_inference_duration_seconds_bucket{model="m",version="v2",le="1"} 0
aiops_inference_duration_seconds_bucket{model="m",version="v2",le="2"} %d
aiops_inference_duration_seconds_bucket{model="m",version="v2",le="+Inf"} %d
aiops_inference_duration_seconds_sum{model="m",version="v2"} %d
aiops_inference_duration_seconds_count{model="m",version="v2"} %d
`, 100*n, 0.5*float64(n), 100*n, 100*n, 150*n, 100*n)
}

// freePort returns a loopback address nobody listens on, for a server started next.
func freePort(t *testing.T) string {
	t.Helper()
	addr, err := stack.FreeAddr()
	require.NoError(t, err)
	return addr
}

func TestGateAgainstRealPrometheus(t *testing.T) {
	prom := testbin.Prometheus(t, 2)
	var scrapes atomic.Int64
	exp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, exposition(int(scrapes.Add(1))))
	}))
	defer exp.Close()
	dir := t.TempDir()
	cfg := fmt.Sprintf("global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: exporter\n    static_configs: [{targets: ['%s']}]\n", exp.Listener.Addr().String())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644))
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, prom, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	require.NoError(t, cmd.Start())
	defer func() { cancel(); _ = cmd.Wait() }()

	client := &gate.Client{URL: "http://" + addr, HTTP: &http.Client{Timeout: 5 * time.Second}}
	require.Eventually(t, func() bool {
		v, err := client.Query(context.Background(), `count_over_time(aiops_events_total[1m])`)
		return err == nil && len(v) == 1 && v[0] >= 5
	}, 60*time.Second, 500*time.Millisecond, "Prometheus did not scrape the exporter")

	gates := &spec.Gates{Window: time.Minute,
		MaxAccuracyDrop: 0.01, MaxAccuracyDropSet: true,
		NoFiringTiers:   []string{"P1", "P2"},
		MaxDriftedShare: 0.3, MaxDriftedShareSet: true,
		MaxP95Latency: 3, MaxP95LatencySet: true,
		MaxCostPerRequest: 0.01, MaxCostPerRequestSet: true,
	}
	rep, err := gate.Evaluate(context.Background(), client, gates, gate.Target{Model: "m", Candidate: "v2", Baseline: "v1"})
	require.NoError(t, err)
	require.False(t, rep.Passed)
	byName := map[string]gate.Check{}
	for _, c := range rep.Checks {
		byName[c.Name] = c
	}
	// Reference values computed by hand from the exposition: drop 0.95-0.90, drift 0.5,
	// p95 in bucket (1,2] with all observations there = 1 + 0.95 = 1.95, cost 0.5/100 per event.
	require.False(t, byName["accuracy_vs_baseline"].Passed)
	require.InDelta(t, 0.05, *byName["accuracy_vs_baseline"].Value, 1e-9)
	require.True(t, byName["no_firing_alerts"].Passed)
	require.False(t, byName["drifted_share"].Passed)
	require.InDelta(t, 0.5, *byName["drifted_share"].Value, 1e-9)
	require.True(t, byName["p95_latency"].Passed)
	require.InDelta(t, 1.95, *byName["p95_latency"].Value, 1e-6)
	require.True(t, byName["cost_per_request"].Passed)
	require.InDelta(t, 0.005, *byName["cost_per_request"].Value, 1e-9)

	// The same candidate against itself as baseline passes accuracy but still fails drift.
	rep, err = gate.Evaluate(context.Background(), client, gates, gate.Target{Model: "m", Candidate: "v2", Baseline: "v2"})
	require.NoError(t, err)
	require.False(t, rep.Passed)
	require.Equal(t, "accuracy_vs_baseline", rep.Checks[0].Name)
	require.True(t, rep.Checks[0].Passed)

	// The same through the CLI, as a CD pipeline runs it, with the JSON report.
	specFile := filepath.Join(dir, "spec.yaml")
	require.NoError(t, os.WriteFile(specFile, []byte(`apiVersion: opscentre.io/v1
tiers: {P1: {name: Critical, response_time: immediate}}
gates: {window: 1m, max_accuracy_drop: 0.01, max_p95_latency: 3}
alerts: []
`), 0o644))
	var out, errOut bytes.Buffer
	err = cli.Run(context.Background(), []string{"gate", specFile, "--prometheus", "http://" + addr, "--model", "m", "--candidate", "v2", "--baseline", "v1", "--format", "json"}, nil, &out, &errOut)
	require.ErrorIs(t, err, cli.ErrFailed, errOut.String())
	var jr gate.Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &jr))
	require.False(t, jr.Passed)
	require.Len(t, jr.Checks, 2)
	require.False(t, jr.Checks[0].Passed)
	require.True(t, jr.Checks[1].Passed)
	out.Reset()
	err = cli.Run(context.Background(), []string{"gate", specFile, "--prometheus", "http://" + addr, "--model", "m", "--candidate", "v1", "--baseline", "v1"}, nil, &out, &errOut)
	require.Error(t, err, "v1 has no latency histogram, so the latency gate has no data")
	require.Contains(t, out.String(), "gate FAILED: model m, candidate v1 vs baseline v1")
	require.Contains(t, out.String(), "[ok  ] accuracy_vs_baseline")

	// A model with no data fails: a gate never passes on nothing.
	rep, err = gate.Evaluate(context.Background(), client, &spec.Gates{Window: time.Minute, MaxP95Latency: 3, MaxP95LatencySet: true}, gate.Target{Model: "unknown", Candidate: "v2", Baseline: "v1"})
	require.NoError(t, err)
	require.False(t, rep.Passed)
	require.Contains(t, rep.Checks[0].Detail, "no data")
}
