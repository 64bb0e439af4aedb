package gen

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// UIDAlertCatalog is the UID of the dashboard generated from rule files.
const UIDAlertCatalog = "opscentre-alert-catalog"

// AlertCatalogFile is the file the alert catalog is written to.
const AlertCatalogFile = "alert-catalog.json"

// LoadRules reads Prometheus rule files (rulegen's output) with the same
// parser and validation Prometheus uses.
func LoadRules(paths ...string) ([]rulefmt.RuleGroup, error) {
	var out []rulefmt.RuleGroup
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, p := range paths {
		rgs, errs := rulefmt.ParseFile(p, false, model.UTF8Validation, parser.NewParser(parser.Options{}), quiet)
		if len(errs) > 0 {
			return nil, fmt.Errorf("rule file: %w", errors.Join(errs...))
		}
		out = append(out, rgs.Groups...)
	}
	return out, nil
}

// alertPlot is what an alert's panel draws: the watched expression and, when
// the alert compares it with something, that threshold or band.
type alertPlot struct {
	value     string // the expression the alert watches
	threshold string // a second expression (a band), or ""
	number    *float64
	above     bool // the alert fires above the threshold (>, >=)
	guard     string
}

// planAlert splits an alert expression "lhs > threshold [and guard]" into what
// to plot; anything else is plotted as is.
func planAlert(expr string) (alertPlot, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return alertPlot{}, fmt.Errorf("expr: %w", err)
	}
	plan := alertPlot{}
	e = unparen(e)
	// "cond and guard" / "cond unless guard": the condition is what fires.
	if b, ok := e.(*parser.BinaryExpr); ok && (b.Op == parser.LAND || b.Op == parser.LUNLESS) {
		plan.guard = b.Op.String() + " " + b.RHS.String()
		e = unparen(b.LHS)
	}
	b, ok := e.(*parser.BinaryExpr)
	if !ok || !b.Op.IsComparisonOperator() || b.ReturnBool {
		plan.value = injectModelMatchers(e)
		return plan, nil
	}
	lhs, rhs, op := unparen(b.LHS), unparen(b.RHS), b.Op
	if n, ok := lhs.(*parser.NumberLiteral); ok { // "0.9 > x" is "x < 0.9"
		lhs, rhs = rhs, n
		op = mirror(op)
	}
	plan.above = op == parser.GTR || op == parser.GTE
	plan.value = injectModelMatchers(lhs)
	if n, ok := rhs.(*parser.NumberLiteral); ok {
		plan.number = &n.Val
	} else {
		plan.threshold = injectModelMatchers(rhs)
	}
	return plan, nil
}

func mirror(op parser.ItemType) parser.ItemType {
	switch op {
	case parser.GTR:
		return parser.LSS
	case parser.GTE:
		return parser.LTE
	case parser.LSS:
		return parser.GTR
	case parser.LTE:
		return parser.GTE
	}
	return op
}

func unparen(e parser.Expr) parser.Expr {
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// injectModelMatchers adds model=~"$model", version=~"$version" to every
// selector of an exporter metric, so the catalog follows the dashboard's
// pickers; recorded series are left alone, since not all keep those labels.
func injectModelMatchers(e parser.Expr) string {
	e, _ = parser.NewParser(parser.Options{}).ParseExpr(e.String()) // a copy to mutate
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		if !(strings.HasPrefix(name, "aiops_") || strings.HasPrefix(name, "gen_ai_")) || strings.HasPrefix(name, "aiops_exporter_") {
			return nil
		}
		kept := vs.LabelMatchers[:0]
		for _, m := range vs.LabelMatchers {
			if m.Name != VarModel && m.Name != VarVersion {
				kept = append(kept, m)
			}
		}
		vs.LabelMatchers = append(kept,
			labels.MustNewMatcher(labels.MatchRegexp, VarModel, "$"+VarModel),
			labels.MustNewMatcher(labels.MatchRegexp, VarVersion, "$"+VarVersion))
		return nil
	})
	return e.String()
}

// AlertCatalog builds the alert-catalog dashboard: one panel per alerting
// rule, grouped by tier, drawing the watched expression with its threshold or
// band, the rule's summary, tier, team and "for" in the description, and its
// runbook as a panel link.
func AlertCatalog(groups []rulefmt.RuleGroup) (Dashboard, error) {
	type alert struct {
		rule  rulefmt.Rule
		group string
	}
	byTier := map[string][]alert{}
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			tier := r.Labels["tier"]
			if tier == "" {
				tier = "untiered"
			}
			byTier[tier] = append(byTier[tier], alert{r, g.Name})
		}
	}
	tiers := make([]string, 0, len(byTier))
	for t := range byTier {
		tiers = append(tiers, t)
	}
	sort.Strings(tiers) // P1 < P2 < P3 < P4 < untiered
	b := newDashboard(UIDAlertCatalog, "Alert catalog",
		"Every alerting rule generated by rulegen, by tier: the expression the alert watches, with its threshold or band drawn, so a threshold can be judged against real data. Alert windows are the rule's own, not $__rate_interval.")
	for _, tier := range tiers {
		b.WithRow(row(tier))
		alerts := byTier[tier]
		sort.Slice(alerts, func(i, j int) bool { return alerts[i].rule.Alert < alerts[j].rule.Alert })
		for _, a := range alerts {
			p, err := alertPanel(a.rule, a.group)
			if err != nil {
				return Dashboard{}, fmt.Errorf("alert %s: %w", a.rule.Alert, err)
			}
			b.WithPanel(p)
		}
	}
	d, err := b.Build()
	if err != nil {
		return Dashboard{}, err
	}
	numberPanels(&d)
	return Dashboard{File: AlertCatalogFile, Dashboard: d}, nil
}

func alertPanel(r rulefmt.Rule, group string) (cog.Builder[dashboard.Panel], error) {
	plan, err := planAlert(r.Expr)
	if err != nil {
		return nil, err
	}
	desc := []string{}
	for _, k := range []string{"summary", "description"} {
		if v := r.Annotations[k]; v != "" {
			desc = append(desc, v)
		}
	}
	meta := fmt.Sprintf("Group %s; fires after %s", group, forText(r.For))
	for _, k := range []string{"tier", "severity", "team", "owner"} {
		if v := r.Labels[k]; v != "" {
			meta += fmt.Sprintf("; %s %s", k, v)
		}
	}
	if plan.guard != "" {
		meta += "; only while: " + plan.guard
	}
	desc = append(desc, meta+". Rule: "+r.Expr)
	unit := r.Annotations["unit"]
	if unit == "" {
		unit = "short"
	}
	p := timeSeries(r.Alert, strings.Join(desc, " "), unit, pq("A", plan.value, "{{model}} {{version}}"))
	if plan.threshold != "" {
		p.WithTarget(pq("B", plan.threshold, "threshold {{model}}")).
			OverrideByRegexp("threshold .*", []dashboard.DynamicConfigValue{
				prop("custom.lineStyle", map[string]any{"fill": "dash", "dash": []int{10, 10}}),
				prop("color", map[string]any{"mode": "fixed", "fixedColor": "red"}),
			})
	}
	if plan.number != nil {
		steps := thresholds("green", step{*plan.number, "red"})
		if !plan.above {
			steps = thresholds("red", step{*plan.number, "green"})
		}
		p.Thresholds(steps).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashedAndArea))
	}
	if url := r.Annotations["runbook_url"]; url != "" {
		p.Links([]cog.Builder[dashboard.DashboardLink]{
			dashboard.NewDashboardLinkBuilder("Runbook").Type(dashboard.DashboardLinkTypeLink).Url(url).TargetBlank(true),
		})
	}
	return p, nil
}

func forText(d model.Duration) string {
	if d == 0 {
		return "one evaluation"
	}
	return d.String()
}
