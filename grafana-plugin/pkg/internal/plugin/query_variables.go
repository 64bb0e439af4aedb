package plugin

import (
	"context"
	"slices"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// optionsLookback is how far back teams and models are collected for variables and editors.
const optionsLookback = 365 * 24 * time.Hour

// queryVariables answers the values of a dashboard variable (teams, models, tiers,
// states) as a frame whose first field holds them, which is what Grafana's
// metric-find reads.
func (d *Datasource) queryVariables(ctx context.Context, _ *backend.QueryDataRequest, _ backend.DataQuery, p Query) backend.DataResponse {
	kind := p.Variable
	if kind == "" {
		kind = "teams"
	}
	values, err := d.options(ctx, kind)
	if err != nil {
		return errResponse(err)
	}
	frame := data.NewFrame(kind, data.NewField("text", nil, values))
	return backend.DataResponse{Frames: data.Frames{frame}}
}

// options lists the values of one kind, sorted; teams and models are those of incidents
// detected in the last year, as incidentd's stats report them.
func (d *Datasource) options(ctx context.Context, kind string) ([]string, error) {
	switch kind {
	case "tiers":
		return slices.Clone(validTiers), nil
	case "states":
		return slices.Clone(validStates), nil
	}
	now := d.o.Now()
	st, err := d.client.Stats(ctx, now.Add(-optionsLookback), now)
	if err != nil {
		return nil, err
	}
	buckets := st.ByTeam
	if kind == "models" {
		buckets = st.ByModel
	}
	out := []string{}
	for _, b := range buckets {
		if b.Key != "" && !slices.Contains(out, b.Key) {
			out = append(out, b.Key)
		}
	}
	slices.Sort(out)
	return out, nil
}
