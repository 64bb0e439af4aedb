package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/incidentd"
)

// DashboardUID is the provisioned incident-response dashboard, whose timeline panel shows
// the incident named by its $incident variable; incident ids link there.
const DashboardUID = "opscentre-incident-response"

// queryIncidents answers the incidents table: one row per incident detected in the range.
func (d *Datasource) queryIncidents(ctx context.Context, _ *backend.QueryDataRequest, q backend.DataQuery, p Query) backend.DataResponse {
	incidents, truncated, err := d.list(ctx, p, q.TimeRange.From, q.TimeRange.To)
	if err != nil {
		return errResponse(err)
	}
	d.o.Metrics.incidentsRead.Add(float64(len(incidents)))
	frame := d.incidentsFrame(incidents, p.LabelColumns)
	meta := &data.FrameMeta{
		Type:                   data.FrameTypeTable,
		PreferredVisualization: data.VisTypeTable,
		ExecutedQueryString:    "GET /api/v1/incidents?" + p.filter(q.TimeRange.From, q.TimeRange.To).Encode(),
	}
	if truncated {
		meta.Notices = append(meta.Notices, data.Notice{
			Severity: data.NoticeSeverityWarning,
			Text:     fmt.Sprintf("Showing the newest %d incidents only; narrow the time range or the filters, or raise maxIncidents in the datasource settings.", len(incidents)),
		})
	}
	frame.SetMeta(meta)
	return backend.DataResponse{Frames: data.Frames{frame}}
}

func (d *Datasource) incidentsFrame(incidents []incidentd.Incident, labelColumns []string) *data.Frame {
	n := len(incidents)
	ids := make([]int64, n)
	titles := make([]string, n)
	tiers := make([]string, n)
	states := make([]string, n)
	teams := make([]string, n)
	models := make([]string, n)
	assignees := make([]string, n)
	detected := make([]time.Time, n)
	acked := make([]*time.Time, n)
	resolved := make([]*time.Time, n)
	durations := make([]*float64, n)
	mtta := make([]*float64, n)
	breached := make([]bool, n)
	firing := make([]int64, n)
	runbooks := make([]*string, n)
	labels := make([][]*string, len(labelColumns))
	for i := range labels {
		labels[i] = make([]*string, n)
	}
	now := d.o.Now()
	for i, in := range incidents {
		ids[i] = in.ID
		titles[i] = in.Title
		tiers[i] = in.Tier
		states[i] = in.State
		teams[i] = in.Team
		models[i] = in.Model
		assignees[i] = in.Assignee
		detected[i] = in.DetectedAt
		if !in.TriagedAt.IsZero() {
			acked[i] = new(in.TriagedAt)
			mtta[i] = new(in.TriagedAt.Sub(in.DetectedAt).Seconds())
		}
		end := now
		if !in.ResolvedAt.IsZero() {
			resolved[i] = new(in.ResolvedAt)
			end = in.ResolvedAt
		}
		// An open incident's duration grows until it is resolved.
		durations[i] = new(max(end.Sub(in.DetectedAt).Seconds(), 0))
		breached[i] = in.SLABreached
		firing[i] = int64(in.AlertsFiring)
		if rb := in.Labels["runbook_url"]; rb != "" {
			runbooks[i] = new(rb)
		}
		for j, l := range labelColumns {
			if v, ok := in.Labels[l]; ok {
				labels[j][i] = new(v)
			}
		}
	}
	idField := data.NewField("id", nil, ids).SetConfig(&data.FieldConfig{
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
		data.NewField("title", nil, titles).SetConfig(&data.FieldConfig{DisplayName: "Title"}),
		data.NewField("tier", nil, tiers).SetConfig(&data.FieldConfig{DisplayName: "Tier"}),
		data.NewField("state", nil, states).SetConfig(&data.FieldConfig{DisplayName: "State"}),
		data.NewField("team", nil, teams).SetConfig(&data.FieldConfig{DisplayName: "Team"}),
		data.NewField("model", nil, models).SetConfig(&data.FieldConfig{DisplayName: "Model"}),
		data.NewField("assignee", nil, assignees).SetConfig(&data.FieldConfig{DisplayName: "Assignee"}),
		data.NewField("detected", nil, detected).SetConfig(&data.FieldConfig{DisplayName: "Detected"}),
		data.NewField("acknowledged", nil, acked).SetConfig(&data.FieldConfig{DisplayName: "Acknowledged"}),
		data.NewField("resolved", nil, resolved).SetConfig(&data.FieldConfig{DisplayName: "Resolved"}),
		data.NewField("duration", nil, durations).SetConfig(&data.FieldConfig{DisplayName: "Duration", Unit: "s"}),
		data.NewField("mtta", nil, mtta).SetConfig(&data.FieldConfig{DisplayName: "Time to acknowledge", Unit: "s"}),
		data.NewField("sla_breached", nil, breached).SetConfig(&data.FieldConfig{DisplayName: "SLA breached"}),
		data.NewField("alerts_firing", nil, firing).SetConfig(&data.FieldConfig{DisplayName: "Alerts firing"}),
		data.NewField("runbook", nil, runbooks).SetConfig(&data.FieldConfig{
			DisplayName: "Runbook",
			Links:       []data.DataLink{{Title: "Open runbook", URL: "${__value.raw}", TargetBlank: true}},
		}),
	}
	for j, l := range labelColumns {
		fields = append(fields, data.NewField("label_"+l, nil, labels[j]).SetConfig(&data.FieldConfig{DisplayName: l}))
	}
	return data.NewFrame("incidents", fields...)
}
