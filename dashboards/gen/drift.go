package gen

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/opscentre/opscentre/exporter/drift"
)

// The PromQL lines of the PSI and Jensen–Shannon panels are the drift package's queries
// (tested there against the exporter's own Go on a real Prometheus), over Grafana's
// $__rate_interval and restricted to the dashboard's model and version variables.
func exprPSI() string { return drift.PromQLPSI("$__rate_interval", varMatchers()...) }

func exprJS() string { return drift.PromQLJS("$__rate_interval", varMatchers()...) }

func dataQualityDrift() *dashboard.DashboardBuilder {
	psiSteps := thresholds("green", step{0.1, "orange"}, step{0.25, "red"})
	return newDashboard(UIDDrift, "Data quality and drift",
		"Pillar 2: is the data flowing into the models healthy? Feature and prediction drift against the frozen reference, statistical tests, null and outlier rates, rejected events and volume.").
		WithRow(row("Feature drift")).
		WithPanel(stateTimeline("PSI per feature", "Population stability index of each feature vs the reference, as reported by the exporter: green < 0.1 (stable), orange < 0.25 (moderate shift), red ≥ 0.25 (significant shift).", "none",
			pq("A", `max by (model, feature) (`+sel("aiops_feature_drift_score", `method="psi"`)+`)`, "{{model}} {{feature}}")).
			Thresholds(psiSteps).
			ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds)).
			Span(24)).
		WithPanel(timeSeries("PSI: exporter vs PromQL across replicas", "The exporter's PSI (per replica, dashed) next to the PSI computed in PromQL from aiops_feature_values_total and aiops_feature_reference_ratio, which merges every replica over $__rate_interval. They agree on one replica; with several, the PromQL line is the fleet-wide drift.", "none",
			pq("A", `max by (model, version, feature) (`+sel("aiops_feature_drift_score", `method="psi"`)+`)`, "{{model}} {{feature}} exporter"),
			pq("B", exprPSI(), "{{model}} {{feature}} PromQL")).
			Thresholds(psiSteps).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed)).
			OverrideByRegexp(".* exporter", []dashboard.DynamicConfigValue{prop("custom.lineStyle", map[string]any{"fill": "dash", "dash": []int{10, 10}})})).
		WithPanel(timeSeries("Jensen–Shannon: exporter vs PromQL across replicas", "Jensen–Shannon distance (natural log, 0 … √ln 2 ≈ 0.83) from the exporter next to the same distance computed in PromQL across replicas.", "none",
			pq("A", `max by (model, version, feature) (`+sel("aiops_feature_drift_score", `method="js"`)+`)`, "{{model}} {{feature}} exporter"),
			pq("B", exprJS(), "{{model}} {{feature}} PromQL")).
			OverrideByRegexp(".* exporter", []dashboard.DynamicConfigValue{prop("custom.lineStyle", map[string]any{"fill": "dash", "dash": []int{10, 10}})})).
		WithPanel(timeSeries("Drift test p-values", "p-values of the KS, chi-squared and z tests per feature (log scale): below 0.05 the feature's distribution differs from the reference.", "none",
			pq("A", `min by (model, feature, test) (`+sel("aiops_feature_drift_pvalue")+`)`, "{{model}} {{feature}} {{test}}")).
			ScaleDistribution(common.NewScaleDistributionConfigBuilder().Type(common.ScaleDistributionLog).Log(10)).
			Thresholds(thresholds("red", step{0.05, "green"})).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLine))).
		WithPanel(timeSeries("Share of drifted features", "Share of each model's features whose drift verdict is set.", "percentunit",
			pq("A", exprDriftShare(), "{{model}}")).
			Min(0).Max(1)).
		WithPanel(stateTimeline("Drift verdict per feature", "1 while the exporter judges the feature drifted, 0 otherwise.", "bool_yes_no",
			pq("A", `max by (model, feature) (`+sel("aiops_feature_drifted")+`)`, "{{model}} {{feature}}")).
			Thresholds(thresholds("green", step{1, "red"})).
			ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds))).
		WithPanel(timeSeries("Multivariate drift (data reconstruction)", "Mean reconstruction error of each version's numeric features over the exporter's window (solid) between the bounds the reference allows for a window of that many events (mean ± 3σ/√n, dashed). Above the band the features no longer vary together as in the reference — a change no single feature's drift shows. Needs drift.multivariate: true.", "none",
			pq("A", `max by (model, version) (`+sel("aiops_reconstruction_error")+`)`, "{{model}} {{version}} error"),
			pq("B", `max by (model, version) (`+sel("aiops_reconstruction_error_upper_bound")+`)`, "{{model}} {{version}} upper bound"),
			pq("C", `max by (model, version) (`+sel("aiops_reconstruction_error_lower_bound")+`)`, "{{model}} {{version}} lower bound")).
			Min(0).
			OverrideByRegexp(".* (upper|lower) bound", []dashboard.DynamicConfigValue{prop("custom.lineStyle", map[string]any{"fill": "dash", "dash": []int{10, 10}})})).
		WithPanel(timeSeries("Embedding drift", "Distance between the mean input embedding over the exporter's window and the reference's (solid), against the distance expected with no drift for a window of that many embeddings (95% quantile, dashed). Above it, the inputs (prompts, queries) moved.", "none",
			pq("A", `max by (model, version) (`+sel("aiops_embedding_drift_distance")+`)`, "{{model}} {{version}} distance"),
			pq("B", `max by (model, version) (`+sel("aiops_embedding_drift_threshold")+`)`, "{{model}} {{version}} threshold")).
			Min(0).
			OverrideByRegexp(".* threshold", []dashboard.DynamicConfigValue{prop("custom.lineStyle", map[string]any{"fill": "dash", "dash": []int{10, 10}})})).
		WithPanel(timeSeries("Prediction drift", "Drift of the model's output distribution vs the reference, per method — it moves before accuracy can be measured.", "none",
			pq("A", `max by (model, method) (`+sel("aiops_prediction_drift_score")+`)`, "{{model}} {{method}}"))).
		WithRow(row("Data quality")).
		WithPanel(timeSeries("Null rate per feature", "Share of events with the feature missing or null over the exporter's window; above 5% usually means an upstream pipeline failure.", "percentunit",
			pq("A", `max by (model, feature) (`+sel("aiops_feature_null_ratio")+`)`, "{{model}} {{feature}}")).
			Min(0).
			Thresholds(thresholds("green", step{0.05, "red"})).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLine)).
			Span(8)).
		WithPanel(timeSeries("Outlier rate per feature", "Share of a numeric feature's values over the exporter's window outside its configured usual range (expected_min..expected_max); values outside min..max are rejected instead.", "percentunit",
			pq("A", `max by (model, feature) (`+sel("aiops_feature_outlier_ratio")+`)`, "{{model}} {{feature}}")).
			Min(0).Span(8)).
		WithPanel(timeSeries("Rejected events by reason", "Events the exporter refused, per second, by validation reason (schema violations, unknown model, out of range…).", "reqps",
			pq("A", sumRate("model, reason", "aiops_events_rejected_total"), "{{model}} {{reason}}")).
			Span(8).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))).
		WithPanel(timeSeries("Volume vs last week", "Accepted events per second now and a week ago: a sudden drop often means an integration or upstream outage.", "reqps",
			pq("A", exprRequests(), "{{model}}"),
			pq("B", `sum by (model) (rate(`+sel("aiops_events_total")+`[$__rate_interval] offset 1w))`, "{{model}} last week")).
			OverrideByRegexp(".* last week", []dashboard.DynamicConfigValue{prop("custom.lineStyle", map[string]any{"fill": "dash", "dash": []int{10, 10}})})).
		WithPanel(heatMap("Input length distribution", "Distribution of input text length (characters or tokens, as the application reports it) — for LLM systems a shift in prompt length is an early sign of changed usage or prompt injection.", "short",
			pq("A", `sum by (le) (`+rate("aiops_input_length_bucket")+`)`, "{{le}}")))
}
