package snapshot

import (
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot/vg"

	"github.com/opscentre/opscentre/dashboards/gen"
	"github.com/opscentre/opscentre/dashboards/internal/lint"
	"github.com/opscentre/opscentre/dashboards/promapi"
	"github.com/opscentre/opscentre/test/promtest"
	"github.com/opscentre/opscentre/test/testbin"
)

// fakeExporter exposes a few aiops_ families for two models, growing the
// counters on every scrape; aiops_task_outcomes_total is left out on purpose.
func fakeExporter() http.Handler {
	var mu sync.Mutex
	n := 0
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		n++
		k := float64(n)
		mu.Unlock()
		var b strings.Builder
		for i, m := range []string{"fraud", "chatbot"} {
			l := fmt.Sprintf(`model=%q,version="1"`, m)
			fmt.Fprintf(&b, "aiops_model_accuracy{%s} %g\n", l, 0.9-0.05*float64(i))
			fmt.Fprintf(&b, "aiops_drifted_features_ratio{%s} %g\n", l, 0.1*float64(i))
			fmt.Fprintf(&b, "aiops_events_total{%s} %g\n", l, 100*k)
			fmt.Fprintf(&b, "aiops_inference_errors_total{%s,type=\"timeout\"} %g\n", l, 2*k)
			fmt.Fprintf(&b, "aiops_cost_total{%s,currency=\"USD\"} %g\n", l, 0.5*k)
			for _, le := range []struct {
				le string
				f  float64
			}{{"0.1", 20}, {"0.5", 90}, {"1", 99}, {"+Inf", 100}} {
				fmt.Fprintf(&b, "aiops_inference_duration_seconds_bucket{%s,le=%q} %g\n", l, le.le, le.f*k)
			}
			fmt.Fprintf(&b, "aiops_inference_duration_seconds_sum{%s} %g\n", l, 25*k)
			fmt.Fprintf(&b, "aiops_inference_duration_seconds_count{%s} %g\n", l, 100*k)
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, b.String())
	})
}

func TestRenderAgainstRealPrometheus(t *testing.T) {
	bin := testbin.Prometheus(t, 2)
	exp := httptest.NewServer(fakeExporter())
	defer exp.Close()
	prom := promtest.Start(t, bin, strings.TrimPrefix(exp.URL, "http://"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Wait until a rate over 4 s has two samples to work with.
	require.Eventually(t, func() bool {
		res, err := prom.Query(ctx, `rate(aiops_events_total[4s])`, time.Now())
		require.NoError(t, err)
		return len(res) == 2
	}, 30*time.Second, 250*time.Millisecond)

	ds, err := gen.All()
	require.NoError(t, err)
	out := t.TempDir()
	results, err := Render(ctx, ds[:1], Options{
		PrometheusURL: prom.URL,
		OutDir:        out,
		End:           time.Now(),
		Range:         10 * time.Second,
		Step:          time.Second,
		RateInterval:  4 * time.Second,
		Width:         8 * vg.Centimeter,
		Height:        4 * vg.Centimeter,
	})
	require.NoError(t, err)

	byPanel := map[string]PanelResult{}
	for _, r := range results {
		require.NoError(t, r.Err, r.Panel)
		byPanel[r.Panel] = r
	}
	// Every Prometheus panel of the overview was rendered.
	require.Len(t, results, len(lint.PromTargetsByPanel(ds[0].Dashboard)))
	for _, title := range []string{"Accuracy", "Drifted features", "P95 latency", "Error rate", "Spend over the range", "Models at a glance", "Request rate"} {
		r := byPanel[title]
		require.Equal(t, 2, r.Series, "%s: one series per model", title)
		f, err := os.Open(filepath.Join(out, r.File))
		require.NoError(t, err)
		img, err := png.Decode(f)
		f.Close()
		require.NoError(t, err)
		require.Greater(t, img.Bounds().Dx(), 100)
	}
	require.Equal(t, 0, byPanel["Task completion"].Series, "no aiops_task_outcomes_total is exposed")
	// Both targets are queried: this week's 2 series, and last week's none.
	require.Equal(t, 2, byPanel["Accuracy vs last week"].Series)

	index, err := os.ReadFile(filepath.Join(out, "index.md"))
	require.NoError(t, err)
	require.Contains(t, string(index), "- **Task completion**: no data")
	require.Contains(t, string(index), "](overview/02-accuracy.png)")
}

func TestSubstitute(t *testing.T) {
	o := Options{Range: time.Hour, Step: 15 * time.Second, RateInterval: time.Minute, Vars: map[string]string{"model": "fraud|chatbot"}}
	got := substitute(`sum(rate(x{model=~"$model", version=~"${version}"}[$__rate_interval])) + increase(y[$__range]) + rate(z[$__interval])`, o)
	require.Equal(t, `sum(rate(x{model=~"fraud|chatbot", version=~".+"}[60000ms])) + increase(y[3600000ms]) + rate(z[15000ms])`, got)
	_, err := lint.ParsePromQL(got)
	require.NoError(t, err)
}

func TestLegend(t *testing.T) {
	s := promapi.Sample{Metric: map[string]string{"model": "fraud", "le": "0.5"}}
	require.Equal(t, "fraud p95", legend(lint.Target{Legend: "{{model}} p95"}, s))
	require.Equal(t, "fraud  x", legend(lint.Target{Legend: "{{ model }} {{missing}} x"}, s))
	require.Equal(t, "{le=0.5, model=fraud}", legend(lint.Target{Legend: "__auto"}, s))
}

// TestTextboxDefaults: the budget line needs the textbox's default value, or
// vector($daily_budget) would not even parse.
func TestTextboxDefaults(t *testing.T) {
	ds, err := gen.All()
	require.NoError(t, err)
	for _, d := range ds {
		if d.File != "infrastructure-latency.json" {
			continue
		}
		o := Options{Vars: withDefaults(d.Dashboard, map[string]string{"model": "fraud"})}
		require.Equal(t, `vector(100) + x{model=~"fraud"}`, substitute(`vector($daily_budget) + x{model=~"$model"}`, o))
		o.Vars = withDefaults(d.Dashboard, map[string]string{"daily_budget": "250"})
		require.Equal(t, `vector(250)`, substitute(`vector($daily_budget)`, o))
		return
	}
	t.Fatal("no infrastructure dashboard")
}
