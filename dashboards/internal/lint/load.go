// Package lint checks Grafana dashboard JSON the way the upstream
// dashboard-linter would (which cannot be built here): strict decoding into the
// foundation SDK's types, the SDK's validation, and one function per rule —
// datasource variables, titles, descriptions and units, $__rate_interval,
// counters only inside rate/increase, no hard-coded datasource UIDs, and PromQL
// that parses. It also lists the metric names every expression uses, so they can
// be checked against what the exporter really exposes.
package lint

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"

	"github.com/opscentre/opscentre/dashboards/gen"
)

// Load decodes a dashboard strictly — an unknown or misspelt field, a missing
// required field or a wrong type is an error — and runs the SDK's validation.
//
// The SDK's strict decoders (v0.0.22) report errors correctly but lose data on
// success: they mistake the empty error list a nested decoder returns for a
// failure and drop the panel, target or options they just decoded, so every
// panel rule would pass vacuously on a strictly decoded dashboard. Load
// therefore uses the strict decoder only for its verdict and the SDK's regular
// decoder for the value; TestLoadKeepsEverything re-encodes the value and
// compares it with the file to prove nothing is lost.
func Load(raw []byte) (dashboard.Dashboard, error) {
	gen.RegisterPlugins()
	var strict dashboard.Dashboard
	if err := sdkError(strict.UnmarshalJSONStrict(raw)); err != nil {
		return strict, fmt.Errorf("strict decode: %w", err)
	}
	var d dashboard.Dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, fmt.Errorf("decode: %w", err)
	}
	if err := sdkError(d.Validate()); err != nil {
		return d, fmt.Errorf("validate: %w", err)
	}
	return d, nil
}

// sdkError turns the SDK's empty cog.BuildErrors — which its strict decoders
// return as a non-nil error interface when nothing went wrong — into nil.
func sdkError(err error) error {
	var be cog.BuildErrors
	if errors.As(err, &be) && len(be) == 0 {
		return nil
	}
	return err
}

// Panels returns every panel, including those nested in collapsed rows; rows
// themselves are layout, not panels.
func Panels(d dashboard.Dashboard) []dashboard.Panel {
	var out []dashboard.Panel
	for _, p := range d.Panels {
		if p.Panel != nil {
			out = append(out, *p.Panel)
		}
		if p.RowPanel != nil {
			out = append(out, p.RowPanel.Panels...)
		}
	}
	return out
}

// Target is one PromQL query of a panel.
type Target struct {
	Panel   string
	RefID   string
	Expr    string
	Legend  string
	Instant bool
}

func (t Target) String() string { return fmt.Sprintf("panel %q target %s", t.Panel, t.RefID) }

// PromTargets lists the Prometheus queries of every panel.
func PromTargets(d dashboard.Dashboard) []Target {
	var out []Target
	for _, p := range Panels(d) {
		for _, q := range p.Targets {
			pq, ok := asProm(q)
			if !ok {
				continue
			}
			t := Target{Panel: title(p), Expr: pq.Expr}
			if pq.RefId != nil {
				t.RefID = *pq.RefId
			}
			if pq.LegendFormat != nil {
				t.Legend = *pq.LegendFormat
			}
			t.Instant = pq.Instant != nil && *pq.Instant && (pq.Range == nil || !*pq.Range)
			out = append(out, t)
		}
	}
	return out
}

// PromTargetsByPanel counts the panels that have at least one Prometheus target.
func PromTargetsByPanel(d dashboard.Dashboard) map[string]int {
	out := map[string]int{}
	for _, t := range PromTargets(d) {
		out[t.Panel]++
	}
	return out
}

func asProm(q variants.Dataquery) (prometheus.Dataquery, bool) {
	switch v := q.(type) {
	case *prometheus.Dataquery:
		return *v, v != nil
	case prometheus.Dataquery:
		return v, true
	}
	return prometheus.Dataquery{}, false
}

func asIncidents(q variants.Dataquery) (gen.IncidentsQuery, bool) {
	switch v := q.(type) {
	case *gen.IncidentsQuery:
		return *v, v != nil
	case gen.IncidentsQuery:
		return v, true
	}
	return gen.IncidentsQuery{}, false
}

func title(p dashboard.Panel) string {
	if p.Title == nil {
		return fmt.Sprintf("#%d (untitled)", id(p))
	}
	return *p.Title
}

func id(p dashboard.Panel) uint32 {
	if p.Id == nil {
		return 0
	}
	return *p.Id
}
