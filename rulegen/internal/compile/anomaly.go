package compile

import (
	"fmt"
	"math"
	"time"

	"github.com/opscentre/opscentre/rulegen/spec"
)

// compileAnomaly compares the signal with its own history. zscore: (x-mean)/stddev over the
// window; stddev: bands mean ± k·stddev; mad: bands median ± k·MAD, robust to outliers in
// the history. With daily or weekly seasonality the window is centred on the same time one
// season ago (offset season - window/2), so a Monday morning is compared with Monday
// mornings. Two guards keep it quiet: a warm-up (the series must have existed warm_up ago,
// so new series don't alert on an empty history) and an optional minimum volume.
func compileAnomaly(c *ctx) {
	a, an := c.alert, c.alert.Anomaly
	c.inputs = append(c.inputs, an.Expr)
	c.checkBy(an.Expr, an.By)
	season := map[string]time.Duration{"daily": 24 * time.Hour, "weekly": 7 * 24 * time.Hour}[an.Seasonality]
	rec := c.record(an.By, "value", an.Expr)
	off := ""
	suffix := dur(an.Window)
	if season > 0 {
		off = " offset " + dur(season-an.Window/2)
		suffix += "_" + an.Seasonality
	}
	w := dur(an.Window)
	var cond, fire string
	k := num(an.K)
	switch an.Method {
	case "zscore":
		z := c.record(an.By, "zscore"+suffix, fmt.Sprintf("(%s - avg_over_time(%s[%s]%s)) / stddev_over_time(%s[%s]%s)", rec, rec, w, off, rec, w, off))
		fire = fmt.Sprintf("%s and abs(%s) > %s", rec, z, k)
		cond = fmt.Sprintf("`%s` is more than %s standard deviations from its mean over %s", an.Expr, k, w)
		c.group.Series = 2
	case "stddev":
		mean := c.record(an.By, "avg_over_time"+suffix, fmt.Sprintf("avg_over_time(%s[%s]%s)", rec, w, off))
		sd := c.record(an.By, "stddev_over_time"+suffix, fmt.Sprintf("stddev_over_time(%s[%s]%s)", rec, w, off))
		up := c.record(an.By, "upper_band"+suffix, fmt.Sprintf("%s + %s * %s", mean, k, sd))
		lo := c.record(an.By, "lower_band"+suffix, fmt.Sprintf("%s - %s * %s", mean, k, sd))
		fire = fmt.Sprintf("(%s > %s or %s < %s)", rec, up, rec, lo)
		cond = fmt.Sprintf("`%s` leaves the band mean ± %s·stddev over %s", an.Expr, k, w)
		c.group.Series = 5
	case "mad":
		med := c.record(an.By, "median"+suffix, fmt.Sprintf("quantile_over_time(0.5, %s[%s]%s)", rec, w, off))
		dev := c.record(an.By, "abs_deviation"+dur(an.Window), fmt.Sprintf("abs(%s - quantile_over_time(0.5, %s[%s]))", rec, rec, w))
		mad := c.record(an.By, "mad"+suffix, fmt.Sprintf("quantile_over_time(0.5, %s[%s]%s)", dev, w, off))
		up := c.record(an.By, "upper_band"+suffix, fmt.Sprintf("%s + %s * %s", med, k, mad))
		lo := c.record(an.By, "lower_band"+suffix, fmt.Sprintf("%s - %s * %s", med, k, mad))
		fire = fmt.Sprintf("(%s > %s or %s < %s)", rec, up, rec, lo)
		cond = fmt.Sprintf("`%s` leaves the band median ± %s·MAD over %s", an.Expr, k, w)
		c.group.Series = 6
	}
	if season > 0 {
		cond += fmt.Sprintf(", compared with the same time one %s ago", map[string]string{"daily": "day", "weekly": "week"}[an.Seasonality])
	}
	expr := fmt.Sprintf("%s and %s %s offset %s", fire, onBy(an.By), rec, dur(an.WarmUp))
	cond += fmt.Sprintf(", once the series is %s old", dur(an.WarmUp))
	if g := an.MinVolume; g != nil {
		c.inputs = append(c.inputs, g.Expr)
		expr += fmt.Sprintf(" and %s (%s) >= %s", onBy(an.By), g.Expr, num(g.Value))
		cond += fmt.Sprintf(" and `%s` >= %s", g.Expr, num(g.Value))
	}
	c.alertRule(a.Name, a.Tier, expr, cond+fmt.Sprintf(", for %s", dur(a.For)), a.For)

	anomalyTests(c, season)
}

// anomalyTests feed a repeating 10, 11, 12 pattern (mean and median 11, MAD 1) as history,
// with each level held as long as the expression's range so rates keep the variation.
func anomalyTests(c *ctx, season time.Duration) {
	a, an := c.alert, c.alert.Anomaly
	step := c.testStep()
	lag := c.maxRange(an.Expr)
	block := steps(lag, step) + 1
	pattern := func(n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = 10 + float64((i/block)%3)
		}
		return out
	}
	history := roundUp(max(an.WarmUp, season+an.Window)+lag, step) + 2*step
	hold := roundUp(lag+a.For, step) + 3*step
	nh, nb := steps(history, step), steps(hold, step)
	if !c.testable(history+hold, step) {
		return
	}
	spike := 11 + 10*an.K
	// Just inside the band: three quarters of the way to its edge. The pattern's standard
	// deviation is sqrt(2/3) and its MAD 1. A rate smooths the pattern and shrinks its spread
	// by an amount that depends on the window, so lagged signals keep a wide margin.
	spread := math.Sqrt(2.0 / 3.0)
	if an.Method == "mad" {
		spread = 1
	}
	inside := spec.RoundSig(11 + 0.75*an.K*spread)
	if lag > 0 {
		inside = 11 + 0.2*an.K
	}
	guard := func(sig []float64, ok bool) []part {
		parts := []part{{an.Expr, sig, mode{}}}
		if g := an.MinVolume; g != nil {
			v := g.Value * 10
			if !ok {
				v = g.Value / 10
			}
			if v == 0 {
				v = 1
			}
			parts = append(parts, part{g.Expr, constant(len(sig), v), mode{}})
		}
		return parts
	}

	sig := concat(pattern(nh), constant(nb, spike))
	tc, lbls, err := c.multiCase(fmt.Sprintf("fires when the signal jumps to %s after a 10–12 history", num(spike)), an.By, step, guard(sig, true)...)
	c.addCase(tc, err, lbls, a.Name, lastAt(len(sig), step), true, spike)

	sig = concat(pattern(nh), constant(nb, inside))
	tc, lbls, err = c.multiCase(fmt.Sprintf("stays quiet just inside the band (%s)", num(inside)), an.By, step, guard(sig, true)...)
	c.addCase(tc, err, lbls, a.Name, lastAt(len(sig), step), false, 0)

	young := steps(lag, step) + 3*block
	sig = concat(pattern(young), constant(nb, spike))
	tc, lbls, err = c.multiCase(fmt.Sprintf("a new series inside the %s warm-up does not fire", dur(an.WarmUp)), an.By, step, guard(sig, true)...)
	c.addCase(tc, err, lbls, a.Name, lastAt(len(sig), step), false, 0)

	if an.MinVolume != nil {
		sig = concat(pattern(nh), constant(nb, spike))
		tc, lbls, err = c.multiCase("stays quiet below the minimum volume", an.By, step, guard(sig, false)...)
		c.addCase(tc, err, lbls, a.Name, lastAt(len(sig), step), false, 0)
	}
	if a.For < lag+3*step {
		c.noTest("blip: `for` %s is not longer than the expression's range %s plus three test steps of %s", dur(a.For), dur(lag), dur(step))
		return
	}
	sig = concat(pattern(nh), []float64{spike}, pattern(steps(a.For, step)+3))
	tc, lbls, err = c.multiCase("a one-sample spike shorter than `for` does not fire", an.By, step, guard(sig, true)...)
	c.addCase(tc, err, lbls, a.Name, history+a.For+step, false, 0)
}
