package e2e

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/dashboards/gen"
	"github.com/opscentre/opscentre/dashboards/internal/lint"
	"github.com/opscentre/opscentre/dashboards/promapi"
	"github.com/opscentre/opscentre/test/promtest"
	"github.com/opscentre/opscentre/test/testbin"
)

// TestAlertCatalogQueriesRun loads the example rule file into a real
// Prometheus (so its recording rules produce series), and runs every query of
// the alert catalog built from the same file.
func TestAlertCatalogQueriesRun(t *testing.T) {
	const rules = "../../gen/testdata/rules.yml"
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
		res, err := promapi.QueryRange(ctx, prom.API, expr, v1.Range{Start: end.Add(-2 * time.Second), End: end, Step: time.Second})
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

// TestCommittedAlertCatalogQueriesRun loads rulegen's committed rule files
// (rules/generated/rules) into a real Prometheus 3 scraping the synthetic exporter and runs
// every query of the committed alert catalog (json/alert-catalog.json): each must execute
// (no parse, type or vector-matching error once $model/$version are substituted). The
// synthetic exporter cannot make every rule's series exist in seconds (week-old baselines,
// SLO windows of days, families still pending on exporter3), so the number of queries with
// data is logged and only some data is required — that the rules and the catalog's
// selectors meet at all.
func TestCommittedAlertCatalogQueriesRun(t *testing.T) {
	rules, err := filepath.Glob(filepath.Join("..", "..", "..", "rules", "generated", "rules", "*.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, rules)
	raw, err := os.ReadFile(filepath.Join("..", "..", "json", gen.AlertCatalogFile))
	require.NoError(t, err)
	cat, err := lint.Load(raw)
	require.NoError(t, err)

	exp := httptest.NewServer(newSyntheticExporter())
	defer exp.Close()
	prom := promtest.StartWith(t, promtest.Config{
		Binary:    testbin.Prometheus(t, 3),
		Targets:   []string{strings.TrimPrefix(exp.URL, "http://")},
		RuleFiles: rules,
		Global:    "  scrape_native_histograms: true\n  always_scrape_classic_histograms: true",
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A few scrapes and rule evaluations.
	require.Eventually(t, func() bool {
		res, err := prom.Query(ctx, `count_over_time(up[10s])`, time.Now())
		require.NoError(t, err)
		return len(res) == 1 && res[0].Values[0].V >= 4
	}, 45*time.Second, 250*time.Millisecond)

	vars := strings.NewReplacer("$model", ".+", "$version", ".+")
	end := time.Now()
	targets := lint.PromTargets(cat)
	require.NotEmpty(t, targets)
	withData := 0
	for _, tg := range targets {
		expr := vars.Replace(tg.Expr)
		res, err := promapi.QueryRange(ctx, prom.API, expr, v1.Range{Start: end.Add(-2 * time.Second), End: end, Step: time.Second})
		require.NoError(t, err, "%s/%s: %s", tg.Panel, tg.RefID, expr)
		if len(res) > 0 {
			withData++
		}
	}
	t.Logf("%d alert catalog queries ran; %d returned data after a few seconds of synthetic scrapes", len(targets), withData)
	require.Positive(t, withData)
}
