// Package check holds the static checks rulegen runs on what it generates: label-set
// inference over the PromQL AST (so joins of different label sets, on(...) labels missing on
// a side, and by-lists that do not match are caught before Prometheus silently returns
// nothing), detection of selectors that read a rule's own output, and strict re-parsing of
// rule files with Prometheus's rulefmt.
package check

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/template"
)

// LabelSet is what is known about the labels of an expression's result: exactly these
// names. A nil *LabelSet means unknown (a metric rulegen has no schema for).
type LabelSet map[string]bool

func NewSet(names ...string) LabelSet {
	s := LabelSet{}
	for _, n := range names {
		s[n] = true
	}
	return s
}

func (s LabelSet) String() string {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	return "{" + strings.Join(names, ", ") + "}"
}

func (s LabelSet) Equal(o LabelSet) bool {
	if len(s) != len(o) {
		return false
	}
	for n := range s {
		if !o[n] {
			return false
		}
	}
	return true
}

func (s LabelSet) Minus(names []string) LabelSet {
	out := LabelSet{}
	for n := range s {
		out[n] = true
	}
	for _, n := range names {
		delete(out, n)
	}
	return out
}

// target labels every scraped series carries.
var targetLabels = []string{"job", "instance"}

// exporterMetrics are the aiops_exporter families (ARCHITECTURE.md) and their labels, so label
// mismatches in presets and user expressions are caught before Prometheus sees them.
var exporterMetrics = func() map[string][]string {
	mv := []string{"model", "version"}
	with := func(extra ...string) []string { return append(append([]string{}, mv...), extra...) }
	m := map[string][]string{
		"aiops_events_total":               mv,
		"aiops_events_rejected_total":      with("reason"),
		"aiops_feature_drift_score":        with("feature", "method"),
		"aiops_feature_drift_pvalue":       with("feature", "test"),
		"aiops_feature_drifted":            with("feature"),
		"aiops_drifted_features_ratio":     mv,
		"aiops_prediction_drift_score":     with("method"),
		"aiops_feature_values_total":       with("feature", "bin"),
		"aiops_feature_reference_ratio":    with("feature", "bin"),
		"aiops_feature_null_ratio":         with("feature"),
		"aiops_feature_outlier_ratio":      with("feature"),
		"aiops_model_accuracy":             mv,
		"aiops_model_precision":            with("class"),
		"aiops_model_recall":               with("class"),
		"aiops_model_f1":                   with("class"),
		"aiops_model_rmse":                 mv,
		"aiops_model_mae":                  mv,
		"aiops_predictions_labeled_total":  with("outcome"),
		"aiops_confusion_total":            with("actual", "predicted"),
		"aiops_regression_error_sum":       with("kind"),
		"aiops_predictions_awaiting_label": mv,
		"aiops_inference_errors_total":     with("type"),
		"aiops_tokens_total":               with("type"),
		"aiops_cost_total":                 with("currency"),
		"aiops_task_outcomes_total":        with("outcome"),
		"aiops_contained_events_total":     with("action"),
		"aiops_feedback_total":             with("rating"),
		"aiops_business_events_total":      with("name"),
		"aiops_business_value_total":       with("name"),
		// From OTLP (exporter/otlp).
		"aiops_llm_finish_reasons_total": with("reason"),
		"aiops_agent_tool_calls_total":   with("tool"),
		"aiops_agent_tool_errors_total":  with("tool"),
		"aiops_evaluation_labels_total":  with("evaluation", "label"),
	}
	for _, h := range []string{"aiops_label_delay_seconds", "aiops_inference_duration_seconds", "aiops_agent_task_steps", "aiops_llm_time_to_first_token_seconds", "aiops_llm_time_per_output_token_seconds"} {
		m[h+"_bucket"] = with("le")
		m[h+"_sum"] = mv
		m[h+"_count"] = mv
	}
	m["aiops_evaluation_score_bucket"] = with("evaluation", "le")
	m["aiops_evaluation_score_sum"] = with("evaluation")
	m["aiops_evaluation_score_count"] = with("evaluation")
	for k, v := range m {
		m[k] = append(v, targetLabels...)
	}
	return m
}()

// exporterSets are exporterMetrics as label sets, built once: a checker per alert used to
// copy them, a tenth of the allocations of a large spec.
var exporterSets = func() map[string]LabelSet {
	out := make(map[string]LabelSet, len(exporterMetrics))
	for name, ls := range exporterMetrics {
		out[name] = NewSet(ls...)
	}
	return out
}()

// Checker infers label sets and reports mismatches.
type Checker struct {
	// Known maps metric names to their labels: records so far, then the exporter's families
	// (shared by every checker, never modified).
	Known map[string]LabelSet
	// Problems are the label mismatches found by Infer, in words.
	Problems []string
}

func metricName(vs *parser.VectorSelector) string {
	if vs.Name != "" {
		return vs.Name
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}

// Infer returns the labels of e's result, or nil when unknown. Scalars return an empty set
// and isScalar true.
func (k *Checker) Infer(e parser.Expr) (ls LabelSet, isScalar bool) {
	switch n := e.(type) {
	case *parser.NumberLiteral, *parser.StringLiteral:
		return LabelSet{}, true
	case *parser.ParenExpr:
		return k.Infer(n.Expr)
	case *parser.UnaryExpr:
		return k.Infer(n.Expr)
	case *parser.StepInvariantExpr:
		return k.Infer(n.Expr)
	case *parser.SubqueryExpr:
		return k.Infer(n.Expr)
	case *parser.MatrixSelector:
		return k.Infer(n.VectorSelector)
	case *parser.VectorSelector:
		name := metricName(n)
		if s, ok := k.Known[name]; ok {
			return s, false
		}
		if s, ok := exporterSets[name]; ok {
			return s, false
		}
		return nil, false
	case *parser.AggregateExpr:
		in, _ := k.Infer(n.Expr)
		switch n.Op {
		case parser.TOPK, parser.BOTTOMK, parser.LIMITK, parser.LIMIT_RATIO:
			return in, false
		}
		var out LabelSet
		switch {
		case n.Without:
			if in == nil {
				return nil, false
			}
			out = in.Minus(append(n.Grouping, model.MetricNameLabel))
		default:
			out = NewSet(n.Grouping...)
		}
		if n.Op == parser.COUNT_VALUES {
			if s, ok := n.Param.(*parser.StringLiteral); ok && out != nil {
				out[s.Val] = true
			}
		}
		return out, false
	case *parser.Call:
		switch n.Func.Name {
		case "scalar", "time", "pi", "day_of_month", "day_of_week", "hour", "minute", "month", "year", "days_in_month":
			if len(n.Args) == 0 || n.Func.Name == "scalar" {
				return LabelSet{}, true
			}
		case "vector":
			return LabelSet{}, false
		case "absent", "absent_over_time":
			out := LabelSet{}
			var vs *parser.VectorSelector
			switch a := n.Args[0].(type) {
			case *parser.VectorSelector:
				vs = a
			case *parser.MatrixSelector:
				vs, _ = a.VectorSelector.(*parser.VectorSelector)
			}
			if vs == nil {
				return out, false
			}
			for _, m := range vs.LabelMatchers {
				if m.Type == labels.MatchEqual && m.Name != model.MetricNameLabel {
					out[m.Name] = true
				}
			}
			return out, false
		case "label_replace", "label_join":
			return nil, false
		case "histogram_quantile":
			in, _ := k.Infer(n.Args[1])
			if in == nil {
				return nil, false
			}
			return in.Minus([]string{"le"}), false
		}
		for i := len(n.Args) - 1; i >= 0; i-- {
			if t := n.Args[i].Type(); t == parser.ValueTypeVector || t == parser.ValueTypeMatrix {
				in, _ := k.Infer(n.Args[i])
				return in, false
			}
		}
		return nil, false
	case *parser.BinaryExpr:
		return k.binary(n)
	}
	return nil, false
}

func (k *Checker) binary(n *parser.BinaryExpr) (LabelSet, bool) {
	l, lScalar := k.Infer(n.LHS)
	r, rScalar := k.Infer(n.RHS)
	switch {
	case lScalar && rScalar:
		return LabelSet{}, true
	case lScalar:
		return r, false
	case rScalar:
		return l, false
	}
	m := n.VectorMatching
	if m == nil {
		m = &parser.VectorMatching{Card: parser.CardOneToOne}
	}
	opStr := n.Op.String()
	switch {
	case m.On:
		for _, side := range []struct {
			name string
			s    LabelSet
		}{{"left", l}, {"right", r}} {
			if side.s == nil {
				continue
			}
			for _, lbl := range m.MatchingLabels {
				if !side.s[lbl] {
					k.Problems = append(k.Problems, fmt.Sprintf("%q on (%s): the %s side %s has no label %q, so nothing would match", opStr, strings.Join(m.MatchingLabels, ", "), side.name, side.s, lbl))
				}
			}
		}
	case m.Card == parser.CardOneToOne && l != nil && r != nil:
		lm, rm := l.Minus(append(m.MatchingLabels, model.MetricNameLabel)), r.Minus(append(m.MatchingLabels, model.MetricNameLabel))
		if !n.Op.IsSetOperator() || n.Op == parser.LAND || n.Op == parser.LUNLESS {
			if !lm.Equal(rm) {
				how := "without on/ignoring"
				if len(m.MatchingLabels) > 0 {
					how = "with ignoring (" + strings.Join(m.MatchingLabels, ", ") + ")"
				}
				k.Problems = append(k.Problems, fmt.Sprintf("%q %s joins label sets %s and %s, which differ, so nothing would match; add on (...) with the labels both sides share", opStr, how, lm, rm))
			}
		}
	}
	if l == nil {
		return nil, false
	}
	if n.Op.IsSetOperator() || (n.Op.IsComparisonOperator() && !n.ReturnBool) {
		if n.Op == parser.LOR && r != nil && !l.Equal(r) {
			return nil, false
		}
		return l, false
	}
	switch {
	case m.Card == parser.CardOneToOne && m.On:
		return NewSet(m.MatchingLabels...), false
	case m.Card == parser.CardOneToOne:
		return l.Minus(append(m.MatchingLabels, model.MetricNameLabel)), false
	case m.Card == parser.CardManyToOne:
		out := l.Minus([]string{model.MetricNameLabel})
		for _, i := range m.Include {
			out[i] = true
		}
		return out, false
	case m.Card == parser.CardOneToMany && r != nil:
		out := r.Minus([]string{model.MetricNameLabel})
		for _, i := range m.Include {
			out[i] = true
		}
		return out, false
	}
	return nil, false
}

// Selects reports whether vs could select series named name with the given labels.
func Selects(vs *parser.VectorSelector, name string, extra map[string]string) bool {
	if vs.Name != "" && vs.Name != name {
		return false
	}
	for _, m := range vs.LabelMatchers {
		v := ""
		switch {
		case m.Name == model.MetricNameLabel:
			v = name
		default:
			// A label rulegen knows nothing about could take any value: assume it matches.
			var ok bool
			if v, ok = extra[m.Name]; !ok {
				continue
			}
		}
		if !m.Matches(v) {
			return false
		}
	}
	return true
}

// NewChecker returns a checker that knows the aiops_exporter metric families.
func NewChecker() *Checker {
	return &Checker{Known: map[string]LabelSet{}}
}

// Rule validates one generated rule with Prometheus's rulefmt, as loading its rule file
// would (legacy metric and label names, so it also loads in Prometheus 2). ast is expr
// parsed by the PromQL parser already: rulefmt gets it back instead of parsing the same text
// again. Label and annotation values without "{{" are plain text to the template engine and
// always parse; rulefmt still builds a template expander with every function for each of
// them, most of its cost, so those get only its name and value checks, done here the same way.
func Rule(r rulefmt.Rule, ast parser.Expr) error {
	var errs []string
	templated := func(kind string, m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			if strings.Contains(v, "{{") {
				out[k] = v
				continue
			}
			if !model.LegacyValidation.IsValidLabelName(k) || (kind == "label" && k == model.MetricNameLabel) {
				errs = append(errs, fmt.Sprintf("invalid %s name: %s", kind, k))
			}
			if kind == "label" && !model.LabelValue(v).IsValid() {
				errs = append(errs, fmt.Sprintf("invalid label value: %s", v))
			}
		}
		return out
	}
	r.Labels = templated("label", r.Labels)
	r.Annotations = templated("annotation", r.Annotations)
	for _, e := range r.Validate(rulefmt.RuleNode{}, model.LegacyValidation, parsedExpr{Parser: promParser, expr: r.Expr, ast: ast}) {
		errs = append(errs, e.Unwrap().Error())
	}
	if len(errs) == 0 {
		return nil
	}
	sort.Strings(errs)
	return fmt.Errorf("%s", strings.Join(errs, "; "))
}

// promParser is the PromQL parser with default options; parsers are safe for concurrent use.
var promParser = parser.NewParser(parser.Options{})

// parsedExpr hands rulefmt the AST of an expression parsed before.
type parsedExpr struct {
	parser.Parser
	expr string
	ast  parser.Expr
}

func (p parsedExpr) ParseExpr(s string) (parser.Expr, error) {
	if s == p.expr && p.ast != nil {
		return p.ast, nil
	}
	return p.Parser.ParseExpr(s)
}

// RuleFile re-parses a rule file with Prometheus's own rulefmt, strictly (unknown fields
// rejected, legacy metric names so the rules also load in Prometheus 2).
func RuleFile(b []byte) error {
	_, errs := rulefmt.Parse(b, false, model.LegacyValidation, promParser, slog.New(slog.DiscardHandler))
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}

// Templates parses alert label and annotation values as Prometheus alert templates, the same
// way rulefmt does, so a broken summary is reported against the spec instead of surfacing as
// an invalid generated file.
func Templates(kind string, values map[string]string) []error {
	data := template.AlertTemplateData(map[string]string{}, map[string]string{}, "", promql.Sample{})
	defs := "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		if !strings.Contains(values[k], "{{") {
			continue
		}
		t := template.NewTemplateExpander(context.Background(), defs+values[k], "__alert", data, model.Time(0), nil, nil, nil)
		if err := t.ParseTest(); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", kind, k, err))
		}
	}
	return errs
}
