package plugin

import (
	"context"
	"fmt"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/internal/incidentd"
)

// statColumns are the numbers of one stats row, in frame order.
var statColumns = []struct {
	name, display, unit string
	value               func(b incidentd.Bucket) *float64
}{
	{"count", "Incidents", "none", func(b incidentd.Bucket) *float64 { return new(float64(b.Count)) }},
	{"open", "Open", "none", func(b incidentd.Bucket) *float64 { return new(float64(b.Open)) }},
	{"acknowledged", "Acknowledged", "none", func(b incidentd.Bucket) *float64 { return new(float64(b.Acked)) }},
	{"resolved", "Resolved", "none", func(b incidentd.Bucket) *float64 { return new(float64(b.Resolved)) }},
	{"sla_breached", "SLA breaches", "none", func(b incidentd.Bucket) *float64 { return new(float64(b.SLABreached)) }},
	// A mean over no incident is no MTTA rather than a misleading 0 (incidentd sends 0).
	{"mtta_seconds", "MTTA", "s", func(b incidentd.Bucket) *float64 { return meanOf(b.MTTASeconds, b.Acked) }},
	{"mttr_seconds", "MTTR", "s", func(b incidentd.Bucket) *float64 { return meanOf(b.MTTRSeconds, b.Resolved) }},
}

// meanOf is a bucket's mean over n incidents, nil when there are none.
func meanOf(mean float64, n int) *float64 {
	if n == 0 {
		return nil
	}
	return &mean
}

// queryStats answers MTTA, MTTR, SLA breaches and counts of incidents detected in the range
// as a numeric-wide frame: one number per field, labelled by the group, which Grafana
// alerting reads as one series per field and label set (no user is needed for it).
func (d *Datasource) queryStats(ctx context.Context, _ *backend.QueryDataRequest, q backend.DataQuery, p Query) backend.DataResponse {
	st, err := d.client.Stats(ctx, q.TimeRange.From, q.TimeRange.To)
	if err != nil {
		return errResponse(err)
	}
	group := p.GroupBy
	var buckets []incidentd.Bucket
	switch group {
	case "", "total":
		group = ""
		buckets = []incidentd.Bucket{st.Total}
	case "tier":
		buckets = st.ByTier
	case "team":
		buckets = st.ByTeam
	case "model":
		buckets = st.ByModel
	}
	// The editor's filters narrow the groups (e.g. only P1 when grouped by tier).
	if group != "" {
		kept := buckets[:0:0]
		for _, b := range buckets {
			if (group != "tier" || len(p.Tiers) == 0 || contains(p.Tiers, b.Key)) &&
				(group != "team" || len(p.Teams) == 0 || contains(p.Teams, b.Key)) &&
				(group != "model" || len(p.Models) == 0 || contains(p.Models, b.Key)) {
				kept = append(kept, b)
			}
		}
		buckets = kept
	}
	var fields []*data.Field
	for _, b := range buckets {
		var labels data.Labels
		if group != "" {
			labels = data.Labels{group: b.Key}
		}
		for _, c := range statColumns {
			if p.Stat != "" && c.name != p.Stat {
				continue
			}
			fields = append(fields, data.NewField(c.name, labels, []*float64{c.value(b)}).SetConfig(&data.FieldConfig{DisplayName: displayName(c.display, group, b.Key), Unit: c.unit}))
		}
	}
	frame := data.NewFrame("stats", fields...)
	frame.SetMeta(&data.FrameMeta{
		Type:                data.FrameTypeNumericWide,
		TypeVersion:         data.FrameTypeVersion{0, 1},
		ExecutedQueryString: fmt.Sprintf("GET /api/v1/stats?from=%s&to=%s", st.From.UTC().Format("2006-01-02T15:04:05Z"), st.To.UTC().Format("2006-01-02T15:04:05Z")),
	})
	return backend.DataResponse{Frames: data.Frames{frame}}
}

func displayName(what, group, key string) string {
	if group == "" {
		return what
	}
	return what + " " + key
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
