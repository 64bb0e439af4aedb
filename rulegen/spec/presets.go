package spec

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// preset is a named alert for a scenario operators meet first, written against the
// aiops_exporter metric names so it works without any PromQL from the user.
type preset struct {
	doc     string
	params  map[string]string // name → default ("" = optional filter)
	summary string
	build   func(p params, a *Alert) error
	// evidence are the hints the preset's alerts carry (package-level doc: EvidenceHints).
	evidence *EvidenceHints
}

// hint builds a preset's evidence hints: the cause its alert most often points to and, for
// per-feature alerts, the feature it fired on (a template Prometheus fills in).
func hint(cause string, features ...string) *EvidenceHints {
	return &EvidenceHints{Causes: []string{cause}, Features: features}
}

const firedFeature = "{{ $labels.feature }}"

type params map[string]string

// filter returns the extra matchers for the optional model and version params.
func (p params) filter() string {
	var ms []string
	for _, k := range []string{"model", "version"} {
		if v := p[k]; v != "" {
			ms = append(ms, k+"="+strconv.Quote(v))
		}
	}
	return strings.Join(ms, ",")
}

// sel writes a selector of metric with the given matchers and the model/version filter.
func (p params) sel(metric string, matchers ...string) string {
	if f := p.filter(); f != "" {
		matchers = append(matchers, f)
	}
	if len(matchers) == 0 {
		return metric
	}
	return metric + "{" + strings.Join(matchers, ",") + "}"
}

func (p params) q(name string) string { return strconv.Quote(p[name]) }

func (p params) num(name string) (float64, error) {
	f, err := strconv.ParseFloat(p[name], 64)
	if err != nil {
		return 0, fmt.Errorf("param %s: expected a number, got %q", name, p[name])
	}
	return f, nil
}

var filterParams = map[string]string{"model": "", "version": ""}

func withFilter(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range filterParams {
		out[k] = v
	}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func presets() map[string]preset {
	return map[string]preset{
		"accuracy_drop": {
			doc:     "accuracy more than `drop` (default 10%) below its average over `window` (default 7d)",
			params:  withFilter(map[string]string{"drop": "0.1", "window": "7d"}),
			summary: "Accuracy of {{ $labels.model }} {{ $labels.version }} dropped more than 10% below its baseline",
			build: func(p params, a *Alert) error {
				drop, err := p.num("drop")
				if err != nil {
					return err
				}
				if drop <= 0 || drop >= 1 {
					return fmt.Errorf("param drop: expected a fraction between 0 and 1, got %v", drop)
				}
				w, err := parseDur(p["window"])
				if err != nil {
					return fmt.Errorf("param window: %w", err)
				}
				a.Change = &Change{Expr: fmt.Sprintf("avg by (model, version) (%s)", p.sel("aiops_model_accuracy")),
					By: []string{"model", "version"}, Direction: "drop", Factor: roundSig(1 - drop), Window: w}
				return nil
			},
		},
		"null_rate": {
			evidence: hint("inputs_changed", firedFeature),
			doc:      "share of null values of any input feature above `max` (default 5%)",
			params:   withFilter(map[string]string{"max": "0.05"}),
			summary:  "Feature {{ $labels.feature }} of {{ $labels.model }} has more than 5% nulls",
			build: func(p params, a *Alert) error {
				v, err := p.num("max")
				if err != nil {
					return err
				}
				a.Threshold = &Threshold{Expr: fmt.Sprintf("max by (model, feature) (%s)", p.sel("aiops_feature_null_ratio")),
					By: []string{"model", "feature"}, Op: ">", Value: v}
				return nil
			},
		},
		"latency_p95": {
			evidence: hint("capacity"),
			doc:      "P95 inference latency over 5m above `max` seconds (default 3)",
			params:   withFilter(map[string]string{"max": "3", "quantile": "0.95"}),
			summary:  "P95 latency of {{ $labels.model }} is above 3s",
			build: func(p params, a *Alert) error {
				v, err := p.num("max")
				if err != nil {
					return err
				}
				q, err := p.num("quantile")
				if err != nil || q <= 0 || q >= 1 {
					return fmt.Errorf("param quantile: expected a number between 0 and 1, got %q", p["quantile"])
				}
				a.Threshold = &Threshold{Expr: fmt.Sprintf("histogram_quantile(%s, sum by (model, le) (rate(%s[5m])))", formatNum(q), p.sel("aiops_inference_duration_seconds_bucket")),
					By: []string{"model"}, Op: ">", Value: v}
				return nil
			},
		},
		"volume_drop": {
			evidence: hint("inputs_changed"),
			doc:      "request volume over 1h below `ratio` (default 50%) of the same hour `offset` ago (default 1w)",
			params:   withFilter(map[string]string{"ratio": "0.5", "offset": "1w"}),
			summary:  "Request volume of {{ $labels.model }} fell by more than half against last week",
			build: func(p params, a *Alert) error {
				r, err := p.num("ratio")
				if err != nil {
					return err
				}
				off, err := parseDur(p["offset"])
				if err != nil {
					return fmt.Errorf("param offset: %w", err)
				}
				a.Absence = &Absence{Expr: fmt.Sprintf("sum by (model) (rate(%s[1h]))", p.sel("aiops_events_total")),
					By: []string{"model"}, Ratio: r, Offset: off}
				return nil
			},
		},
		"token_spend": {
			evidence: hint("adversarial_inputs"),
			doc:      "token consumption over 1h above `factor` (default 2) times its daily average",
			params:   withFilter(map[string]string{"factor": "2"}),
			summary:  "Token spend of {{ $labels.model }} is more than twice its daily average",
			build: func(p params, a *Alert) error {
				f, err := p.num("factor")
				if err != nil {
					return err
				}
				a.Change = &Change{Expr: fmt.Sprintf("sum by (model) (rate(%s[1h]))", p.sel("aiops_tokens_total")),
					By: []string{"model"}, Direction: "rise", Factor: f, Window: 24 * time.Hour}
				return nil
			},
		},
		"feature_drift": {
			evidence: hint("inputs_changed", firedFeature),
			doc:      "drift score of any feature (method `method`, default psi) above `max` (default 0.2)",
			params:   withFilter(map[string]string{"max": "0.2", "method": "psi"}),
			summary:  "Feature {{ $labels.feature }} of {{ $labels.model }} drifted",
			build: func(p params, a *Alert) error {
				v, err := p.num("max")
				if err != nil {
					return err
				}
				a.Threshold = &Threshold{Expr: fmt.Sprintf("max by (model, feature) (%s)", p.sel("aiops_feature_drift_score", "method="+p.q("method"))),
					By: []string{"model", "feature"}, Op: ">", Value: v}
				return nil
			},
		},
		"drifted_share": {
			evidence: hint("inputs_changed"),
			doc:      "share of drifted features above `max` (default 0.3)",
			params:   withFilter(map[string]string{"max": "0.3"}),
			summary:  "More than 30% of the features of {{ $labels.model }} drifted",
			build: func(p params, a *Alert) error {
				v, err := p.num("max")
				if err != nil {
					return err
				}
				a.Threshold = &Threshold{Expr: fmt.Sprintf("max by (model) (%s)", p.sel("aiops_drifted_features_ratio")),
					By: []string{"model"}, Op: ">", Value: v}
				return nil
			},
		},
		"reconstruction_drift": {
			evidence: hint("inputs_changed"),
			doc:      "multivariate drift: the mean data-reconstruction error of a model version's numeric features outside its reference bounds (aiops_reconstruction_drifted)",
			params:   withFilter(map[string]string{}),
			summary:  "The features of {{ $labels.model }} {{ $labels.version }} no longer vary together as in the reference (reconstruction drift)",
			build: func(p params, a *Alert) error {
				a.Threshold = &Threshold{Expr: fmt.Sprintf("max by (model, version) (%s)", p.sel("aiops_reconstruction_drifted")),
					By: []string{"model", "version"}, Op: ">", Value: 0.5}
				return nil
			},
		},
		"embedding_drift": {
			evidence: hint("inputs_changed"),
			doc:      "embedding drift: the distance between a model version's mean input embedding and the reference's above its no-drift threshold (aiops_embedding_drifted)",
			params:   withFilter(map[string]string{}),
			summary:  "The input embeddings of {{ $labels.model }} {{ $labels.version }} moved away from the reference (embedding drift)",
			build: func(p params, a *Alert) error {
				a.Threshold = &Threshold{Expr: fmt.Sprintf("max by (model, version) (%s)", p.sel("aiops_embedding_drifted")),
					By: []string{"model", "version"}, Op: ">", Value: 0.5}
				return nil
			},
		},
		"f1_slo": {
			doc:     "F1 of class `class` as an SLO: good = 2·TP, total = 2·TP + FP + FN, from aiops_confusion_total",
			params:  withFilter(map[string]string{"class": "1", "objective": "90", "period": "30d"}),
			summary: "F1 of {{ $labels.model }} is burning its error budget",
			build: func(p params, a *Alert) error {
				return sloPreset(p, a,
					fmt.Sprintf("2 * sum by (model) (increase(%s[%s]))", p.sel("aiops_confusion_total", "actual="+p.q("class"), "predicted="+p.q("class")), WindowPlaceholder),
					fmt.Sprintf("sum by (model) (increase(%s[%s])) + sum by (model) (increase(%s[%s]))",
						p.sel("aiops_confusion_total", "actual="+p.q("class")), WindowPlaceholder,
						p.sel("aiops_confusion_total", "predicted="+p.q("class")), WindowPlaceholder))
			},
		},
		"recall_slo": {
			doc:     "recall of class `class` as an SLO: good = TP, total = TP + FN, from aiops_confusion_total",
			params:  withFilter(map[string]string{"class": "1", "objective": "90", "period": "30d"}),
			summary: "Recall of {{ $labels.model }} is burning its error budget",
			build: func(p params, a *Alert) error {
				return sloPreset(p, a,
					fmt.Sprintf("sum by (model) (increase(%s[%s]))", p.sel("aiops_confusion_total", "actual="+p.q("class"), "predicted="+p.q("class")), WindowPlaceholder),
					fmt.Sprintf("sum by (model) (increase(%s[%s]))", p.sel("aiops_confusion_total", "actual="+p.q("class")), WindowPlaceholder))
			},
		},
		"task_completion_slo": {
			doc:     "share of tasks with outcome `completed` as an SLO, from aiops_task_outcomes_total",
			params:  withFilter(map[string]string{"completed": "completed", "objective": "95", "period": "30d"}),
			summary: "Task completion of {{ $labels.model }} is burning its error budget",
			build: func(p params, a *Alert) error {
				return sloPreset(p, a,
					fmt.Sprintf("sum by (model) (increase(%s[%s]))", p.sel("aiops_task_outcomes_total", "outcome="+p.q("completed")), WindowPlaceholder),
					fmt.Sprintf("sum by (model) (increase(%s[%s]))", p.sel("aiops_task_outcomes_total"), WindowPlaceholder))
			},
		},
		"escalation_rate": {
			doc:     "share of tasks escalated to a human over 1h above `max` (default 20%)",
			params:  withFilter(map[string]string{"escalated": "escalated", "max": "0.2"}),
			summary: "More than 20% of the tasks of {{ $labels.model }} are escalated",
			build: func(p params, a *Alert) error {
				v, err := p.num("max")
				if err != nil {
					return err
				}
				a.Threshold = &Threshold{Expr: fmt.Sprintf("sum by (model) (rate(%s[1h])) / sum by (model) (rate(%s[1h]))",
					p.sel("aiops_task_outcomes_total", "outcome="+p.q("escalated")), p.sel("aiops_task_outcomes_total")),
					By: []string{"model"}, Op: ">", Value: v}
				return nil
			},
		},
		"finish_reason_rate": {
			evidence: hint("adversarial_inputs"),
			doc:      "share of LLM calls ending with finish reason `reason` (default `length`: answers cut off) over 1h above `max` (default 10%), from OTLP spans",
			params:   withFilter(map[string]string{"reason": "length", "max": "0.1"}),
			summary:  "Too many answers of {{ $labels.model }} end with an unwanted finish reason",
			build: func(p params, a *Alert) error {
				v, err := p.num("max")
				if err != nil {
					return err
				}
				a.Threshold = &Threshold{Expr: fmt.Sprintf("sum by (model) (rate(%s[1h])) / sum by (model) (rate(%s[1h]))",
					p.sel("aiops_llm_finish_reasons_total", "reason="+p.q("reason")), p.sel("aiops_llm_finish_reasons_total")),
					By: []string{"model"}, Op: ">", Value: v}
				return nil
			},
		},
		"tool_error_rate": {
			evidence: hint("external_api_change"),
			doc:      "share of an agent's tool calls failing over 15m above `max` (default 10%), per tool, from OTLP execute_tool spans",
			params:   withFilter(map[string]string{"max": "0.1"}),
			summary:  "Tool {{ $labels.tool }} of agent {{ $labels.model }} fails too often",
			build: func(p params, a *Alert) error {
				v, err := p.num("max")
				if err != nil {
					return err
				}
				a.Threshold = &Threshold{Expr: fmt.Sprintf("sum by (model, tool) (rate(%s[15m])) / sum by (model, tool) (rate(%s[15m]))",
					p.sel("aiops_agent_tool_errors_total"), p.sel("aiops_agent_tool_calls_total")),
					By: []string{"model", "tool"}, Op: ">", Value: v}
				return nil
			},
		},
		"evaluation_score_drop": {
			doc:     "mean score of evaluation `evaluation` over 1h below `min` (default 0.7), from OTLP gen_ai.evaluation.result",
			params:  withFilter(map[string]string{"evaluation": "relevance", "min": "0.7"}),
			summary: "Evaluation {{ $labels.evaluation }} of {{ $labels.model }} scores low",
			build: func(p params, a *Alert) error {
				v, err := p.num("min")
				if err != nil {
					return err
				}
				a.Threshold = &Threshold{Expr: fmt.Sprintf("sum by (model, evaluation) (rate(%s[1h])) / sum by (model, evaluation) (rate(%s[1h]))",
					p.sel("aiops_evaluation_score_sum", "evaluation="+p.q("evaluation")), p.sel("aiops_evaluation_score_count", "evaluation="+p.q("evaluation"))),
					By: []string{"model", "evaluation"}, Op: "<", Value: v}
				return nil
			},
		},
		"error_rate": {
			evidence: hint("external_api_change"),
			doc:      "share of failed inferences over 5m above `max` (default 5%)",
			params:   withFilter(map[string]string{"max": "0.05"}),
			summary:  "More than 5% of the inferences of {{ $labels.model }} fail",
			build: func(p params, a *Alert) error {
				v, err := p.num("max")
				if err != nil {
					return err
				}
				a.Threshold = &Threshold{Expr: fmt.Sprintf("sum by (model) (rate(%s[5m])) / sum by (model) (rate(%s[5m]))",
					p.sel("aiops_inference_errors_total"), p.sel("aiops_events_total")),
					By: []string{"model"}, Op: ">", Value: v}
				return nil
			},
		},
		"canary_worse": {
			evidence: hint("version_mismatch"),
			doc:      "error rate of version `canary` more than `margin` (default 2 points) above version `stable` over 15m",
			params:   map[string]string{"model": "", "canary": "canary", "stable": "stable", "margin": "0.02"},
			summary:  "Canary of {{ $labels.model }} fails more often than the stable version",
			build: func(p params, a *Alert) error {
				v, err := p.num("margin")
				if err != nil {
					return err
				}
				ratio := func(version string) string {
					q := params{"model": p["model"], "version": version}
					return fmt.Sprintf("(sum by (model) (rate(%s[15m])) / sum by (model) (rate(%s[15m])))",
						q.sel("aiops_inference_errors_total"), q.sel("aiops_events_total"))
				}
				a.Threshold = &Threshold{Expr: ratio(p["canary"]) + " - on (model) " + ratio(p["stable"]),
					By: []string{"model"}, Op: ">", Value: v}
				return nil
			},
		},
	}
}

func sloPreset(p params, a *Alert, good, total string) error {
	obj, err := p.num("objective")
	if err != nil {
		return err
	}
	if obj <= 0 || obj >= 100 {
		return fmt.Errorf("param objective: %v%% is impossible; expected a percentage above 0 and below 100", obj)
	}
	period, err := parseDur(p["period"])
	if err != nil || period < 24*time.Hour {
		return fmt.Errorf("param period: expected a duration of at least 1d, got %q", p["period"])
	}
	a.SLO = &SLO{Good: good, Total: total, By: []string{"model"}, Objective: obj, Period: period}
	return nil
}

// PresetNames lists the presets, sorted.
func PresetNames() []string { return sortedKeys(presets()) }

// PresetDoc describes a preset and its params for the README and `rulegen presets`.
func PresetDoc(name string) (doc string, params map[string]string) {
	p, ok := presets()[name]
	if !ok {
		return "", nil
	}
	return p.doc, p.params
}

// PresetEvidence returns the evidence hints a preset's alerts carry, nil when none.
func PresetEvidence(name string) *EvidenceHints {
	return presets()[name].evidence
}

func (d *decoder) expandPreset(a *Alert, presetNode *yaml.Node, presetPath string, paramsNode *yaml.Node, paramsPath string) {
	p, ok := presets()[a.Preset]
	if !ok {
		d.errorf(presetNode, presetPath, "unknown preset %q; expected one of %s", a.Preset, strings.Join(PresetNames(), ", "))
		return
	}
	vals := params{}
	for k, v := range p.params {
		vals[k] = v
	}
	if paramsNode != nil {
		var given map[string]string
		d.stringMap(&given)(paramsNode, paramsPath)
		keys := make([]string, 0, len(given))
		for k := range given {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, ok := p.params[k]; !ok {
				d.errorf(paramsNode, join(paramsPath, k), "preset %s has no param %q; expected one of %s", a.Preset, k, strings.Join(sortedKeys(p.params), ", "))
				continue
			}
			vals[k] = given[k]
		}
	}
	if err := p.build(vals, a); err != nil {
		n := paramsNode
		if n == nil {
			n = presetNode
		}
		d.errorf(n, paramsPath, "preset %s: %v", a.Preset, err)
		return
	}
	if a.Summary == "" {
		a.Summary = p.summary
	}
	if a.Evidence == nil && p.evidence != nil {
		h := *p.evidence
		a.Evidence = &h
	}
}
