package gen

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/opscentre/opscentre/exporter/textquality"
)

func modelPerformance() *dashboard.DashboardBuilder {
	byMV := "model, version"
	return newDashboard(UIDPerformance, "Model performance",
		"Pillar 1: is the model producing quality outputs? Accuracy, per-class precision/recall/F1, regression error, ground-truth coverage and delay, and version-vs-version comparison for canaries and A/B tests.").
		WithRow(row("Classification")).
		WithPanel(timeSeries("Accuracy vs baseline", "Accuracy per model and version over the window of labelled predictions (solid); the band is last week's range (min to max over the same hour a week earlier), the baseline to judge a drop against.", "percentunit",
			pq("A", `avg by (`+byMV+`) (`+sel("aiops_model_accuracy")+`)`, "{{model}} {{version}}"),
			pq("B", `min by (model) (min_over_time(`+sel("aiops_model_accuracy")+`[1h] offset 1w))`, "{{model}} baseline min"),
			pq("C", `max by (model) (max_over_time(`+sel("aiops_model_accuracy")+`[1h] offset 1w))`, "{{model}} baseline max")).
			Min(0).Max(1).
			OverrideByRegexp(".* baseline max", []dashboard.DynamicConfigValue{
				prop("custom.fillBelowTo", "${__field.labels.model} baseline min"),
				prop("custom.lineWidth", 0), prop("color", map[string]any{"mode": "fixed", "fixedColor": "gray"}),
			}).
			OverrideByRegexp(".* baseline min", []dashboard.DynamicConfigValue{
				prop("custom.lineWidth", 0), prop("color", map[string]any{"mode": "fixed", "fixedColor": "gray"}),
			})).
		WithPanel(timeSeries("Accuracy across replicas and estimated accuracy", "Accuracy recomputed in PromQL from the mergeable counters aiops_predictions_labeled_total{outcome} — correct across every exporter replica — next to the confidence-based estimate (CBPE) that needs no ground truth.", "percentunit",
			pq("A", sumRate(byMV, "aiops_predictions_labeled_total", `outcome="correct"`)+" / "+sumRate(byMV, "aiops_predictions_labeled_total"), "{{model}} {{version}} measured"),
			pq("B", `avg by (`+byMV+`) (`+sel("aiops_model_estimated_accuracy")+`)`, "{{model}} {{version}} estimated")).
			Min(0).Max(1)).
		WithPanel(timeSeries("ROC AUC: measured and estimated", "ROC AUC of boolean models' score of true: measured over the predictions labelled in the window, and estimated by CBPE from the scores of recent predictions before their labels arrive. A falling estimate warns before the labels confirm it.", "percentunit",
			pq("A", `avg by (`+byMV+`) (`+sel("aiops_model_roc_auc")+`)`, "{{model}} {{version}} measured"),
			pq("B", `avg by (`+byMV+`) (`+sel("aiops_model_estimated_roc_auc")+`)`, "{{model}} {{version}} estimated")).
			Min(0).Max(1)).
		WithPanel(timeSeries("Precision per class", "Precision (of the predictions of a class, the share that were right) per model and class.", "percentunit",
			pq("A", `avg by (model, class) (`+sel("aiops_model_precision")+`)`, "{{model}} {{class}}")).Min(0).Max(1).Span(8)).
		WithPanel(timeSeries("Recall per class", "Recall (of the true members of a class, the share the model found) per model and class.", "percentunit",
			pq("A", `avg by (model, class) (`+sel("aiops_model_recall")+`)`, "{{model}} {{class}}")).Min(0).Max(1).Span(8)).
		WithPanel(timeSeries("F1 per class", "F1 score (harmonic mean of precision and recall) per model and class.", "percentunit",
			pq("A", `avg by (model, class) (`+sel("aiops_model_f1")+`)`, "{{model}} {{class}}")).Min(0).Max(1).Span(8)).
		WithPanel(promTable("Confusion matrix", "Labelled predictions in the selected range by actual and predicted class, summed across replicas. Off-diagonal cells are the errors.", "short",
			pqTable("A", `sum by (actual, predicted) (increase(`+sel("aiops_confusion_total")+`[$__range]))`)).
			WithTransformation(dashboard.DataTransformerConfig{Id: "groupingToMatrix", Options: map[string]any{
				"rowField": "actual", "columnField": "predicted", "valueField": "Value",
			}}).
			Span(12)).
		WithPanel(barGauge("Accuracy by version", "Accuracy of each version of the selected models now: compare a canary or an A/B variant against the current version.", "percentunit",
			pqInstant("A", `avg by (`+byMV+`) (`+sel("aiops_model_accuracy")+`)`, "{{model}} {{version}}")).
			Min(0).Max(1).
			Thresholds(thresholds("red", step{0.8, "orange"}, step{0.9, "green"}))).
		WithPanel(timeSeries("Log-loss and Brier score", "Log-loss and Brier score of the predicted class's score against whether it was right, over the window of labelled predictions (lower is better): both rise when the model grows confidently wrong or its scores stop being calibrated, which log-loss punishes hardest.", "none",
			pq("A", `avg by (`+byMV+`) (`+sel("aiops_model_log_loss")+`)`, "{{model}} {{version}} log-loss"),
			pq("B", `avg by (`+byMV+`) (`+sel("aiops_model_brier_score")+`)`, "{{model}} {{version}} Brier")).
			Min(0)).
		WithRow(row("Regression")).
		WithPanel(timeSeries("RMSE", "Root mean squared error per model and version over the window of labelled predictions (in the target's unit).", "none",
			pq("A", `avg by (`+byMV+`) (`+sel("aiops_model_rmse")+`)`, "{{model}} {{version}}"))).
		WithPanel(timeSeries("MAE", "Mean absolute error per model and version over the window of labelled predictions (in the target's unit).", "none",
			pq("A", `avg by (`+byMV+`) (`+sel("aiops_model_mae")+`)`, "{{model}} {{version}}"))).
		WithRow(row("Generated answers")).
		WithPanel(timeSeries("Answer quality (ROUGE-L)", "ROUGE-L F1 of generated answers against the reference answers the application sends with them (output_text, reference_answer): median and 10th percentile, per model. A falling low percentile is a growing share of wrong answers.", "percentunit",
			pq("A", quantile("0.5", "model", "aiops_text_rouge_l"), "{{model}} p50"),
			pq("B", quantile("0.1", "model", "aiops_text_rouge_l"), "{{model}} p10")).
			Min(0).Max(1)).
		WithPanel(timeSeries("Corpus BLEU", "Corpus BLEU-4 of the generated answers in each interval against their reference answers, per model, from the mergeable n-gram counters (so it is right across replicas; not the mean of per-answer scores). The dashed line is the mean per-answer BLEU+1.", "percentunit",
			pq("A", textquality.PromQLCorpusBLEU("$__rate_interval", "model", `model=~"$model", version=~"$version"`), "{{model}} corpus"),
			pq("B", `sum by (model) (`+rate("aiops_text_bleu_sum")+`) / sum by (model) (`+rate("aiops_text_bleu_count")+`)`, "{{model}} per-answer mean")).
			Min(0).Max(1).
			OverrideByRegexp(".* per-answer mean", []dashboard.DynamicConfigValue{
				prop("custom.lineStyle", map[string]any{"fill": "dash", "dash": []int{10, 10}}),
			})).
		WithRow(row("Ground truth")).
		WithPanel(timeSeries("Labelled coverage", "Share of predictions that received a ground-truth label: low coverage makes the performance panels above less trustworthy.", "percentunit",
			pq("A", sumRate("model", "aiops_predictions_labeled_total")+" / "+sumRate("model", "aiops_events_total"), "{{model}}")).
			Min(0).Span(8)).
		WithPanel(timeSeries("Label delay", "Time from prediction to its ground-truth label (median and 95th percentile), per model.", "s",
			pq("A", quantile("0.5", "model", "aiops_label_delay_seconds"), "{{model}} p50"),
			pq("B", quantile("0.95", "model", "aiops_label_delay_seconds"), "{{model}} p95")).
			Span(8)).
		WithPanel(timeSeries("Predictions awaiting a label", "Backlog of predictions still waiting for their ground truth, per model.", "short",
			pq("A", `sum by (model) (`+sel("aiops_predictions_awaiting_label")+`)`, "{{model}}")).
			Span(8).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))).
		WithRow(row("Containment")).
		WithPanel(timeSeries("Contained traffic", "Events the applications produced under an incidentd containment, per model, the version that served them and the containment's action (fallback, disable, block_inputs), beside every version's traffic: a fallback shows as the faulty version falling to zero while the fallback version's contained traffic rises, until the containment is lifted.", "reqps",
			pq("A", sumRate("model, version, action", "aiops_contained_events_total"), "{{model}} {{version}} contained: {{action}}"),
			pq("B", sumRate(byMV, "aiops_events_total"), "{{model}} {{version}} all events")).
			Min(0).Span(24))
}
