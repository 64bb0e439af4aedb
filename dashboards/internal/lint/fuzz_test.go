package lint

import (
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the strict loader and, when they load, to
// every rule: bad input must give errors or problems, never a panic.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"title":"x","templating":{"list":[]},"annotations":{"list":[]},"panels":[{"type":"timeseries","title":"t","targets":[{"expr":"rate(a_total[5m])","datasource":{"type":"prometheus","uid":"x"}}]}]}`))
	f.Add([]byte(`{"panels":[{"type":"row","panels":[{"type":"stat"}]}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := Load(raw)
		if err != nil {
			return
		}
		_ = Check(d)
		_, _ = DashboardMetricNames(d)
	})
}

// FuzzParsePromQL checks that variable substitution and parsing never panic,
// and that a parsed expression yields its metric names.
func FuzzParsePromQL(f *testing.F) {
	f.Add(`sum by (model) (rate(aiops_events_total{model=~"$model"}[$__rate_interval]))`)
	f.Add(`increase(x[${__range}]) / ${y:regex} [[z]]`)
	f.Add(`label_values(aiops_events_total{model=~"$model"}, version)`)
	f.Fuzz(func(t *testing.T, expr string) {
		if _, err := ParsePromQL(expr); err != nil {
			return
		}
		if _, err := MetricNames(expr); err != nil {
			t.Fatalf("parsed but MetricNames failed: %v", err)
		}
		_ = VariableSelector(expr)
	})
}
