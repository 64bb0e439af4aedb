package e2e

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/dashboards/gen"
	"github.com/opscentre/opscentre/dashboards/internal/lint"
	"github.com/opscentre/opscentre/dashboards/promapi"
	"github.com/opscentre/opscentre/test/promtest"
	"github.com/opscentre/opscentre/test/testbin"
)

// syntheticExporter serves every family of ARCHITECTURE.md for two models, with
// the label values the exporter's brief fixes (outcome, rating, token type…),
// plus node_exporter and DCGM series. Each scrape adds one batch of traffic, so
// counters and histograms move. It stands in for aiops_exporter fed by
// aiops-sim until those run here; the assertions do not depend on which.
type syntheticExporter struct {
	mu    sync.Mutex
	reg   *prometheus.Registry
	tick  func()
	ticks int
}

func newSyntheticExporter() *syntheticExporter {
	reg := prometheus.NewRegistry()
	mv := []string{"model", "version"}
	with := func(extra ...string) []string { return append(append([]string{}, mv...), extra...) }
	counter := func(name string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: name}, labels)
		reg.MustRegister(c)
		return c
	}
	gauge := func(name string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: name}, labels)
		reg.MustRegister(g)
		return g
	}
	histogram := func(name string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: name, Help: name, Buckets: buckets,
			NativeHistogramBucketFactor: 1.1, NativeHistogramMaxBucketNumber: 100,
		}, labels)
		reg.MustRegister(h)
		return h
	}

	events := counter("aiops_events_total", with()...)
	rejected := counter("aiops_events_rejected_total", with("reason")...)
	contained := counter("aiops_contained_events_total", with("action")...)
	driftScore := gauge("aiops_feature_drift_score", with("feature", "method")...)
	pvalue := gauge("aiops_feature_drift_pvalue", with("feature", "test")...)
	drifted := gauge("aiops_feature_drifted", with("feature")...)
	driftedRatio := gauge("aiops_drifted_features_ratio", with()...)
	predDrift := gauge("aiops_prediction_drift_score", with("method")...)
	values := counter("aiops_feature_values_total", with("feature", "bin")...)
	reference := gauge("aiops_feature_reference_ratio", with("feature", "bin")...)
	nulls := gauge("aiops_feature_null_ratio", with("feature")...)
	outliers := gauge("aiops_feature_outlier_ratio", with("feature")...)
	accuracy := gauge("aiops_model_accuracy", with()...)
	estimated := gauge("aiops_model_estimated_accuracy", with()...)
	rocAUC := gauge("aiops_model_roc_auc", with()...)
	estROCAUC := gauge("aiops_model_estimated_roc_auc", with()...)
	reconError := gauge("aiops_reconstruction_error", with()...)
	reconUpper := gauge("aiops_reconstruction_error_upper_bound", with()...)
	reconLower := gauge("aiops_reconstruction_error_lower_bound", with()...)
	reconDrifted := gauge("aiops_reconstruction_drifted", with()...)
	embedDistance := gauge("aiops_embedding_drift_distance", with()...)
	embedThreshold := gauge("aiops_embedding_drift_threshold", with()...)
	embedDrifted := gauge("aiops_embedding_drifted", with()...)
	precision := gauge("aiops_model_precision", with("class")...)
	recall := gauge("aiops_model_recall", with("class")...)
	f1 := gauge("aiops_model_f1", with("class")...)
	rmse := gauge("aiops_model_rmse", with()...)
	mae := gauge("aiops_model_mae", with()...)
	logLoss := gauge("aiops_model_log_loss", with()...)
	brier := gauge("aiops_model_brier_score", with()...)
	labeled := counter("aiops_predictions_labeled_total", with("outcome")...)
	confusion := counter("aiops_confusion_total", with("actual", "predicted")...)
	labelDelay := histogram("aiops_label_delay_seconds", prometheus.ExponentialBuckets(60, 4, 8), with()...)
	awaiting := gauge("aiops_predictions_awaiting_label", with()...)
	latency := histogram("aiops_inference_duration_seconds", prometheus.DefBuckets, with()...)
	errs := counter("aiops_inference_errors_total", with("type")...)
	tokens := counter("aiops_tokens_total", with("type")...)
	cost := counter("aiops_cost_total", with("currency")...)
	tokenUsage := histogram("gen_ai_client_token_usage", prometheus.ExponentialBuckets(1, 4, 10), with("gen_ai_token_type", "gen_ai_request_model")...)
	opDuration := histogram("gen_ai_client_operation_duration_seconds", prometheus.DefBuckets, with("gen_ai_request_model")...)
	outcomes := counter("aiops_task_outcomes_total", with("outcome")...)
	feedback := counter("aiops_feedback_total", with("rating")...)
	bizEvents := counter("aiops_business_events_total", with("name")...)
	bizValue := counter("aiops_business_value_total", with("name")...)
	queue := gauge("aiops_queue_depth", with()...)
	inputLen := histogram("aiops_input_length", prometheus.ExponentialBuckets(16, 2, 10), with()...)
	folded := counter("aiops_label_values_folded_total", with("label")...)
	scoreBuckets := prometheus.LinearBuckets(0.1, 0.1, 10)
	rougeL := histogram("aiops_text_rouge_l", scoreBuckets, with()...)
	bleu := histogram("aiops_text_bleu", scoreBuckets, with()...)
	bleuMatches := counter("aiops_text_bleu_ngram_matches_total", with("order")...)
	bleuNgrams := counter("aiops_text_bleu_ngrams_total", with("order")...)
	textWords := counter("aiops_text_words_total", with("text")...)
	toolCalls := counter("aiops_agent_tool_calls_total", with("tool")...)
	toolErrors := counter("aiops_agent_tool_errors_total", with("tool")...)
	steps := histogram("aiops_agent_task_steps", []float64{1, 2, 3, 5, 8, 13, 21, 34, 55, 89}, with()...)
	finish := counter("aiops_llm_finish_reasons_total", with("reason")...)
	evalScore := histogram("aiops_evaluation_score", []float64{0.2, 0.4, 0.6, 0.8, 1}, with("evaluation")...)
	reload := gauge("aiops_exporter_config_last_reload_successful")
	cpu := counter("node_cpu_seconds_total", "cpu", "mode")
	gpu := gauge("DCGM_FI_DEV_GPU_UTIL", "gpu", "Hostname")

	e := &syntheticExporter{reg: reg}
	e.tick = func() {
		e.ticks++
		k := float64(e.ticks)
		for i, m := range []string{"fraud", "chatbot"} {
			l := prometheus.Labels{"model": m, "version": "1"}
			w := func(kv ...string) prometheus.Labels {
				out := prometheus.Labels{"model": m, "version": "1"}
				for j := 0; j < len(kv); j += 2 {
					out[kv[j]] = kv[j+1]
				}
				return out
			}
			fi := float64(i)
			wave := 1 + 0.3*math.Sin(k/15+fi) // traffic and drift move, so pictures are not flat
			events.With(l).Add(100 * wave)
			rejected.With(w("reason", "missing_model")).Add(1)
			for _, f := range []string{"amount", "country"} {
				driftScore.With(w("feature", f, "method", "psi")).Set((0.05 + 0.1*fi) * wave)
				driftScore.With(w("feature", f, "method", "js")).Set(0.01 + 0.02*fi)
				pvalue.With(w("feature", f, "test", "ks")).Set(0.5 - 0.4*fi)
				drifted.With(w("feature", f)).Set(fi)
				nulls.With(w("feature", f)).Set(0.01)
				outliers.With(w("feature", f)).Set(0.02)
				for b, share := range []float64{0.2, 0.3, 0.5} {
					bin := strconv.Itoa(b)
					values.With(w("feature", f, "bin", bin)).Add(100 * share * (1 + 0.2*fi*float64(b)*wave))
					reference.With(w("feature", f, "bin", bin)).Set(share)
				}
			}
			driftedRatio.With(l).Set(0.5 * fi)
			predDrift.With(w("method", "psi")).Set(0.03)
			accuracy.With(l).Set(0.92 - 0.01*fi - 0.001*k)
			estimated.With(l).Set(0.9)
			rocAUC.With(l).Set(0.85 - 0.001*k)
			estROCAUC.With(l).Set(0.84)
			reconError.With(l).Set(0.9 + 0.2*fi*wave)
			reconUpper.With(l).Set(0.97)
			reconLower.With(l).Set(0.89)
			reconDrifted.With(l).Set(fi)
			embedDistance.With(l).Set(0.2 + 0.3*fi*wave)
			embedThreshold.With(l).Set(0.25)
			embedDrifted.With(l).Set(fi)
			logLoss.With(l).Set(0.3)
			brier.With(l).Set(0.08)
			for _, c := range []string{"fraud", "legit"} {
				precision.With(w("class", c)).Set(0.9)
				recall.With(w("class", c)).Set(0.85)
				f1.With(w("class", c)).Set(0.87)
				for _, p := range []string{"fraud", "legit"} {
					confusion.With(w("actual", c, "predicted", p)).Add(map[bool]float64{true: 40, false: 5}[c == p])
				}
			}
			rmse.With(l).Set(1.5)
			mae.With(l).Set(1.1)
			labeled.With(w("outcome", "correct")).Add(80)
			labeled.With(w("outcome", "incorrect")).Add(10)
			awaiting.With(l).Set(1000 - k)
			queue.With(l).Set(3 + fi)
			for j := 0; j < 20; j++ {
				latency.With(l).Observe(0.01 * float64(j+1) * (1 + fi) * wave)
				labelDelay.With(l).Observe(600 * float64(j+1))
				inputLen.With(l).Observe(float64(50 * (j + 1)))
				tokenUsage.With(w("gen_ai_token_type", "input", "gen_ai_request_model", "gpt-x")).Observe(float64(100 + j))
				opDuration.With(w("gen_ai_request_model", "gpt-x")).Observe(0.2 * float64(j+1))
			}
			errs.With(w("type", "timeout")).Add(2)
			contained.With(w("action", "fallback")).Add(3)
			for _, tt := range []string{"input", "output", "cached"} {
				tokens.With(w("type", tt)).Add(1000)
			}
			cost.With(w("currency", "USD")).Add(0.25)
			for o, n := range map[string]float64{"completed": 80, "failed": 5, "escalated": 10, "abandoned": 5} {
				outcomes.With(w("outcome", o)).Add(n)
			}
			for r, n := range map[string]float64{"positive": 30, "negative": 5} {
				feedback.With(w("rating", r)).Add(n)
			}
			bizEvents.With(w("name", "conversion")).Add(7)
			bizValue.With(w("name", "conversion")).Add(350)
			folded.With(w("label", "class")).Add(1)
			for j := 0; j < 10; j++ {
				rougeL.With(l).Observe(0.3 + 0.06*float64(j))
				bleu.With(l).Observe(0.2 + 0.05*float64(j))
			}
			for n := 1; n <= 4; n++ {
				bleuMatches.With(w("order", strconv.Itoa(n))).Add(float64(50 - 10*n))
				bleuNgrams.With(w("order", strconv.Itoa(n))).Add(float64(60 - 5*n))
			}
			toolCalls.With(w("tool", "search")).Add(20)
			toolErrors.With(w("tool", "search")).Add(1 + fi)
			for j := 0; j < 5; j++ {
				steps.With(l).Observe(float64(2 + j))
				evalScore.With(w("evaluation", "relevance")).Observe(0.5 + 0.1*float64(j))
			}
			finish.With(w("reason", "stop")).Add(90)
			finish.With(w("reason", "length")).Add(10 * wave)
			textWords.With(w("text", "output")).Add(60)
			textWords.With(w("text", "reference")).Add(64)
		}
		reload.WithLabelValues().Set(1)
		for _, c := range []string{"0", "1"} {
			cpu.WithLabelValues(c, "idle").Add(0.6)
			cpu.WithLabelValues(c, "user").Add(0.4)
		}
		gpu.WithLabelValues("0", "node-a").Set(73)
	}
	return e
}

func (e *syntheticExporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.tick()
	e.mu.Unlock()
	promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// lastWeek explains targets that legitimately return nothing on a fresh
// Prometheus.
func lastWeek(expr string) string {
	if strings.Contains(expr, "offset 1w") {
		return "compares with last week, which a fresh Prometheus has not seen"
	}
	return ""
}

// TestEveryPanelQueryReturnsData runs every Prometheus query of every generated
// dashboard on a real Prometheus and requires each to succeed and return series
// — catching label mismatches, many-to-many joins and misspelt label values
// that parsing alone cannot.
//
// Prometheus 2.42 scrapes a histogram either as classic buckets or, with
// native histograms on, as a native histogram only; so it runs classic-only and
// the native-histogram panel is expected empty. Prometheus 3 keeps both
// (always_scrape_classic_histograms), and there every query must return data.
func TestEveryPanelQueryReturnsData(t *testing.T) {
	t.Run("prometheus2-classic", func(t *testing.T) {
		bin := testbin.Prometheus(t, 2)
		checkEveryPanel(t, promtest.Config{Binary: bin}, func(expr string) string {
			if why := lastWeek(expr); why != "" {
				return why
			}
			if strings.Contains(expr, "rate(aiops_inference_duration_seconds{") {
				return "native histogram, not scraped by this Prometheus"
			}
			return ""
		})
	})
	t.Run("prometheus3-native-and-classic", func(t *testing.T) {
		bin := testbin.Prometheus(t, 3)
		checkEveryPanel(t, promtest.Config{
			Binary: bin,
			Global: "  scrape_native_histograms: true\n  always_scrape_classic_histograms: true",
		}, lastWeek)
	})
}

func checkEveryPanel(t *testing.T, cfg promtest.Config, mayBeEmpty func(expr string) string) {
	exp := httptest.NewServer(newSyntheticExporter())
	defer exp.Close()
	cfg.Targets = []string{strings.TrimPrefix(exp.URL, "http://")}
	prom := promtest.StartWith(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.Eventually(t, func() bool {
		res, err := prom.Query(ctx, `count_over_time(aiops_events_total{model="fraud"}[10s])`, time.Now())
		require.NoError(t, err)
		return len(res) == 1 && res[0].Values[0].V >= 6
	}, 45*time.Second, 250*time.Millisecond, "Prometheus did not collect 6 scrapes")

	ds, err := gen.All()
	require.NoError(t, err)
	vars := strings.NewReplacer("$__rate_interval", "4s", "$__range", "8s", "$__interval", "1s", "$model", ".+", "$version", ".+", "$daily_budget", "100")
	end := time.Now()
	checked, empty := 0, 0
	for _, d := range ds {
		for _, tg := range lint.PromTargets(d.Dashboard) {
			name := fmt.Sprintf("%s/%s/%s", d.File, tg.Panel, tg.RefID)
			expr := vars.Replace(tg.Expr)
			var res []promapi.Sample
			if tg.Instant {
				res, err = promapi.Query(ctx, prom.API, expr, end)
			} else {
				res, err = promapi.QueryRange(ctx, prom.API, expr, v1.Range{Start: end.Add(-8 * time.Second), End: end, Step: time.Second})
			}
			require.NoError(t, err, name)
			checked++
			if why := mayBeEmpty(tg.Expr); why != "" {
				empty++
				continue
			}
			require.NotEmpty(t, res, "%s returned no series: %s", name, expr)
		}
	}
	require.Greater(t, checked, 60)
	t.Logf("%d queries checked, %d allowed to be empty", checked, empty)
}
