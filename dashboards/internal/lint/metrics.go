package lint

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
)

// Family types, as in the exposition's # TYPE line.
const (
	Counter   = "counter"
	Gauge     = "gauge"
	Histogram = "histogram"
	Summary   = "summary"
)

// DashboardMetricNames lists every metric name a dashboard's expressions and
// label_values() variables select, sorted and without duplicates.
func DashboardMetricNames(d dashboard.Dashboard) ([]string, error) {
	seen := map[string]bool{}
	add := func(where, expr string) error {
		names, err := MetricNames(expr)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		for _, n := range names {
			seen[n] = true
		}
		return nil
	}
	for _, t := range PromTargets(d) {
		if err := add(t.String(), t.Expr); err != nil {
			return nil, err
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != dashboard.VariableTypeQuery || v.Query == nil || v.Query.String == nil {
			continue
		}
		if s := VariableSelector(*v.Query.String); s != "" {
			if err := add("variable "+v.Name, s); err != nil {
				return nil, err
			}
		}
	}
	return sortedKeys(seen), nil
}

// KnownSeries turns metric families (name → type) into the series names PromQL
// can select: a histogram is queried as name_bucket, name_sum, name_count and —
// as a native histogram — name; a summary as name, name_sum and name_count.
func KnownSeries(families map[string]string) map[string]bool {
	out := make(map[string]bool, len(families)*2)
	for name, typ := range families {
		out[name] = true
		switch typ {
		case Histogram:
			out[name+"_bucket"] = true
			out[name+"_sum"] = true
			out[name+"_count"] = true
		case Summary:
			out[name+"_sum"] = true
			out[name+"_count"] = true
		}
	}
	return out
}

// FamiliesFromExposition reads a Prometheus text exposition (a scrape of
// /metrics) into family name → type, to feed KnownSeries with what a running
// exporter really exposes.
func FamiliesFromExposition(r io.Reader) (map[string]string, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse exposition: %w", err)
	}
	out := make(map[string]string, len(mfs))
	for name, mf := range mfs {
		out[name] = typeName(mf.GetType())
	}
	return out, nil
}

func typeName(t dto.MetricType) string {
	switch t {
	case dto.MetricType_COUNTER:
		return Counter
	case dto.MetricType_GAUGE:
		return Gauge
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return Histogram
	case dto.MetricType_SUMMARY:
		return Summary
	}
	return "untyped"
}

// CheckMetricsExist fails with the list of names that are not in known, so a
// dashboard cannot ship a panel that is empty because its metric was renamed
// or never exported.
func CheckMetricsExist(names []string, known map[string]bool) error {
	var missing []string
	for _, n := range names {
		if !known[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return fmt.Errorf("%d metric(s) used by the dashboards are not exported: %s", len(missing), strings.Join(missing, ", "))
}

// ExternalFamilies are the metrics the infrastructure dashboard reads from
// standard exporters, not from aiops_exporter: node_exporter for CPU and the
// NVIDIA DCGM exporter for GPUs. Their panels are empty when those exporters
// are not scraped, by design.
func ExternalFamilies() map[string]string {
	return map[string]string{
		"node_cpu_seconds_total": Counter,
		"DCGM_FI_DEV_GPU_UTIL":   Gauge,
	}
}

// RecordedSeries returns the series names recording rules produce, which
// dashboards may select like exported metrics.
func RecordedSeries(groups []rulefmt.RuleGroup) map[string]bool {
	out := map[string]bool{}
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				out[r.Record] = true
			}
		}
	}
	return out
}
