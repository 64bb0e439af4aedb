package evidence

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Query names, the keys of Observations.
const (
	qDrifted        = "drifted"
	qDriftScore     = "drift_score"
	qNulls          = "null_ratio"
	qOutliers       = "outlier_ratio"
	qVolume         = "volume"
	qVersions       = "versions"
	qErrors         = "errors"
	qLatencyP95     = "latency_p95"
	qTokensPerCall  = "tokens_per_call"
	qInputLengthP95 = "input_length_p95"
	qQueue          = "queue_depth"
	qNodeCPU        = "node_cpu_busy"
	qAccuracy       = "accuracy_by_version"
)

// Dashboard panels that show each finding, as Grafana paths; {model} is the subject's model.
// TestPanelsExist keeps them pointing at the committed dashboards.
const (
	PanelDrift       = "/d/opscentre-data-quality-drift?var-model={model}&viewPanel=2"
	PanelNulls       = "/d/opscentre-data-quality-drift?var-model={model}&viewPanel=12"
	PanelOutliers    = "/d/opscentre-data-quality-drift?var-model={model}&viewPanel=13"
	PanelVolume      = "/d/opscentre-infrastructure-latency?var-model={model}&viewPanel=7"
	PanelVersions    = PanelVolume // request rate by version
	PanelAccuracy    = "/d/opscentre-model-performance?var-model={model}&viewPanel=9"
	PanelErrors      = "/d/opscentre-infrastructure-latency?var-model={model}&viewPanel=8"
	PanelLatency     = "/d/opscentre-infrastructure-latency?var-model={model}&viewPanel=2"
	PanelTokens      = "/d/opscentre-infrastructure-latency?var-model={model}&viewPanel=11"
	PanelInputLength = "/d/opscentre-data-quality-drift?var-model={model}&viewPanel=16"
	PanelQueue       = "/d/opscentre-infrastructure-latency?var-model={model}&viewPanel=9"
	PanelNodeCPU     = "/d/opscentre-infrastructure-latency?viewPanel=15"
)

// querySpec is one PromQL template. {sel} is the subject's selector, {model} its model
// matcher alone, {w} the window, {off} the offset of the baseline (empty for "now"). A
// compared query is sent once, its now and before halves told apart by a label.
type querySpec struct {
	name, tmpl, by string
	compare        bool
}

// whenLabel tells the halves of a compared query apart.
const whenLabel = "opscentre_when"

var querySpecs = []querySpec{
	{name: qDrifted, by: "feature", tmpl: `max by (feature) (aiops_feature_drifted{{sel}})`},
	{name: qDriftScore, by: "feature", tmpl: `max by (feature) (aiops_feature_drift_score{{sel},method="psi"})`},
	{name: qNulls, by: "feature", compare: true, tmpl: `max by (feature) (aiops_feature_null_ratio{{sel}}{off})`},
	{name: qOutliers, by: "feature", compare: true, tmpl: `max by (feature) (aiops_feature_outlier_ratio{{sel}}{off})`},
	{name: qVolume, compare: true, tmpl: `sum(rate(aiops_events_total{{sel}}[{w}]{off}))`},
	{name: qVersions, by: "version", compare: true, tmpl: `sum by (version) (rate(aiops_events_total{{model}}[{w}]{off}))`},
	{name: qErrors, by: "type", compare: true, tmpl: `sum by (type) (rate(aiops_inference_errors_total{{sel}}[{w}]{off}))`},
	{name: qLatencyP95, compare: true, tmpl: `histogram_quantile(0.95, sum by (le) (rate(aiops_inference_duration_seconds_bucket{{sel}}[{w}]{off})))`},
	{name: qTokensPerCall, compare: true, tmpl: `sum(rate(aiops_tokens_total{{sel},type=~"input|output"}[{w}]{off})) / sum(rate(aiops_events_total{{sel}}[{w}]{off}))`},
	{name: qInputLengthP95, compare: true, tmpl: `histogram_quantile(0.95, sum by (le) (rate(aiops_input_length_bucket{{sel}}[{w}]{off})))`},
	{name: qQueue, compare: true, tmpl: `max(max_over_time(aiops_queue_depth{{sel}}[{w}]{off}))`},
	{name: qNodeCPU, tmpl: `1 - avg(rate(node_cpu_seconds_total{mode="idle"}[{w}]))`},
	{name: qAccuracy, by: "version", compare: true, tmpl: `max by (version) (aiops_model_accuracy{{model}}{off})`},
}

// matcher renders label="value" with PromQL's string escaping (Go's, which %q writes).
func matcher(label, value string) string { return label + "=" + fmt.Sprintf("%q", value) }

// render fills a template for a subject.
func (q querySpec) render(s Subject, window, baseline time.Duration) string {
	m := matcher("model", s.Model)
	sel := m
	if s.Version != "" {
		sel += "," + matcher("version", s.Version)
	}
	fill := func(off string) string {
		return strings.NewReplacer("{sel}", sel, "{model}", m, "{w}", model.Duration(window).String(), "{off}", off).Replace(q.tmpl)
	}
	if !q.compare {
		return fill("")
	}
	return fmt.Sprintf(`label_replace(%s, %q, "now", "", "") or label_replace(%s, %q, "before", "", "")`,
		fill(""), whenLabel, fill(" offset "+model.Duration(baseline).String()), whenLabel)
}

// series splits a query's vector into its now and before halves, keyed by the grouping label.
func (q querySpec) series(query string, v model.Vector) Series {
	s := Series{Query: query, Now: map[string]float64{}, Before: map[string]float64{}}
	for _, smp := range v {
		f := float64(smp.Value)
		if f != f { // NaN: histogram_quantile over no observations
			continue
		}
		key := ""
		if q.by != "" {
			key = string(smp.Metric[model.LabelName(q.by)])
		}
		if smp.Metric[whenLabel] == "before" {
			s.Before[key] = f
		} else {
			s.Now[key] = f
		}
	}
	return s
}
