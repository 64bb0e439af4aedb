package compile

import (
	"fmt"
	"sort"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/opscentre/opscentre/rulegen/spec"
)

// labelSet is what is known about the labels of an expression's result: exactly these
// names. A nil *labelSet means unknown (a metric rulegen has no schema for).
type labelSet map[string]bool

func newSet(names ...string) labelSet {
	s := labelSet{}
	for _, n := range names {
		s[n] = true
	}
	return s
}

func (s labelSet) String() string {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	return "{" + strings.Join(names, ", ") + "}"
}

func (s labelSet) equal(o labelSet) bool {
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

func (s labelSet) minus(names []string) labelSet {
	out := labelSet{}
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
		"aiops_feedback_total":             with("rating"),
		"aiops_business_events_total":      with("name"),
		"aiops_business_value_total":       with("name"),
	}
	for _, h := range []string{"aiops_label_delay_seconds", "aiops_inference_duration_seconds"} {
		m[h+"_bucket"] = with("le")
		m[h+"_sum"] = mv
		m[h+"_count"] = mv
	}
	for k, v := range m {
		m[k] = append(v, targetLabels...)
	}
	return m
}()

// checker infers label sets and reports mismatches.
type checker struct {
	known map[string]labelSet // metric name → labels (exporter metrics and this spec's records)
	errs  []string
}

func metricName(vs *parser.VectorSelector) string {
	if vs.Name != "" {
		return vs.Name
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}

// infer returns the labels of e's result, or nil when unknown. Scalars return an empty set
// and isScalar true.
func (k *checker) infer(e parser.Expr) (ls labelSet, isScalar bool) {
	switch n := e.(type) {
	case *parser.NumberLiteral, *parser.StringLiteral:
		return labelSet{}, true
	case *parser.ParenExpr:
		return k.infer(n.Expr)
	case *parser.UnaryExpr:
		return k.infer(n.Expr)
	case *parser.StepInvariantExpr:
		return k.infer(n.Expr)
	case *parser.SubqueryExpr:
		return k.infer(n.Expr)
	case *parser.MatrixSelector:
		return k.infer(n.VectorSelector)
	case *parser.VectorSelector:
		if s, ok := k.known[metricName(n)]; ok {
			return s, false
		}
		return nil, false
	case *parser.AggregateExpr:
		in, _ := k.infer(n.Expr)
		switch n.Op {
		case parser.TOPK, parser.BOTTOMK, parser.LIMITK, parser.LIMIT_RATIO:
			return in, false
		}
		var out labelSet
		switch {
		case n.Without:
			if in == nil {
				return nil, false
			}
			out = in.minus(append(n.Grouping, labels.MetricName))
		default:
			out = newSet(n.Grouping...)
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
				return labelSet{}, true
			}
		case "vector":
			return labelSet{}, false
		case "absent", "absent_over_time":
			out := labelSet{}
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
				if m.Type == labels.MatchEqual && m.Name != labels.MetricName {
					out[m.Name] = true
				}
			}
			return out, false
		case "label_replace", "label_join":
			return nil, false
		case "histogram_quantile":
			in, _ := k.infer(n.Args[1])
			if in == nil {
				return nil, false
			}
			return in.minus([]string{"le"}), false
		}
		for i := len(n.Args) - 1; i >= 0; i-- {
			if t := n.Args[i].Type(); t == parser.ValueTypeVector || t == parser.ValueTypeMatrix {
				in, _ := k.infer(n.Args[i])
				return in, false
			}
		}
		return nil, false
	case *parser.BinaryExpr:
		return k.binary(n)
	}
	return nil, false
}

func (k *checker) binary(n *parser.BinaryExpr) (labelSet, bool) {
	l, lScalar := k.infer(n.LHS)
	r, rScalar := k.infer(n.RHS)
	switch {
	case lScalar && rScalar:
		return labelSet{}, true
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
			s    labelSet
		}{{"left", l}, {"right", r}} {
			if side.s == nil {
				continue
			}
			for _, lbl := range m.MatchingLabels {
				if !side.s[lbl] {
					k.errs = append(k.errs, fmt.Sprintf("%q on (%s): the %s side %s has no label %q, so nothing would match", opStr, strings.Join(m.MatchingLabels, ", "), side.name, side.s, lbl))
				}
			}
		}
	case m.Card == parser.CardOneToOne && l != nil && r != nil:
		lm, rm := l.minus(append(m.MatchingLabels, labels.MetricName)), r.minus(append(m.MatchingLabels, labels.MetricName))
		if !n.Op.IsSetOperator() || n.Op == parser.LAND || n.Op == parser.LUNLESS {
			if !lm.equal(rm) {
				how := "without on/ignoring"
				if len(m.MatchingLabels) > 0 {
					how = "with ignoring (" + strings.Join(m.MatchingLabels, ", ") + ")"
				}
				k.errs = append(k.errs, fmt.Sprintf("%q %s joins label sets %s and %s, which differ, so nothing would match; add on (...) with the labels both sides share", opStr, how, lm, rm))
			}
		}
	}
	if l == nil {
		return nil, false
	}
	if n.Op.IsSetOperator() || (n.Op.IsComparisonOperator() && !n.ReturnBool) {
		if n.Op == parser.LOR && r != nil && !l.equal(r) {
			return nil, false
		}
		return l, false
	}
	switch {
	case m.Card == parser.CardOneToOne && m.On:
		return newSet(m.MatchingLabels...), false
	case m.Card == parser.CardOneToOne:
		return l.minus(append(m.MatchingLabels, labels.MetricName)), false
	case m.Card == parser.CardManyToOne:
		out := l.minus([]string{labels.MetricName})
		for _, i := range m.Include {
			out[i] = true
		}
		return out, false
	case m.Card == parser.CardOneToMany && r != nil:
		out := r.minus([]string{labels.MetricName})
		for _, i := range m.Include {
			out[i] = true
		}
		return out, false
	}
	return nil, false
}

// check parses every rule of the group, checks label joins, that each input expression
// yields the labels its `by` promises, and that no expression reads this alert's output.
func (c *ctx) check() {
	if len(c.errs) > 0 {
		return
	}
	k := &checker{known: map[string]labelSet{}}
	for name, ls := range exporterMetrics {
		k.known[name] = newSet(ls...)
	}
	own := map[string]bool{}
	for _, r := range c.group.Rules {
		if r.Record != "" {
			own[r.Record] = true
		}
	}
	for _, in := range c.inputs {
		e, err := spec.ParseExpr(strings.ReplaceAll(in, spec.WindowPlaceholder, "5m"))
		if err != nil {
			c.errorf("invalid PromQL %q: %v", in, err)
			continue
		}
		parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
			vs, ok := node.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			for name := range own {
				if selects(vs, name, nil) {
					c.errorf("expression %q selects %s, which this alert records itself; a rule must not read its own output", in, name)
				}
			}
			if selects(vs, "ALERTS", map[string]string{"alertname": c.alert.Name}) || selects(vs, "ALERTS_FOR_STATE", map[string]string{"alertname": c.alert.Name}) {
				c.errorf("expression %q selects the alert's own ALERTS series; a rule must not read its own output", in)
			}
			return nil
		})
	}
	for _, r := range c.group.Rules {
		e, err := spec.ParseExpr(r.Expr)
		if err != nil {
			c.errorf("generated expression of %s does not parse (a rulegen bug, please report): %v", r.Record+r.Alert, err)
			continue
		}
		k.errs = nil
		ls, _ := k.infer(e)
		for _, msg := range k.errs {
			c.errorf("rule %s: %s", r.Record+r.Alert, msg)
		}
		if r.Record != "" {
			k.known[r.Record] = ls
		}
	}
}

// selects reports whether vs could select series named name with the given labels.
func selects(vs *parser.VectorSelector, name string, extra map[string]string) bool {
	if vs.Name != "" && vs.Name != name {
		return false
	}
	for _, m := range vs.LabelMatchers {
		v := ""
		switch {
		case m.Name == labels.MetricName:
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

// checkBy reports an input expression whose result labels differ from what `by` declares.
func (c *ctx) checkBy(expr string, by []string) {
	e, err := spec.ParseExpr(strings.ReplaceAll(expr, spec.WindowPlaceholder, "5m"))
	if err != nil {
		return
	}
	k := &checker{known: map[string]labelSet{}}
	for name, ls := range exporterMetrics {
		k.known[name] = newSet(ls...)
	}
	ls, _ := k.infer(e)
	for _, msg := range k.errs {
		c.errorf("expression %q: %s", expr, msg)
	}
	if ls != nil && !ls.equal(newSet(by...)) {
		c.errorf("expression %q yields labels %s but by lists %s; aggregate with sum/max/avg by (%s)", expr, ls, newSet(by...), strings.Join(by, ", "))
	}
}
