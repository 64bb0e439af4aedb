package compile

import (
	"fmt"
	"time"
)

// compileThreshold records the expression and alerts while it stays beyond the value for
// `for`. The alert returns the recorded signal, so $value is the measured value.
func compileThreshold(c *ctx) {
	a, t := c.alert, c.alert.Threshold
	c.inputs = append(c.inputs, t.Expr)
	c.checkBy(t.Expr, t.By)
	rec := c.record(t.By, "value", t.Expr)
	cond := fmt.Sprintf("`%s` %s %s for %s", t.Expr, t.Op, num(t.Value), dur(a.For))
	c.alertRule(a.Name, a.Tier, fmt.Sprintf("%s %s %s", rec, t.Op, num(t.Value)), cond, a.For)
	c.group.Series = 1

	step := c.testStep()
	lag := c.maxRange(t.Expr)
	bad, inside, normal := levels(t.Op, t.Value)
	pre := roundUp(lag, step) + 2*step
	hold := roundUp(lag+a.For, step) + 3*step
	np, nh := steps(pre, step), steps(hold, step)
	if !c.testable(pre+hold, step) {
		return
	}

	sig := concat(constant(np, normal), constant(nh, bad))
	tc, lbls, err := c.caseFor("fires when beyond the threshold for longer than `for`", t.Expr, t.By, step, sig, mode{})
	c.addCase(tc, err, lbls, a.Name, lastAt(len(sig), step), true, bad)

	sig = constant(np+nh, inside)
	tc, lbls, err = c.caseFor(fmt.Sprintf("stays quiet just inside the threshold (%s)", num(inside)), t.Expr, t.By, step, sig, mode{})
	c.addCase(tc, err, lbls, a.Name, lastAt(len(sig), step), false, 0)

	c.blipCase(t.Expr, t.By, step, lag, normal, bad)
}

// blipCase adds a one-sample excursion that must not fire, when the range window of the
// expression is short enough for a blip to end before `for` elapses.
func (c *ctx) blipCase(expr string, by []string, step, lag time.Duration, normal, bad float64) {
	a := c.alert
	if a.For < lag+3*step {
		c.noTest("blip: `for` %s is not longer than the expression's range %s plus three test steps of %s, so a one-sample blip could stay visible for the whole of `for`", dur(a.For), dur(lag), dur(step))
		return
	}
	pre := roundUp(lag, step) + 2*step
	np := steps(pre, step)
	nAfter := steps(a.For, step) + 3
	sig := concat(constant(np, normal), []float64{bad}, constant(nAfter, normal))
	tc, lbls, err := c.caseFor("a one-sample blip shorter than `for` does not fire", expr, by, step, sig, mode{})
	c.addCase(tc, err, lbls, a.Name, pre+a.For+step, false, 0)
}
