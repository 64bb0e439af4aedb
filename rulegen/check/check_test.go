package check

import (
	"testing"

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
