package lint

import (
	"maps"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/dashboards/gen"
)

// alertCatalogExclusions: the catalog shows each alert's expression with the
// alert's own windows, which is the point of it.
var alertCatalogExclusions = map[string]string{
	"rate-interval": "an alert's panel must evaluate the alert's own rate window to show what fires",
}

func TestAlertCatalogPassesLint(t *testing.T) {
	groups, err := gen.LoadRules("../../gen/testdata/rules.yml")
	require.NoError(t, err)
	cat, err := gen.AlertCatalog(groups)
	require.NoError(t, err)
	raw, err := gen.Marshal(cat.Dashboard)
	require.NoError(t, err)
	d, err := Load(raw)
	require.NoError(t, err)
	require.Empty(t, CheckExcept(d, alertCatalogExclusions))
	require.NotEmpty(t, RateInterval(d), "the exclusion is needed: alert windows are fixed")

	families := architectureFamilies()
	maps.Copy(families, ExternalFamilies())
	known := KnownSeries(families)
	maps.Copy(known, RecordedSeries(groups))
	names, err := DashboardMetricNames(d)
	require.NoError(t, err)
	require.Contains(t, names, "model:aiops_events:rate5m")
	require.NoError(t, CheckMetricsExist(names, known))
}

func TestExclusionNeedsAReason(t *testing.T) {
	d := broken(t, func(doc) {})
	require.Equal(t, []string{"rate-interval: exclusions: excluded without a reason"},
		messages(CheckExcept(d, map[string]string{"rate-interval": " "})))
}
