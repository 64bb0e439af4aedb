package compile

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/opscentre/opscentre/rulegen/spec"
)

// compileAbsence handles both ways data goes missing: a selector with no samples for `for`
// (absent_over_time, whose result carries the selector's equality labels), and volume that
// falls below a ratio of what it was `offset` ago. The offset comparison doubles as a
// warm-up guard: a series younger than the offset has nothing to compare with.
func compileAbsence(c *ctx) {
	a, ab := c.alert, c.alert.Absence
	if ab.Selector != "" {
		absentSelector(c, a, ab)
		return
	}
	c.inputs = append(c.inputs, ab.Expr)
	c.checkBy(ab.Expr, ab.By)
	rec := c.record(ab.By, "value", ab.Expr)
	off := dur(ab.Offset)
	expr := fmt.Sprintf("%s < %s * %s offset %s and %s offset %s > %s", rec, num(ab.Ratio), rec, off, rec, off, num(ab.MinPrev))
	cond := fmt.Sprintf("`%s` falls below %s× its value %s earlier for %s", ab.Expr, num(ab.Ratio), off, dur(a.For))
	c.alertRule(a.Name, a.Tier, expr, cond, a.For)
	c.group.Series = 1

	step := c.testStep()
	lag := c.maxRange(ab.Expr)
	v := 1.0
	if ab.MinPrev >= v {
		v = ab.MinPrev * 2
	}
	bad, inside := v*ab.Ratio*0.5, v*ab.Ratio*1.05
	history := roundUp(ab.Offset+lag, step) + 2*step
	hold := roundUp(lag+a.For, step) + 3*step
	nh, nb := steps(history, step), steps(hold, step)
	if !c.testable(history+hold, step) {
		return
	}

	sig := concat(constant(nh, v), constant(nb, bad))
	tc, lbls, err := c.caseFor(fmt.Sprintf("fires when volume falls to %s from %s", num(bad), num(v)), ab.Expr, ab.By, step, sig, mode{})
	c.addCase(tc, err, lbls, a.Name, lastAt(len(sig), step), true, bad)

	sig = concat(constant(nh, v), constant(nb, inside))
	tc, lbls, err = c.caseFor(fmt.Sprintf("stays quiet just inside the ratio (%s from %s)", num(inside), num(v)), ab.Expr, ab.By, step, sig, mode{})
	c.addCase(tc, err, lbls, a.Name, lastAt(len(sig), step), false, 0)

	sig = constant(nb+steps(lag, step)+2, bad)
	tc, lbls, err = c.caseFor(fmt.Sprintf("a new series younger than %s (warm-up) does not fire", off), ab.Expr, ab.By, step, sig, mode{})
	c.addCase(tc, err, lbls, a.Name, lastAt(len(sig), step), false, 0)

	c.blipCase(ab.Expr, ab.By, step, lag, v, bad)
}

func absentSelector(c *ctx, a *spec.Alert, ab *spec.Absence) {
	c.inputs = append(c.inputs, ab.Selector)
	rng := a.For
	if rng <= 0 {
		rng = 5 * time.Minute
	}
	expr := fmt.Sprintf("absent_over_time(%s[%s])", ab.Selector, dur(rng))
	cond := fmt.Sprintf("`%s` has no samples for %s (then `for` %s)", ab.Selector, dur(rng), dur(a.For))
	c.alertRule(a.Name, a.Tier, expr, cond, a.For)
	c.group.Series = 1

	e, err := c.parse(ab.Selector)
	if err != nil {
		return
	}
	vs := e.(*parser.VectorSelector)
	lbls := map[string]string{}
	series := vs.Name
	var ms []string
	for _, m := range vs.LabelMatchers {
		if m.Name == model.MetricNameLabel {
			continue
		}
		if m.Type != labels.MatchEqual {
			c.noTest("the selector has a non-equality matcher, so rulegen cannot write a series it matches")
			return
		}
		lbls[m.Name] = m.Value
		ms = append(ms, m.String())
	}
	if series == "" {
		c.noTest("the selector has no metric name")
		return
	}
	series += "{" + strings.Join(ms, ", ") + "}"
	step := c.testStep()
	if !c.testable(30*time.Minute+2*rng+a.For, step) {
		return
	}
	present := steps(30*time.Minute, step)
	gone := steps(2*rng+a.For, step) + 4
	vals := make([]float64, present+gone)
	for i := range vals {
		vals[i] = float64(i)
		if i >= present {
			vals[i] = nan
		}
	}
	c.addCase(TestCase{Name: "fires when the series stops", Interval: step, Inputs: []InputSeries{{Series: series, Values: expand(vals)}}},
		nil, lbls, a.Name, lastAt(len(vals), step), true, 1)

	vals = make([]float64, present*2)
	for i := range vals {
		vals[i] = float64(i)
	}
	c.addCase(TestCase{Name: "stays quiet while samples keep coming", Interval: step, Inputs: []InputSeries{{Series: series, Values: expand(vals)}}},
		nil, lbls, a.Name, lastAt(len(vals), step), false, 0)

	gap := steps(rng, step) / 2
	vals = make([]float64, present+gap+steps(rng+a.For, step)+2)
	for i := range vals {
		vals[i] = float64(i)
		if i >= present && i < present+gap {
			vals[i] = nan
		}
	}
	if gap >= 1 {
		c.addCase(TestCase{Name: "a gap shorter than the window does not fire", Interval: step, Inputs: []InputSeries{{Series: series, Values: expand(vals)}}},
			nil, lbls, a.Name, lastAt(len(vals), step), false, 0)
	}
}
