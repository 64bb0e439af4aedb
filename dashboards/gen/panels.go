package gen

import (
	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/heatmap"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Panel constructors: every panel gets a title, a description and a unit at
// birth, so a panel cannot be added without them (the lint tests check the JSON
// as well).

func timeSeries(title, description, unit string, targets ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().
		Title(title).
		Description(description).
		Unit(unit).
		Datasource(promRef()).
		Height(8).
		Span(12).
		LineWidth(1).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true))
	for _, t := range targets {
		p.WithTarget(t)
	}
	return p
}

func statPanel(title, description, unit string, targets ...*prometheus.DataqueryBuilder) *stat.PanelBuilder {
	p := stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Unit(unit).
		Datasource(promRef()).
		Height(4).
		Span(4).
		GraphMode(common.BigValueGraphModeArea).
		ColorMode(common.BigValueColorModeValue).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false))
	for _, t := range targets {
		p.WithTarget(t)
	}
	return p
}

func barGauge(title, description, unit string, targets ...*prometheus.DataqueryBuilder) *bargauge.PanelBuilder {
	p := bargauge.NewPanelBuilder().
		Title(title).
		Description(description).
		Unit(unit).
		Datasource(promRef()).
		Height(8).
		Span(12).
		DisplayMode(common.BarGaugeDisplayModeGradient).
		Orientation(common.VizOrientationHorizontal).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false))
	for _, t := range targets {
		p.WithTarget(t)
	}
	return p
}

func stateTimeline(title, description, unit string, targets ...*prometheus.DataqueryBuilder) *statetimeline.PanelBuilder {
	p := statetimeline.NewPanelBuilder().
		Title(title).
		Description(description).
		Unit(unit).
		Datasource(promRef()).
		Height(8).
		Span(12).
		ShowValue(common.VisibilityModeNever).
		MergeValues(true).
		FillOpacity(80)
	for _, t := range targets {
		p.WithTarget(t)
	}
	return p
}

func heatMap(title, description, unit string, target *prometheus.DataqueryBuilder) *heatmap.PanelBuilder {
	return heatmap.NewPanelBuilder().
		Title(title).
		Description(description).
		Unit(unit).
		Datasource(promRef()).
		Height(8).
		Span(12).
		Calculate(false).
		YAxis(heatmap.NewYAxisConfigBuilder().Unit(unit)).
		CellValues(heatmap.NewCellValuesBuilder().Unit("reqps")).
		WithTarget(target.Format(prometheus.PromQueryFormatHeatmap))
}

func promTable(title, description, unit string, targets ...*prometheus.DataqueryBuilder) *table.PanelBuilder {
	p := table.NewPanelBuilder().
		Title(title).
		Description(description).
		Unit(unit).
		Datasource(promRef()).
		Height(8).
		Span(24).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"}))
	for _, t := range targets {
		p.WithTarget(t)
	}
	return p
}

// Panels on the incidents datasource.

func incidentTable(title, description, unit string, q *IncidentsQueryBuilder) *table.PanelBuilder {
	return table.NewPanelBuilder().
		Title(title).
		Description(description).
		Unit(unit).
		Datasource(*incidentsRef()).
		Height(10).
		Span(24).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"count"})).
		WithTarget(q)
}

// incidentActions are the lifecycle and containment actions of an incidents table row,
// sent through the datasource's resources so that incidentd records the Grafana user who
// clicked. The containment actions ask for a reason ($reason, an action variable Grafana
// prompts for); the plugin contains the incident's own model, version and fallback version.
func incidentActions() []cog.Builder[dashboard.Action] {
	act := func(title, confirm, path, body string) *dashboard.ActionBuilder {
		return dashboard.NewActionBuilder().
			Type(dashboard.ActionTypeFetch).
			Title(title).
			Confirmation(confirm + " incident #${__data.fields.id}?").
			OneClick(false).
			Fetch(dashboard.NewFetchOptionsBuilder().
				Method(dashboard.HttpRequestMethodPOST).
				Url("/api/datasources/uid/${" + VarIncidents + "}/resources/incidents/${__data.fields.id}/" + path).
				Body(body).
				Headers([][]string{{"Content-Type", "application/json"}}))
	}
	reason := []cog.Builder[dashboard.ActionVariable]{
		dashboard.NewActionVariableBuilder().Key("reason").Name("Reason (shown to everyone who reads the containment)"),
	}
	return []cog.Builder[dashboard.Action]{
		act("Acknowledge", "Acknowledge", "ack", `{}`),
		act("Start investigating", "Move to investigating", "transition", `{"to":"investigating"}`),
		act("Assign to me", "Assign to yourself", "assign", `{"assignee":"me"}`),
		act("Resolve", "Resolve", "transition", `{"to":"resolved"}`),
		act("Contain: fallback", "Route the model's traffic to its fallback version for", "containments", `{"action":"fallback","reason":"$reason"}`).
			Variables(reason),
		act("Contain: disable", "Disable the AI feature (applications serve their alternative) for", "containments", `{"action":"disable","reason":"$reason"}`).
			Variables(reason),
		act("Lift containment", "Lift every active containment of", "containments/lift", `{"reason":"$reason"}`).
			Variables(reason),
	}
}

func incidentStat(title, description, unit string, q *IncidentsQueryBuilder) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Unit(unit).
		Datasource(*incidentsRef()).
		Height(4).
		Span(6).
		GraphMode(common.BigValueGraphModeNone).
		ColorMode(common.BigValueColorModeBackground).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false)).
		WithTarget(q)
}

func incidentTimeSeries(title, description, unit string, q *IncidentsQueryBuilder) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).
		Description(description).
		Unit(unit).
		Datasource(*incidentsRef()).
		Height(8).
		Span(12).
		FillOpacity(10).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		WithTarget(q)
}

// merge joins the columns of several table-format queries into one table.
func merge() dashboard.DataTransformerConfig {
	return dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}
}

// organize hides Prometheus' Time column and renames value columns.
func organize(rename map[string]string) dashboard.DataTransformerConfig {
	return dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
		"excludeByName": map[string]any{"Time": true},
		"renameByName":  rename,
	}}
}

// override sets a property on the fields matching name.
func override(name string, props ...dashboard.DynamicConfigValue) (string, []dashboard.DynamicConfigValue) {
	return name, props
}

func prop(id string, value any) dashboard.DynamicConfigValue {
	return dashboard.DynamicConfigValue{Id: id, Value: value}
}
