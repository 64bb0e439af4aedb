package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/dashboards/promapi"
	"github.com/opscentre/opscentre/exporter/drift"
	"github.com/opscentre/opscentre/test/testbin"
)

// driftConfig captures the reference from the first 2000 events of each version.
const driftConfig = `
reference: {capture_first: 2000}
models:
  pricing:
    features:
      tier: {type: categorical, drift: {method: psi, threshold: 0.2}}
`

// postDriftEvents posts n events: x ~ N(shift, 1), y ~ N(0, 1) and a categorical tier, with
// a class prediction, in batches of 500.
func postDriftEvents(t *testing.T, e *exporter, rng *rand.Rand, n int, shift float64) {
	t.Helper()
	for done := 0; done < n; done += 500 {
		var b strings.Builder
		for range min(500, n-done) {
			tier := []string{"free", "pro", "team"}[rng.IntN(3)]
			fmt.Fprintf(&b, `{"model":"pricing","version":"v1","features":{"x":%.6f,"y":%.6f,"tier":%q},"prediction":%q}`+"\n",
				rng.NormFloat64()+shift, rng.NormFloat64(), tier, []string{"buy", "skip"}[rng.IntN(2)])
		}
		status, out := e.post(t, []byte(b.String()), map[string]string{"Content-Type": "application/x-ndjson"})
		require.Equal(t, http.StatusOK, status, "%v", out)
		require.Empty(t, out["rejected"])
	}
}

// TestBinaryDriftShiftedFeature runs the exporter binary, captures a reference from the first
// events, then streams events whose x moved by one standard deviation while y did not: x's
// drift score crosses its threshold and y's stays below. Then real Prometheus 2 and 3 scrape
// it, and the documented PromQL PSI over aiops_feature_values_total and
// aiops_feature_reference_ratio equals the exporter's own PSI.
func TestBinaryDriftShiftedFeature(t *testing.T) {
	dir := t.TempDir()
	e := startExporter(t, "--storage.path="+filepath.Join(dir, "data"), "--config.file="+writeFile(t, dir, "exporter.yml", driftConfig))
	rng := rand.New(rand.NewPCG(7, 11))
	postDriftEvents(t, e, rng, 2000, 0) // the reference
	postDriftEvents(t, e, rng, 3000, 1) // x shifted

	resp, err := http.Get(e.url + "/api/v1/references")
	require.NoError(t, err)
	var list struct {
		References []struct {
			Model, Version, Source string
			Rows                   float64
		}
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	resp.Body.Close()
	require.Len(t, list.References, 1)
	require.Equal(t, "capture", list.References[0].Source)
	require.InDelta(t, 2000, list.References[0].Rows, 0)

	_, fams := e.scrape(t)
	mv := func(extra ...string) map[string]string {
		m := map[string]string{"model": "pricing", "version": "v1"}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	// 2000 reference rows: Wasserstein normed by the reference std judges numeric features.
	wx := value(t, fams, "aiops_feature_drift_score", mv("feature", "x", "method", "wasserstein"))
	wy := value(t, fams, "aiops_feature_drift_score", mv("feature", "y", "method", "wasserstein"))
	require.InDelta(t, 0.1, value(t, fams, "aiops_feature_drift_threshold", mv("feature", "x", "method", "wasserstein")), 0)
	require.Greater(t, wx, 0.8, "a shift of one std moves W/σ by about 1")
	require.Less(t, wy, 0.1)
	require.InDelta(t, 1, value(t, fams, "aiops_feature_drifted", mv("feature", "x")), 0)
	require.InDelta(t, 0, value(t, fams, "aiops_feature_drifted", mv("feature", "y")), 0)
	// tier is judged by PSI at 0.2, as configured, and did not drift.
	require.InDelta(t, 0.2, value(t, fams, "aiops_feature_drift_threshold", mv("feature", "tier", "method", "psi")), 0)
	require.InDelta(t, 0, value(t, fams, "aiops_feature_drifted", mv("feature", "tier")), 0)
	require.InDelta(t, 1.0/3, value(t, fams, "aiops_drifted_features_ratio", mv()), 1e-12)
	require.Less(t, value(t, fams, "aiops_prediction_drift_score", mv("method", "js")), 0.1)
	// Every live event is counted in the frozen bins; none of the reference's.
	var total float64
	for i := range 10 {
		total += value(t, fams, "aiops_feature_values_total", mv("feature", "x", "bin", strconv.Itoa(i)))
	}
	require.InDelta(t, 3000, total, 0)
	require.InDelta(t, 0.1, value(t, fams, "aiops_feature_reference_ratio", mv("feature", "x", "bin", "0")), 1e-3)

	psi := map[string]float64{}
	for _, f := range []string{"x", "y", "tier"} {
		psi[f] = value(t, fams, "aiops_feature_drift_score", mv("feature", f, "method", "psi"))
	}
	for _, major := range []int{2, 3} {
		t.Run(fmt.Sprintf("prometheus%d", major), func(t *testing.T) {
			addr := startPrometheus(t, major, e.url)
			// The lifetime form: the counters hold exactly the window's values here (nothing has
			// left the 1 h window), so PromQL must give the exporter's own window PSI.
			q := drift.PromQLPSI("")
			var got map[string]float64
			require.Eventually(t, func() bool {
				got = promVector(addr, q)
				return len(got) == 4 // x, y, tier and __prediction__
			}, 60*time.Second, 500*time.Millisecond, "Prometheus never returned PSI for every feature: %v", got)
			for f, want := range psi {
				// Same shares (counts divided by the same totals) and the same fill (every
				// non-empty share is ≥ 1/3000 > 1e-4, so clamp_min equals Evidently's fill):
				// only the order of float additions differs.
				require.InDelta(t, want, got[f], 1e-9, "feature %s", f)
			}
			require.Greater(t, got["x"], 0.2)
		})
	}
}

// startPrometheus starts the real Prometheus of the given major version scraping the exporter
// at url every second, and returns its address.
func startPrometheus(t *testing.T, major int, url string) string {
	t.Helper()
	prom := testbin.Prometheus(t, major)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "prometheus.yml", `
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: aiops
    static_configs: [{targets: ['`+strings.TrimPrefix(url, "http://")+`']}]
`)
	addr := freePort(t)
	cmd := exec.Command(prom, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+addr, "--log.level=warn")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return addr
}

// promVector runs an instant query and returns the value per feature label.
func promVector(addr, q string) map[string]float64 {
	api, err := promapi.New("http://"+addr, nil)
	if err != nil {
		return nil
	}
	res, err := promapi.Query(context.Background(), api, q, time.Now())
	if err != nil {
		return nil
	}
	return promapi.ByLabel(res, "feature")
}
