// Package gen builds the OpsCentre Grafana dashboards — one per pillar of AI
// monitoring plus incidents — with the grafana-foundation-sdk, and renders them
// as the JSON committed under dashboards/json.
//
// Every dashboard shares the same variables (Prometheus datasource, incidents
// datasource, model, version), the same links (carrying the variables, so a
// model picked on the overview stays picked on the detail dashboards) and the
// same incident annotations, so they are declared once here.
package gen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/prometheus/prometheus/model/rulefmt"
)

// Variable names every dashboard defines; panels refer to them as ${name}.
const (
	VarDatasource = "datasource"
	VarIncidents  = "incidents"
	VarModel      = "model"
	VarVersion    = "version"
	// VarDailyBudget is the infrastructure dashboard's budget textbox.
	VarDailyBudget = "daily_budget"
	// VarIncident is the incidents dashboard's incident id, which the plugin's incident
	// links set (var-incident) to open its timeline.
	VarIncident = "incident"
)

// Tag carried by every OpsCentre dashboard; the dashboard links list dashboards by it.
const Tag = "opscentre"

// Dashboard is one generated dashboard and the file it is written to.
type Dashboard struct {
	File      string
	Dashboard dashboard.Dashboard
}

// RegisterPlugins teaches the SDK's (process-wide) runtime every core panel and
// query type plus the incidents plugin's query, so JSON can be read back
// strictly. Registration is idempotent.
func RegisterPlugins() {
	plugins.RegisterDefaultPlugins()
	cog.NewRuntime().RegisterDataqueryVariant(IncidentsVariantConfig())
}

type entry struct {
	file  string
	build func() *dashboard.DashboardBuilder
}

// dashboardList lists the dashboards in the order the README presents them.
func dashboardList() []entry {
	return []entry{
		{"overview.json", overview},
		{"model-performance.json", modelPerformance},
		{"data-quality-drift.json", dataQualityDrift},
		{"infrastructure-latency.json", infrastructureLatency},
		{"business-outcomes.json", businessOutcomes},
		{"incidents.json", incidents},
	}
}

// All builds every dashboard.
func All() ([]Dashboard, error) {
	entries := dashboardList()
	out := make([]Dashboard, 0, len(entries))
	for _, b := range entries {
		d, err := b.build().Build()
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", b.file, err)
		}
		numberPanels(&d)
		out = append(out, Dashboard{File: b.file, Dashboard: d})
	}
	return out, nil
}

// Render builds every dashboard and returns its JSON keyed by file name.
func Render() (map[string][]byte, error) { return RenderWithAlerts(nil) }

// RenderWithAlerts is Render plus, when groups hold alerting rules, the alert
// catalog built from them.
func RenderWithAlerts(groups []rulefmt.RuleGroup) (map[string][]byte, error) {
	ds, err := All()
	if err != nil {
		return nil, err
	}
	if len(groups) > 0 {
		cat, err := AlertCatalog(groups)
		if err != nil {
			return nil, err
		}
		ds = append(ds, cat)
	}
	out := make(map[string][]byte, len(ds))
	for _, d := range ds {
		b, err := Marshal(d.Dashboard)
		if err != nil {
			return nil, fmt.Errorf("marshal %s: %w", d.File, err)
		}
		out[d.File] = b
	}
	return out, nil
}

// Marshal renders a dashboard as indented JSON with a trailing newline, the form
// committed to the repository (stable, so diffs stay reviewable).
func Marshal(d dashboard.Dashboard) ([]byte, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, unescapeHTML(raw), "", "  "); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// unescapeHTML undoes encoding/json's HTML-safe escaping of &, < and >, which
// the SDK's marshalers apply and which makes URLs and PromQL comparisons
// unreadable in the committed files. The escapes only ever appear inside JSON
// strings where the literal character means the same.
func unescapeHTML(b []byte) []byte {
	for esc, lit := range map[string]string{`\u0026`: "&", `\u003c`: "<", `\u003e`: ">"} {
		b = bytes.ReplaceAll(b, []byte(esc), []byte(lit))
	}
	return b
}

// numberPanels gives every panel a stable id in layout order: the SDK leaves ids
// unset, and Grafana needs them for panel links and view-panel URLs.
func numberPanels(d *dashboard.Dashboard) {
	id := uint32(1)
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			p.Panel.Id = cog.ToPtr(id)
		case p.RowPanel != nil:
			p.RowPanel.Id = id
			for i := range p.RowPanel.Panels {
				id++
				p.RowPanel.Panels[i].Id = cog.ToPtr(id)
			}
		}
		id++
	}
}

func promRef() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${" + VarDatasource + "}")}
}

func incidentsRef() *common.DataSourceRef {
	return &common.DataSourceRef{Type: cog.ToPtr(IncidentsPluginID), Uid: cog.ToPtr("${" + VarIncidents + "}")}
}

// newDashboard starts a dashboard with the shared variables, links and
// annotations.
func newDashboard(uid, title, description string) *dashboard.DashboardBuilder {
	modelQuery := `label_values(aiops_events_total, model)`
	versionQuery := `label_values(aiops_events_total{model=~"$model"}, version)`
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{Tag, "ai-monitoring"}).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Time("now-6h", "now").
		Refresh("1m").
		Timezone("browser").
		WithVariable(dashboard.NewDatasourceVariableBuilder(VarDatasource).
			Label("Data Source").
			Description("Prometheus that scrapes aiops_exporter.").
			Type("prometheus")).
		WithVariable(dashboard.NewDatasourceVariableBuilder(VarIncidents).
			Label("Incidents").
			Description("OpsCentre incidents datasource (incidentd).").
			Type(IncidentsPluginID)).
		WithVariable(dashboard.NewQueryVariableBuilder(VarModel).
			Label("Model").
			Description("Models reporting to aiops_exporter.").
			Datasource(promRef()).
			Query(dashboard.StringOrMap{String: cog.ToPtr(modelQuery)}).
			Definition(modelQuery).
			Multi(true).
			IncludeAll(true).
			AllValue(".+").
			Sort(dashboard.VariableSortAlphabeticalAsc).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged)).
		WithVariable(dashboard.NewQueryVariableBuilder(VarVersion).
			Label("Version").
			Description("Versions of the selected models, for canary and A/B comparison.").
			Datasource(promRef()).
			Query(dashboard.StringOrMap{String: cog.ToPtr(versionQuery)}).
			Definition(versionQuery).
			Multi(true).
			IncludeAll(true).
			AllValue(".+").
			Sort(dashboard.VariableSortAlphabeticalAsc).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged)).
		Link(dashboard.NewDashboardLinkBuilder("OpsCentre").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{Tag}).
			AsDropdown(false).
			IncludeVars(true).
			KeepTime(true)).
		Annotation(dashboard.NewAnnotationQueryBuilder().
			Name("Incidents and changes").
			Datasource(*incidentsRef()).
			Enable(true).
			IconColor("red").
			Target(NewIncidentsQuery(QueryAnnotations).RefId("Anno").IncludeChanges().Model("$" + VarModel)))
}

// sel is a selector on metric restricted to the chosen models and versions, plus
// any extra matchers.
func sel(metric string, extra ...string) string {
	return metric + "{" + strings.Join(append(varMatchers(), extra...), ", ") + "}"
}

// varMatchers select the series of the dashboard's model and version variables.
func varMatchers() []string { return []string{`model=~"$model"`, `version=~"$version"`} }

// rate is the per-second rate of a counter over $__rate_interval (which Grafana
// keeps at least four scrape intervals, so the rate never has a single point).
func rate(metric string, extra ...string) string {
	return "rate(" + sel(metric, extra...) + "[$__rate_interval])"
}

// sumRate sums rate(metric) by the given labels.
func sumRate(by, metric string, extra ...string) string {
	return "sum by (" + by + ") (" + rate(metric, extra...) + ")"
}

// quantile is a latency quantile from classic histogram buckets.
func quantile(q, by, histogram string) string {
	return fmt.Sprintf("histogram_quantile(%s, sum by (%s, le) (%s))", q, by, rate(histogram+"_bucket"))
}

// nativeQuantile is the same quantile from a native histogram (Prometheus with
// native histograms enabled): no le label, exact-ish buckets.
func nativeQuantile(q, by, histogram string) string {
	return fmt.Sprintf("histogram_quantile(%s, sum by (%s) (%s))", q, by, rate(histogram))
}

// pq is a Prometheus range query.
func pq(ref, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().
		Datasource(promRef()).
		RefId(ref).
		Expr(expr).
		LegendFormat(legend).
		Range()
}

// pqInstant is a Prometheus instant query, for stats and tables.
func pqInstant(ref, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().
		Datasource(promRef()).
		RefId(ref).
		Expr(expr).
		LegendFormat(legend).
		Instant()
}

// pqTable is an instant query in table format, for multi-column tables.
func pqTable(ref, expr string) *prometheus.DataqueryBuilder {
	return pqInstant(ref, expr, "__auto").Format(prometheus.PromQueryFormatTable)
}

func thresholds(base string, steps ...step) *dashboard.ThresholdsConfigBuilder {
	s := []dashboard.Threshold{{Value: nil, Color: base}}
	for _, st := range steps {
		s = append(s, dashboard.Threshold{Value: cog.ToPtr(st.value), Color: st.color})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(s)
}

type step struct {
	value float64
	color string
}

// modelLink is a panel data link to another OpsCentre dashboard for the model
// of the clicked series.
func modelLink(title, uid string) []cog.Builder[dashboard.DashboardLink] {
	return []cog.Builder[dashboard.DashboardLink]{dashboard.NewDashboardLinkBuilder(title).
		Type(dashboard.DashboardLinkTypeLink).
		Url("/d/" + uid + "?var-model=${__field.labels.model}&${datasource:queryparam}&${incidents:queryparam}&${__url_time_range}")}
}

func row(title string) *dashboard.RowBuilder { return dashboard.NewRowBuilder(title) }
