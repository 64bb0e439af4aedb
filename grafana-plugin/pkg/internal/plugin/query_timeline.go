package plugin

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/internal/incidentd"
)

// changeWindow is how long before detection a change counts as related to an incident.
const changeWindow = 24 * time.Hour

type event struct {
	at                 time.Time
	source, kind, what string
	actor, detail      string
}

// queryTimeline answers one incident's history as a logs-like frame, oldest first: state
// changes, alerts firing and resolving, notes, and the model's changes around it.
func (d *Datasource) queryTimeline(ctx context.Context, _ *backend.QueryDataRequest, _ backend.DataQuery, p Query) backend.DataResponse {
	id, err := p.incidentID()
	if err != nil {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, err.Error())
	}
	det, err := d.client.Get(ctx, id)
	if err != nil {
		return errResponse(err)
	}
	var evs []event
	for _, t := range det.Timeline {
		what := t.Kind
		if t.From != "" || t.To != "" {
			what = fmt.Sprintf("%s → %s", orDash(string(t.From)), orDash(string(t.To)))
		}
		evs = append(evs, event{at: t.At, source: "timeline", kind: t.Kind, what: what, actor: t.Actor, detail: t.Note})
	}
	for _, a := range det.Alerts {
		name := a.Labels["alertname"]
		detail := a.Annotations["summary"]
		evs = append(evs, event{at: a.StartsAt, source: "alert", kind: "firing", what: name + " firing", actor: "alertmanager", detail: detail})
		if !a.EndsAt.IsZero() && a.Status == "resolved" {
			evs = append(evs, event{at: a.EndsAt, source: "alert", kind: "resolved", what: name + " resolved", actor: "alertmanager", detail: detail})
		}
	}
	for _, n := range det.Notes {
		detail := n.Text
		if n.URL != "" {
			detail = strings.TrimSpace(detail + " " + n.URL)
		}
		kind := n.Kind
		if n.ContainmentKind != "" {
			kind += ":" + n.ContainmentKind
		}
		evs = append(evs, event{at: n.At, source: "note", kind: kind, what: "note (" + kind + ")", actor: n.Actor, detail: detail})
	}
	var notices []data.Notice
	end := det.ResolvedAt
	if end.IsZero() {
		end = d.o.Now()
	}
	changes, err := d.client.Changes(ctx, det.DetectedAt.Add(-changeWindow), end)
	switch {
	case incidentd.StatusOf(err) == http.StatusNotFound:
		// incidentd without a change log: the timeline is still useful without it.
	case err != nil:
		notices = append(notices, data.Notice{Severity: data.NoticeSeverityWarning, Text: "Related changes are missing: " + err.Error()})
	default:
		for _, c := range changes {
			if det.Model != "" && c.Model != "" && c.Model != det.Model {
				continue
			}
			evs = append(evs, event{at: c.At, source: "change", kind: c.Kind, what: c.Title, actor: c.Actor, detail: c.Text})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at.Before(evs[j].at) })

	n := len(evs)
	times := make([]time.Time, n)
	sources, kinds, whats, actors, details := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range evs {
		times[i], sources[i], kinds[i], whats[i], actors[i], details[i] = e.at, e.source, e.kind, e.what, e.actor, e.detail
	}
	frame := data.NewFrame(fmt.Sprintf("incident %d timeline", id),
		data.NewField("time", nil, times),
		data.NewField("source", nil, sources),
		data.NewField("kind", nil, kinds),
		data.NewField("event", nil, whats),
		data.NewField("actor", nil, actors),
		data.NewField("detail", nil, details),
	)
	frame.SetMeta(&data.FrameMeta{
		Type:                   data.FrameTypeTable,
		PreferredVisualization: data.VisTypeTable,
		ExecutedQueryString:    fmt.Sprintf("GET /api/v1/incidents/%d", id),
		Notices:                notices,
	})
	return backend.DataResponse{Frames: data.Frames{frame}}
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
