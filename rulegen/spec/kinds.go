package spec

import (
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// expr decodes a PromQL expression and parses it at once, so a syntax error points at the
// value in the spec. SLO expressions carry {{window}}, replaced by 5m for the check.
func (d *decoder) expr(dst *string) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		s, ok := d.scalar(n, path)
		if !ok {
			return
		}
		s = strings.TrimSpace(s)
		if s == "" {
			d.errorf(n, path, "empty expression; expected PromQL")
			return
		}
		if _, err := ParseExpr(strings.ReplaceAll(s, WindowPlaceholder, "5m")); err != nil {
			d.errorf(n, path, "invalid PromQL: %v", oneLine(err))
			return
		}
		*dst = s
	}
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

func (d *decoder) labelList(dst *[]string) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		d.stringList(dst)(n, path)
		seen := map[string]bool{}
		for i, l := range *dst {
			if !model.LegacyValidation.IsValidLabelName(l) {
				d.errorf(resolve(n).Content[i], index(path, i), "invalid label name %q", l)
			}
			if seen[l] {
				d.errorf(resolve(n).Content[i], index(path, i), "label %q listed twice", l)
			}
			seen[l] = true
		}
	}
}

func (d *decoder) op(dst *string, allowed ...string) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		s, ok := d.scalar(n, path)
		if !ok {
			return
		}
		if !contains(allowed, s) {
			d.errorf(n, path, "invalid value %q; expected one of %s", s, strings.Join(allowed, ", "))
			return
		}
		*dst = s
	}
}

// require reports a field that is missing. A field that is present but was refused already
// has its own error (an invalid op, say), so it is not reported missing as well.
func (d *decoder) require(n *yaml.Node, path string, missing bool, what string) {
	if missing && !hasKey(n, what) {
		d.errorf(n, join(path, what), "missing %s", what)
	}
}

// hasKey reports whether the mapping n has the key.
func hasKey(n *yaml.Node, key string) bool {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

func (d *decoder) requireBy(n *yaml.Node, path string, by []string, set bool) {
	if !set {
		d.errorf(n, join(path, "by"), "missing by; expected the labels the expression's result carries, e.g. [model]")
	}
}

func (d *decoder) threshold(n *yaml.Node, path string) *Threshold {
	t := &Threshold{}
	var valueSet bool
	d.mapping(n, path, fields{
		"expr":  d.expr(&t.Expr),
		"by":    d.labelList(&t.By),
		"op":    d.op(&t.Op, ">", ">=", "<", "<="),
		"value": d.number(&t.Value, &valueSet),
	})
	d.require(n, path, t.Expr == "", "expr")
	d.requireBy(n, path, t.By, t.By != nil)
	d.require(n, path, t.Op == "", "op")
	d.require(n, path, !valueSet, "value")
	return t
}

func (d *decoder) change(n *yaml.Node, path string) *Change {
	c := &Change{Window: 7 * 24 * time.Hour}
	var factorSet bool
	d.mapping(n, path, fields{
		"expr":      d.expr(&c.Expr),
		"by":        d.labelList(&c.By),
		"direction": d.op(&c.Direction, "drop", "rise"),
		"factor":    d.number(&c.Factor, &factorSet),
		"window":    d.duration(&c.Window, nil),
		"offset":    d.duration(&c.Offset, nil),
		"min_base":  d.number(&c.MinBase, nil),
	})
	d.require(n, path, c.Expr == "", "expr")
	d.requireBy(n, path, c.By, c.By != nil)
	d.require(n, path, c.Direction == "", "direction")
	d.require(n, path, !factorSet, "factor")
	if factorSet && c.Factor <= 0 {
		d.errorf(n, join(path, "factor"), "factor must be > 0 (0.9 means 10%% below the baseline, 2 means twice it)")
	}
	if factorSet && c.Direction == "drop" && c.Factor >= 1 {
		d.errorf(n, join(path, "factor"), "a drop needs factor < 1, got %v", c.Factor)
	}
	if factorSet && c.Direction == "rise" && c.Factor <= 1 {
		d.errorf(n, join(path, "factor"), "a rise needs factor > 1, got %v", c.Factor)
	}
	if c.Window <= 0 {
		d.errorf(n, join(path, "window"), "window must be > 0")
	}
	return c
}

func (d *decoder) anomaly(n *yaml.Node, path string) *Anomaly {
	a := &Anomaly{Method: "zscore", K: 3, Seasonality: "none"}
	var windowSet bool
	d.mapping(n, path, fields{
		"expr":        d.expr(&a.Expr),
		"by":          d.labelList(&a.By),
		"method":      d.op(&a.Method, "zscore", "stddev", "mad"),
		"k":           d.number(&a.K, nil),
		"window":      d.duration(&a.Window, &windowSet),
		"seasonality": d.op(&a.Seasonality, "none", "daily", "weekly"),
		"warm_up":     d.duration(&a.WarmUp, nil),
		"min_volume": func(n *yaml.Node, p string) {
			g := &Guard{Pos: d.pos(resolve(n), p)}
			var set bool
			d.mapping(n, p, fields{"expr": d.expr(&g.Expr), "value": d.number(&g.Value, &set)})
			d.require(n, p, g.Expr == "", "expr")
			d.require(n, p, !set, "value")
			a.MinVolume = g
		},
	})
	d.require(n, path, a.Expr == "", "expr")
	d.requireBy(n, path, a.By, a.By != nil)
	if a.K <= 0 {
		d.errorf(n, join(path, "k"), "k must be > 0 (the number of standard deviations or MADs)")
	}
	if !windowSet {
		switch a.Seasonality {
		case "none":
			a.Window = 24 * time.Hour
		default:
			a.Window = time.Hour
		}
	}
	if a.Window <= 0 {
		d.errorf(n, join(path, "window"), "window must be > 0")
	}
	season := map[string]time.Duration{"daily": 24 * time.Hour, "weekly": 7 * 24 * time.Hour}[a.Seasonality]
	if season > 0 && a.Window >= season {
		d.errorf(n, join(path, "window"), "window %s must be shorter than the %s season", durString(a.Window), a.Seasonality)
	}
	if a.WarmUp == 0 {
		if season > 0 {
			a.WarmUp = season + a.Window/2
		} else {
			a.WarmUp = a.Window
		}
	}
	return a
}

func (d *decoder) trend(n *yaml.Node, path string) *Trend {
	t := &Trend{Method: "predict", Window: 6 * time.Hour, Horizon: 4 * time.Hour}
	var limitSet bool
	d.mapping(n, path, fields{
		"expr":    d.expr(&t.Expr),
		"by":      d.labelList(&t.By),
		"method":  d.op(&t.Method, "predict", "deriv"),
		"window":  d.duration(&t.Window, nil),
		"horizon": d.duration(&t.Horizon, nil),
		"op":      d.op(&t.Op, ">", "<"),
		"limit":   d.number(&t.Limit, &limitSet),
	})
	d.require(n, path, t.Expr == "", "expr")
	d.requireBy(n, path, t.By, t.By != nil)
	d.require(n, path, t.Op == "", "op")
	d.require(n, path, !limitSet, "limit")
	if t.Window <= 0 {
		d.errorf(n, join(path, "window"), "window must be > 0")
	}
	if t.Method == "predict" && t.Horizon <= 0 {
		d.errorf(n, join(path, "horizon"), "horizon must be > 0")
	}
	return t
}

func (d *decoder) absence(n *yaml.Node, path string) *Absence {
	a := &Absence{Ratio: 0.5, Offset: 7 * 24 * time.Hour}
	d.mapping(n, path, fields{
		"selector": d.expr(&a.Selector),
		"expr":     d.expr(&a.Expr),
		"by":       d.labelList(&a.By),
		"ratio":    d.number(&a.Ratio, nil),
		"offset":   d.duration(&a.Offset, nil),
		"min_prev": d.number(&a.MinPrev, nil),
	})
	switch {
	case a.Selector == "" && a.Expr == "":
		d.errorf(n, path, "absence needs selector (no samples for `for`) or expr (volume drop against `offset` ago)")
	case a.Selector != "" && a.Expr != "":
		d.errorf(n, path, "absence takes selector or expr, not both")
	case a.Selector != "":
		e, err := ParseExpr(a.Selector)
		if err == nil && !isSelector(e) {
			d.errorf(n, join(path, "selector"), "selector %q must be a plain series selector such as aiops_events_total{model=\"fraud\"}", a.Selector)
		}
	case a.Expr != "":
		d.requireBy(n, path, a.By, a.By != nil)
		if a.Ratio <= 0 || a.Ratio >= 1 {
			d.errorf(n, join(path, "ratio"), "ratio must be between 0 and 1 (0.5 fires when volume is below half of %s ago)", durString(a.Offset))
		}
		if a.Offset <= 0 {
			d.errorf(n, join(path, "offset"), "offset must be > 0")
		}
	}
	return a
}

func (d *decoder) slo(n *yaml.Node, path string) *SLO {
	s := &SLO{Period: 30 * 24 * time.Hour, SlowTier: ""}
	var objSet bool
	d.mapping(n, path, fields{
		"good":       d.expr(&s.Good),
		"bad":        d.expr(&s.Bad),
		"total":      d.expr(&s.Total),
		"by":         d.labelList(&s.By),
		"objective":  d.number(&s.Objective, &objSet),
		"period":     d.duration(&s.Period, nil),
		"min_events": d.number(&s.MinEvents, nil),
		"disable":    d.stringList(&s.Disable),
		"slow_tier":  d.str(&s.SlowTier),
	})
	switch {
	case s.Good == "" && s.Bad == "":
		d.errorf(n, path, "slo needs good or bad (a PromQL expression with %s)", WindowPlaceholder)
	case s.Good != "" && s.Bad != "":
		d.errorf(n, path, "slo takes good or bad, not both")
	}
	d.require(n, path, s.Total == "", "total")
	d.requireBy(n, path, s.By, s.By != nil)
	for _, f := range []struct{ name, v string }{{"good", s.Good}, {"bad", s.Bad}, {"total", s.Total}} {
		if f.v != "" && !strings.Contains(f.v, WindowPlaceholder) {
			d.errorf(n, join(path, f.name), "%s must contain %s where the range goes, e.g. sum by (model) (increase(x_total[%s]))", f.name, WindowPlaceholder, WindowPlaceholder)
		}
	}
	switch {
	case !objSet:
		d.errorf(n, join(path, "objective"), "missing objective (percent of good events, e.g. 99.5)")
	case s.Objective >= 100:
		d.errorf(n, join(path, "objective"), "objective %v%% is impossible: it leaves no error budget; expected a percentage below 100", s.Objective)
	case s.Objective <= 0:
		d.errorf(n, join(path, "objective"), "objective %v%% must be above 0", s.Objective)
	}
	if s.Period < 24*time.Hour {
		d.errorf(n, join(path, "period"), "period %s is shorter than 1d; burn-rate windows need at least 1d", durString(s.Period))
	}
	if s.MinEvents < 0 {
		d.errorf(n, join(path, "min_events"), "min_events must be >= 0")
	}
	for i, w := range s.Disable {
		if !contains(burnWindows, w) {
			d.errorf(n, index(join(path, "disable"), i), "unknown burn window %q; expected one of %s", w, strings.Join(burnWindows, ", "))
		}
	}
	if len(s.Disable) == len(burnWindows) && len(s.Disable) > 0 {
		d.errorf(n, join(path, "disable"), "every burn window is disabled; the SLO would never alert")
	}
	if s.SlowTier != "" && !contains(tierIDs, s.SlowTier) {
		d.errorf(n, join(path, "slow_tier"), "unknown tier %q; expected one of P1, P2, P3, P4", s.SlowTier)
	}
	return s
}

func isSelector(e parser.Expr) bool {
	_, ok := e.(*parser.VectorSelector)
	return ok
}
