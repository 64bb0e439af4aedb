package gen

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// FuzzIncidentsQuery checks the plugin query decoder: any input gives a query
// or an error, and a decoded query re-validates without panicking.
func FuzzIncidentsQuery(f *testing.F) {
	f.Add([]byte(`{"queryType":"counts","state":"open","splitBy":"tier","refId":"A"}`))
	f.Add([]byte(`{"queryType":"stats","stat":"mttr","datasource":{"type":"opscentre-incidents-datasource","uid":"${incidents}"}}`))
	f.Add([]byte(`{"tier":1}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		q, err := unmarshalIncidentsQueryStrict(raw)
		if err != nil {
			return
		}
		_ = q.Validate()
		_ = q.Equals(q)
	})
}

// FuzzPlanAlert checks that splitting any alert expression into what to plot
// never panics and that every part it returns is valid PromQL again.
func FuzzPlanAlert(f *testing.F) {
	f.Add(`avg by (model) (aiops_model_accuracy) < 0.85`)
	f.Add(`(0.5 > x) and y unless z`)
	f.Add(`model:aiops_events:rate5m < 0.5 * model:aiops_events:rate5m_1w`)
	f.Fuzz(func(t *testing.T, expr string) {
		plan, err := planAlert(expr)
		if err != nil {
			return
		}
		for _, part := range []string{plan.value, plan.threshold} {
			if part == "" {
				continue
			}
			if _, err := parser.NewParser(parser.Options{}).ParseExpr(strings.NewReplacer("$model", "x", "$version", "x").Replace(part)); err != nil {
				t.Fatalf("planAlert(%q) produced invalid PromQL %q: %v", expr, part, err)
			}
		}
	})
}
