package check

import (
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
)

func TestInfer(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	cases := []struct {
		expr     string
		want     []string // nil: unknown
		problems int
	}{
		{`aiops_model_accuracy`, []string{"model", "version", "job", "instance"}, 0},
		{`sum by (model) (rate(aiops_events_total[5m]))`, []string{"model"}, 0},
		{`sum without (instance, job) (aiops_model_accuracy)`, []string{"model", "version"}, 0},
		{`histogram_quantile(0.9, sum by (le, model) (rate(aiops_inference_duration_seconds_bucket[5m])))`, []string{"model"}, 0},
		{`absent_over_time(aiops_events_total{model="x", version=~"v.*"}[5m])`, []string{"model"}, 0},
		{`sum by (model) (aiops_events_total) / on (model) group_left (version) sum by (model, version) (aiops_events_total)`, []string{"model", "version"}, 0},
		{`sum by (model) (aiops_events_total) / on (feature) sum by (model) (aiops_events_total)`, nil, 2},
		{`sum by (model, version) (aiops_events_total) / on (model) group_left sum by (model) (aiops_events_total)`, []string{"model", "version"}, 0},
		{`sum by (model) (aiops_events_total) > 3`, []string{"model"}, 0},
		{`sum by (model) (aiops_events_total) / sum by (version) (aiops_events_total)`, []string{"model"}, 1},
		{`sum by (model) (aiops_events_total) / ignoring (version) sum by (model, version) (aiops_events_total)`, []string{"model"}, 0},
		{`my_own_metric`, nil, 0},
		{`label_replace(aiops_model_accuracy, "x", "$1", "model", "(.*)")`, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			e, err := p.ParseExpr(tc.expr)
			require.NoError(t, err)
			k := NewChecker()
			got, _ := k.Infer(e)
			require.Len(t, k.Problems, tc.problems, "%v", k.Problems)
			if tc.want == nil {
				if tc.problems == 0 {
					require.Nil(t, got)
				}
				return
			}
			require.Equal(t, NewSet(tc.want...).String(), got.String())
		})
	}
}

func TestSelects(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	for _, tc := range []struct {
		sel  string
		want bool
	}{
		{`model:x:value`, true},
		{`{__name__=~"model:.*"}`, true},
		{`{__name__=~"aiops_.*"}`, false},
		{`model:x:value{model="a"}`, true},
		{`other`, false},
	} {
		e, err := p.ParseExpr(tc.sel)
		require.NoError(t, err)
		require.Equal(t, tc.want, Selects(e.(*parser.VectorSelector), "model:x:value", nil), tc.sel)
	}
}

func TestRuleFile(t *testing.T) {
	require.NoError(t, RuleFile([]byte("groups:\n  - name: g\n    rules:\n      - record: a:b:c\n        expr: up\n")))
	require.ErrorContains(t, RuleFile([]byte("groups:\n  - name: g\n    rules:\n      - record: a:b:c\n        expr: up\n        bogus: 1\n")), "bogus")
	require.ErrorContains(t, RuleFile([]byte("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(\n")), "parse")
}

// TestRule: rulefmt's rule validation from an already parsed expression, with the name and
// value checks for values that are not templates done without a template expander.
func TestRule(t *testing.T) {
	expr := "sum by (model) (rate(x[5m])) > 1"
	ast, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	require.NoError(t, err)
	ok := rulefmt.Rule{Alert: "A", Expr: expr, For: model.Duration(time.Minute),
		Labels:      map[string]string{"tier": "P1"},
		Annotations: map[string]string{"summary": "{{ $labels.model }} is slow", "runbook_url": "https://x.example"}}
	require.NoError(t, Rule(ok, ast))
	for _, tc := range []struct {
		rule rulefmt.Rule
		want string
	}{
		{rulefmt.Rule{Record: "a b", Expr: expr}, "invalid recording rule name"},
		{rulefmt.Rule{Record: "a:b", Expr: expr, Labels: map[string]string{"__name__": "x"}}, "invalid label name: __name__"},
		{rulefmt.Rule{Alert: "A", Expr: expr, Labels: map[string]string{"bad-name": "x"}}, "invalid label name: bad-name"},
		{rulefmt.Rule{Alert: "A", Expr: expr, Labels: map[string]string{"l": "\xff"}}, "invalid label value"},
		{rulefmt.Rule{Alert: "A", Expr: expr, Annotations: map[string]string{"bad-name": "x"}}, "invalid annotation name: bad-name"},
		{rulefmt.Rule{Alert: "A", Expr: expr, Annotations: map[string]string{"s": "{{ $labels.model "}}, "annotation \"s\""},
		{rulefmt.Rule{Record: "a:b", Expr: "sum(", For: model.Duration(time.Minute)}, "invalid field 'for' in recording rule"},
	} {
		var a parser.Expr
		if tc.rule.Expr == expr {
			a = ast
		}
		err := Rule(tc.rule, a)
		require.ErrorContains(t, err, tc.want)
	}
	// Given no tree, or another text, the expression is parsed.
	require.ErrorContains(t, Rule(rulefmt.Rule{Record: "a:b", Expr: "sum("}, nil), "could not parse expression")
}
