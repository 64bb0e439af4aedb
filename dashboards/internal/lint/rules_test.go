package lint

import (
	"encoding/json"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/stretchr/testify/require"
)

// Each rule gets a deliberately broken dashboard it must catch. The breakage is
// applied to a real generated dashboard, so the rest of it is known to be clean
// and the rule under test is the only one that can fire.

type doc = map[string]any

// broken loads overview.json after applying change to its generic JSON form.
func broken(t *testing.T, change func(d doc)) dashboard.Dashboard {
	t.Helper()
	var m doc
	require.NoError(t, json.Unmarshal(committed(t)["overview.json"], &m))
	change(m)
	raw, err := json.Marshal(m)
	require.NoError(t, err)
	d, err := Load(raw)
	require.NoError(t, err)
	return d
}

// panelNamed returns the panel with the given title.
func panelNamed(t *testing.T, m doc, title string) doc {
	t.Helper()
	for _, p := range m["panels"].([]any) {
		if p.(doc)["title"] == title {
			return p.(doc)
		}
	}
	t.Fatalf("no panel %q", title)
	return nil
}

func target(p doc, i int) doc { return p["targets"].([]any)[i].(doc) }

func variable(t *testing.T, m doc, name string) doc {
	t.Helper()
	for _, v := range m["templating"].(doc)["list"].([]any) {
		if v.(doc)["name"] == name {
			return v.(doc)
		}
	}
	t.Fatalf("no variable %q", name)
	return nil
}

func messages(ps []Problem) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func TestRulesCatchBrokenDashboards(t *testing.T) {
	cases := []struct {
		name   string
		rule   func(dashboard.Dashboard) []Problem
		change func(t *testing.T, m doc)
		want   []string
	}{
		{
			name: "datasource variable missing",
			rule: DatasourceVariable,
			change: func(t *testing.T, m doc) {
				tl := m["templating"].(doc)
				tl["list"] = tl["list"].([]any)[1:]
			},
			want: []string{`datasource-variable: templating: no "datasource" variable; add a datasource variable of type prometheus`},
		},
		{
			name: "datasource variable of the wrong plugin type and label",
			rule: DatasourceVariable,
			change: func(t *testing.T, m doc) {
				v := variable(t, m, "datasource")
				v["query"] = "loki"
				v["label"] = "Prometheus"
			},
			want: []string{
				`datasource-variable: variable datasource: must select datasources of type "prometheus"`,
				`datasource-variable: variable datasource: label must be "Data Source"`,
			},
		},
		{
			name: "incidents variable missing while a panel uses the plugin",
			rule: DatasourceVariable,
			change: func(t *testing.T, m doc) {
				tl := m["templating"].(doc)
				l := tl["list"].([]any)
				tl["list"] = append([]any{l[0]}, l[2:]...)
			},
			want: []string{`datasource-variable: templating: no "incidents" variable; add a datasource variable of type opscentre-incidents-datasource`},
		},
		{
			name: "panel on Grafana's default datasource",
			rule: PanelDatasource,
			change: func(t *testing.T, m doc) {
				delete(panelNamed(t, m, "Accuracy"), "datasource")
			},
			want: []string{`panel-datasource: panel "Accuracy": datasource is unset, expected type prometheus with uid ${datasource} or type opscentre-incidents-datasource with uid ${incidents}`},
		},
		{
			name: "target that ignores the datasource variable",
			rule: PanelDatasource,
			change: func(t *testing.T, m doc) {
				target(panelNamed(t, m, "Request rate"), 0)["datasource"] = doc{"type": "prometheus", "uid": "${prom2}"}
			},
			want: []string{`panel-datasource: panel "Request rate" target 0: target datasource is {type prometheus, uid ${prom2}}, expected uid ${datasource} like its panel`},
		},
		{
			name: "panel without targets",
			rule: PanelDatasource,
			change: func(t *testing.T, m doc) {
				panelNamed(t, m, "Request rate")["targets"] = []any{}
			},
			want: []string{`panel-datasource: panel "Request rate": panel has no targets`},
		},
		{
			name: "hard-coded datasource UIDs on a target, an annotation and a variable",
			rule: NoHardcodedDatasourceUID,
			change: func(t *testing.T, m doc) {
				target(panelNamed(t, m, "Error rate"), 0)["datasource"] = doc{"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}
				m["annotations"].(doc)["list"].([]any)[0].(doc)["datasource"] = doc{"type": "opscentre-incidents-datasource", "uid": "incidents"}
				variable(t, m, "model")["datasource"] = doc{"type": "prometheus", "uid": "prom-main"}
			},
			want: []string{
				`no-hardcoded-datasource-uid: panel "Error rate" target 0: datasource uid "P1809F7CD0C75ACF3" is hard-coded; use ${datasource} or ${incidents}`,
				`no-hardcoded-datasource-uid: annotation "Incidents and changes": datasource uid "incidents" is hard-coded; use ${datasource} or ${incidents}`,
				`no-hardcoded-datasource-uid: variable model: datasource uid "prom-main" is hard-coded; use ${datasource} or ${incidents}`,
			},
		},
		{
			name: "panel without description, panel with a blank title",
			rule: PanelTitleDescription,
			change: func(t *testing.T, m doc) {
				delete(panelNamed(t, m, "Accuracy"), "description")
				panelNamed(t, m, "Error rate")["title"] = "  "
			},
			want: []string{
				`panel-title-description: panel "Accuracy": panel has no description`,
				`panel-title-description: panel #5: panel has no title`,
			},
		},
		{
			name: "panel without unit, panel with a unit Grafana does not know",
			rule: PanelUnit,
			change: func(t *testing.T, m doc) {
				delete(panelNamed(t, m, "Accuracy")["fieldConfig"].(doc)["defaults"].(doc), "unit")
				panelNamed(t, m, "P95 latency")["fieldConfig"].(doc)["defaults"].(doc)["unit"] = "seconds"
			},
			want: []string{
				`panel-unit: panel "Accuracy": panel has no unit (fieldConfig.defaults.unit); use "none" for dimensionless values`,
				`panel-unit: panel "P95 latency": unit "seconds" is not one of bool_yes_no, bytes, currencyUSD, dtdurations, ms, none, ops, percent, percentunit, reqps, s, short`,
			},
		},
		{
			name: "PromQL that does not parse, in a target and in a variable",
			rule: PromQLParses,
			change: func(t *testing.T, m doc) {
				target(panelNamed(t, m, "Request rate"), 0)["expr"] = `sum by (model) (rate(aiops_events_total[$__rate_interval])`
				variable(t, m, "version")["query"] = `label_values(aiops_events_total{model=~"$model", version)`
				variable(t, m, "model")["query"] = `query_result(up)`
			},
			want: []string{
				`promql-parses: panel "Request rate" target A: PromQL does not parse: 1:48: parse error: unclosed left parenthesis (in sum by (model) (rate(aiops_events_total[7m13s]))`,
				`promql-parses: variable model: query "query_result(up)" is not label_values(<selector>, <label>)`,
				`promql-parses: variable version: PromQL does not parse: 1:38: parse error: unexpected end of input inside braces (in aiops_events_total{model=~"var_model")`,
			},
		},
		{
			name: "fixed rate window, $__range in a range query, irate on $__interval",
			rule: RateInterval,
			change: func(t *testing.T, m doc) {
				target(panelNamed(t, m, "Request rate"), 0)["expr"] = `sum(rate(aiops_events_total[5m]))`
				target(panelNamed(t, m, "Error rate"), 0)["expr"] = `sum(increase(aiops_inference_errors_total[$__range]))`
				target(panelNamed(t, m, "Task completion"), 0)["expr"] = `sum(irate(aiops_task_outcomes_total[$__interval]))`
			},
			want: []string{
				`rate-interval: panel "Error rate" target A: increase over $__range is only right in an instant query; use $__rate_interval`,
				`rate-interval: panel "Task completion" target A: irate uses [$__interval]; use [$__rate_interval]`,
				`rate-interval: panel "Request rate" target A: rate uses [5m]; use [$__rate_interval]`,
			},
		},
		{
			name: "raw counters",
			rule: CounterInRate,
			change: func(t *testing.T, m doc) {
				target(panelNamed(t, m, "Request rate"), 0)["expr"] = `sum by (model) (aiops_events_total{model=~"$model"})`
				target(panelNamed(t, m, "Error rate"), 0)["expr"] = `delta(aiops_inference_errors_total[$__rate_interval]) / rate(aiops_events_total[$__rate_interval])`
			},
			want: []string{
				`counter-in-rate: panel "Error rate" target A: counter aiops_inference_errors_total is used without rate/irate/increase`,
				`counter-in-rate: panel "Request rate" target A: counter aiops_events_total is used without rate/irate/increase`,
			},
		},
		{
			name: "selectors that ignore the model and version pickers",
			rule: ModelVersionMatchers,
			change: func(t *testing.T, m doc) {
				target(panelNamed(t, m, "Request rate"), 0)["expr"] = `sum(rate(aiops_events_total{model=~"$model"}[$__rate_interval]))`
				target(panelNamed(t, m, "Accuracy"), 0)["expr"] = `avg(aiops_model_accuracy{model="fraud", version=~"$version"}) + min(aiops_exporter_config_last_reload_successful) + max(up)`
				target(panelNamed(t, m, "Error rate"), 0)["expr"] = `sum(rate(aiops_inference_errors_total{model=~"$version", version=~"$version"}[$__rate_interval]))`
			},
			want: []string{
				`model-version-matchers: panel "Accuracy" target A: selector of aiops_model_accuracy does not filter model=~"$model"`,
				`model-version-matchers: panel "Error rate" target A: selector of aiops_inference_errors_total does not filter model=~"$model"`,
				`model-version-matchers: panel "Request rate" target A: selector of aiops_events_total does not filter version=~"$version"`,
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := broken(t, func(m doc) { c.change(t, m) })
			require.ElementsMatch(t, c.want, messages(c.rule(d)))
		})
	}
}

// TestCounterInRateAllowsAbsent: absent() only asks whether the series exists.
func TestCounterInRateAllowsAbsent(t *testing.T) {
	d := broken(t, func(m doc) {
		target(panelNamed(t, m, "Request rate"), 0)["expr"] = `absent(aiops_events_total{model=~"$model", version=~"$version"}) or sum(resets(aiops_events_total{model=~"$model", version=~"$version"}[$__rate_interval]))`
	})
	require.Empty(t, CounterInRate(d))
}

// TestRateIntervalAllowsRangeInInstantQueries keeps the one exception honest:
// totalling a counter over the picked range in an instant query is right.
func TestRateIntervalAllowsRangeInInstantQueries(t *testing.T) {
	d := broken(t, func(m doc) {
		target(panelNamed(t, m, "Spend over the range"), 0)["expr"] = `sum(increase(aiops_cost_total[$__range]))`
	})
	require.Empty(t, RateInterval(d))
}

func TestLoadRejectsUnknownFields(t *testing.T) {
	cases := []struct {
		name   string
		change func(t *testing.T, m doc)
		want   string
	}{
		{"misspelt panel field", func(t *testing.T, m doc) { panelNamed(t, m, "Accuracy")["descripton"] = "x" }, "unexpected field 'descripton'"},
		{"misspelt Prometheus target field", func(t *testing.T, m doc) { target(panelNamed(t, m, "Accuracy"), 0)["exp"] = "up" }, "unexpected field 'exp'"},
		{"misspelt incidents target field", func(t *testing.T, m doc) {
			target(panelNamed(t, m, "Open incidents"), 0)["sate"] = "open"
		}, `unknown field "sate"`},
		{"wrong type", func(t *testing.T, m doc) { panelNamed(t, m, "Accuracy")["title"] = 42 }, "title"},
		{"unknown top-level field", func(t *testing.T, m doc) { m["pannels"] = []any{} }, "unexpected field 'pannels'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var m doc
			require.NoError(t, json.Unmarshal(committed(t)["overview.json"], &m))
			c.change(t, m)
			raw, err := json.Marshal(m)
			require.NoError(t, err)
			_, err = Load(raw)
			require.ErrorContains(t, err, c.want)
		})
	}
}

func TestSubstituteKeepsExpressionsParseable(t *testing.T) {
	cases := map[string]string{
		`rate(x{model=~"$model"}[$__rate_interval])`:     `rate(x{model=~"var_model"}[7m13s])`,
		`increase(x{a="${model:regex}"}[${__range}])`:    `increase(x{a="var_model"}[3h17m19s])`,
		`avg_over_time(x{a="[[version]]"}[$__interval])`: `avg_over_time(x{a="var_version"}[1m1s])`,
		`x > $__range_s`: `x > 11839`,
		`x > $threshold and y{a="$threshold"} < ${budget}`:                      `x > 1 and y{a="var_threshold"} < 1`,
		"vector($daily_budget) + on() group_left sum(z{a='it\\'s $v', b=`$w`})": "vector(1) + on() group_left sum(z{a='it\\'s var_v', b=`var_w`})",
		`sum(rate(y[$__rate_interval] offset $__interval))`:                     `sum(rate(y[7m13s] offset 1m1s))`,
		`label_replace(up, "dst", "$1", "instance", "(.*)")`:                    `label_replace(up, "dst", "$1", "instance", "(.*)")`,
		`histogram_quantile(0.95, sum by (le) (rate(h[$__rate_interval])))`:     `histogram_quantile(0.95, sum by (le) (rate(h[7m13s])))`,
	}
	for in, want := range cases {
		require.Equal(t, want, Substitute(in), in)
		_, err := ParsePromQL(in)
		require.NoError(t, err, in)
	}
}

func TestMetricNames(t *testing.T) {
	got, err := MetricNames(`sum(rate(a_total{model=~"$model"}[$__rate_interval])) / ignoring(x) group_left sum(rate(b_total[$__rate_interval])) + on() {__name__="c"} * scalar(d offset 1w) + count({job="x"})`)
	require.NoError(t, err)
	require.Equal(t, []string{"a_total", "b_total", "c", "d"}, got)

	_, err = MetricNames(`rate(a[5m]`)
	require.ErrorContains(t, err, "PromQL does not parse")
}
