package plugin

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/internal/incidentd"
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
	// The table view holds every field a count needs (tier, state, team, model, detection
	// and resolution): a tenth of the bytes of the full view, in pages of 10,000.
	t, truncated, err := d.client.ListTable(ctx, incidentd.TableRequest{Filter: p.filter(listFrom, to), Max: d.settings.MaxIncidents, Keep: p.match})
	if err != nil {
		return errResponse(err)
	}
	d.o.Metrics.incidentsRead.Add(float64(t.Len()))

	n := int((to.Sub(start) + step - 1) / step)
	times := make([]time.Time, n)
	for i := range times {
		times[i] = start.Add(time.Duration(i) * step)
	}
	series := map[string][]int64{}
	key := splitColumn(t, p.SplitBy)
	bump := func(k string, i int) {
		s, ok := series[k]
		if !ok {
			s = make([]int64, n)
			series[k] = s
		}
		s[i]++
	}
	for i, detected := range t.Detected {
		k := ""
		if key != nil {
			k = key[i]
		}
		if mode == "opened" {
			if detected.Before(start) || !detected.Before(to) {
				continue
			}
			bump(k, int(detected.Sub(start)/step))
			continue
		}
		if _, ok := series[k]; !ok {
			series[k] = make([]int64, n)
		}
		for b, bucket := range times {
			end := bucket.Add(step)
			if end.After(to) {
				end = to
			}
			// Open at some moment of [t, end): detected before its end, not resolved by its start.
			if detected.Before(end) && (t.Resolved[i] == nil || t.Resolved[i].After(bucket)) {
				series[k][b]++
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
				Text:     fmt.Sprintf("Counted the newest %d incidents only; narrow the range or raise maxIncidents.", t.Len()),
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

// splitColumn is the column that splits the counts, nil for one series.
func splitColumn(t *incidentd.Table, by string) []string {
	switch by {
	case "tier":
		return t.Tier
	case "state":
		return t.State
	case "team":
		return t.Team
	case "model":
		return t.Model
	}
	return nil
}
