// Package collector turns the exporter's state into Prometheus metrics. Every value is
// derived state, so metrics are built fresh on each scrape with MustNewConstMetric from a
// consistent copy (state.Reading) of each model version; nothing is instrumented directly.
package collector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/exporter/internal/state"
)

var mv = []string{"model", "version"}

func labels(extra ...string) []string { return append(append([]string{}, mv...), extra...) }

// Collector exposes every aiops_ and gen_ai_ family of the ingest path.
type Collector struct {
	st *state.State
	d  descs
}

type descs struct {
	events, rejected, folded                     *prometheus.Desc
	nullRatio, outlierRatio, windowEvents        *prometheus.Desc
	latency, errors, queue                       *prometheus.Desc
	tokens, cost, genaiTokens, genaiDuration     *prometheus.Desc
	outcomes, feedback, inputLength              *prometheus.Desc
	contained                                    *prometheus.Desc
	businessEvents, businessValue, scrapeSeconds *prometheus.Desc

	drift driftDescs
	perf  perfDescs
	text  textDescs
}

// New returns a collector reading st.
func New(st *state.State) *Collector {
	genai := []string{"gen_ai_request_model", "gen_ai_operation_name", "gen_ai_provider_name"}
	return &Collector{st: st, d: descs{
		events:         prometheus.NewDesc("aiops_events_total", "Inference events accepted.", mv, nil),
		rejected:       prometheus.NewDesc("aiops_events_rejected_total", "Inference events rejected, by reason (a closed set; see exporter/README.md). Events naming no usable model have model and version \"__unknown__\".", labels("reason"), nil),
		folded:         prometheus.NewDesc("aiops_label_values_folded_total", "Label values replaced by \"__other__\" because the label reached its cardinality limit.", []string{"label"}, nil),
		nullRatio:      prometheus.NewDesc("aiops_feature_null_ratio", "Share of events in the sliding window whose feature was null or absent.", labels("feature"), nil),
		outlierRatio:   prometheus.NewDesc("aiops_feature_outlier_ratio", "Share of a numeric feature's values in the sliding window outside its expected_min..expected_max.", labels("feature"), nil),
		windowEvents:   prometheus.NewDesc("aiops_window_events", "Inference events accepted in the sliding window.", mv, nil),
		latency:        prometheus.NewDesc("aiops_inference_duration_seconds", "Inference latency reported by the application (classic and native buckets).", mv, nil),
		errors:         prometheus.NewDesc("aiops_inference_errors_total", "Failed inferences, by error type.", labels("type"), nil),
		queue:          prometheus.NewDesc("aiops_queue_depth", "Queue depth last reported by the application.", mv, nil),
		tokens:         prometheus.NewDesc("aiops_tokens_total", "Tokens consumed, by type (input counts cached input too).", labels("type"), nil),
		cost:           prometheus.NewDesc("aiops_cost_total", "Spend, as reported by events or derived from the model's price table.", labels("currency"), nil),
		genaiTokens:    prometheus.NewDesc("gen_ai_client_token_usage", "OpenTelemetry GenAI gen_ai.client.token.usage: tokens per LLM call.", append(labels("gen_ai_token_type"), genai...), nil),
		genaiDuration:  prometheus.NewDesc("gen_ai_client_operation_duration_seconds", "OpenTelemetry GenAI gen_ai.client.operation.duration: duration of LLM calls (events carrying tokens).", append(labels(), genai...), nil),
		outcomes:       prometheus.NewDesc("aiops_task_outcomes_total", "Task outcomes: completed, failed, escalated, abandoned.", labels("outcome"), nil),
		contained:      prometheus.NewDesc("aiops_contained_events_total", "Events produced under an incidentd containment, by its action: fallback, disable, block_inputs.", labels("action"), nil),
		feedback:       prometheus.NewDesc("aiops_feedback_total", "User feedback, by rating (positive, negative, 1..5).", labels("rating"), nil),
		inputLength:    prometheus.NewDesc("aiops_input_length", "Distribution of input_text_length (prompt length as the application measures it).", mv, nil),
		businessEvents: prometheus.NewDesc("aiops_business_events_total", "Business events reported with inferences, by name.", labels("name"), nil),
		businessValue:  prometheus.NewDesc("aiops_business_value_total", "Sum of business values reported with inferences, by name.", labels("name"), nil),
		scrapeSeconds:  prometheus.NewDesc("aiops_exporter_collect_duration_seconds", "Time spent building the aiops metrics for this scrape.", nil, nil),
		drift:          newDriftDescs(),
		perf:           newPerfDescs(),
		text:           newTextDescs(),
	}}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.d.events, c.d.rejected, c.d.folded, c.d.nullRatio, c.d.outlierRatio, c.d.windowEvents,
		c.d.latency, c.d.errors, c.d.queue, c.d.tokens, c.d.cost, c.d.genaiTokens,
		c.d.genaiDuration, c.d.outcomes, c.d.contained, c.d.feedback, c.d.inputLength, c.d.businessEvents,
		c.d.businessValue, c.d.scrapeSeconds,
	} {
		ch <- d
	}
	for _, d := range append(append(c.d.drift.list(), c.d.perf.list()...), c.d.text.list()...) {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	start := time.Now()
	now := c.st.Now()
	for k, n := range c.st.Rejected() {
		ch <- constMetric(c.d.rejected, prometheus.CounterValue, float64(n), k.Model, k.Version, k.Reason)
	}
	for label, n := range c.st.Folded() {
		ch <- constMetric(c.d.folded, prometheus.CounterValue, float64(n), label)
	}
	for _, v := range c.st.Versions() {
		r := v.Read(now)
		c.collectVolume(ch, &r)
		c.collectQuality(ch, &r)
		c.collectInfra(ch, &r)
		c.collectLLM(ch, &r)
		c.collectOutcomes(ch, &r)
		c.collectText(ch, &r)
		for f, n := range r.Counters.DriftUnbinned {
			ch <- constMetric(c.d.drift.unbinned, prometheus.CounterValue, float64(n), r.Model, r.Version, f)
		}
		if dr, ok := v.ReadDrift(now); ok {
			c.collectDrift(ch, &dr)
		}
		pr := v.ReadPerf(now)
		c.collectPerf(ch, r.Model, r.Version, &pr)
	}
	c.collectLabelResults(ch)
	ch <- constMetric(c.d.scrapeSeconds, prometheus.GaugeValue, time.Since(start).Seconds())
}

func (c *Collector) collectVolume(ch chan<- prometheus.Metric, r *state.Reading) {
	ch <- constMetric(c.d.events, prometheus.CounterValue, float64(r.Counters.Events), r.Model, r.Version)
	ch <- constMetric(c.d.windowEvents, prometheus.GaugeValue, float64(r.WindowEvents), r.Model, r.Version)
}

// constMetric is MustNewConstMetric without the panic: a panic in Collect would take the
// whole exporter down, so a bad value becomes an invalid metric that the scrape reports
// while the other series are still served (promhttp ContinueOnError).
func constMetric(desc *prometheus.Desc, vt prometheus.ValueType, v float64, labels ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(desc, vt, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(desc, err)
	}
	return m
}
