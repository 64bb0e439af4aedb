package plugin

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/internal/incidentd"
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
	var notices []data.Notice
	// One read of every active containment gives each row its containment column.
	active, err := d.client.ActiveContainments(ctx)
	switch {
	case incidentd.StatusOf(err) == http.StatusNotFound:
		// incidentd without containments: the column stays empty.
	case err != nil:
		notices = append(notices, data.Notice{Severity: data.NoticeSeverityWarning, Text: "The containment column is empty: " + err.Error()})
	}
	frame.Fields = append(frame.Fields[:containmentColumn], append([]*data.Field{containmentField(t.ID, active)}, frame.Fields[containmentColumn:]...)...)
	meta := &data.FrameMeta{
		Type:                   data.FrameTypeTable,
		PreferredVisualization: data.VisTypeTable,
		ExecutedQueryString:    "GET /api/v1/incidents?" + p.filter(q.TimeRange.From, q.TimeRange.To).Encode(),
	}
	meta.Notices = notices
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

// containmentColumn is where the containment column goes: after the state, which it
// qualifies.
const containmentColumn = 4

// containmentField holds, for each incident, what its active containments make
// applications do ("fallback to v1", "disable", "block input_class=pdf"), null when none.
func containmentField(ids []int64, active []incidentd.Containment) *data.Field {
	byIncident := map[int64][]string{}
	for i := range active {
		c := &active[i]
		if c.IncidentID != 0 && c.Active {
			byIncident[c.IncidentID] = append(byIncident[c.IncidentID], describeContainment(c))
		}
	}
	vals := make([]*string, len(ids))
	for i, id := range ids {
		if cs := byIncident[id]; len(cs) > 0 {
			v := strings.Join(cs, "; ")
			vals[i] = &v
		}
	}
	return data.NewField("containment", nil, vals).SetConfig(&data.FieldConfig{
		DisplayName: "Containment",
		Description: "What the incident's active containments make applications do; the row's actions contain and lift.",
	})
}

func describeContainment(c *incidentd.Containment) string {
	s := string(c.Action)
	switch {
	case c.Action == "fallback":
		s += " to " + c.FallbackVersion
	case c.Match != nil && c.Match.InputClass != "":
		s += " input_class=" + c.Match.InputClass
	case c.Match != nil:
		s += " " + c.Match.Feature + "=" + c.Match.Value
	}
	if c.Version != "" {
		s = c.Version + ": " + s
	}
	if c.Policy != "" {
		s += " (policy " + c.Policy + ")"
	}
	return s
}
