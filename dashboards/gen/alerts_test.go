package gen

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPlanAlert(t *testing.T) {
	num := func(v float64) *float64 { return &v }
	cases := []struct {
		expr string
		want alertPlot
	}{
		{`aiops_model_accuracy < 0.85`, alertPlot{value: `aiops_model_accuracy{model=~"$model",version=~"$version"}`, number: num(0.85)}},
		{`(0.85 > aiops_model_accuracy{model="x"})`, alertPlot{value: `aiops_model_accuracy{model=~"$model",version=~"$version"}`, number: num(0.85)}},
		{`aiops_queue_depth >= 100`, alertPlot{value: `aiops_queue_depth{model=~"$model",version=~"$version"}`, number: num(100), above: true}},
		{`model:aiops_events:rate5m < 0.5 * model:aiops_events:rate5m_1w`, alertPlot{value: `model:aiops_events:rate5m`, threshold: `0.5 * model:aiops_events:rate5m_1w`}},
		{`aiops_drifted_features_ratio > 0.3 and aiops_events_total > 100`, alertPlot{
			value: `aiops_drifted_features_ratio{model=~"$model",version=~"$version"}`, number: num(0.3), above: true,
			guard: `and aiops_events_total > 100`,
		}},
		{`absent(aiops_events_total)`, alertPlot{value: `absent(aiops_events_total{model=~"$model",version=~"$version"})`}},
		{`aiops_queue_depth > bool 3`, alertPlot{value: `aiops_queue_depth{model=~"$model",version=~"$version"} > bool 3`}},
		{`aiops_exporter_config_last_reload_successful == 0`, alertPlot{value: `aiops_exporter_config_last_reload_successful`, number: num(0)}},
	}
	for _, c := range cases {
		got, err := planAlert(c.expr)
		require.NoError(t, err, c.expr)
		require.Equal(t, c.want, got, c.expr)
	}
	_, err := planAlert(`rate(x[5m]`)
	require.ErrorContains(t, err, "expr:")
}

func TestAlertCatalogFromRuleFile(t *testing.T) {
	groups, err := LoadRules("testdata/rules.yml")
	require.NoError(t, err)
	d, err := AlertCatalog(groups)
	require.NoError(t, err)
	require.Equal(t, AlertCatalogFile, d.File)

	var rows, panels []string
	for _, p := range d.Dashboard.Panels {
		if p.RowPanel != nil {
			rows = append(rows, *p.RowPanel.Title)
		} else {
			panels = append(panels, *p.Panel.Title)
		}
	}
	require.Equal(t, []string{"P1", "P2", "P3", "P4", "untiered"}, rows)
	require.Equal(t, []string{"AIOpsLatencyP95High", "AIOpsAccuracyDrop", "AIOpsVolumeDrop", "AIOpsExporterReloadFailed", "AIOpsFeatureNullRate", "AIOpsNoEvents"}, panels)

	_, err = LoadRules("testdata/does-not-exist.yml")
	require.ErrorContains(t, err, "does-not-exist.yml")
}
