package lint

import (
	"fmt"
	"sort"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/opscentre/opscentre/dashboards/gen"
)

// Problem is one lint finding.
type Problem struct {
	Rule    string
	Where   string
	Message string
}

func (p Problem) String() string { return p.Rule + ": " + p.Where + ": " + p.Message }

// Rule checks one property of a dashboard.
type Rule struct {
	Name  string
	Check func(dashboard.Dashboard) []Problem
}

// Rules returns every rule, in the order findings are reported.
func Rules() []Rule {
	return []Rule{
		{"datasource-variable", DatasourceVariable},
		{"panel-datasource", PanelDatasource},
		{"no-hardcoded-datasource-uid", NoHardcodedDatasourceUID},
		{"panel-title-description", PanelTitleDescription},
		{"panel-unit", PanelUnit},
		{"promql-parses", PromQLParses},
		{"rate-interval", RateInterval},
		{"counter-in-rate", CounterInRate},
		{"model-version-matchers", ModelVersionMatchers},
	}
}

// Check runs every rule.
func Check(d dashboard.Dashboard) []Problem { return CheckExcept(d, nil) }

// CheckExcept runs every rule not in excluded, a map from rule name to the
// reason it does not apply (like dashboard-linter's .lint file): the reason is
// required so an exclusion is a decision, not an escape hatch.
func CheckExcept(d dashboard.Dashboard, excluded map[string]string) []Problem {
	var out []Problem
	for _, r := range Rules() {
		if reason, ok := excluded[r.Name]; ok {
			if strings.TrimSpace(reason) == "" {
				out = append(out, Problem{r.Name, "exclusions", "excluded without a reason"})
			}
			continue
		}
		out = append(out, r.Check(d)...)
	}
	return out
}

const (
	promVar      = "${" + gen.VarDatasource + "}"
	incidentsVar = "${" + gen.VarIncidents + "}"
)

// DatasourceVariable requires a "datasource" variable of type prometheus
// labelled "Data Source" (the Grafana convention dashboards are shared by), and
// an "incidents" variable of the plugin's type when any panel queries incidents.
func DatasourceVariable(d dashboard.Dashboard) []Problem {
	var out []Problem
	vars := map[string]dashboard.VariableModel{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	want := func(name, typ, label string) {
		v, ok := vars[name]
		if !ok {
			out = append(out, Problem{"datasource-variable", "templating", fmt.Sprintf("no %q variable; add a datasource variable of type %s", name, typ)})
			return
		}
		if v.Type != dashboard.VariableTypeDatasource {
			out = append(out, Problem{"datasource-variable", "variable " + name, fmt.Sprintf("type is %q, expected \"datasource\"", v.Type)})
		}
		if v.Query == nil || v.Query.String == nil || *v.Query.String != typ {
			out = append(out, Problem{"datasource-variable", "variable " + name, fmt.Sprintf("must select datasources of type %q", typ)})
		}
		if label != "" && (v.Label == nil || *v.Label != label) {
			out = append(out, Problem{"datasource-variable", "variable " + name, fmt.Sprintf("label must be %q", label)})
		}
	}
	want(gen.VarDatasource, "prometheus", "Data Source")
	for _, p := range Panels(d) {
		if isType(p.Datasource, gen.IncidentsPluginID) {
			want(gen.VarIncidents, gen.IncidentsPluginID, "")
			break
		}
	}
	return out
}

// PanelDatasource requires every panel and every target to use a datasource
// variable: ${datasource} for Prometheus, ${incidents} for the plugin. A panel
// without one silently queries Grafana's default datasource.
func PanelDatasource(d dashboard.Dashboard) []Problem {
	var out []Problem
	for _, p := range Panels(d) {
		where := "panel " + quote(title(p))
		want := expectedVar(p.Datasource)
		if want == "" {
			out = append(out, Problem{"panel-datasource", where, fmt.Sprintf("datasource is %s, expected type prometheus with uid %s or type %s with uid %s", describe(p.Datasource), promVar, gen.IncidentsPluginID, incidentsVar)})
			continue
		}
		if p.Datasource.Uid == nil || *p.Datasource.Uid != want {
			out = append(out, Problem{"panel-datasource", where, fmt.Sprintf("datasource uid is %s, expected %s", describe(p.Datasource), want)})
		}
		if len(p.Targets) == 0 {
			out = append(out, Problem{"panel-datasource", where, "panel has no targets"})
		}
		for i, q := range p.Targets {
			var ref *common.DataSourceRef
			if pq, ok := asProm(q); ok {
				ref = pq.Datasource
			} else if iq, ok := asIncidents(q); ok {
				ref = iq.Datasource
			} else {
				out = append(out, Problem{"panel-datasource", fmt.Sprintf("%s target %d", where, i), fmt.Sprintf("query of unknown type %s", q.DataqueryType())})
				continue
			}
			if ref == nil || ref.Uid == nil || *ref.Uid != want {
				out = append(out, Problem{"panel-datasource", fmt.Sprintf("%s target %d", where, i), fmt.Sprintf("target datasource is %s, expected uid %s like its panel", describe(ref), want)})
			}
		}
	}
	return out
}

// NoHardcodedDatasourceUID rejects any datasource reference — panel, target,
// annotation or variable — whose uid is not a variable: a UID from one Grafana
// does not exist in another, so such a dashboard breaks on import.
func NoHardcodedDatasourceUID(d dashboard.Dashboard) []Problem {
	var out []Problem
	check := func(where string, ref *common.DataSourceRef) {
		if ref != nil && ref.Uid != nil && !strings.HasPrefix(*ref.Uid, "$") {
			out = append(out, Problem{"no-hardcoded-datasource-uid", where, fmt.Sprintf("datasource uid %q is hard-coded; use %s or %s", *ref.Uid, promVar, incidentsVar)})
		}
	}
	for _, p := range Panels(d) {
		where := "panel " + quote(title(p))
		check(where, p.Datasource)
		for i, q := range p.Targets {
			if pq, ok := asProm(q); ok {
				check(fmt.Sprintf("%s target %d", where, i), pq.Datasource)
			}
			if iq, ok := asIncidents(q); ok {
				check(fmt.Sprintf("%s target %d", where, i), iq.Datasource)
			}
		}
	}
	for _, a := range d.Annotations.List {
		if a.BuiltIn != nil && *a.BuiltIn == 1 {
			continue // Grafana's own annotations use the fixed "-- Grafana --" datasource
		}
		check("annotation "+quote(a.Name), a.Datasource)
	}
	for _, v := range d.Templating.List {
		check("variable "+v.Name, v.Datasource)
	}
	return out
}

// PanelTitleDescription requires a title and a description on every panel: the
// description is what an on-call engineer reads at 3 a.m.
func PanelTitleDescription(d dashboard.Dashboard) []Problem {
	var out []Problem
	for _, p := range Panels(d) {
		if p.Title == nil || strings.TrimSpace(*p.Title) == "" {
			out = append(out, Problem{"panel-title-description", fmt.Sprintf("panel #%d", id(p)), "panel has no title"})
		}
		if p.Description == nil || strings.TrimSpace(*p.Description) == "" {
			out = append(out, Problem{"panel-title-description", "panel " + quote(title(p)), "panel has no description"})
		}
	}
	return out
}

// knownUnits are the Grafana unit ids these dashboards may use, taken from the
// SDK's constants so a typo cannot creep in.
func knownUnits() map[string]bool {
	return map[string]bool{
		units.NoUnit: true, units.Short: true, units.Percent: true, units.PercentUnit: true,
		units.Seconds: true, units.Milliseconds: true, units.DurationSeconds: true,
		units.RequestsPerSecond: true, units.OpsPerSecond: true, units.BoolYesNo: true,
		units.Dollars: true, units.BytesIEC: true,
	}
}

// PanelUnit requires every panel to declare a unit Grafana knows ("none" is a
// deliberate choice for dimensionless scores; leaving it out is not).
func PanelUnit(d dashboard.Dashboard) []Problem {
	var out []Problem
	known := knownUnits()
	for _, p := range Panels(d) {
		where := "panel " + quote(title(p))
		unit := ""
		if p.FieldConfig != nil && p.FieldConfig.Defaults.Unit != nil {
			unit = *p.FieldConfig.Defaults.Unit
		}
		switch {
		case unit == "":
			out = append(out, Problem{"panel-unit", where, "panel has no unit (fieldConfig.defaults.unit); use \"none\" for dimensionless values"})
		case !known[unit]:
			out = append(out, Problem{"panel-unit", where, fmt.Sprintf("unit %q is not one of %s", unit, strings.Join(sortedKeys(known), ", "))})
		}
	}
	return out
}

// PromQLParses requires every target and label_values() variable query to be
// valid PromQL once Grafana's variables are substituted.
func PromQLParses(d dashboard.Dashboard) []Problem {
	var out []Problem
	for _, t := range PromTargets(d) {
		if strings.TrimSpace(t.Expr) == "" {
			out = append(out, Problem{"promql-parses", t.String(), "expression is empty"})
			continue
		}
		if _, err := ParsePromQL(t.Expr); err != nil {
			out = append(out, Problem{"promql-parses", t.String(), err.Error()})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != dashboard.VariableTypeQuery || v.Query == nil || v.Query.String == nil {
			continue
		}
		s := VariableSelector(*v.Query.String)
		if s == "" {
			out = append(out, Problem{"promql-parses", "variable " + v.Name, fmt.Sprintf("query %q is not label_values(<selector>, <label>)", *v.Query.String)})
			continue
		}
		if _, err := ParsePromQL(s); err != nil {
			out = append(out, Problem{"promql-parses", "variable " + v.Name, err.Error()})
		}
	}
	return out
}

// RateInterval requires rate, irate and increase to use $__rate_interval, which
// Grafana keeps at least four scrape intervals wide; a fixed [5m] breaks on a
// Prometheus that scrapes every 2 minutes and hides detail on a zoomed-in range.
// The single exception: an instant query may use $__range, to total a counter
// over exactly the selected time range.
func RateInterval(d dashboard.Dashboard) []Problem {
	var out []Problem
	for _, t := range PromTargets(d) {
		e, err := ParsePromQL(t.Expr)
		if err != nil {
			continue // reported by promql-parses
		}
		parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
			call, ok := n.(*parser.Call)
			if !ok || !isRangeFunc(call.Func.Name) {
				return nil
			}
			ms, ok := unwrapParens(call.Args[0]).(*parser.MatrixSelector)
			if !ok {
				out = append(out, Problem{"rate-interval", t.String(), fmt.Sprintf("%s over a subquery; use a range selector with $__rate_interval", call.Func.Name)})
				return nil
			}
			switch {
			case ms.Range == rateIntervalStandIn:
			case ms.Range == rangeStandIn && t.Instant:
			case ms.Range == rangeStandIn:
				out = append(out, Problem{"rate-interval", t.String(), fmt.Sprintf("%s over $__range is only right in an instant query; use $__rate_interval", call.Func.Name)})
			default:
				out = append(out, Problem{"rate-interval", t.String(), fmt.Sprintf("%s uses [%s]; use [$__rate_interval]", call.Func.Name, formatDuration(ms.Range))})
			}
			return nil
		})
	}
	return out
}

// CounterInRate requires every *_total series (a counter) to be read through
// rate, irate or increase (or resets, or tested with absent): a raw counter's
// value depends on when the process last restarted and means nothing on a graph.
func CounterInRate(d dashboard.Dashboard) []Problem {
	var out []Problem
	for _, t := range PromTargets(d) {
		e, err := ParsePromQL(t.Expr)
		if err != nil {
			continue
		}
		parser.Inspect(e, func(n parser.Node, path []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok || !strings.HasSuffix(selectorName(vs), "_total") {
				return nil
			}
			if !insideRangeFunc(path) {
				out = append(out, Problem{"counter-in-rate", t.String(), fmt.Sprintf("counter %s is used without rate/irate/increase", selectorName(vs))})
			}
			return nil
		})
	}
	return out
}

// ModelVersionMatchers requires every selector of an OpsCentre metric (aiops_*
// and the gen_ai_* families the exporter writes) to filter on the $model and
// $version variables, so the pickers at the top of the dashboard really select
// what every panel shows. The exporter's own health metrics (aiops_exporter_*)
// carry no model and are exempt.
func ModelVersionMatchers(d dashboard.Dashboard) []Problem {
	var out []Problem
	for _, t := range PromTargets(d) {
		e, err := ParsePromQL(t.Expr)
		if err != nil {
			continue
		}
		// The parser sees the substituted expression, so look for the matcher
		// values the variables became.
		parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			name := selectorName(vs)
			if !(strings.HasPrefix(name, "aiops_") || strings.HasPrefix(name, "gen_ai_")) || strings.HasPrefix(name, "aiops_exporter_") {
				return nil
			}
			for _, label := range []string{gen.VarModel, gen.VarVersion} {
				if !hasVarMatcher(vs, label) {
					out = append(out, Problem{"model-version-matchers", t.String(), fmt.Sprintf("selector of %s does not filter %s=~\"$%s\"", name, label, label)})
				}
			}
			return nil
		})
	}
	return out
}

func hasVarMatcher(vs *parser.VectorSelector, label string) bool {
	for _, m := range vs.LabelMatchers {
		if m.Name == label && m.Type == labels.MatchRegexp && m.Value == stringStandIn(label) {
			return true
		}
	}
	return false
}

// insideRangeFunc reports whether a selector is read by a function that
// accounts for counter resets (rate, irate, increase, resets) or ignores the
// value altogether (absent, absent_over_time), parentheses aside.
func insideRangeFunc(path []parser.Node) bool {
	for i := len(path) - 1; i >= 0; i-- {
		switch n := path[i].(type) {
		case *parser.ParenExpr, *parser.MatrixSelector, parser.Expressions:
			continue
		case *parser.Call:
			switch n.Func.Name {
			case "rate", "irate", "increase", "resets", "absent", "absent_over_time":
				return true
			}
			return false
		default:
			return false
		}
	}
	return false
}

func unwrapParens(e parser.Expr) parser.Expr {
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

func expectedVar(ref *common.DataSourceRef) string {
	switch {
	case isType(ref, "prometheus"):
		return promVar
	case isType(ref, gen.IncidentsPluginID):
		return incidentsVar
	}
	return ""
}

func isType(ref *common.DataSourceRef, typ string) bool {
	return ref != nil && ref.Type != nil && *ref.Type == typ
}

func describe(ref *common.DataSourceRef) string {
	if ref == nil {
		return "unset"
	}
	t, u := "<none>", "<none>"
	if ref.Type != nil {
		t = *ref.Type
	}
	if ref.Uid != nil {
		u = *ref.Uid
	}
	return fmt.Sprintf("{type %s, uid %s}", t, u)
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
