package compile

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/opscentre/opscentre/rulegen/spec"
)

// burnPair is one multi-window burn-rate condition (Google SRE workbook, ch. 5): both the
// long and the short window must burn faster than factor × budget. The short window makes
// the alert stop soon after the problem does.
type burnPair struct {
	long, short time.Duration
	budgetShare float64 // share of the period's budget spent in the long window when burning at factor
	speed       string  // fast pairs page, slow pairs open a ticket
}

var burnPairs = []burnPair{
	{time.Hour, 5 * time.Minute, 0.02, "fast"},
	{6 * time.Hour, 30 * time.Minute, 0.05, "fast"},
	{24 * time.Hour, 2 * time.Hour, 0.10, "slow"},
	{72 * time.Hour, 6 * time.Hour, 0.10, "slow"},
}

type enabledPair struct {
	burnPair
	factor, threshold float64
}

// compileSLO records good (or bad) and total event counts per window with increase(), so
// every window's error ratio is a ratio of counts — not an average of short ratios, which
// is biased when traffic is uneven — and alerts on burn rate in a fast (page) and a slow
// (ticket) alert. Factors come from the period: factor = budget share × period / long window
// (14.4, 6, 3, 1 for 30d). A pair whose threshold is ≥ 1 can never fire and is dropped with
// a warning. An optional minimum of events in the last hour keeps quiet hours from paging.
func compileSLO(c *ctx) {
	a, s := c.alert, c.alert.SLO
	budget := spec.RoundSig(1 - s.Objective/100)
	var pairs []enabledPair
	for _, p := range burnPairs {
		name := dur(p.long)
		if contains(s.Disable, name) {
			continue
		}
		f := spec.RoundSig(p.budgetShare * s.Period.Hours() / p.long.Hours())
		th := spec.RoundSig(f * budget)
		if th >= 1 && a.Preset != "" {
			c.group.Notes = append(c.group.Notes, fmt.Sprintf("burn window %s left out: at objective %s%% it needs an error ratio of %s", name, num(s.Objective), num(th)))
			continue
		}
		if th >= 1 {
			c.warnf("burn window %s of %s can never fire: it needs an error ratio of %s (factor %s × budget %s); it is left out", name, a.Name, num(th), num(f), num(budget))
			continue
		}
		pairs = append(pairs, enabledPair{p, f, th})
	}
	if len(pairs) == 0 {
		c.errorf("no burn window of %s can fire at objective %s%%", a.Name, num(s.Objective))
		return
	}
	goodExpr, goodName, ratioWord := s.Good, "good", "1 - "
	if s.Bad != "" {
		goodExpr, goodName, ratioWord = s.Bad, "bad", ""
	}
	c.inputs = append(c.inputs, goodExpr, s.Total)
	// The 5m texts the checks read come from the templates' one parse too (window.go).
	c.windowed(goodExpr, 5*time.Minute)
	c.windowed(s.Total, 5*time.Minute)
	c.checkBy(goodExpr, s.By)
	c.checkBy(s.Total, s.By)
	lvl := level(s.By)
	windows := map[time.Duration]bool{time.Hour: true}
	for _, p := range pairs {
		windows[p.long], windows[p.short] = true, true
	}
	errRec := map[time.Duration]string{}
	totalRec := map[time.Duration]string{}
	for _, w := range []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, 24 * time.Hour, 72 * time.Hour} {
		if !windows[w] {
			continue
		}
		ws := dur(w)
		g := c.recordNamed(lvl+":"+c.group.Name+"_"+goodName+":increase"+ws, c.windowed(goodExpr, w))
		t := c.recordNamed(lvl+":"+c.group.Name+"_total:increase"+ws, c.windowed(s.Total, w))
		totalRec[w] = t
		ratio := fmt.Sprintf("%s%s / %s", ratioWord, g, t)
		if ratioWord != "" {
			ratio = fmt.Sprintf("1 - (%s / %s)", g, t)
		}
		errRec[w] = c.recordNamed(lvl+":"+c.group.Name+"_error:ratio"+ws, ratio)
	}
	c.group.Series = len(c.group.Rules)
	guard := ""
	if s.MinEvents > 0 {
		guard = fmt.Sprintf(" and %s %s >= %s", onBy(s.By), totalRec[time.Hour], num(s.MinEvents))
	}
	slowTier := s.SlowTier
	if slowTier == "" {
		slowTier = nextTier(c.spec, a.Tier)
	}
	for _, speed := range []string{"fast", "slow"} {
		var legs, words []string
		for _, p := range pairs {
			if p.speed != speed {
				continue
			}
			legs = append(legs, fmt.Sprintf("(%s > %s and %s > %s)", errRec[p.short], num(p.threshold), errRec[p.long], num(p.threshold)))
			words = append(words, fmt.Sprintf("%s/%s error ratio > %s (%s× budget)", dur(p.long), dur(p.short), num(p.threshold), num(p.factor)))
		}
		if len(legs) == 0 {
			continue
		}
		expr := strings.Join(legs, " or ")
		if len(legs) > 1 || guard != "" {
			expr = "(" + expr + ")"
		}
		tier := a.Tier
		if speed == "slow" {
			tier = slowTier
		}
		name := a.Name + map[string]string{"fast": "FastBurn", "slow": "SlowBurn"}[speed]
		cond := fmt.Sprintf("the %s%% SLO over %s burns its budget %s: %s", num(s.Objective), dur(s.Period), speed, strings.Join(words, " or "))
		if guard != "" {
			cond += fmt.Sprintf(", with at least %s events in the last hour", num(s.MinEvents))
		}
		c.alertRule(name, tier, expr+guard, cond, a.For)
		c.group.Rules[len(c.group.Rules)-1].Labels["burn_rate"] = speed
	}
	sloTests(c, pairs, goodExpr)
}

func (c *ctx) recordNamed(name, expr string) string {
	c.group.Rules = append(c.group.Rules, Rule{Record: name, Expr: expr})
	return name
}

func nextTier(s *spec.Spec, id string) string {
	for i, t := range s.Tiers {
		if t.ID == id && i+1 < len(s.Tiers) {
			return s.Tiers[i+1].ID
		}
	}
	return id
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// sloSynth holds the unit input series of the good and total expressions and how each
// expression reads them, so any good fraction and volume can be produced by scaling.
type sloSynth struct {
	good, total *synth
	g0, c, t0   float64
	by          []string
	goodE, totE parser.Expr
	step        time.Duration
}

func (c *ctx) newSLOSynth(goodExpr, totalExpr string, by []string, step time.Duration, n int) (*sloSynth, error) {
	ge, err := c.parseInput(goodExpr)
	if err != nil {
		return nil, err
	}
	te, err := c.parseInput(totalExpr)
	if err != nil {
		return nil, err
	}
	ss := &sloSynth{good: newSynth(step, by), total: newSynth(step, by), by: by, goodE: ge, totE: te, step: step}
	if err := ss.good.add(ge, constant(n, 1), mode{perSecond: true}); err != nil {
		return nil, err
	}
	if err := ss.total.add(te, constant(n, 1), mode{perSecond: true}); err != nil {
		return nil, err
	}
	for k := range ss.good.series {
		if _, clash := ss.total.series[k]; clash {
			return nil, fmt.Errorf("good and total need the same series %s: %w", k, errNoInverse)
		}
	}
	var ok1, ok2, ok3, ok4 bool
	ss.g0, ok1 = evalLinear(ge, ss.good)
	ss.c, ok2 = evalLinear(te, ss.good)
	ss.t0, ok3 = evalLinear(te, ss.total)
	leak, ok4 := evalLinear(ge, ss.total)
	if !ok1 || !ok2 || !ok3 || !ok4 || leak != 0 || ss.g0 <= 0 || ss.t0 <= 0 {
		return nil, errNoInverse
	}
	return ss, nil
}

// build scales the unit series so that sample i has ratio[i] good (or bad) events out of
// volume events per second. The unit series are constant, so their first sample serves for
// every sample (one synthesis per alert instead of one per scenario and sample).
func (ss *sloSynth) build(name string, ratio []float64, volume float64) (TestCase, map[string]string, error) {
	out := newSynth(ss.step, ss.by)
	for _, src := range []struct {
		s    *synth
		good bool
	}{{ss.good, true}, {ss.total, false}} {
		for _, k := range src.s.order {
			ser := src.s.series[k]
			vals := make([]float64, len(ratio))
			for i := range ratio {
				alpha := ratio[i] * volume / ss.g0
				beta := (volume - alpha*ss.c) / ss.t0
				if beta < -1e-12 {
					return TestCase{Name: name}, nil, fmt.Errorf("ratio %v not reachable: %w", ratio[i], errNoInverse)
				}
				f := beta
				if src.good {
					f = alpha
				}
				vals[i] = math.Max(0, ser.vals[0]*f)
			}
			if err := out.merge(&synSeries{lbls: ser.lbls, counter: ser.counter, vals: vals}); err != nil {
				return TestCase{Name: name}, nil, err
			}
		}
	}
	lbls, err := out.resultLabels(ss.by)
	if err != nil {
		return TestCase{Name: name}, nil, err
	}
	return TestCase{Name: name, Interval: ss.step, Inputs: out.inputs()}, lbls, nil
}

// evalLinear evaluates an SLO expression over constant per-second slopes, for expressions
// that reduce to one value (sums, numbers, + - * /).
func evalLinear(e parser.Expr, s *synth) (float64, bool) {
	vals, ok := evalVec(e, s)
	if !ok || len(vals) != 1 {
		return 0, false
	}
	return vals[0], true
}

func evalVec(e parser.Expr, s *synth) ([]float64, bool) {
	switch n := e.(type) {
	case *parser.NumberLiteral:
		return []float64{n.Val}, true
	case *parser.ParenExpr:
		return evalVec(n.Expr, s)
	case *parser.AggregateExpr:
		in, ok := evalVec(n.Expr, s)
		if !ok || n.Op != parser.SUM {
			return nil, false
		}
		sum := 0.0
		for _, v := range in {
			sum += v
		}
		return []float64{sum}, true
	case *parser.Call:
		if n.Func.Name != "increase" && n.Func.Name != "rate" {
			return nil, false
		}
		ms, ok := n.Args[0].(*parser.MatrixSelector)
		if !ok {
			return nil, false
		}
		return evalVec(ms.VectorSelector, s)
	case *parser.VectorSelector:
		var out []float64
		for _, k := range s.order {
			ser := s.series[k]
			if matchesAll(n, ser.lbls) {
				out = append(out, ser.vals[0])
			}
		}
		return out, true
	case *parser.BinaryExpr:
		l, ok1 := evalVec(n.LHS, s)
		r, ok2 := evalVec(n.RHS, s)
		if !ok1 || !ok2 {
			return nil, false
		}
		// An aggregation over no series is empty; treat it as 0 so unit sums compose.
		if len(l) == 0 {
			l = []float64{0}
		}
		if len(r) == 0 {
			r = []float64{0}
		}
		if len(l) != 1 || len(r) != 1 {
			return nil, false
		}
		switch n.Op {
		case parser.ADD:
			return []float64{l[0] + r[0]}, true
		case parser.SUB:
			return []float64{l[0] - r[0]}, true
		case parser.MUL:
			return []float64{l[0] * r[0]}, true
		case parser.DIV:
			return []float64{l[0] / r[0]}, true
		}
	}
	return nil, false
}

// sloEval is the evaluation interval of SLO tests: the windows are hours to days long, so
// evaluating every 5 minutes keeps promtool fast without changing any verdict.
const sloEval = 5 * time.Minute

func sloTests(c *ctx, pairs []enabledPair, goodExpr string) {
	a, s := c.alert, c.alert.SLO
	step := time.Minute
	if !c.testable(72*time.Hour+a.For, step) {
		return
	}
	c.group.Tests = &TestFile{EvalInterval: sloEval}
	bad := s.Bad != ""
	ratioFor := func(errRatio float64) float64 {
		if bad {
			return errRatio
		}
		return 1 - errRatio
	}
	volume := math.Max(1, 2*s.MinEvents/3600)
	ss, ssErr := c.newSLOSynth(goodExpr, s.Total, s.By, step, 1)
	build := func(name string, errs []float64, vol float64) (TestCase, map[string]string, error) {
		if ssErr != nil {
			return TestCase{Name: name}, nil, ssErr
		}
		ratio := errs // each error series is used once: its ratios replace it
		for i, e := range errs {
			ratio[i] = ratioFor(e)
		}
		return ss.build(name, ratio, vol)
	}
	lead := steps(10*time.Minute, step)
	minTh := 1.0
	for _, p := range pairs {
		minTh = math.Min(minTh, p.threshold)
	}
	for _, speed := range []string{"fast", "slow"} {
		var p *enabledPair
		for i := range pairs {
			if pairs[i].speed == speed {
				p = &pairs[i]
				break
			}
		}
		if p == nil {
			continue
		}
		name := a.Name + map[string]string{"fast": "FastBurn", "slow": "SlowBurn"}[speed]
		e := 2 * p.threshold
		if e > 1 {
			e = (p.threshold + 1) / 2
		}
		e = spec.RoundSig(e)
		hold := steps(roundUp(p.long+a.For, step)+2*sloEval, step) + 5
		errs := concat(constant(lead, 0), constant(hold, e))
		tc, lbls, err := build(fmt.Sprintf("%s burn: %s of events failing for %s fires %s", speed, num(e), dur(p.long), name), errs, volume)
		c.addCase(tc, err, lbls, name, lastAt(len(errs), step), true, nan)
	}
	inside := spec.RoundSig(minTh * 0.9)
	errs := constant(steps(3*time.Hour, step), inside)
	tc, lbls, err := build(fmt.Sprintf("an error ratio of %s, just under every burn threshold, stays quiet", num(inside)), errs, volume)
	addQuiet(c, tc, err, lbls, lastAt(len(errs), step))

	// The blip must not page: one minute of failures after enough history that the fast
	// pairs' long windows are full.
	var fastLong time.Duration
	blipOK := false
	for _, p := range pairs {
		if p.speed == "fast" {
			blipOK = true
			fastLong = max(fastLong, p.long)
			if step.Seconds()/p.long.Seconds() >= p.threshold {
				blipOK = false
				break
			}
		}
	}
	if blipOK {
		pre := steps(fastLong, step) + 2
		errs = concat(constant(pre, 0), []float64{1}, constant(steps(a.For, step)+10, 0))
		tc, lbls, err = build("one minute of failing events does not page", errs, volume)
		c.addCase(tc, err, lbls, a.Name+"FastBurn", lastAt(len(errs), step), false, 0)
	} else {
		c.noTest("blip: one minute of failures already exceeds a fast long window's threshold at this objective (or fast burn is disabled)")
	}
	if s.MinEvents > 0 {
		errs = concat(constant(lead, 0), constant(steps(roundUp(pairs[0].long+a.For, step), step)+5, 1))
		tc, lbls, err = build(fmt.Sprintf("below %s events per hour nothing fires, even with every event failing", num(s.MinEvents)), errs, s.MinEvents/3600/10)
		addQuiet(c, tc, err, lbls, lastAt(len(errs), step))
	}
}

// addQuiet adds a case that checks every alert of the group stays quiet.
func addQuiet(c *ctx, tc TestCase, err error, lbls map[string]string, at time.Duration) {
	first := true
	for _, r := range c.group.Rules {
		if r.Alert == "" {
			continue
		}
		if first {
			c.addCase(tc, err, lbls, r.Alert, at, false, 0)
			first = false
			if err != nil {
				return
			}
			continue
		}
		last := &c.group.Tests.Tests[len(c.group.Tests.Tests)-1]
		last.Checks = append(last.Checks, AlertCheck{EvalTime: at, Alertname: r.Alert})
	}
}
