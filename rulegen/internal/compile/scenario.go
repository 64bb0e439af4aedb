package compile

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/opscentre/opscentre/rulegen/spec"
)

// caseFor builds a test case whose input series make expr evaluate to sig (one value per
// step). It also returns the label values the result carries for each label in by.
func (c *ctx) caseFor(name, expr string, by []string, step time.Duration, sig []float64, m mode) (TestCase, map[string]string, error) {
	return c.multiCase(name, by, step, part{expr, sig, m})
}

// part is one expression of a test and the signal it must produce.
type part struct {
	expr string
	sig  []float64
	m    mode
}

// multiCase is caseFor for several expressions at once (a signal and its volume guard).
// Expressions that would need the same input series to take two values fail.
func (c *ctx) multiCase(name string, by []string, step time.Duration, parts ...part) (TestCase, map[string]string, error) {
	s := newSynth(step, by)
	for _, p := range parts {
		e, err := c.parseInput(p.expr)
		if err != nil {
			return TestCase{Name: name}, nil, err
		}
		sub := newSynth(step, by)
		if err := sub.add(e, p.sig, p.m); err != nil {
			return TestCase{Name: name}, nil, err
		}
		for _, k := range sub.order {
			if _, clash := s.series[k]; clash {
				return TestCase{Name: name}, nil, fmt.Errorf("two expressions read the same series %s: %w", k, errNoInverse)
			}
			s.series[k] = sub.series[k]
			s.order = append(s.order, k)
		}
	}
	result, err := s.resultLabels(by)
	if err != nil {
		return TestCase{Name: name}, nil, err
	}
	return TestCase{Name: name, Interval: step, Inputs: s.inputs()}, result, nil
}

func (s *synth) resultLabels(by []string) (map[string]string, error) {
	out := map[string]string{}
	for _, l := range by {
		vals := map[string]bool{}
		for _, ser := range s.series {
			if v, ok := ser.lbls[l]; ok {
				vals[v] = true
			}
		}
		if len(vals) != 1 {
			return nil, fmt.Errorf("label %s takes %d values in the input series: %w", l, len(vals), errNoInverse)
		}
		for v := range vals {
			out[l] = v
		}
	}
	return out, nil
}

// noTest records why a scenario was not generated.
func (c *ctx) noTest(format string, args ...any) {
	c.group.NoTests = append(c.group.NoTests, fmt.Sprintf(format, args...))
}

// addCase appends a case expecting the alert rule named alert to fire with a series of
// labels lbls (fire) or not at all at the end of the series.
func (c *ctx) addCase(tc TestCase, err error, lbls map[string]string, alert string, evalAt time.Duration, fire bool, value float64) {
	if err != nil {
		if errors.Is(err, errNoInverse) {
			c.noTest("%s: %v", tc.Name, err)
			return
		}
		c.errorf("building test %q: %v", tc.Name, err)
		return
	}
	check := AlertCheck{EvalTime: evalAt, Alertname: alert}
	if fire {
		r := c.rule(alert)
		exp, ok := expected(r, lbls, value)
		if !ok {
			c.noTest("%s: an annotation template uses something rulegen cannot predict", tc.Name)
			return
		}
		check.Exp = []ExpAlert{exp}
	}
	tc.Checks = append(tc.Checks, check)
	if c.group.Tests == nil {
		c.group.Tests = &TestFile{EvalInterval: tc.Interval}
	}
	c.group.Tests.Tests = append(c.group.Tests.Tests, tc)
}

func (c *ctx) rule(alert string) Rule {
	for _, r := range c.group.Rules {
		if r.Alert == alert {
			return r
		}
	}
	return Rule{}
}

// levels picks values of a signal compared with v by op: one clearly on the alerting side,
// one just inside (not alerting), and a normal one.
func levels(op string, v float64) (bad, inside, normal float64) {
	above := op == ">" || op == ">="
	switch {
	case above && v > 0 && v < 1:
		bad, inside, normal = (v+1)/2, v*0.99, v/2
	case above && v >= 1:
		bad, inside, normal = v*2, v*0.99, v/2
	case above:
		bad, inside, normal = v+1, v-0.01, v-1
	case v > 0:
		bad, inside, normal = v/2, v*1.01, v*1.5
		if v < 1 && normal > 1 {
			normal = (v + 1) / 2
		}
	default:
		bad, inside, normal = v-1, v+0.01, v+1
	}
	return spec.RoundSig(bad), spec.RoundSig(inside), spec.RoundSig(normal)
}

// stepFor picks the sample interval of a test: a fifth of `for` in whole minutes (1m to
// 5m; 15s when `for` is under 4m), so a test holds a few samples per `for` without
// evaluating rules more often than needed.
func stepFor(forDur time.Duration) time.Duration {
	switch {
	case forDur > 0 && forDur < 4*time.Minute:
		return 15 * time.Second
	case forDur >= 10*time.Minute:
		return min(forDur/5/time.Minute*time.Minute, 5*time.Minute)
	}
	return time.Minute
}

// promtoolMaxSamples is the query sample limit of promtool's unit-test engine (10,000 in
// Prometheus 2.42 and 3); a range longer than that many test steps fails the test.
const promtoolMaxSamples = 10000

// testStep is stepFor(for), made fine enough that the shortest range window holds at least
// three samples (Prometheus 3 ranges are left-open, and rate needs two), then coarsened (up
// to 10m) so that no range holds more samples than promtool's test engine allows (a 7d
// average at 1m would need 10,080). testable rejects what even 10m cannot fit.
func (c *ctx) testStep() time.Duration {
	step := stepFor(c.alert.For)
	if short := c.shortestRange(); short > 0 && step > short/3 {
		// Whole minutes where the range allows, else whole seconds: a 20s rate window
		// needs samples every 6s, not the 15s floor of a longer `for`.
		if short >= 3*time.Minute {
			step = short / 3 / time.Minute * time.Minute
		} else {
			step = max(short/3/time.Second*time.Second, time.Second)
		}
	}
	// Coarsen only when the longest range would otherwise hold more samples than promtool
	// allows; rounding the need up to a minute must not coarsen a step that already fits.
	if need := c.longestRange()/promtoolRangeSamples + 1; need > step {
		step = min(roundUp(need, time.Minute), maxTestStep)
	}
	return step
}

const (
	promtoolRangeSamples = promtoolMaxSamples * 9 / 10
	maxTestStep          = 10 * time.Minute
)

func (c *ctx) longestRange() time.Duration {
	var longest time.Duration
	for _, r := range c.group.Rules {
		longest = max(longest, c.maxRange(r.Expr))
	}
	return longest
}

func (c *ctx) shortestRange() time.Duration {
	var shortest time.Duration
	for _, r := range c.group.Rules {
		if m := c.minRange(r.Expr); m > 0 && (shortest == 0 || m < shortest) {
			shortest = m
		}
	}
	return shortest
}

// lastAt is the time of the last sample of a series of n samples.
func lastAt(n int, step time.Duration) time.Duration { return time.Duration(n-1) * step }

var nan = math.NaN()

// maxTestSamples bounds the samples of one generated test series: a spec with a window of
// years must not make rulegen (or promtool) allocate gigabytes; such alerts get no test.
const maxTestSamples = 50000

func (c *ctx) testable(total, step time.Duration) bool {
	if total < 0 || total/step > maxTestSamples {
		c.noTest("all scenarios: the windows and `for` need %s of input series, more than %d samples at %s", dur(total), maxTestSamples, dur(step))
		return false
	}
	if r := c.longestRange(); r/step > promtoolRangeSamples {
		c.noTest("all scenarios: a range of %s holds more than promtool's %d-sample limit even at %s steps", dur(r), promtoolMaxSamples, dur(step))
		return false
	}
	return true
}
