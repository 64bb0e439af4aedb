package compile

import (
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/opscentre/opscentre/rulegen/spec"
)

// An SLO records its good (or bad) and total expressions over up to seven windows: the same
// template with {{window}} replaced by 5m, 30m, 1h... Where every {{window}} is a range in
// brackets (x[{{window}}]), the texts differ only in one duration literal, so they parse to
// the same tree with other ranges. The template is parsed once with a sentinel duration in
// place of {{window}} and each window's tree is that tree with the sentinel ranges replaced;
// parsing each text again was half of the PromQL parser's time on a spec of SLOs. Templates
// with {{window}} anywhere else are parsed window by window, as before.
const sentinelWindow = "4321987s"

var sentinelRange = 4321987 * time.Second

// windowed returns the template's text for window w and, where it can, records the text's
// tree for parse.
func (c *ctx) windowed(tmpl string, w time.Duration) string {
	text := strings.ReplaceAll(tmpl, spec.WindowPlaceholder, dur(w))
	if _, done := c.asts[text]; done {
		return text
	}
	if base := c.windowTemplate(tmpl); base != nil {
		if e, ok := withRange(base, w); ok {
			c.asts[text] = parsed{expr: e}
		}
	}
	return text
}

// windowTemplate parses tmpl with the sentinel window, once per template; nil when the
// template does not qualify.
func (c *ctx) windowTemplate(tmpl string) parser.Expr {
	if e, ok := c.tmpls[tmpl]; ok {
		return e
	}
	c.tmpls[tmpl] = nil
	n := strings.Count(tmpl, spec.WindowPlaceholder)
	if n == 0 || strings.Contains(tmpl, sentinelWindow) || strings.Count(tmpl, "["+spec.WindowPlaceholder+"]") != n {
		return nil
	}
	e, err := spec.ParseExpr(strings.ReplaceAll(tmpl, spec.WindowPlaceholder, sentinelWindow))
	if err != nil {
		return nil
	}
	// Every sentinel must have become a plain range, and no range may equal it by chance.
	found := 0
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		if ms, ok := node.(*parser.MatrixSelector); ok && ms.Range == sentinelRange && ms.RangeExpr == nil {
			found++
		}
		return nil
	})
	if found != n {
		return nil
	}
	c.tmpls[tmpl] = e
	return e
}

// withRange copies e with every sentinel range set to w, sharing the nodes that do not
// change; ok is false for a node type it does not know.
func withRange(e parser.Expr, w time.Duration) (parser.Expr, bool) {
	switch n := e.(type) {
	case *parser.VectorSelector, *parser.NumberLiteral, *parser.StringLiteral:
		return e, true
	case *parser.MatrixSelector:
		if n.Range != sentinelRange {
			return e, true
		}
		m := *n
		m.Range = w
		return &m, true
	case *parser.ParenExpr:
		in, ok := withRange(n.Expr, w)
		m := *n
		m.Expr = in
		return &m, ok
	case *parser.UnaryExpr:
		in, ok := withRange(n.Expr, w)
		m := *n
		m.Expr = in
		return &m, ok
	case *parser.StepInvariantExpr:
		in, ok := withRange(n.Expr, w)
		m := *n
		m.Expr = in
		return &m, ok
	case *parser.SubqueryExpr:
		in, ok := withRange(n.Expr, w)
		m := *n
		m.Expr = in
		return &m, ok
	case *parser.AggregateExpr:
		in, ok := withRange(n.Expr, w)
		m := *n
		m.Expr = in
		if n.Param != nil && ok {
			m.Param, ok = withRange(n.Param, w)
		}
		return &m, ok
	case *parser.BinaryExpr:
		l, ok1 := withRange(n.LHS, w)
		r, ok2 := withRange(n.RHS, w)
		m := *n
		m.LHS, m.RHS = l, r
		return &m, ok1 && ok2
	case *parser.Call:
		m := *n
		m.Args = make(parser.Expressions, len(n.Args))
		for i, a := range n.Args {
			var ok bool
			if m.Args[i], ok = withRange(a, w); !ok {
				return nil, false
			}
		}
		return &m, true
	}
	return nil, false
}
