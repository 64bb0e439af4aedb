package compile

import (
	"fmt"
	"math"
)

// compileTrend alerts on sustained movement before a threshold is crossed: predict_linear
// over the window reaching the limit within the horizon, or the slope (deriv) itself beyond
// the limit per second.
func compileTrend(c *ctx) {
	a, t := c.alert, c.alert.Trend
	c.inputs = append(c.inputs, t.Expr)
	c.checkBy(t.Expr, t.By)
	rec := c.record(t.By, "value", t.Expr)
	var expr, cond string
	switch t.Method {
	case "predict":
		pred := c.record(t.By, fmt.Sprintf("predict_linear%s_%s", dur(t.Window), dur(t.Horizon)), fmt.Sprintf("predict_linear(%s[%s], %s)", rec, dur(t.Window), num(t.Horizon.Seconds())))
		expr = fmt.Sprintf("%s %s %s", pred, t.Op, num(t.Limit))
		cond = fmt.Sprintf("`%s`, extrapolated linearly over %s, will be %s %s within %s", t.Expr, dur(t.Window), t.Op, num(t.Limit), dur(t.Horizon))
	default:
		d := c.record(t.By, "deriv"+dur(t.Window), fmt.Sprintf("deriv(%s[%s])", rec, dur(t.Window)))
		expr = fmt.Sprintf("%s %s %s", d, t.Op, num(t.Limit))
		cond = fmt.Sprintf("the slope of `%s` over %s is %s %s per second", t.Expr, dur(t.Window), t.Op, num(t.Limit))
	}
	c.alertRule(a.Name, a.Tier, expr, cond+fmt.Sprintf(" for %s", dur(a.For)), a.For)
	c.group.Series = 2

	step := c.testStep()
	lag := c.maxRange(t.Expr)
	if !c.testable(t.Window+lag+a.For, step) {
		return
	}
	sign := 1.0
	if t.Op == "<" {
		sign = -1
	}
	n := steps(roundUp(t.Window+lag+a.For, step)+3*step, step)
	ramp := func(slopePerSec, end float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = end - slopePerSec*step.Seconds()*float64(n-1-i)
		}
		return out
	}
	span := math.Abs(t.Limit) + 1
	var fireSig, insideSig []float64
	if t.Method == "predict" {
		h := t.Horizon.Seconds()
		end := t.Limit - sign*span*0.25
		fireSig = ramp(sign*span*0.5/h, end)
		insideEnd := t.Limit - sign*span*0.5
		insideSig = ramp(sign*span*0.4/h, insideEnd)
	} else {
		fire, inside := t.Limit*2, t.Limit/2
		if sign*t.Limit <= 0 {
			fire, inside = t.Limit+sign*0.01, t.Limit-sign*0.01
		}
		fireSig = ramp(fire, 100)
		insideSig = ramp(inside, 100)
	}
	tc, lbls, err := c.caseFor("fires on a sustained trend towards the limit", t.Expr, t.By, step, fireSig, mode{})
	c.addCase(tc, err, lbls, a.Name, lastAt(n, step), true, nan)
	tc, lbls, err = c.caseFor("stays quiet on a trend that stops short of the limit", t.Expr, t.By, step, insideSig, mode{})
	c.addCase(tc, err, lbls, a.Name, lastAt(n, step), false, 0)
	c.noTest("blip: a trend over %s is a sustained movement by construction; a single sample cannot satisfy it for `for`", dur(t.Window))
}
