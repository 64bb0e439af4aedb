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
	"github.com/opscentre/opscentre/dashboards/promtest"
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

// referenceDivergences computes PSI and Jensen–Shannon the textbook way in Go,
// with the same smoothing as the dashboards, from the merged counts.
func referenceDivergences(c driftCase) (psi, js float64) {
	const eps = 1e-4
	merged := make([]float64, len(c.reference))
	total := 0.0
	for _, incs := range c.replicas {
		for i, v := range incs {
			merged[i] += v
			total += v
		}
	}
	for i := range merged {
		p := math.Max(merged[i]/total, eps)
		q := math.Max(c.reference[i], eps)
		m := (p + q) / 2
		psi += (p - q) * math.Log(p/q)
		js += 0.5*p*math.Log(p/m) + 0.5*q*math.Log(q/m)
	}
	return psi, js
}

// TestDriftPromQLMatchesGo runs the dashboards' PSI and JS expressions on a real
// Prometheus scraping two replicas' counters, and compares them with the same
// divergences computed directly from the counts.
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
		for name, expr := range map[string]string{"psi": gen.ExprPSI(), "js": gen.ExprJS()} {
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
		psi, js := referenceDivergences(c)
		require.InDelta(t, psi, results["psi"][c.feature], 1e-9*math.Max(1, psi), "PSI of %s", c.feature)
		require.InDelta(t, js, results["js"][c.feature], 1e-9*math.Max(1, js), "JS of %s", c.feature)
	}
	// Sanity on the reference values themselves: no drift is ~0, drift is large.
	psiAge, _ := referenceDivergences(cases[1])
	require.InDelta(t, 0, psiAge, 1e-12)
	psiAmount, jsAmount := referenceDivergences(cases[0])
	require.Greater(t, psiAmount, 0.25)
	require.Less(t, jsAmount, math.Ln2)
}
