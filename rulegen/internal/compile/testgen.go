package compile

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/opscentre/opscentre/rulegen/spec"
)

// TestFile is a promtool unit-test file for one alert.
type TestFile struct {
	EvalInterval time.Duration
	Tests        []TestCase
}

// TestCase is one promtool test: input series and the alerts expected at given times.
type TestCase struct {
	Name     string
	Interval time.Duration
	Inputs   []InputSeries
	Checks   []AlertCheck
}

// InputSeries is one input series in promtool's expanding notation.
type InputSeries struct {
	Series string
	Values string
}

// AlertCheck expects exactly Exp to be firing for Alertname at EvalTime.
type AlertCheck struct {
	EvalTime  time.Duration
	Alertname string
	Exp       []ExpAlert
}

// ExpAlert is an expected firing alert.
type ExpAlert struct {
	Labels      map[string]string
	Annotations map[string]string
}

// errNoInverse means rulegen cannot derive input series for an expression's shape.
var errNoInverse = errors.New("cannot derive input series for this expression shape")

// synth builds input series whose evaluation through an expression gives a wanted signal.
// It understands the shapes presets and most hand-written alerts use: selectors (gauges),
// rate/irate/increase of counters, sum/max/min/avg aggregations, arithmetic with numbers,
// ratios of two vectors, histogram_quantile over bucket rates, and differences.
type synth struct {
	step   time.Duration
	by     map[string]string // test value per label
	series map[string]*synSeries
	order  []string
}

type synSeries struct {
	lbls    map[string]string
	counter bool
	vals    []float64 // gauge value, or counter slope per second
	absent  []bool
}

func newSynth(step time.Duration, by []string) *synth {
	s := &synth{step: step, by: map[string]string{}, series: map[string]*synSeries{}}
	for _, l := range by {
		s.by[l] = testValue(l)
	}
	return s
}

func testValue(label string) string {
	switch label {
	case "model":
		return "demo"
	case "version":
		return "v1"
	case "feature":
		return "f1"
	}
	return label + "-a"
}

type mode struct {
	counter   bool
	perSecond bool // increase() targets are already per second (SLO good/total)
}

func (s *synth) add(e parser.Expr, target []float64, m mode) error {
	switch n := e.(type) {
	case *parser.ParenExpr:
		return s.add(n.Expr, target, m)
	case *parser.StepInvariantExpr:
		return s.add(n.Expr, target, m)
	case *parser.AggregateExpr:
		switch n.Op {
		case parser.SUM, parser.MAX, parser.MIN, parser.AVG:
			return s.add(n.Expr, target, m)
		}
		return errNoInverse
	case *parser.Call:
		switch n.Func.Name {
		case "rate", "irate":
			ms, ok := n.Args[0].(*parser.MatrixSelector)
			if !ok {
				return errNoInverse
			}
			return s.add(ms.VectorSelector, target, mode{counter: true})
		case "increase":
			ms, ok := n.Args[0].(*parser.MatrixSelector)
			if !ok {
				return errNoInverse
			}
			t := target
			if !m.perSecond {
				t = scale(target, 1/ms.Range.Seconds())
			}
			return s.add(ms.VectorSelector, t, mode{counter: true})
		case "histogram_quantile":
			return s.histogram(n, target)
		}
		return errNoInverse
	case *parser.BinaryExpr:
		lnum, lok := n.LHS.(*parser.NumberLiteral)
		rnum, rok := n.RHS.(*parser.NumberLiteral)
		switch {
		case rok:
			return s.add(n.LHS, arith(target, n.Op, rnum.Val, false), m)
		case lok:
			return s.add(n.RHS, arith(target, n.Op, lnum.Val, true), m)
		}
		switch n.Op {
		case parser.DIV:
			return s.ratio(n, target, m)
		case parser.SUB:
			if err := s.add(n.LHS, target, m); err != nil {
				return err
			}
			return s.add(n.RHS, make([]float64, len(target)), m)
		case parser.ADD:
			half := scale(target, 0.5)
			if err := s.add(n.LHS, half, m); err != nil {
				return err
			}
			return s.add(n.RHS, half, m)
		}
		return errNoInverse
	case *parser.VectorSelector:
		return s.selector(n, target, m.counter, nil)
	}
	return errNoInverse
}

func arith(target []float64, op parser.ItemType, v float64, numOnLeft bool) []float64 {
	out := make([]float64, len(target))
	for i, t := range target {
		switch op {
		case parser.MUL:
			out[i] = t / v
		case parser.DIV:
			if numOnLeft {
				out[i] = v / t
			} else {
				out[i] = t * v
			}
		case parser.ADD:
			out[i] = t - v
		case parser.SUB:
			if numOnLeft {
				out[i] = v - t
			} else {
				out[i] = t + v
			}
		default:
			out[i] = math.NaN()
		}
	}
	return out
}

func scale(target []float64, f float64) []float64 {
	out := make([]float64, len(target))
	for i, t := range target {
		out[i] = t * f
	}
	return out
}

// ratio makes LHS = target and RHS = 1; when the denominator's selector also selects the
// numerator's series (errors of all events of the same metric), its own series gets 1-target.
func (s *synth) ratio(n *parser.BinaryExpr, target []float64, m mode) error {
	den := newSynth(s.step, nil)
	den.by = s.by
	ones := make([]float64, len(target))
	for i := range ones {
		ones[i] = 1
	}
	if err := den.add(n.RHS, ones, m); err != nil {
		return err
	}
	num := newSynth(s.step, nil)
	num.by = s.by
	if err := num.add(n.LHS, target, m); err != nil {
		return err
	}
	denSel := selectorsOf(n.RHS)
	for _, k := range num.order {
		ns := num.series[k]
		overlapped := false
		for _, vs := range denSel {
			if matchesAll(vs, ns.lbls) {
				overlapped = true
			}
		}
		if overlapped {
			if len(den.order) != 1 {
				return errNoInverse
			}
			ds := den.series[den.order[0]]
			for i := range ds.vals {
				ds.vals[i] -= ns.vals[i]
				if ds.vals[i] < 0 {
					return fmt.Errorf("ratio %v above 1: %w", target[i], errNoInverse)
				}
			}
		}
	}
	for _, src := range []*synth{num, den} {
		for _, k := range src.order {
			if err := s.merge(src.series[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// histogram builds classic buckets whose histogram_quantile(q) is the target.
func (s *synth) histogram(n *parser.Call, target []float64) error {
	q, ok := n.Args[0].(*parser.NumberLiteral)
	if !ok {
		return errNoInverse
	}
	inner := n.Args[1]
	for {
		switch x := inner.(type) {
		case *parser.ParenExpr:
			inner = x.Expr
			continue
		case *parser.AggregateExpr:
			inner = x.Expr
			continue
		}
		break
	}
	call, ok := inner.(*parser.Call)
	if !ok || call.Func.Name != "rate" {
		return errNoInverse
	}
	ms, ok := call.Args[0].(*parser.MatrixSelector)
	if !ok {
		return errNoInverse
	}
	vs := ms.VectorSelector.(*parser.VectorSelector)
	// Buckets {0, U, +Inf} with every observation at or below U and a share c at or below 0:
	// the rank q falls in (0, U], so histogram_quantile = U·(q-c)/(1-c). c = (U·q-t)/(U-t)
	// gives t, and U = max(t)/q keeps 0 <= c < q for every target.
	maxT := 0.0
	for _, t := range target {
		if t <= 0 {
			return errNoInverse
		}
		maxT = math.Max(maxT, t)
	}
	u := spec.RoundSig(maxT / q.Val)
	zero := make([]float64, len(target))
	all := make([]float64, len(target))
	for i, t := range target {
		all[i] = 1
		if t < maxT {
			zero[i] = (u*q.Val - t) / (u - t)
		}
	}
	for _, le := range []struct {
		v    string
		vals []float64
	}{{"0", zero}, {num(u), all}, {"+Inf", all}} {
		if err := s.selector(vs, le.vals, true, map[string]string{"le": le.v}); err != nil {
			return err
		}
	}
	return nil
}

func (s *synth) selector(vs *parser.VectorSelector, target []float64, counter bool, extra map[string]string) error {
	lbls := map[string]string{}
	for k, v := range s.by {
		lbls[k] = v
	}
	for k, v := range extra {
		lbls[k] = v
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == model.MetricNameLabel {
			if m.Type != labels.MatchEqual {
				return errNoInverse
			}
			lbls[m.Name] = m.Value
			continue
		}
		switch m.Type {
		case labels.MatchEqual:
			lbls[m.Name] = m.Value
		case labels.MatchRegexp:
			if set := m.SetMatches(); len(set) > 0 {
				lbls[m.Name] = set[0]
			}
		}
		if !m.Matches(lbls[m.Name]) {
			if m.Type == labels.MatchNotEqual || m.Type == labels.MatchNotRegexp {
				lbls[m.Name] = "rulegen-test"
			}
			if !m.Matches(lbls[m.Name]) {
				return errNoInverse
			}
		}
	}
	for k, v := range lbls {
		if v == "" {
			delete(lbls, k)
		}
	}
	for _, t := range target {
		if math.IsNaN(t) || math.IsInf(t, 0) || (counter && t < 0) {
			return errNoInverse
		}
	}
	return s.merge(&synSeries{lbls: lbls, counter: counter, vals: append([]float64(nil), target...)})
}

func (s *synth) merge(n *synSeries) error {
	k := seriesString(n.lbls)
	if old, ok := s.series[k]; ok {
		if old.counter != n.counter {
			return errNoInverse
		}
		for i := range old.vals {
			old.vals[i] += n.vals[i]
		}
		return nil
	}
	s.series[k] = n
	s.order = append(s.order, k)
	return nil
}

func selectorsOf(e parser.Expr) []*parser.VectorSelector {
	var out []*parser.VectorSelector
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			out = append(out, vs)
		}
		return nil
	})
	return out
}

func matchesAll(vs *parser.VectorSelector, lbls map[string]string) bool {
	for _, m := range vs.LabelMatchers {
		if !m.Matches(lbls[m.Name]) {
			return false
		}
	}
	return true
}

func seriesString(lbls map[string]string) string {
	names := make([]string, 0, len(lbls))
	for k := range lbls {
		if k != model.MetricNameLabel {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + "=" + strconv.Quote(lbls[k])
	}
	return lbls[model.MetricNameLabel] + "{" + strings.Join(parts, ", ") + "}"
}

// inputs renders the series in promtool's expanding notation; counters are integrated. It
// is the last use of s: values are integrated (and gaps marked) in place.
func (s *synth) inputs() []InputSeries {
	keys := append([]string(nil), s.order...)
	sort.Strings(keys)
	out := make([]InputSeries, 0, len(keys))
	for _, k := range keys {
		ser := s.series[k]
		vals := ser.vals
		if ser.counter {
			acc, step := 0.0, s.step.Seconds()
			for i, v := range vals {
				if i > 0 {
					acc += v * step
				}
				vals[i] = acc
			}
		}
		if ser.absent != nil {
			for i := range vals {
				if ser.absent[i] {
					vals[i] = math.NaN()
				}
			}
		}
		out = append(out, InputSeries{Series: k, Values: expand(vals)})
	}
	return out
}

// expand writes samples in promtool's expanding notation: runs with a constant step become
// `a+bxn`, gaps (NaN) become `_xn`.
func expand(vals []float64) string {
	var parts []string
	for i := 0; i < len(vals); {
		if math.IsNaN(vals[i]) {
			j := i
			for j+1 < len(vals) && math.IsNaN(vals[j+1]) {
				j++
			}
			if j == i {
				parts = append(parts, "_")
			} else {
				parts = append(parts, "_x"+strconv.Itoa(j-i))
			}
			i = j + 1
			continue
		}
		j := i
		var d float64
		if i+1 < len(vals) && !math.IsNaN(vals[i+1]) {
			d = vals[i+1] - vals[i]
			j = i + 1
			for j+1 < len(vals) && !math.IsNaN(vals[j+1]) && sameStep(vals[j+1]-vals[j], d) {
				j++
			}
			d = spec.RoundSig(d)
		}
		switch {
		case j == i:
			parts = append(parts, num(vals[i]))
		case j == i+1 && d != 0:
			parts = append(parts, num(vals[i]), num(vals[j]))
		case d == 0:
			parts = append(parts, num(vals[i])+"x"+strconv.Itoa(j-i))
		case d > 0:
			parts = append(parts, num(vals[i])+"+"+num(d)+"x"+strconv.Itoa(j-i))
		default:
			parts = append(parts, num(vals[i])+"-"+num(-d)+"x"+strconv.Itoa(j-i))
		}
		i = j + 1
	}
	return strings.Join(parts, " ")
}

// sameStep compares two steps of a run with a relative tolerance, so float noise in
// integrated counters does not break a run into single samples.
func sameStep(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// maxRange is the longest range window in an expression: the lag before a step in the input
// shows fully in the signal.
func (c *ctx) maxRange(expr string) time.Duration {
	e, err := c.parseInput(expr)
	if err != nil {
		return 0
	}
	var m time.Duration
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.MatrixSelector:
			m = max(m, n.Range)
		case *parser.SubqueryExpr:
			m = max(m, n.Range)
		}
		return nil
	})
	return m
}

// minRange is the shortest range window in an expression, 0 when there is none.
func (c *ctx) minRange(expr string) time.Duration {
	e, err := c.parseInput(expr)
	if err != nil {
		return 0
	}
	var m time.Duration
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		var r time.Duration
		switch n := node.(type) {
		case *parser.MatrixSelector:
			r = n.Range
		case *parser.SubqueryExpr:
			r = n.Range
		}
		if r > 0 && (m == 0 || r < m) {
			m = r
		}
		return nil
	})
	return m
}

// expected renders the labels and annotations an alert rule gives a series with the given
// labels and value, as Prometheus would. ok is false when a template uses something rulegen
// cannot predict.
func expected(r Rule, seriesLabels map[string]string, value float64) (ExpAlert, bool) {
	lbls := map[string]string{}
	for k, v := range seriesLabels {
		if k != model.MetricNameLabel {
			lbls[k] = v
		}
	}
	for k, v := range r.Labels {
		lbls[k] = v
	}
	ann := map[string]string{}
	for k, v := range r.Annotations {
		out, ok := renderTemplate(v, seriesLabels, value)
		if !ok {
			return ExpAlert{}, false
		}
		if out != "" {
			ann[k] = out
		}
	}
	return ExpAlert{Labels: lbls, Annotations: ann}, true
}

func renderTemplate(text string, lbls map[string]string, value float64) (string, bool) {
	if !strings.Contains(text, "{{") {
		return text, true
	}
	if math.IsNaN(value) && strings.Contains(text, "$value") {
		return "", false
	}
	l := map[string]string{}
	for k, v := range lbls {
		if k != model.MetricNameLabel {
			l[k] = v
		}
	}
	t, err := template.New("a").Option("missingkey=zero").Parse("{{$labels := .Labels}}{{$value := .Value}}{{$externalLabels := .ExternalLabels}}" + text)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	if err := t.Execute(&b, map[string]any{"Labels": l, "Value": value, "ExternalLabels": map[string]string{}}); err != nil {
		return "", false
	}
	return b.String(), true
}

// steps is the number of samples covering d at the given step.
func steps(d, step time.Duration) int { return int(d / step) }

// constant returns n samples of v.
func constant(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func concat(parts ...[]float64) []float64 {
	var out []float64
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// roundUp rounds d up to a multiple of step.
func roundUp(d, step time.Duration) time.Duration {
	return (d + step - 1) / step * step
}
