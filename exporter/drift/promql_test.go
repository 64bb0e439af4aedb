package drift

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/dashboards/promapi"
	"github.com/opscentre/opscentre/test/stack"
	"github.com/opscentre/opscentre/test/testbin"
)

// promQLOneLine is for failure messages.
func promQLOneLine(q string) string { return strings.Join(strings.Fields(q), " ") }

// freePort returns a loopback address nobody listens on, for a server started next.
func freePort(t *testing.T) string {
	t.Helper()
	addr, err := stack.FreeAddr()
	require.NoError(t, err)
	return addr
}

// TestPromQLMatchesGo serves the bins of two features — one numeric, one categorical with a
// category the reference never saw — as counters that grow by the same window every scrape, split
// unevenly over two replicas, lets a real Prometheus scrape them each second, and checks that the
// documented PromQL gives the same PSI and JS as Compare on that window. A second model with
// other counts must be left out by label matchers, as a dashboard's $model and $version do.
func TestPromQLMatchesGo(t *testing.T) {
	for _, major := range []int{2, 3} {
		t.Run(fmt.Sprint("prometheus-", major), func(t *testing.T) {
			bin := testbin.Prometheus(t, major)
			testPromQL(t, bin)
		})
	}
}

func testPromQL(t *testing.T, promBin string) {
	rng := rand.New(rand.NewPCG(21, 22))
	b := NewBuilder(ProfileOptions{Bins: 10})
	for i := 0; i < 5000; i++ {
		require.NoError(t, b.AddFloat("amount", rng.ExpFloat64()*100))
		require.NoError(t, b.AddString("channel", []string{"web", "app", "store"}[rng.IntN(3)]))
	}
	p := b.Profile()
	w := p.NewWindow()
	for i := 0; i < 3000; i++ {
		require.NoError(t, p.Features[0].AddFloat(&w.Histograms[0], rng.ExpFloat64()*130))
		require.NoError(t, p.Features[1].AddString(&w.Histograms[1], []string{"web", "app", "app", "kiosk"}[rng.IntN(4)]))
	}
	rep, err := Compare(p, w, Config{})
	require.NoError(t, err)
	want := map[string]map[Method]float64{}
	for _, fr := range rep.Features {
		want[fr.Feature] = map[Method]float64{}
		for _, s := range fr.Scores {
			want[fr.Feature][s.Method] = s.Value
		}
	}

	var scrapes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		k := float64(scrapes.Add(1))
		var sb strings.Builder
		sb.WriteString("# TYPE aiops_feature_values_total counter\n# TYPE aiops_feature_reference_ratio gauge\n")
		for i, f := range p.Features {
			labels := f.BinLabels()
			counts := f.Bins(w.Histograms[i].Counts)
			ref := f.ReferenceShares()
			for j, l := range labels {
				// Replica a sees a quarter, half or three quarters of a bin, b the rest (exact
				// in binary, so the merged counts are the window's).
				share := float64(j%3+1) / 4
				fmt.Fprintf(&sb, "aiops_feature_values_total{model=\"fraud\",version=\"3\",feature=%q,bin=%q,pod=\"a\"} %v\n", f.Name, l, k*counts[j]*share)
				fmt.Fprintf(&sb, "aiops_feature_values_total{model=\"fraud\",version=\"3\",feature=%q,bin=%q,pod=\"b\"} %v\n", f.Name, l, k*counts[j]*(1-share))
				fmt.Fprintf(&sb, "aiops_feature_values_total{model=\"other\",version=\"1\",feature=%q,bin=%q,pod=\"a\"} %v\n", f.Name, l, k*counts[len(labels)-1-j])
				for _, pod := range []string{"a", "b"} {
					fmt.Fprintf(&sb, "aiops_feature_reference_ratio{model=\"fraud\",version=\"3\",feature=%q,bin=%q,pod=%q} %v\n", f.Name, l, pod, ref[j])
				}
				fmt.Fprintf(&sb, "aiops_feature_reference_ratio{model=\"other\",version=\"1\",feature=%q,bin=%q,pod=\"a\"} %v\n", f.Name, l, ref[j])
			}
			fmt.Fprintf(&sb, "aiops_feature_values_total{model=\"fraud\",version=\"3\",feature=%q,bin=%q,pod=\"a\"} %v\n", f.Name, NullBin, k*7)
		}
		// A feature without drift whose reference shares are the window's but for the last
		// bit (two roundings of 2/3): its JS divergence rounds to -3.7e-17 in the lifetime form.
		for bin, v := range []string{"0.3333333333333333", "0.6666666666666667"} {
			fmt.Fprintf(&sb, "aiops_feature_values_total{model=\"calm\",version=\"1\",feature=\"tenure\",bin=\"%d\"} %v\n", bin, k*float64(bin+1))
			fmt.Fprintf(&sb, "aiops_feature_reference_ratio{model=\"calm\",version=\"1\",feature=\"tenure\",bin=\"%d\"} %s\n", bin, v)
		}
		rw.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = rw.Write([]byte(sb.String()))
	}))
	defer srv.Close()

	dir := t.TempDir()
	// The recording rules, written as YAML by hand (JSON strings are valid YAML scalars).
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: drift\n    interval: 1s\n    rules:\n")
	for _, r := range PromQLRecordingRules("30s") {
		rec, _ := json.Marshal(r.Record)
		expr, _ := json.Marshal(r.Expr)
		fmt.Fprintf(&rules, "      - record: %s\n        expr: %s\n", rec, expr)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules.yml"), []byte(rules.String()), 0o600))
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [rules.yml]\nscrape_configs:\n  - job_name: exporter\n    static_configs:\n      - targets: [%q]\n", strings.TrimPrefix(srv.URL, "http://"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600))
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, promBin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	logs, err := os.Create(filepath.Join(dir, "prometheus.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	defer func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Logf("prometheus log:\n%s", b)
		}
	}()

	api, err := promapi.New("http://"+addr, nil)
	require.NoError(t, err)
	// query is the result per model and feature ("fraud/amount").
	query := func(q string) (map[string]float64, error) {
		res, err := promapi.Query(ctx, api, q, time.Now())
		if err != nil {
			return nil, err
		}
		out := map[string]float64{}
		for _, s := range res {
			out[s.Metric["model"]+"/"+s.Metric["feature"]] = s.Values[0].V
		}
		return out, nil
	}

	// Four forms: lifetime counters, increase over a range, the same restricted to one model
	// by matchers (the dashboards' form, with their variables substituted), and the recording
	// rules, once a few scrapes and rule evaluations are in.
	deadline := time.Now().Add(60 * time.Second)
	for _, form := range []struct {
		window   string
		matchers []string
	}{{"", nil}, {"30s", nil}, {"30s", []string{`model=~"fraud"`, `version=~".+"`}}, {"rules", nil}} {
		series := 5 // two features of two models, and calm's
		if form.matchers != nil {
			series = 2
		}
		for _, m := range []Method{MethodPSI, MethodJS} {
			q := PromQLPSI(form.window, form.matchers...)
			if m == MethodJS {
				q = PromQLJS(form.window, form.matchers...)
			}
			if form.window == "rules" {
				q = "aiops:feature_" + string(m) + ":30s"
			}
			var got map[string]float64
			for {
				got, err = query(q)
				if err == nil && len(got) == series && scrapes.Load() >= 4 {
					break
				}
				require.True(t, time.Now().Before(deadline), "no result for %s (err %v, got %v)", promQLOneLine(q), err, got)
				time.Sleep(500 * time.Millisecond)
			}
			for feature := range want {
				v, ok := got["fraud/"+feature]
				require.True(t, ok, "%s %s over %q %v: no fraud series in %v", feature, m, form.window, form.matchers, got)
				require.InDelta(t, want[feature][m], v, 1e-9*math.Max(1, want[feature][m]), "%s %s over %q %v: PromQL %v, Go %v", feature, m, form.window, form.matchers, v, want[feature][m])
			}
			if form.matchers == nil {
				// No drift is 0, not NaN (the square root of a divergence a hair below 0);
				// a distance near 0 is the root of rounding errors, hence the tolerance.
				v := got["calm/tenure"]
				require.False(t, math.IsNaN(v), "%s of a feature without drift over %q is NaN", m, form.window)
				require.InDelta(t, 0, v, 1e-7, "%s of a feature without drift over %q", m, form.window)
			}
		}
	}
}
