package compile

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/rulegen/spec"
)

// TestWindowedTreesMatchParsing: the tree an SLO window gets from its template is the tree
// the PromQL parser builds from the window's text; templates that do not qualify are parsed
// text by text.
func TestWindowedTreesMatchParsing(t *testing.T) {
	for _, tc := range []struct {
		tmpl    string
		derived bool
	}{
		{`sum by (model) (increase(aiops_events_total{model="m1"}[{{window}}]))`, true},
		{`sum by (model) (increase(aiops_confusion_total{actual="1", predicted="1"}[{{window}}])) * 2 + sum by (model) (increase(aiops_confusion_total{actual!="1", predicted="1"}[{{window}}]))`, true},
		{`sum by (model) (rate(x[5m]) * 0 + increase(x[{{window}}] offset 1d)) / scalar(count(count_over_time(up[{{window}}])))`, true},
		{`max_over_time(sum by (model) (rate(x[5m]))[{{window}}:1m])`, false}, // a subquery range
		{`sum by (model) (increase(x{w="{{window}}"}[{{window}}]))`, false},   // also in a label value
		{`sum by (model) (increase(x[4321987s])) + sum(increase(x[{{window}}]))`, false},
	} {
		c := &ctx{asts: map[string]parsed{}, tmpls: map[string]parser.Expr{}}
		for _, w := range []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 72 * time.Hour} {
			text := c.windowed(tc.tmpl, w)
			require.Equal(t, strings.ReplaceAll(tc.tmpl, spec.WindowPlaceholder, dur(w)), text)
			p, derived := c.asts[text]
			require.Equal(t, tc.derived, derived, tc.tmpl)
			want, err := spec.ParseExpr(text)
			require.NoError(t, err)
			if derived {
				require.NoError(t, p.err)
				require.Equal(t, want.String(), p.expr.String(), "window %s", dur(w))
				require.Equal(t, maxRangeOf(want), maxRangeOf(p.expr))
			}
			got, err := c.parse(text)
			require.NoError(t, err)
			require.Equal(t, want.String(), got.String())
		}
	}
}

func maxRangeOf(e parser.Expr) time.Duration {
	var m time.Duration
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		if ms, ok := node.(*parser.MatrixSelector); ok {
			m = max(m, ms.Range)
		}
		return nil
	})
	return m
}
