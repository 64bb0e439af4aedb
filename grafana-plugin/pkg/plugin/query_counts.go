package plugin

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/incidentd"
)

// maxBuckets bounds the points of a counts series whatever interval is asked for.
const maxBuckets = 2000

// queryCounts answers time series of incidents opened per interval, or open at some moment
// of each interval, optionally one series per tier, state, team or model.
func (d *Datasource) queryCounts(ctx context.Context, _ *backend.QueryDataRequest, q backend.DataQuery, p Query) backend.DataResponse {
	from, to := q.TimeRange.From, q.TimeRange.To
	if !to.After(from) {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, "time range: the end must be after the start")
	}
	step, err := countStep(p, q, from, to)
	if err != nil {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, err.Error())
	}
	// Buckets start on multiples of step (UTC), so a daily series counts calendar days and
	// values do not shift when the dashboard's range moves.
	start := from.Truncate(step)
	listFrom := start
	mode := p.CountMode
	if mode == "" {
		mode = "opened"
	}
	if mode == "open" {
		// Incidents detected before the range may still be open in it.
		listFrom = start.Add(-d.settings.OpenLookback)
	}
	incidents, truncated, err := d.list(ctx, p, listFrom, to)
	if err != nil {
		return errResponse(err)
	}
	d.o.Metrics.incidentsRead.Add(float64(len(incidents)))

	n := int((to.Sub(start) + step - 1) / step)
	times := make([]time.Time, n)
	for i := range times {
		times[i] = start.Add(time.Duration(i) * step)
	}
	series := map[string][]int64{}
	key := splitKey(p.SplitBy)
	bump := func(k string, i int) {
		s, ok := series[k]
		if !ok {
			s = make([]int64, n)
			series[k] = s
		}
		s[i]++
	}
	for _, in := range incidents {
		k := key(in)
		if mode == "opened" {
			if in.DetectedAt.Before(start) || !in.DetectedAt.Before(to) {
				continue
			}
			bump(k, int(in.DetectedAt.Sub(start)/step))
			continue
		}
		if _, ok := series[k]; !ok {
			series[k] = make([]int64, n)
		}
		for i, t := range times {
			end := t.Add(step)
			if end.After(to) {
				end = to
			}
			// Open at some moment of [t, end): detected before its end, not resolved by its start.
			if in.DetectedAt.Before(end) && (in.ResolvedAt.IsZero() || in.ResolvedAt.After(t)) {
				series[k][i]++
			}
		}
	}
	if len(series) == 0 && p.SplitBy == "" {
		series[""] = make([]int64, n)
	}
	keys := make([]string, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	frames := make(data.Frames, 0, len(keys))
	for _, k := range keys {
		var labels data.Labels
		if p.SplitBy != "" {
			labels = data.Labels{p.SplitBy: k}
		}
		value := data.NewField(mode, labels, series[k]).SetConfig(&data.FieldConfig{Unit: "none"})
		f := data.NewFrame("incidents_"+mode, data.NewField("time", nil, times), value)
		f.SetMeta(&data.FrameMeta{
			Type:        data.FrameTypeTimeSeriesMulti,
			TypeVersion: data.FrameTypeVersion{0, 1},
		})
		frames = append(frames, f)
	}
	if len(frames) > 0 {
		meta := frames[0].Meta
		meta.ExecutedQueryString = fmt.Sprintf("%s incidents per %s%s from GET /api/v1/incidents?%s", mode, step, splitText(p.SplitBy), p.filter(listFrom, to).Encode())
		if truncated {
			meta.Notices = append(meta.Notices, data.Notice{
				Severity: data.NoticeSeverityWarning,
				Text:     fmt.Sprintf("Counted the newest %d incidents only; narrow the range or raise maxIncidents.", len(incidents)),
			})
		}
	}
	return backend.DataResponse{Frames: frames}
}

func splitText(by string) string {
	if by == "" {
		return ""
	}
	return " by " + by
}

// countStep picks the interval: the query's own, else the panel's, widened so that no
// series has more than maxBuckets points.
func countStep(p Query, q backend.DataQuery, from, to time.Time) (time.Duration, error) {
	step := q.Interval
	if p.Interval != "" {
		var err error
		if step, err = parseInterval(p.Interval); err != nil {
			return 0, err
		}
	}
	limit := int64(maxBuckets)
	if q.MaxDataPoints > 0 && q.MaxDataPoints < limit {
		limit = q.MaxDataPoints
	}
	// limit-1: aligning the first bucket to the step may add one bucket at the start.
	if minStep := to.Sub(from) / time.Duration(max(limit-1, 1)); step < minStep {
		step = minStep
	}
	// Whole seconds, rounded up so the bound still holds.
	step = max((step + time.Second - 1).Truncate(time.Second), time.Second)
	return step, nil
}

func splitKey(by string) func(incidentd.Incident) string {
	switch by {
	case "tier":
		return func(in incidentd.Incident) string { return in.Tier }
	case "state":
		return func(in incidentd.Incident) string { return in.State }
	case "team":
		return func(in incidentd.Incident) string { return in.Team }
	case "model":
		return func(in incidentd.Incident) string { return in.Model }
	}
	return func(incidentd.Incident) string { return "" }
}
