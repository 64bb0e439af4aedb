package plugin

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/incidentd"
)

// queryAnnotations answers incidents (a region from detection to resolution) and, on
// request, change-log entries (a point) as an annotation frame, so any dashboard can show
// "incident opened / model deployed" over its graphs.
func (d *Datasource) queryAnnotations(ctx context.Context, _ *backend.QueryDataRequest, q backend.DataQuery, p Query) backend.DataResponse {
	incidents, truncated, err := d.list(ctx, p, q.TimeRange.From, q.TimeRange.To)
	if err != nil {
		return errResponse(err)
	}
	d.o.Metrics.incidentsRead.Add(float64(len(incidents)))
	var (
		times, ends         []time.Time
		titles, texts, tags []string
		ids                 []*int64
		notices             []data.Notice
	)
	now := d.o.Now()
	for _, in := range incidents {
		end := in.ResolvedAt
		if end.IsZero() {
			end = now
		}
		times = append(times, in.DetectedAt)
		ends = append(ends, end)
		titles = append(titles, fmt.Sprintf("[%s] #%d %s", in.Tier, in.ID, in.Title))
		texts = append(texts, fmt.Sprintf("state %s, team %s, model %s%s", in.State, orDash(in.Team), orDash(in.Model), assignedText(in.Assignee)))
		tags = append(tags, joinTags("incident", in.Tier, in.State, in.Team, in.Model))
		ids = append(ids, new(in.ID))
	}
	if truncated {
		notices = append(notices, data.Notice{Severity: data.NoticeSeverityWarning, Text: fmt.Sprintf("Only the newest %d incidents are annotated.", len(incidents))})
	}
	if p.IncludeChanges {
		changes, err := d.client.Changes(ctx, q.TimeRange.From, q.TimeRange.To)
		switch {
		case incidentd.StatusOf(err) == http.StatusNotFound:
			notices = append(notices, data.Notice{Severity: data.NoticeSeverityInfo, Text: "This incidentd has no change log (/api/v1/changes); only incidents are shown."})
		case err != nil:
			return errResponse(err)
		default:
			for _, c := range changes {
				if (len(p.Teams) > 0 && !contains(p.Teams, c.Team)) || (len(p.Models) > 0 && !contains(p.Models, c.Model)) {
					continue
				}
				times = append(times, c.At)
				ends = append(ends, c.At)
				title := c.Title
				if title == "" {
					title = c.Kind
				}
				titles = append(titles, "change: "+title)
				texts = append(texts, strings.TrimSpace(c.Text+" "+c.Version))
				tags = append(tags, joinTags("change", c.Kind, c.Team, c.Model))
				ids = append(ids, nil)
			}
		}
	}
	frame := data.NewFrame("annotations",
		data.NewField("time", nil, times),
		data.NewField("timeEnd", nil, ends),
		data.NewField("title", nil, titles),
		data.NewField("text", nil, texts),
		data.NewField("tags", nil, tags),
		data.NewField("incidentId", nil, ids),
	)
	frame.SetMeta(&data.FrameMeta{DataTopic: data.DataTopicAnnotations, Notices: notices})
	return backend.DataResponse{Frames: data.Frames{frame}}
}

func assignedText(a string) string {
	if a == "" {
		return ""
	}
	return ", assigned to " + a
}

// joinTags makes Grafana's comma-separated tag list, skipping empty values.
func joinTags(vals ...string) string {
	var out []string
	for _, v := range vals {
		if v != "" {
			out = append(out, v)
		}
	}
	return strings.Join(out, ",")
}
