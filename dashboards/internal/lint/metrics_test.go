package lint

import (
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/dashboards/gen"
)

// architectureFamilies are the metric families decided in ARCHITECTURE.md and
// in the exporter's brief. They stand in for the real list until the exporter
// can be run here on a synthetic workload: then replace this map with
// FamiliesFromExposition(<its /metrics>) — the test below stays the same.
func architectureFamilies() map[string]string {
	return map[string]string{
		"aiops_events_total":                           Counter,
		"aiops_events_rejected_total":                  Counter,
		"aiops_contained_events_total":                 Counter,
		"aiops_feature_drift_score":                    Gauge,
		"aiops_feature_drift_pvalue":                   Gauge,
		"aiops_feature_drifted":                        Gauge,
		"aiops_drifted_features_ratio":                 Gauge,
		"aiops_prediction_drift_score":                 Gauge,
		"aiops_feature_values_total":                   Counter,
		"aiops_feature_reference_ratio":                Gauge,
		"aiops_feature_null_ratio":                     Gauge,
		"aiops_feature_outlier_ratio":                  Gauge,
		"aiops_model_accuracy":                         Gauge,
		"aiops_model_precision":                        Gauge,
		"aiops_model_recall":                           Gauge,
		"aiops_model_f1":                               Gauge,
		"aiops_model_rmse":                             Gauge,
		"aiops_model_mae":                              Gauge,
		"aiops_model_estimated_accuracy":               Gauge,
		"aiops_model_estimated_roc_auc":                Gauge,
		"aiops_model_roc_auc":                          Gauge,
		"aiops_reconstruction_error":                   Gauge,
		"aiops_reconstruction_error_upper_bound":       Gauge,
		"aiops_reconstruction_error_lower_bound":       Gauge,
		"aiops_reconstruction_drifted":                 Gauge,
		"aiops_embedding_drift_distance":               Gauge,
		"aiops_embedding_drift_threshold":              Gauge,
		"aiops_embedding_drifted":                      Gauge,
		"aiops_model_log_loss":                         Gauge,
		"aiops_model_brier_score":                      Gauge,
		"aiops_predictions_labeled_total":              Counter,
		"aiops_confusion_total":                        Counter,
		"aiops_regression_error_sum":                   Counter,
		"aiops_label_delay_seconds":                    Histogram,
		"aiops_predictions_awaiting_label":             Gauge,
		"aiops_inference_duration_seconds":             Histogram,
		"aiops_inference_errors_total":                 Counter,
		"aiops_tokens_total":                           Counter,
		"aiops_cost_total":                             Counter,
		"gen_ai_client_token_usage":                    Histogram,
		"gen_ai_client_operation_duration_seconds":     Histogram,
		"aiops_task_outcomes_total":                    Counter,
		"aiops_feedback_total":                         Counter,
		"aiops_business_events_total":                  Counter,
		"aiops_business_value_total":                   Counter,
		"aiops_queue_depth":                            Gauge,
		"aiops_input_length":                           Histogram,
		"aiops_text_rouge_l":                           Histogram,
		"aiops_text_bleu":                              Histogram,
		"aiops_text_bleu_ngram_matches_total":          Counter,
		"aiops_text_bleu_ngrams_total":                 Counter,
		"aiops_text_words_total":                       Counter,
		"aiops_label_values_folded_total":              Counter,
		"aiops_exporter_config_last_reload_successful": Gauge,
		// From OTLP (exporter/otlp).
		"aiops_llm_finish_reasons_total": Counter,
		"aiops_agent_tool_calls_total":   Counter,
		"aiops_agent_tool_errors_total":  Counter,
		"aiops_agent_task_steps":         Histogram,
		"aiops_evaluation_score":         Histogram,
	}
}

func TestDashboardMetricsExist(t *testing.T) {
	families := architectureFamilies()
	maps.Copy(families, ExternalFamilies())
	known := KnownSeries(families)
	// The alert catalog selects what rulegen's committed rules record.
	rules, err := filepath.Glob(filepath.Join("..", "..", "..", "rules", "generated", "rules", "*.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, rules)
	groups, err := gen.LoadRules(rules...)
	require.NoError(t, err)
	maps.Copy(known, RecordedSeries(groups))
	used := map[string]bool{}
	for name, raw := range committed(t) {
		d, err := Load(raw)
		require.NoError(t, err, name)
		names, err := DashboardMetricNames(d)
		require.NoError(t, err, name)
		require.NoError(t, CheckMetricsExist(names, known), name)
		for _, n := range names {
			used[n] = true
		}
	}
	// The four pillars are covered: a representative metric of each is used.
	for _, n := range []string{"aiops_model_accuracy", "aiops_feature_values_total", "aiops_inference_duration_seconds_bucket", "aiops_inference_duration_seconds", "aiops_task_outcomes_total", "DCGM_FI_DEV_GPU_UTIL"} {
		require.True(t, used[n], "no dashboard uses %s", n)
	}
}

func TestCheckMetricsExistNamesTheMissingOnes(t *testing.T) {
	known := KnownSeries(map[string]string{"aiops_inference_duration_seconds": Histogram, "aiops_events_total": Counter})
	require.NoError(t, CheckMetricsExist([]string{"aiops_inference_duration_seconds_bucket", "aiops_inference_duration_seconds", "aiops_events_total"}, known))
	err := CheckMetricsExist([]string{"aiops_events_total", "aiops_events_count", "aiops_inference_duration_seconds_total"}, known)
	require.EqualError(t, err, "2 metric(s) used by the dashboards are not exported: aiops_events_count, aiops_inference_duration_seconds_total")
}

func TestFamiliesFromExposition(t *testing.T) {
	expo := `# HELP aiops_events_total Accepted events.
# TYPE aiops_events_total counter
aiops_events_total{model="m",version="1"} 3
# HELP aiops_inference_duration_seconds Latency.
# TYPE aiops_inference_duration_seconds histogram
aiops_inference_duration_seconds_bucket{model="m",version="1",le="0.1"} 1
aiops_inference_duration_seconds_bucket{model="m",version="1",le="+Inf"} 2
aiops_inference_duration_seconds_sum{model="m",version="1"} 0.3
aiops_inference_duration_seconds_count{model="m",version="1"} 2
# TYPE aiops_queue_depth gauge
aiops_queue_depth{model="m",version="1"} 4
`
	fams, err := FamiliesFromExposition(strings.NewReader(expo))
	require.NoError(t, err)
	require.Equal(t, map[string]string{
		"aiops_events_total":               Counter,
		"aiops_inference_duration_seconds": Histogram,
		"aiops_queue_depth":                Gauge,
	}, fams)
	known := KnownSeries(fams)
	require.True(t, known["aiops_inference_duration_seconds_bucket"])
	require.False(t, known["aiops_queue_depth_bucket"])

	_, err = FamiliesFromExposition(strings.NewReader("aiops_events_total{model=\"m\" 3\n"))
	require.ErrorContains(t, err, "parse exposition")
}
