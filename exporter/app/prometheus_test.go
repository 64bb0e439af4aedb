package app_test

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/dashboards/promapi"
	"github.com/opscentre/opscentre/test/stack"
	"github.com/opscentre/opscentre/test/testbin"
)

// freePort returns a loopback address nobody listens on, for a server started next.
func freePort(t *testing.T) string {
	t.Helper()
	addr, err := stack.FreeAddr()
	require.NoError(t, err)
	return addr
}

// TestPrometheusScrapesNativeHistograms has a real Prometheus 3 scrape the exporter with
// native histograms on, and checks the latency histogram arrives as a native histogram
// with the exact count and sum posted.
func TestPrometheusScrapesNativeHistograms(t *testing.T) {
	prom := testbin.Prometheus(t, 3)
	dir := t.TempDir()
	e := startExporter(t, "--storage.path="+filepath.Join(dir, "data"))
	var events []string
	for i := range 40 {
		events = append(events, fmt.Sprintf(`{"model":"m","latency_seconds":%g}`, float64(i)/100))
	}
	status, _ := e.post(t, []byte("["+strings.Join(events, ",")+"]"), nil)
	require.Equal(t, http.StatusOK, status)

	target := strings.TrimPrefix(e.url, "http://")
	cfg := writeFile(t, dir, "prometheus.yml", `
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: aiops
    scrape_native_histograms: true
    static_configs: [{targets: ['`+target+`']}]
`)
	addr := freePort(t)
	cmd := exec.Command(prom, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+addr, "--log.level=warn")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	api, err := promapi.New("http://"+addr, nil)
	require.NoError(t, err)
	// query is the value of a one-series result; false until there is exactly one.
	query := func(q string) (float64, bool) {
		res, err := promapi.Query(context.Background(), api, q, time.Now())
		if err != nil || len(res) != 1 {
			return 0, false
		}
		return res[0].Values[0].V, true
	}
	require.Eventually(t, func() bool {
		v, ok := query(`histogram_count(aiops_inference_duration_seconds{model="m"})`)
		return ok && v == 40
	}, 60*time.Second, 500*time.Millisecond, "Prometheus never saw the native histogram")
	number := func(q string) float64 {
		v, ok := query(q)
		require.True(t, ok, q)
		return v
	}
	require.InDelta(t, 7.8, number(`histogram_sum(aiops_inference_duration_seconds{model="m"})`), 1e-9) // 0.00 + … + 0.39
	// Native resolution (factor ≈ 1.09): the median estimate is close to the true 0.195,
	// where the classic buckets could only say "between 0.1 and 0.25".
	require.InDelta(t, 0.195, number(`histogram_quantile(0.5, aiops_inference_duration_seconds{model="m"})`), 0.02)
}
