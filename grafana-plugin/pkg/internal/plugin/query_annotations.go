package plugin

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/internal/incidentd"
)

// queryAnnotations answers incidents (a region from detection to resolution) and, on
// request, change-log entries (a point) as an annotation frame, so any dashboard can show
// "incident opened / model deployed" over its graphs.
func (d *Datasource) queryAnnotations(ctx context.Context, _ *backend.QueryDataRequest, q backend.DataQuery, p Query) backend.DataResponse {
	// The table view holds every column an annotation shows.
	t, truncated, err := d.client.ListTable(ctx, incidentd.TableRequest{Filter: p.filter(q.TimeRange.From, q.TimeRange.To),
		Max: d.settings.MaxIncidents, Keep: p.match})
	if err != nil {
		return errResponse(err)
	}
	n := t.Len()
	d.o.Metrics.incidentsRead.Add(float64(n))
	var (
		times, ends         = make([]time.Time, 0, n), make([]time.Time, 0, n)
		titles, texts, tags = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		ids                 = make([]*int64, 0, n)
		notices             []data.Notice
	)
	now := d.o.Now()
	for i, id := range t.ID {
		end := now
		if res := t.Resolved[i]; res != nil {
			end = *res
		}
		times = append(times, t.Detected[i])
		ends = append(ends, end)
		titles = append(titles, fmt.Sprintf("[%s] #%d %s", t.Tier[i], id, t.Title[i]))
		texts = append(texts, fmt.Sprintf("state %s, team %s, model %s%s", t.State[i], orDash(t.Team[i]), orDash(t.Model[i]), assignedText(t.Assignee[i])))
		tags = append(tags, joinTags("incident", t.Tier[i], t.State[i], t.Team[i], t.Model[i]))
		ids = append(ids, &t.ID[i])
	}
	if truncated {
		notices = append(notices, data.Notice{Severity: data.NoticeSeverityWarning, Text: fmt.Sprintf("Only the newest %d incidents are annotated.", n)})
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
