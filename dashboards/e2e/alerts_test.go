package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/dashboards/gen"
	"github.com/opscentre/opscentre/dashboards/lint"
	"github.com/opscentre/opscentre/dashboards/promapi"
	"github.com/opscentre/opscentre/dashboards/promtest"
	"github.com/opscentre/opscentre/test/testbin"
)

// TestAlertCatalogQueriesRun loads the example rule file into a real
// Prometheus (so its recording rules produce series), and runs every query of
// the alert catalog built from the same file.
func TestAlertCatalogQueriesRun(t *testing.T) {
	const rules = "../gen/testdata/rules.yml"
	bin := testbin.Prometheus(t, 2)
	exp := httptest.NewServer(newSyntheticExporter())
	defer exp.Close()
	prom := promtest.StartWith(t, promtest.Config{
		Binary:    bin,
		Targets:   []string{strings.TrimPrefix(exp.URL, "http://")},
		RuleFiles: []string{rules},
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.Eventually(t, func() bool {
		res, err := prom.Query(ctx, `count_over_time(model:aiops_events:rate5m{model="fraud"}[10s])`, time.Now())
		require.NoError(t, err)
		return len(res) == 1 && res[0].Values[0].V >= 3
	}, 45*time.Second, 250*time.Millisecond, "the recording rule produced no series")

	groups, err := gen.LoadRules(rules)
	require.NoError(t, err)
	cat, err := gen.AlertCatalog(groups)
	require.NoError(t, err)
	vars := strings.NewReplacer("$model", ".+", "$version", ".+")
	end := time.Now()
	for _, tg := range lint.PromTargets(cat.Dashboard) {
		expr := vars.Replace(tg.Expr)
		res, err := promapi.Query(ctx, http.DefaultClient, prom.URL, "/api/v1/query_range", url.Values{
			"query": {expr}, "start": {unix(end.Add(-2 * time.Second))}, "end": {unix(end)}, "step": {"1"},
		})
		require.NoError(t, err, "%s/%s", tg.Panel, tg.RefID)
		switch {
		case strings.HasPrefix(expr, "absent("):
			require.Empty(t, res, "%s: the series exists, absent() is empty: %s %+v", tg.Panel, expr, res)
		case strings.Contains(expr, "_1w"):
			// last week's recording: nothing on a fresh Prometheus
		default:
			require.NotEmpty(t, res, "%s/%s returned no series: %s", tg.Panel, tg.RefID, expr)
		}
	}
}
