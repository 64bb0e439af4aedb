package compile

import (
	"fmt"
)

// compileChange compares the recorded signal with its own baseline: the average over the
// window, optionally shifted back by offset (the same hour last week, say). The baseline is
// recorded too, so the alert reads two cheap series instead of a range over raw data.
func compileChange(c *ctx) {
	a, ch := c.alert, c.alert.Change
	c.inputs = append(c.inputs, ch.Expr)
	c.checkBy(ch.Expr, ch.By)
	rec := c.record(ch.By, "value", ch.Expr)
	ops := "avg_over_time" + dur(ch.Window)
	off := ""
	if ch.Offset > 0 {
		ops += "_offset" + dur(ch.Offset)
		off = " offset " + dur(ch.Offset)
	}
	base := c.record(ch.By, ops, fmt.Sprintf("avg_over_time(%s[%s]%s)", rec, dur(ch.Window), off))
	cmp := "<"
	word := "below"
	if ch.Direction == "rise" {
		cmp, word = ">", "above"
	}
	expr := fmt.Sprintf("%s %s %s * %s and %s > %s", rec, cmp, num(ch.Factor), base, base, num(ch.MinBase))
	cond := fmt.Sprintf("`%s` is %s %s× its %s average%s for %s", ch.Expr, word, num(ch.Factor), dur(ch.Window), off, dur(a.For))
	c.alertRule(a.Name, a.Tier, expr, cond, a.For)
	c.group.Series = 2

	step := c.testStep()
	lag := c.maxRange(ch.Expr)
	b := 1.0
	if ch.MinBase >= b {
		b = ch.MinBase * 2
	}
	bad, inside := ch.Factor*b*0.8, ch.Factor*b*1.02
	if ch.Direction == "rise" {
		bad, inside = ch.Factor*b*1.25, ch.Factor*b*0.98
	}
	history := roundUp(ch.Window+ch.Offset+lag, step) + 2*step
	hold := roundUp(lag+a.For, step) + 3*step
	nh, nb := steps(history, step), steps(hold, step)
	if !c.testable(history+hold, step) {
		return
	}

	sig := concat(constant(nh, b), constant(nb, bad))
	tc, lbls, err := c.caseFor(fmt.Sprintf("fires when the signal moves to %s against a baseline of %s", num(bad), num(b)), ch.Expr, ch.By, step, sig, mode{})
	c.addCase(tc, err, lbls, a.Name, lastAt(len(sig), step), true, bad)

	sig = concat(constant(nh, b), constant(nb, inside))
	tc, lbls, err = c.caseFor(fmt.Sprintf("stays quiet just inside the change (%s against %s)", num(inside), num(b)), ch.Expr, ch.By, step, sig, mode{})
	c.addCase(tc, err, lbls, a.Name, lastAt(len(sig), step), false, 0)

	c.blipCase(ch.Expr, ch.By, step, lag, b, bad)
}
