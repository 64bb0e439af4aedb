package app

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/dashboards/promapi"
	"github.com/opscentre/opscentre/exporter/internal/performance"
	"github.com/opscentre/opscentre/test/stack"
	"github.com/opscentre/opscentre/test/testbin"
)

// TestROCAUCRealisedEstimatedAndPromQL: a boolean model's realised ROC AUC once labels arrive,
// CBPE's estimated ROC AUC before they do, and the PromQL form over the exported score-bin
// counters, read by a real Prometheus 2 and 3.
//
// Model "fraud" (worked by hand): predictions of true score 0.8 and are right 60% of the time,
// predictions of false score 0.2 and are right 90%. Per 1000 rows the positives are 300 at 0.8
// and 50 at 0.2, the negatives 200 at 0.8 and 450 at 0.2, so
// AUC = 1 − (450·25 + 200·(50 + 150)) / (350·650) = 0.774725…, and the calibrated estimate for a
// new 50/50 mix is the same. Model "risk": random scores s with P(true | s) = s², where the
// PromQL form must equal the 20-bin AUC computed in Go and the gauge the 200-bin one.
func TestROCAUCRealisedEstimatedAndPromQL(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	a, srv := clockApp(t, t.TempDir(), groundTruthConfig, clock)
	defer a.store.Close()
	post := func(path, body string) {
		status, out := request(t, http.MethodPost, srv.URL+path, "application/x-ndjson", []byte(body))
		require.Equal(t, http.StatusOK, status, "%v", out)
	}
	fraudEvents := func(prefix string, n int) {
		var b strings.Builder
		for i := range n {
			if i%2 == 0 {
				fmt.Fprintf(&b, `{"model":"fraud","id":"%s%d","prediction":true,"scores":{"score":0.8}}`+"\n", prefix, i)
			} else {
				fmt.Fprintf(&b, `{"model":"fraud","id":"%s%d","prediction":false,"scores":{"score":0.2}}`+"\n", prefix, i)
			}
		}
		post("/api/v1/events", b.String())
	}
	fraudEvents("c", 1000)
	var b strings.Builder
	for i := range 1000 {
		truth := (i/2)%10 < 6
		if i%2 == 1 {
			truth = (i/2)%10 >= 9
		}
		fmt.Fprintf(&b, `{"model":"fraud","id":"c%d","label":%t}`+"\n", i, truth)
	}
	post("/api/v1/labels", b.String())

	rng := rand.New(rand.NewPCG(3, 4))
	want := performance.NewROC(0)
	var ev, lab strings.Builder
	for i := range 1000 { // labels.max_awaiting is 1000
		s := rng.Float64()
		y := rng.Float64() < s*s
		require.NoError(t, want.AddLabelled(s, y))
		fmt.Fprintf(&ev, `{"model":"risk","id":"r%d","prediction":%t,"scores":{"true":%v}}`+"\n", i, s >= 0.5, s)
		fmt.Fprintf(&lab, `{"model":"risk","id":"r%d","label":%t}`+"\n", i, y)
	}
	post("/api/v1/events", ev.String())
	post("/api/v1/labels", lab.String())

	const fraudAUC = 1 - (450*25+200*(50+150))/(350.0*650)
	fraud := map[string]string{"model": "fraud", "version": "default"}
	risk := map[string]string{"model": "risk", "version": "default"}
	require.InDelta(t, fraudAUC, mustMetric(t, a, "aiops_model_roc_auc", fraud), 1e-12)
	require.InDelta(t, want.AUC(), mustMetric(t, a, "aiops_model_roc_auc", risk), 1e-12)
	require.InDelta(t, 300, mustMetric(t, a, "aiops_model_score_bin_total", map[string]string{"model": "fraud", "actual": "true", "bin": "0.8"}), 0)
	require.InDelta(t, 50, mustMetric(t, a, "aiops_model_score_below_total", map[string]string{"model": "fraud", "actual": "true", "bin": "0.8"}), 0)
	require.InDelta(t, 450, mustMetric(t, a, "aiops_model_score_bin_total", map[string]string{"model": "fraud", "actual": "false", "bin": "0.2"}), 0)

	clock.Advance(25 * time.Hour) // the labelled rows leave the window; the counters stay
	fraudEvents("u", 100)
	require.InDelta(t, fraudAUC, mustMetric(t, a, "aiops_model_estimated_roc_auc", fraud), 1e-9)
	_, ok := metric(t, a, "aiops_model_roc_auc", fraud)
	require.False(t, ok, "no labelled prediction in the window: no realised AUC")

	coarse, err := want.Coarse(20)
	require.NoError(t, err)
	q := performance.PromQLROCAUC("")
	for _, major := range []int{2, 3} {
		t.Run(fmt.Sprint("prometheus-", major), func(t *testing.T) {
			api, err := promapi.New("http://"+rocPrometheus(t, major, srv.URL), nil)
			require.NoError(t, err)
			deadline := time.Now().Add(60 * time.Second)
			var got map[string]float64
			for {
				res, err := promapi.Query(context.Background(), api, q, time.Now())
				got = promapi.ByLabel(res, "model")
				if err == nil && len(got) == 2 {
					break
				}
				require.True(t, time.Now().Before(deadline), "no result for %s: %v (%v)", q, got, err)
				time.Sleep(500 * time.Millisecond)
			}
			require.InDelta(t, fraudAUC, got["fraud"], 1e-9)
			require.InDelta(t, coarse.AUC(), got["risk"], 1e-9)
			// The 20-bin form stays within its tie bound of the 200-bin gauge.
			require.LessOrEqual(t, math.Abs(got["risk"]-want.AUC()), coarse.TieBound())
			t.Logf("risk: PromQL (20 bins) %.6f, gauge (200 bins) %.6f, tie bound %.4f", got["risk"], want.AUC(), coarse.TieBound())
		})
	}
}

// rocPrometheus starts the real Prometheus of the given major version scraping url every
// second and returns its address.
func rocPrometheus(t *testing.T, major int, target string) string {
	t.Helper()
	prom := testbin.Prometheus(t, major)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfg, []byte("global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: aiops\n    static_configs: [{targets: ['"+strings.TrimPrefix(target, "http://")+"']}]\n"), 0o600))
	addr, err := stack.FreeAddr()
	require.NoError(t, err)
	cmd := exec.Command(prom, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+addr, "--log.level=warn")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return addr
}
