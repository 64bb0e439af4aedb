package compile

import (
	"fmt"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/opscentre/opscentre/rulegen/internal/check"
	"github.com/opscentre/opscentre/rulegen/spec"
)

// check parses every rule of the group, checks label joins, that each input expression
// yields the labels its `by` promises, and that no expression reads this alert's output.
func (c *ctx) check() {
	if len(c.errs) > 0 {
		return
	}
	k := check.NewChecker()
	own := map[string]bool{}
	for _, r := range c.group.Rules {
		if r.Record != "" {
			own[r.Record] = true
		}
	}
	for _, in := range c.inputs {
		e, err := c.parseInput(in)
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
				if check.Selects(vs, name, nil) {
					c.errorf("expression %q selects %s, which this alert records itself; a rule must not read its own output", in, name)
				}
			}
			if check.Selects(vs, "ALERTS", map[string]string{"alertname": c.alert.Name}) || check.Selects(vs, "ALERTS_FOR_STATE", map[string]string{"alertname": c.alert.Name}) {
				c.errorf("expression %q selects the alert's own ALERTS series; a rule must not read its own output", in)
			}
			return nil
		})
	}
	for _, r := range c.group.Rules {
		templatesOK := true
		if r.Alert != "" {
			for _, err := range append(check.Templates("label", r.Labels), check.Templates("annotation", r.Annotations)...) {
				c.errs = append(c.errs, &spec.Error{Pos: c.alert.Pos, Msg: fmt.Sprintf("alert %s: invalid template: %v", r.Alert, err)})
				templatesOK = false
			}
		}
		e, err := c.parse(r.Expr)
		if err != nil {
			c.errorf("generated expression of %s does not parse (a rulegen bug, please report): %v", r.Record+r.Alert, err)
			continue
		}
		if templatesOK {
			if err := check.Rule(r.rulefmt(), e); err != nil {
				c.errorf("generated rule %s fails rulefmt (a rulegen bug, please report): %v", r.Record+r.Alert, err)
			}
		}
		k.Problems = nil
		ls, _ := k.Infer(e)
		for _, msg := range k.Problems {
			c.errorf("rule %s: %s", r.Record+r.Alert, msg)
		}
		if r.Record != "" {
			k.Known[r.Record] = ls
		}
	}
}

// checkBy reports an input expression whose result labels differ from what `by` declares.
func (c *ctx) checkBy(expr string, by []string) {
	e, err := c.parseInput(expr)
	if err != nil {
		return
	}
	k := check.NewChecker()
	ls, _ := k.Infer(e)
	for _, msg := range k.Problems {
		c.errorf("expression %q: %s", expr, msg)
	}
	if ls != nil && !ls.Equal(check.NewSet(by...)) {
		c.errorf("expression %q yields labels %s but by lists %s; aggregate with sum/max/avg by (%s)", expr, ls, check.NewSet(by...), strings.Join(by, ", "))
	}
}
