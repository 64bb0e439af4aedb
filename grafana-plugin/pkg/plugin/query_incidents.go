package plugin

import (
	"context"
	"fmt"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/incidentd"
)

// DashboardUID is the provisioned incident-response dashboard, whose timeline panel shows
// the incident named by its $incident variable; incident ids link there.
const DashboardUID = "opscentre-incidents"

// queryIncidents answers the incidents table: one row per incident detected in the range.
func (d *Datasource) queryIncidents(ctx context.Context, _ *backend.QueryDataRequest, q backend.DataQuery, p Query) backend.DataResponse {
	t, truncated, err := d.client.ListTable(ctx, incidentd.TableRequest{Filter: p.filter(q.TimeRange.From, q.TimeRange.To),
		Max: d.settings.MaxIncidents, LabelNames: p.LabelColumns, Keep: p.match})
	if err != nil {
		return errResponse(err)
	}
	d.o.Metrics.incidentsRead.Add(float64(t.Len()))
	frame := d.incidentsFrame(t)
	meta := &data.FrameMeta{
		Type:                   data.FrameTypeTable,
		PreferredVisualization: data.VisTypeTable,
		ExecutedQueryString:    "GET /api/v1/incidents?" + p.filter(q.TimeRange.From, q.TimeRange.To).Encode(),
	}
	if truncated {
		meta.Notices = append(meta.Notices, data.Notice{
			Severity: data.NoticeSeverityWarning,
			Text:     fmt.Sprintf("Showing the newest %d incidents only; narrow the time range or the filters, or raise maxIncidents in the datasource settings.", t.Len()),
		})
	}
	frame.SetMeta(meta)
	return backend.DataResponse{Frames: data.Frames{frame}}
}

// incidentsFrame builds the table frame from the columns as decoded; only the durations
// are computed here.
func (d *Datasource) incidentsFrame(t *incidentd.Table) *data.Frame {
	n := t.Len()
	durations := make([]*float64, n)
	mtta := make([]*float64, n)
	// One block backs both pointer columns instead of an allocation per value.
	secs := make([]float64, 2*n)
	now := d.o.Now()
	for i, det := range t.Detected {
		if tri := t.Triaged[i]; tri != nil {
			secs[n+i] = tri.Sub(det).Seconds()
			mtta[i] = &secs[n+i]
		}
		end := now
		if res := t.Resolved[i]; res != nil {
			end = *res
		}
		// An open incident's duration grows until it is resolved.
		secs[i] = max(end.Sub(det).Seconds(), 0)
		durations[i] = &secs[i]
	}
	idField := data.NewField("id", nil, t.ID).SetConfig(&data.FieldConfig{
		DisplayName: "ID",
		Links: []data.DataLink{
			{
				// The provisioned incidents dashboard shows the timeline of $incident.
				Title: "Timeline of incident #${__value.raw}",
				URL:   "/d/" + DashboardUID + "?var-incident=${__value.raw}&${__url_time_range}",
			},
			{
				Title:       "Incident #${__value.raw} in incidentd's API",
				URL:         d.settings.LinkURL + "/api/v1/incidents/${__value.raw}",
				TargetBlank: true,
			},
		},
	})
	fields := []*data.Field{
		idField,
		data.NewField("title", nil, t.Title).SetConfig(&data.FieldConfig{DisplayName: "Title"}),
		data.NewField("tier", nil, t.Tier).SetConfig(&data.FieldConfig{DisplayName: "Tier"}),
		data.NewField("state", nil, t.State).SetConfig(&data.FieldConfig{DisplayName: "State"}),
		data.NewField("team", nil, t.Team).SetConfig(&data.FieldConfig{DisplayName: "Team"}),
		data.NewField("model", nil, t.Model).SetConfig(&data.FieldConfig{DisplayName: "Model"}),
		data.NewField("assignee", nil, t.Assignee).SetConfig(&data.FieldConfig{DisplayName: "Assignee"}),
		data.NewField("detected", nil, t.Detected).SetConfig(&data.FieldConfig{DisplayName: "Detected"}),
		data.NewField("acknowledged", nil, t.Triaged).SetConfig(&data.FieldConfig{DisplayName: "Acknowledged"}),
		data.NewField("resolved", nil, t.Resolved).SetConfig(&data.FieldConfig{DisplayName: "Resolved"}),
		data.NewField("duration", nil, durations).SetConfig(&data.FieldConfig{DisplayName: "Duration", Unit: "s"}),
		data.NewField("mtta", nil, mtta).SetConfig(&data.FieldConfig{DisplayName: "Time to acknowledge", Unit: "s"}),
		data.NewField("sla_breached", nil, t.SLABreached).SetConfig(&data.FieldConfig{DisplayName: "SLA breached"}),
		data.NewField("alerts_firing", nil, t.AlertsFiring).SetConfig(&data.FieldConfig{DisplayName: "Alerts firing"}),
		data.NewField("runbook", nil, t.Runbook).SetConfig(&data.FieldConfig{
			DisplayName: "Runbook",
			Links:       []data.DataLink{{Title: "Open runbook", URL: "${__value.raw}", TargetBlank: true}},
		}),
	}
	for j, l := range t.LabelNames {
		fields = append(fields, data.NewField("label_"+l, nil, t.Labels[j]).SetConfig(&data.FieldConfig{DisplayName: l}))
	}
	return data.NewFrame("incidents", fields...)
}
