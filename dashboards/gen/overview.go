package gen

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Dashboard UIDs are stable so links and bookmarks survive regeneration.
const (
	UIDOverview       = "opscentre-overview"
	UIDPerformance    = "opscentre-model-performance"
	UIDDrift          = "opscentre-data-quality-drift"
	UIDInfrastructure = "opscentre-infrastructure-latency"
	UIDBusiness       = "opscentre-business-outcomes"
	UIDIncidents      = "opscentre-incidents"
)

// Shared expressions, reused by the overview and the detail dashboards so both
// always show the same number.

func exprAccuracy() string { return `avg by (model) (` + sel("aiops_model_accuracy") + `)` }

func exprDriftShare() string { return `max by (model) (` + sel("aiops_drifted_features_ratio") + `)` }

func exprP95() string { return quantile("0.95", "model", "aiops_inference_duration_seconds") }

func exprErrorRate() string {
	return sumRate("model", "aiops_inference_errors_total") + " / " + sumRate("model", "aiops_events_total")
}

func exprRequests() string { return sumRate("model", "aiops_events_total") }

func exprCompletion() string {
	return sumRate("model", "aiops_task_outcomes_total", `outcome="completed"`) + " / " + sumRate("model", "aiops_task_outcomes_total")
}

func overview() *dashboard.DashboardBuilder {
	return newDashboard(UIDOverview, "AI Operations overview",
		"Every model at a glance across the four pillars of AI monitoring, with open incidents. Click a model to open its detail dashboards.").
		WithRow(row("Health per pillar")).
		WithPanel(statPanel("Accuracy", "Model performance: accuracy over the exporter's window of labelled predictions, per model.", "percentunit",
			pq("A", exprAccuracy(), "{{model}}")).
			Min(0).Max(1).
			Thresholds(thresholds("red", step{0.8, "orange"}, step{0.9, "green"})).
			DataLinks(modelLink("Model performance for ${__field.labels.model}", UIDPerformance))).
		WithPanel(statPanel("Drifted features", "Data quality and drift: share of features whose drift verdict is set, per model.", "percentunit",
			pq("A", exprDriftShare(), "{{model}}")).
			Min(0).Max(1).
			Thresholds(thresholds("green", step{0.1, "orange"}, step{0.3, "red"})).
			DataLinks(modelLink("Drift for ${__field.labels.model}", UIDDrift))).
		WithPanel(statPanel("P95 latency", "Infrastructure and latency: 95th percentile inference latency from the classic histogram buckets, per model.", "s",
			pq("A", exprP95(), "{{model}}")).
			Thresholds(thresholds("green", step{1, "orange"}, step{3, "red"})).
			DataLinks(modelLink("Latency for ${__field.labels.model}", UIDInfrastructure))).
		WithPanel(statPanel("Error rate", "Infrastructure: failed inferences as a share of accepted events, per model.", "percentunit",
			pq("A", exprErrorRate(), "{{model}}")).
			Thresholds(thresholds("green", step{0.01, "orange"}, step{0.05, "red"})).
			DataLinks(modelLink("Errors for ${__field.labels.model}", UIDInfrastructure))).
		WithPanel(statPanel("Spend over the range", "Business: money spent on inference (tokens × price table) during the selected time range, per model and currency.", "short",
			pqInstant("A", `sum by (model, currency) (increase(`+sel("aiops_cost_total")+`[$__range]))`, "{{model}} {{currency}}")).
			GraphMode("none").
			DataLinks(modelLink("Spend for ${__field.labels.model}", UIDInfrastructure))).
		WithPanel(statPanel("Task completion", "Business outcomes: share of tasks that completed (vs failed, escalated, abandoned), per model.", "percentunit",
			pq("A", exprCompletion(), "{{model}}")).
			Min(0).Max(1).
			Thresholds(thresholds("red", step{0.7, "orange"}, step{0.9, "green"})).
			DataLinks(modelLink("Outcomes for ${__field.labels.model}", UIDBusiness))).
		WithRow(row("Models")).
		WithPanel(promTable("Models at a glance", "One row per model: request rate, accuracy, drifted-feature share, P95 latency and error rate now. Click a model to open its performance dashboard.", "short",
			pqTable("A", exprRequests()),
			pqTable("B", exprAccuracy()),
			pqTable("C", exprDriftShare()),
			pqTable("D", exprP95()),
			pqTable("E", exprErrorRate())).
			WithTransformation(merge()).
			WithTransformation(organize(map[string]string{
				"Value #A": "req/s", "Value #B": "accuracy", "Value #C": "drifted features", "Value #D": "P95 latency", "Value #E": "error rate",
			})).
			OverrideByName(override("accuracy", prop("unit", "percentunit"))).
			OverrideByName(override("drifted features", prop("unit", "percentunit"))).
			OverrideByName(override("P95 latency", prop("unit", "s"))).
			OverrideByName(override("error rate", prop("unit", "percentunit"))).
			OverrideByName(override("req/s", prop("unit", "reqps"))).
			OverrideByName(override("model", prop("links", []map[string]any{{
				"title": "Model performance for ${__value.raw}",
				"url":   "/d/" + UIDPerformance + "?var-model=${__value.raw}&${datasource:queryparam}&${incidents:queryparam}&${__url_time_range}",
			}})))).
		WithPanel(timeSeries("Accuracy vs last week", "Accuracy now (solid) against the same time a week earlier (the baseline), per model.", "percentunit",
			pq("A", exprAccuracy(), "{{model}}"),
			pq("B", `avg by (model) (`+sel("aiops_model_accuracy")+` offset 1w)`, "{{model}} last week")).
			Min(0).Max(1).
			OverrideByRegexp(".* last week", []dashboard.DynamicConfigValue{prop("custom.lineStyle", map[string]any{"fill": "dash", "dash": []int{10, 10}})})).
		WithPanel(timeSeries("Request rate", "Accepted inference events per second, per model.", "reqps",
			pq("A", exprRequests(), "{{model}}"))).
		WithRow(row("Incidents")).
		WithPanel(incidentStat("Open incidents by tier", "Incidents not yet resolved, by tier (P1 critical … P4 low), from incidentd.", "short",
			NewIncidentsQuery(QueryCounts).RefId("A").State("open").SplitBy("tier").Model("$"+VarModel)).
			Span(12).
			Thresholds(thresholds("green", step{1, "red"}))).
		WithPanel(incidentTable("Open incidents", "Open incidents for the selected models, newest first.", "short",
			NewIncidentsQuery(QueryIncidents).RefId("A").State("open").Model("$"+VarModel)).
			Span(12).Height(8))
}
