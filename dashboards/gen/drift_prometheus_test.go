package gen_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/dashboards/gen"
	"github.com/opscentre/opscentre/dashboards/internal/lint"
	"github.com/opscentre/opscentre/exporter/drift"
	"github.com/opscentre/opscentre/test/promtest"
	"github.com/opscentre/opscentre/test/testbin"
)

// replicaCounts are per-scrape increments of aiops_feature_values_total per
// replica (pod) and bin; reference holds the frozen reference shares.
type driftCase struct {
	feature   string
	replicas  map[string][]float64
	reference []float64
}

func driftCases() []driftCase {
	return []driftCase{
		// Replicas see opposite skews; merged, the bins are even except an empty
		// fourth bin that the reference expects a quarter of the traffic in.
		{"amount", map[string][]float64{"a": {10, 20, 30, 0}, "b": {30, 20, 10, 0}}, []float64{0.25, 0.25, 0.25, 0.25}},
		// The same distribution as the reference: no drift.
		{"age", map[string][]float64{"a": {5, 15}, "b": {15, 45}}, []float64{0.25, 0.75}},
		// Traffic in a bin the reference never saw.
		{"country", map[string][]float64{"a": {50, 50, 0}, "b": {0, 0, 20}}, []float64{0.5, 0.5, 0}},
	}
}

// exposition serves the counters as if every scrape saw n more batches, so all
// bins grow in proportion and rate() gives exact shares.
func exposition(cases []driftCase, n int) string {
	var b strings.Builder
	b.WriteString("# TYPE aiops_feature_values_total counter\n")
	for _, c := range cases {
		for pod, incs := range c.replicas {
			for bin, inc := range incs {
				fmt.Fprintf(&b, "aiops_feature_values_total{model=\"m\",version=\"1\",feature=%q,bin=\"%d\",pod=%q} %g\n", c.feature, bin, pod, inc*float64(n))
			}
		}
	}
	b.WriteString("# TYPE aiops_feature_reference_ratio gauge\n")
	for _, c := range cases {
		for pod := range c.replicas {
			for bin, q := range c.reference {
				fmt.Fprintf(&b, "aiops_feature_reference_ratio{model=\"m\",version=\"1\",feature=%q,bin=\"%d\",pod=%q} %g\n", c.feature, bin, pod, q)
			}
		}
	}
	return b.String()
}

// exporterDivergences is what the exporter reports for the merged counts: its own Go PSI
// and Jensen–Shannon distance (drift.PSI, drift.JS), which the dashboard's PromQL line must
// match for the panel's two lines to agree.
func exporterDivergences(c driftCase) (psi, js float64) {
	merged := make([]float64, len(c.reference))
	for _, incs := range c.replicas {
		for i, v := range incs {
			merged[i] += v
		}
	}
	return drift.PSI(c.reference, merged), drift.JS(c.reference, merged)
}

// panelExpr is the PromQL of the target refID of the drift dashboard's panel titled title.
func panelExpr(t *testing.T, title, refID string) string {
	ds, err := gen.All()
	require.NoError(t, err)
	for _, d := range ds {
		for _, tg := range lint.PromTargets(d.Dashboard) {
			if tg.Panel == title && tg.RefID == refID {
				return tg.Expr
			}
		}
	}
	t.Fatalf("no panel %q with target %s", title, refID)
	return ""
}

// TestDriftPromQLMatchesGo runs the PromQL lines of the dashboards' PSI and JS panels on a
// real Prometheus scraping two replicas' counters, and compares them with the exporter's own
// PSI and Jensen–Shannon distance on the merged counts: the panels' two lines must agree.
func TestDriftPromQLMatchesGo(t *testing.T) {
	for _, major := range []int{2, 3} {
		t.Run(fmt.Sprintf("prometheus%d", major), func(t *testing.T) {
			checkDriftPromQL(t, testbin.Prometheus(t, major))
		})
	}
}

func checkDriftPromQL(t *testing.T, bin string) {
	cases := driftCases()
	var mu sync.Mutex
	scrapes := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		scrapes++
		n := scrapes
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, exposition(cases, n))
	}))
	defer srv.Close()
	prom := promtest.Start(t, bin, strings.TrimPrefix(srv.URL, "http://"))

	vars := strings.NewReplacer(`$__rate_interval`, `30s`, `$model`, `.+`, `$version`, `.+`)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	results := map[string]map[string]float64{}
	require.Eventually(t, func() bool {
		for name, expr := range map[string]string{
			"psi": panelExpr(t, "PSI: exporter vs PromQL across replicas", "B"),
			"js":  panelExpr(t, "Jensen–Shannon: exporter vs PromQL across replicas", "B"),
		} {
			res, err := prom.Query(ctx, vars.Replace(expr), time.Now())
			require.NoError(t, err)
			if len(res) != len(cases) {
				return false
			}
			results[name] = map[string]float64{}
			for _, s := range res {
				results[name][s.Metric["feature"]] = s.Values[0].V
			}
		}
		return true
	}, 45*time.Second, 500*time.Millisecond, "Prometheus never returned a divergence for every feature")

	for _, c := range cases {
		psi, js := exporterDivergences(c)
		require.InDelta(t, psi, results["psi"][c.feature], 1e-9*math.Max(1, psi), "PSI of %s", c.feature)
		// A distance is the square root of a divergence, which turns a rounding error of 1e-16
		// near zero into 1e-8: the divergences (squares) are compared.
		require.InDelta(t, js*js, results["js"][c.feature]*results["js"][c.feature], 1e-9, "JS of %s: PromQL %v, exporter %v", c.feature, results["js"][c.feature], js)
	}
	// Sanity on the reference values themselves: no drift is ~0, drift is large.
	psiAge, _ := exporterDivergences(cases[1])
	require.InDelta(t, 0, psiAge, 1e-12)
	psiAmount, jsAmount := exporterDivergences(cases[0])
	require.Greater(t, psiAmount, 0.25)
	require.Less(t, jsAmount, math.Sqrt(math.Ln2))
}
