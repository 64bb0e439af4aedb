package plugin

import (
	"context"
	"fmt"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/internal/incidentd"
)

// queryEvidence answers one incident's evidence as a table: a row per finding of each
// cause (a cause without findings has one row), in incidentd's cause order, so a panel on
// the incident view shows which causes the data supports and the numbers behind them.
func (d *Datasource) queryEvidence(ctx context.Context, _ *backend.QueryDataRequest, _ backend.DataQuery, p Query) backend.DataResponse {
	id, err := p.incidentID()
	if err != nil {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, err.Error())
	}
	ev, err := d.client.Evidence(ctx, id)
	if err != nil {
		return errResponse(err)
	}
	var causes, verdicts, reasons, findings, panels []string
	var hinted []bool
	var nows, befores []*float64
	row := func(c incidentd.Cause, f, panel string, now, before *float64) {
		causes, verdicts, reasons, findings, panels = append(causes, c.Name), append(verdicts, string(c.Verdict)), append(reasons, c.Reason), append(findings, f), append(panels, panel)
		hinted, nows, befores = append(hinted, c.Hinted), append(nows, now), append(befores, before)
	}
	for _, c := range ev.Causes {
		if len(c.Findings) == 0 {
			row(c, "", "", nil, nil)
		}
		for _, f := range c.Findings {
			row(c, f.Name, f.Panel, f.Now, f.Before)
		}
	}
	frame := data.NewFrame(fmt.Sprintf("incident %d evidence", id),
		data.NewField("cause", nil, causes),
		data.NewField("verdict", nil, verdicts),
		data.NewField("hinted", nil, hinted),
		data.NewField("reason", nil, reasons),
		data.NewField("finding", nil, findings),
		data.NewField("now", nil, nows),
		data.NewField("before", nil, befores),
		data.NewField("panel", nil, panels),
	)
	var notices []data.Notice
	if len(ev.Errors) > 0 {
		notices = append(notices, data.Notice{Severity: data.NoticeSeverityWarning,
			Text: fmt.Sprintf("%d of %d queries failed; the causes that needed them are unknown: %s", len(ev.Errors), ev.Queries, strings.Join(ev.Errors, "; "))})
	}
	if len(ev.Similar) > 0 {
		s := ev.Similar[0]
		text := fmt.Sprintf("Most similar: incident #%d %q (score %.2f)", s.ID, s.Title, s.Score)
		if s.ResolvedBy != "" {
			text += ", resolved by " + s.ResolvedBy
		}
		if s.RootCause != "" {
			text += ": " + s.RootCause
		}
		notices = append(notices, data.Notice{Severity: data.NoticeSeverityInfo, Text: text})
	}
	frame.SetMeta(&data.FrameMeta{
		Type:                   data.FrameTypeTable,
		PreferredVisualization: data.VisTypeTable,
		ExecutedQueryString:    fmt.Sprintf("GET /api/v1/incidents/%d/evidence", id),
		Notices:                notices,
	})
	return backend.DataResponse{Frames: data.Frames{frame}}
}
