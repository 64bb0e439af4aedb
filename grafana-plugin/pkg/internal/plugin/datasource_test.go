package plugin

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/internal/incidentd"
)

var update = flag.Bool("update", false, "rewrite the golden frames in testdata/")

var testNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// fixture is a small day of incidents whose counts are worked out by hand in the tests.
func fixture() []incidentd.Incident {
	return []incidentd.Incident{
		{ID: 1, Title: "Fraud model down", Tier: "P1", State: "resolved", Team: "ml-platform", Model: "fraud-v3",
			Labels:     map[string]string{"alertname": "ModelDown", "runbook_url": "https://runbooks.example/down", "region": "eu"},
			DetectedAt: at("2026-11-29T08:00:00Z"), TriagedAt: at("2026-11-29T08:05:00Z"), ResolvedAt: at("2026-11-29T09:00:00Z"), AlertsTotal: 1},
		{ID: 2, Title: "Accuracy degraded", Tier: "P2", State: "investigating", Team: "llm", Model: "support-llm", Assignee: "alice",
			Labels:     map[string]string{"alertname": "AccuracyLow"},
			DetectedAt: at("2026-11-29T09:30:00Z"), TriagedAt: at("2026-11-29T10:45:00Z"), SLABreached: true, AlertsFiring: 2, AlertsTotal: 2},
		{ID: 3, Title: "Feature drift on amount", Tier: "P3", State: "detected", Team: "ml-platform", Model: "fraud-v3",
			Labels:     map[string]string{"alertname": "FeatureDriftHigh", "region": "us"},
			DetectedAt: at("2026-11-29T10:10:00Z"), AlertsFiring: 1, AlertsTotal: 1},
		{ID: 4, Title: "Null ratio high", Tier: "P4", State: "triaged", Team: "data", Model: "support-llm",
			DetectedAt: at("2026-11-29T11:00:00Z"), TriagedAt: at("2026-11-29T11:20:00Z"), AlertsFiring: 1, AlertsTotal: 1},
		{ID: 5, Title: "Feature drift on tenure", Tier: "P3", State: "resolved", Team: "ml-platform", Model: "churn-xgb",
			DetectedAt: at("2026-11-28T23:00:00Z"), ResolvedAt: at("2026-11-29T02:00:00Z"), AlertsTotal: 1},
		{ID: 6, Title: "Latency budget exceeded", Tier: "P2", State: "contained", Team: "llm", Model: "support-llm",
			DetectedAt: at("2026-11-20T10:00:00Z"), TriagedAt: at("2026-11-20T10:30:00Z"), ContainedAt: at("2026-11-20T11:00:00Z"), AlertsFiring: 1, AlertsTotal: 3},
	}
}

func instanceSettings(url string, jsonData map[string]any, token string) backend.DataSourceInstanceSettings {
	j, _ := json.Marshal(jsonData)
	s := backend.DataSourceInstanceSettings{UID: "incidents", Name: "Incidents", URL: url, JSONData: j, Updated: testNow}
	if token != "" {
		s.DecryptedSecureJSONData = map[string]string{"apiToken": token}
	}
	return s
}

func newTestDS(t testing.TB, url string, jsonData map[string]any, token string) *Datasource {
	t.Helper()
	d, err := New(instanceSettings(url, jsonData, token), Options{Now: func() time.Time { return testNow }, Metrics: NewMetrics(nil)})
	require.NoError(t, err)
	t.Cleanup(d.Dispose)
	return d
}

type q struct {
	refID, queryType string
	from, to         time.Time
	interval         time.Duration
	json             any
}

func run(t testing.TB, d *Datasource, headers map[string]string, user *backend.User, qs ...q) *backend.QueryDataResponse {
	t.Helper()
	req := &backend.QueryDataRequest{Headers: headers, PluginContext: backend.PluginContext{User: user}}
	for _, x := range qs {
		b, err := json.Marshal(x.json)
		require.NoError(t, err)
		if x.refID == "" {
			x.refID = "A"
		}
		req.Queries = append(req.Queries, backend.DataQuery{RefID: x.refID, QueryType: x.queryType, JSON: b, Interval: x.interval,
			MaxDataPoints: 1000, TimeRange: backend.TimeRange{From: x.from, To: x.to}})
	}
	resp, err := d.QueryData(context.Background(), req)
	require.NoError(t, err)
	return resp
}

var day = struct{ from, to time.Time }{at("2026-11-29T00:00:00Z"), at("2026-11-29T12:00:00Z")}

func TestIncidentsTable(t *testing.T) {
	fake := newFake(fixture())
	fake.pageMax = 2 // force several pages for a handful of incidents
	// Incident 2 is contained twice, incident 3's containment was lifted; 99's is not in
	// the table.
	fake.containments = []incidentd.Containment{
		{ID: 1, Model: "support-llm", Version: "v2", Action: "fallback", FallbackVersion: "v1", IncidentID: 2, Policy: "p2-fallback", Active: true},
		{ID: 2, Model: "fraud-v3", Action: "disable", IncidentID: 3},
		{ID: 3, Model: "support-llm", Action: "block_inputs", Match: &incidentd.ContainmentMatch{InputClass: "pdf_upload"}, IncidentID: 2, Active: true},
		{ID: 4, Model: "fraud-v3", Action: "disable", IncidentID: 99, Active: true},
	}
	srv := fake.start(t)
	d := newTestDS(t, srv.URL, map[string]any{"linkUrl": "https://incidents.example"}, "plugin")

	resp := run(t, d, nil, &backend.User{Login: "alice", Role: "Viewer"}, q{queryType: QueryIncidents, from: day.from, to: day.to,
		json: map[string]any{"labelColumns": []string{"region", "alertname"}}})
	r := resp.Responses["A"]
	require.NoError(t, r.Error)
	experimental.CheckGoldenJSONResponse(t, "testdata", "incidents", &r, *update)

	f := r.Frames[0]
	// Incidents 1-4 were detected in [00:00, 12:00); 5 and 6 before.
	require.Equal(t, 4, f.Rows())
	// The range is read as two halves at once, each in pages of at most 2: incidents 1
	// and 2 in [06:00, 12:00), 3 and 4 before (a full first page of each half asks for
	// a second one that finds nothing more in only one of them).
	require.Equal(t, 3, fake.listRequests(), "4 incidents in pages of at most 2, two halves")
	ids := f.Fields[0]
	for i, want := range []int64{4, 3, 2, 1} {
		require.Equal(t, want, ids.At(i), "newest detection first")
	}
	// Duration of an open incident runs to now; MTTA only once acknowledged.
	dur, _ := f.FieldByName("duration")
	require.Equal(t, testNow.Sub(at("2026-11-29T11:00:00Z")).Seconds(), *dur.At(0).(*float64))
	require.Equal(t, 3600.0, *dur.At(3).(*float64))
	mtta, _ := f.FieldByName("mtta")
	require.Nil(t, mtta.At(1).(*float64), "incident 3 is not acknowledged")
	require.Equal(t, 75*60.0, *mtta.At(2).(*float64))
	rb, _ := f.FieldByName("runbook")
	require.Equal(t, "https://runbooks.example/down", *rb.At(3).(*string))
	require.Equal(t, "https://incidents.example/api/v1/incidents/${__value.raw}", ids.Config.Links[1].URL)
	region, _ := f.FieldByName("label_region")
	require.Equal(t, "us", *region.At(1).(*string))
	require.Nil(t, region.At(0).(*string))
	// Each row shows what its active containments do, read in one request.
	contained, _ := f.FieldByName("containment")
	require.Equal(t, "v2: fallback to v1 (policy p2-fallback); block_inputs input_class=pdf_upload", *contained.At(2).(*string))
	require.Nil(t, contained.At(1).(*string), "incident 3's containment was lifted")
	require.Nil(t, contained.At(0).(*string))
	n := 0
	for _, req := range fake.requests {
		if req.URL.Path == "/api/v1/containments" {
			n++
			require.Equal(t, "true", req.URL.Query().Get("active"))
		}
	}
	require.Equal(t, 1, n)
}

// An incidentd without containments (404) leaves the column empty without a notice; one
// that fails says so on the frame and still shows the incidents.
func TestIncidentsTableContainmentsUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		notice string
	}{{"old incidentd", 0, ""}, {"failing", http.StatusServiceUnavailable, "The containment column is empty"}} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFake(fixture())
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.status != 0 && r.URL.Path == "/api/v1/containments" {
					fakeErr(w, tc.status, "database unavailable")
					return
				}
				fake.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			d := newTestDS(t, srv.URL, nil, "plugin")
			r := run(t, d, nil, &backend.User{Login: "alice", Role: "Viewer"}, q{queryType: QueryIncidents, from: day.from, to: day.to}).Responses["A"]
			require.NoError(t, r.Error)
			f := r.Frames[0]
			require.Equal(t, 4, f.Rows())
			contained, _ := f.FieldByName("containment")
			for i := range f.Rows() {
				require.Nil(t, contained.At(i).(*string))
			}
			if tc.notice == "" {
				require.Empty(t, f.Meta.Notices)
				return
			}
			require.Len(t, f.Meta.Notices, 1)
			require.Contains(t, f.Meta.Notices[0].Text, tc.notice)
			require.Contains(t, f.Meta.Notices[0].Text, "database unavailable")
		})
	}
}

func TestIncidentsFilters(t *testing.T) {
	fake := newFake(fixture())
	srv := fake.start(t)
	d := newTestDS(t, srv.URL, nil, "plugin")
	wide := struct{ from, to time.Time }{at("2026-11-01T00:00:00Z"), testNow}
	for _, tc := range []struct {
		name  string
		query map[string]any
		want  []int64
	}{
		{"no filter", nil, []int64{4, 3, 2, 1, 5, 6}},
		{"one team goes to incidentd", map[string]any{"teams": []string{"llm"}}, []int64{2, 6}},
		{"two teams are filtered in the plugin", map[string]any{"teams": []string{"llm", "data"}}, []int64{4, 2, 6}},
		{"tiers and model", map[string]any{"tiers": []string{"p3", "P1"}, "models": []string{"fraud-v3"}}, []int64{3, 1}},
		{"states", map[string]any{"states": []string{"resolved"}}, []int64{1, 5}},
		{"open only", map[string]any{"openOnly": true}, []int64{4, 3, 2, 6}},
		{"text", map[string]any{"text": "drift"}, []int64{3, 5}},
		{"All from a variable means no filter", map[string]any{"teams": []string{"$__all"}}, []int64{4, 3, 2, 1, 5, 6}},
		{"multi-value variable as one string", map[string]any{"teams": []string{"{llm,data}"}}, []int64{4, 2, 6}},
		{"single-value spellings", map[string]any{"team": "llm,data", "tier": "P2", "state": "open"}, []int64{2, 6}},
		{"single state", map[string]any{"state": "resolved", "model": "fraud-v3"}, []int64{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, d, nil, nil, q{queryType: QueryIncidents, from: wide.from, to: wide.to, json: tc.query}).Responses["A"]
			require.NoError(t, r.Error)
			var got []int64
			for i := 0; i < r.Frames[0].Rows(); i++ {
				got = append(got, r.Frames[0].Fields[0].At(i).(int64))
			}
			require.Equal(t, tc.want, got)
		})
	}
}

// A six-month range with more incidents than one page holds comes back whole.
func TestIncidentsSixMonthsPaginated(t *testing.T) {
	var many []incidentd.Incident
	start := testNow.AddDate(0, -6, 0)
	for i := range 1234 {
		many = append(many, incidentd.Incident{ID: int64(i + 1), Title: "x", Tier: []incidentd.Tier{"P3", "P2"}[i%2], State: "resolved",
			DetectedAt: start.Add(time.Duration(i) * 3 * time.Hour), ResolvedAt: start.Add(time.Duration(i)*3*time.Hour + time.Hour)})
	}
	fake := newFake(many)
	srv := fake.start(t)
	d := newTestDS(t, srv.URL, nil, "plugin")
	r := run(t, d, nil, nil, q{queryType: QueryIncidents, from: start, to: testNow}).Responses["A"]
	require.NoError(t, r.Error)
	require.Equal(t, 1234, r.Frames[0].Rows())
	require.Equal(t, 2, fake.listRequests(), "one page of the table view per half of the range")
	require.Empty(t, r.Frames[0].Meta.Notices)
	whole := r.Frames[0]

	// An incidentd without the table view refuses the page limit; the plugin then reads
	// its full view in pages of 500, into the same frame.
	legacy := newFake(many)
	legacy.legacy = true
	d = newTestDS(t, legacy.start(t).URL, nil, "plugin")
	r = run(t, d, nil, nil, q{queryType: QueryIncidents, from: start, to: testNow}).Responses["A"]
	require.NoError(t, r.Error)
	mid := start.Add(testNow.Sub(start) / 2).Truncate(time.Second)
	newer := 0
	for _, in := range many {
		if !in.DetectedAt.Before(mid) {
			newer++
		}
	}
	pages := func(n int) int { return (n + 499) / 500 }
	require.Equal(t, 2+pages(newer)+pages(1234-newer), legacy.listRequests(), "per half: the refused request, then pages of 500")
	require.Equal(t, whole.Rows(), r.Frames[0].Rows())
	for k, f := range whole.Fields {
		got := r.Frames[0].Fields[k]
		require.Equal(t, f.Name, got.Name)
		for i := range f.Len() {
			require.Equal(t, f.At(i), got.At(i), "%s row %d", f.Name, i)
		}
	}

	// Above maxIncidents the newest are kept and the frame says so.
	d = newTestDS(t, srv.URL, map[string]any{"maxIncidents": 700}, "plugin")
	r = run(t, d, nil, nil, q{queryType: QueryIncidents, from: start, to: testNow}).Responses["A"]
	require.NoError(t, r.Error)
	require.Equal(t, 700, r.Frames[0].Rows())
	require.Equal(t, int64(1234), r.Frames[0].Fields[0].At(0))
	require.Equal(t, int64(1234-699), r.Frames[0].Fields[0].At(699), "the newest 700, none skipped")
	require.Len(t, r.Frames[0].Meta.Notices, 1)
	require.Contains(t, r.Frames[0].Meta.Notices[0].Text, "newest 700")

	// Fewer than the newer half holds: the older half is not used.
	d = newTestDS(t, srv.URL, map[string]any{"maxIncidents": 300}, "plugin")
	r = run(t, d, nil, nil, q{queryType: QueryIncidents, from: start, to: testNow}).Responses["A"]
	require.NoError(t, r.Error)
	require.Equal(t, 300, r.Frames[0].Rows())
	require.Equal(t, int64(1234), r.Frames[0].Fields[0].At(0))
	require.Equal(t, int64(1234-299), r.Frames[0].Fields[0].At(299))
	require.Contains(t, r.Frames[0].Meta.Notices[0].Text, "newest 300")

	// Rows dropped by a filter incidentd cannot apply (two tiers) still count as read:
	// the bound is on what is read, so the frame holds the P3 rows (odd ids) among the
	// newest 700, from both halves.
	d = newTestDS(t, srv.URL, map[string]any{"maxIncidents": 700}, "plugin")
	r = run(t, d, nil, nil, q{queryType: QueryIncidents, from: start, to: testNow, json: map[string]any{"tiers": []string{"P3", "P1"}}}).Responses["A"]
	require.NoError(t, r.Error)
	require.Equal(t, 350, r.Frames[0].Rows())
	require.Equal(t, int64(1233), r.Frames[0].Fields[0].At(0))
	require.Equal(t, int64(1234-699), r.Frames[0].Fields[0].At(349))
	require.Contains(t, r.Frames[0].Meta.Notices[0].Text, "newest 350")
}

func seriesValues(t *testing.T, f *data.Frame) []int64 {
	t.Helper()
	out := make([]int64, f.Rows())
	for i := range out {
		out[i] = f.Fields[1].At(i).(int64)
	}
	return out
}

func TestCounts(t *testing.T) {
	fake := newFake(fixture())
	srv := fake.start(t)
	d := newTestDS(t, srv.URL, nil, "plugin")

	t.Run("opened per hour", func(t *testing.T) {
		r := run(t, d, nil, nil, q{queryType: QueryCounts, from: day.from, to: day.to, interval: time.Hour, json: map[string]any{}}).Responses["A"]
		require.NoError(t, r.Error)
		require.Len(t, r.Frames, 1)
		// Worked out from fixture(): detections at 08:00, 09:30, 10:10, 11:00.
		require.Equal(t, []int64{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1}, seriesValues(t, r.Frames[0]))
		require.Equal(t, day.from, r.Frames[0].Fields[0].At(0))
		experimental.CheckGoldenJSONResponse(t, "testdata", "counts_opened", &r, *update)
	})
	t.Run("open per hour", func(t *testing.T) {
		r := run(t, d, nil, nil, q{queryType: QueryCounts, from: day.from, to: day.to, interval: time.Hour, json: map[string]any{"countMode": "open"}}).Responses["A"]
		require.NoError(t, r.Error)
		// 6 is open throughout; 5 until 02:00; 1 from 08:00 to 09:00; 2 from 09:30; 3 from 10:10; 4 from 11:00.
		require.Equal(t, []int64{2, 2, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4}, seriesValues(t, r.Frames[0]))
	})
	t.Run("state open means open counts", func(t *testing.T) {
		r := run(t, d, nil, nil, q{queryType: QueryCounts, from: day.from, to: day.to, interval: time.Hour, json: map[string]any{"state": "open", "tier": "P2"}}).Responses["A"]
		require.NoError(t, r.Error)
		// 6 (P2) open throughout, 2 (P2) from 09:30.
		require.Equal(t, []int64{1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2}, seriesValues(t, r.Frames[0]))
	})
	t.Run("opened per 4h by tier", func(t *testing.T) {
		r := run(t, d, nil, nil, q{queryType: QueryCounts, from: day.from, to: day.to, interval: time.Minute, json: map[string]any{"splitBy": "tier", "interval": "4h"}}).Responses["A"]
		require.NoError(t, r.Error)
		got := map[string][]int64{}
		for _, f := range r.Frames {
			got[f.Fields[1].Labels["tier"]] = seriesValues(t, f)
			require.Equal(t, data.FrameTypeTimeSeriesMulti, f.Meta.Type)
		}
		require.Equal(t, map[string][]int64{"P1": {0, 0, 1}, "P2": {0, 0, 1}, "P3": {0, 0, 1}, "P4": {0, 0, 1}}, got)
		experimental.CheckGoldenJSONResponse(t, "testdata", "counts_by_tier", &r, *update)
	})
	t.Run("daily buckets over a week", func(t *testing.T) {
		r := run(t, d, nil, nil, q{queryType: QueryCounts, from: at("2026-11-23T00:00:00Z"), to: at("2026-11-30T00:00:00Z"), json: map[string]any{"interval": "1d"}}).Responses["A"]
		require.NoError(t, r.Error)
		require.Equal(t, []int64{0, 0, 0, 0, 0, 1, 4}, seriesValues(t, r.Frames[0]))
	})
	t.Run("too many points are widened", func(t *testing.T) {
		r := run(t, d, nil, nil, q{queryType: QueryCounts, from: day.from, to: day.to, interval: time.Second, json: map[string]any{}}).Responses["A"]
		require.NoError(t, r.Error)
		require.LessOrEqual(t, r.Frames[0].Rows(), 1000)
	})
}

func TestStats(t *testing.T) {
	fake := newFake(fixture())
	fake.stats = &incidentd.Stats{
		From: day.from, To: day.to,
		Total:  incidentd.Bucket{Key: "total", Count: 4, Open: 3, Acked: 3, Resolved: 1, SLABreached: 1, MTTASeconds: 1900.0, MTTRSeconds: 3600.0},
		ByTier: []incidentd.Bucket{{Key: "P1", Count: 1, Acked: 1, Resolved: 1, MTTASeconds: 300.0, MTTRSeconds: 3600.0}, {Key: "P3", Count: 1, Open: 1}},
	}
	srv := fake.start(t)
	d := newTestDS(t, srv.URL, nil, "plugin")

	// Grafana alerting sends no user and the FromAlert header; stats must work for it.
	r := run(t, d, map[string]string{"http_" + backend.FromAlertHeaderName: "true"}, nil,
		q{queryType: QueryStats, from: day.from, to: day.to, json: map[string]any{"groupBy": "tier"}}).Responses["A"]
	require.NoError(t, r.Error)
	experimental.CheckGoldenJSONResponse(t, "testdata", "stats_by_tier", &r, *update)
	f := r.Frames[0]
	require.Equal(t, data.FrameTypeNumericWide, f.Meta.Type)
	require.Equal(t, 1, f.Rows())
	mtta, _ := f.FieldByName("mtta_seconds")
	require.Equal(t, data.Labels{"tier": "P1"}, mtta.Labels)
	require.Equal(t, 300.0, *mtta.At(0).(*float64))
	// P3 has nothing acknowledged: no MTTA rather than a misleading 0.
	var p3 *data.Field
	for _, fl := range f.Fields {
		if fl.Name == "mtta_seconds" && fl.Labels["tier"] == "P3" {
			p3 = fl
		}
	}
	require.NotNil(t, p3)
	require.Nil(t, p3.At(0).(*float64))

	// One stat, grouped with the counts' spelling splitBy.
	r = run(t, d, nil, nil, q{queryType: QueryStats, from: day.from, to: day.to, json: map[string]any{"splitBy": "tier", "stat": "mttr"}}).Responses["A"]
	require.NoError(t, r.Error)
	require.Len(t, r.Frames[0].Fields, 2, "mttr of P1 and P3")
	require.Equal(t, "mttr_seconds", r.Frames[0].Fields[0].Name)
	require.Equal(t, 3600.0, *r.Frames[0].Fields[0].At(0).(*float64))
	r = run(t, d, nil, nil, q{queryType: QueryStats, json: map[string]any{"stat": "p99"}}).Responses["A"]
	require.ErrorContains(t, r.Error, `stat: unknown value "p99"`)

	r = run(t, d, nil, nil, q{queryType: QueryStats, from: day.from, to: day.to, json: map[string]any{}}).Responses["A"]
	require.NoError(t, r.Error)
	count, _ := r.Frames[0].FieldByName("sla_breached")
	require.Equal(t, 1.0, *count.At(0).(*float64))
	require.Empty(t, count.Labels)
}

func TestTimeline(t *testing.T) {
	fake := newFake(fixture())
	fake.details[2] = &incidentd.Detail{
		Incident: fixture()[1],
		Alerts: []incidentd.Alert{
			{Fingerprint: "a", Status: "resolved", StartsAt: at("2026-11-29T09:30:00Z"), EndsAt: at("2026-11-29T10:00:00Z"), Labels: map[string]string{"alertname": "AccuracyLow"}, Annotations: map[string]string{"summary": "accuracy 0.71 < 0.80"}},
			{Fingerprint: "b", Status: "firing", StartsAt: at("2026-11-29T09:35:00Z"), Labels: map[string]string{"alertname": "F1Low"}},
		},
		Timeline: []incidentd.TimelineEntry{
			{At: at("2026-11-29T09:30:10Z"), Actor: "alertmanager", Kind: "opened", To: "detected"},
			{At: at("2026-11-29T10:45:00Z"), Actor: "alice (via grafana)", Kind: "transition", From: "detected", To: "triaged"},
			{At: at("2026-11-29T11:00:00Z"), Actor: "alice (via grafana)", Kind: "transition", From: "triaged", To: "investigating", Note: "looking at labels"},
		},
		Notes: []incidentd.Note{{At: at("2026-11-29T10:50:00Z"), Actor: "bob", Kind: "containment", ContainmentKind: "fallback", Text: "rules-based fallback on"}},
	}
	fake.changes = []incidentd.Change{
		{At: at("2026-11-29T09:00:00Z"), Kind: "deploy", Title: "support-llm v12", Model: "support-llm", Actor: "ci"},
		{At: at("2026-11-29T09:10:00Z"), Kind: "deploy", Title: "fraud-v3 v8", Model: "fraud-v3", Actor: "ci"},
	}
	srv := fake.start(t)
	d := newTestDS(t, srv.URL, nil, "plugin")

	r := run(t, d, nil, nil, q{queryType: QueryTimeline, json: map[string]any{"incidentId": "2"}}).Responses["A"]
	require.NoError(t, r.Error)
	experimental.CheckGoldenJSONResponse(t, "testdata", "timeline", &r, *update)
	f := r.Frames[0]
	// deploy of the same model, opened, 2 alerts firing, 1 resolved, 2 transitions, 1 note; the other model's deploy is left out.
	require.Equal(t, 8, f.Rows())
	ev, _ := f.FieldByName("event")
	require.Equal(t, "support-llm v12", ev.At(0))

	// Without a change log the timeline still answers.
	fake.changes = nil
	r = run(t, d, nil, nil, q{queryType: QueryTimeline, json: map[string]any{"incidentId": 2}}).Responses["A"]
	require.NoError(t, r.Error)
	require.Equal(t, 7, r.Frames[0].Rows())

	for _, tc := range []struct {
		id     any
		status backend.Status
		msg    string
	}{
		{nil, backend.StatusBadRequest, "incidentId: required"},
		{"abc", backend.StatusBadRequest, "incidentId: expected a positive incident number"},
		{-3, backend.StatusBadRequest, "incidentId: expected a positive incident number"},
		{99, backend.StatusNotFound, "incident 99 not found"},
	} {
		r := run(t, d, nil, nil, q{queryType: QueryTimeline, json: map[string]any{"incidentId": tc.id}}).Responses["A"]
		require.ErrorContains(t, r.Error, tc.msg)
		require.Equal(t, tc.status, r.Status)
		require.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource)
	}
}

func TestAnnotations(t *testing.T) {
	fake := newFake(fixture())
	fake.changes = []incidentd.Change{{At: at("2026-11-29T07:55:00Z"), Kind: "deploy", Title: "fraud-v3 v8", Model: "fraud-v3", Team: "ml-platform", Version: "v8"}}
	srv := fake.start(t)
	d := newTestDS(t, srv.URL, nil, "plugin")
	r := run(t, d, nil, nil, q{queryType: QueryAnnotations, from: day.from, to: day.to, json: map[string]any{"includeChanges": true, "teams": []string{"ml-platform"}}}).Responses["A"]
	require.NoError(t, r.Error)
	experimental.CheckGoldenJSONResponse(t, "testdata", "annotations", &r, *update)
	f := r.Frames[0]
	require.Equal(t, data.DataTopicAnnotations, f.Meta.DataTopic)
	require.Equal(t, 3, f.Rows(), "incidents 3 and 1 of ml-platform plus the deploy")
	end, _ := f.FieldByName("timeEnd")
	require.Equal(t, testNow, end.At(0), "an open incident's region runs to now")

	fake.changes = nil
	r = run(t, d, nil, nil, q{queryType: QueryAnnotations, from: day.from, to: day.to, json: map[string]any{"includeChanges": true}}).Responses["A"]
	require.NoError(t, r.Error)
	require.Equal(t, 4, r.Frames[0].Rows())
	require.Contains(t, r.Frames[0].Meta.Notices[0].Text, "no change log")
}

func TestVariables(t *testing.T) {
	fake := newFake(fixture())
	fake.stats = &incidentd.Stats{ByTeam: []incidentd.Bucket{{Key: "llm"}, {Key: "data"}, {Key: ""}}, ByModel: []incidentd.Bucket{{Key: "support-llm"}, {Key: "fraud-v3"}}}
	srv := fake.start(t)
	d := newTestDS(t, srv.URL, nil, "plugin")
	for kind, want := range map[string][]string{
		"teams":  {"data", "llm"},
		"models": {"fraud-v3", "support-llm"},
		"tiers":  {"P1", "P2", "P3", "P4"},
	} {
		r := run(t, d, nil, nil, q{queryType: QueryVariables, json: map[string]any{"variable": kind}}).Responses["A"]
		require.NoError(t, r.Error, kind)
		var got []string
		for i := 0; i < r.Frames[0].Rows(); i++ {
			got = append(got, r.Frames[0].Fields[0].At(i).(string))
		}
		require.Equal(t, want, got, kind)
	}
}

// Errors are attributed: incidentd's failures and bad queries are downstream, each query
// of a request answers on its own.
func TestErrorAttribution(t *testing.T) {
	fake := newFake(fixture())
	srv := fake.start(t)
	d := newTestDS(t, srv.URL, nil, "plugin")

	resp := run(t, d, nil, nil,
		q{refID: "bad", queryType: QueryIncidents, json: map[string]any{"tiers": []string{"P9"}}},
		q{refID: "good", queryType: QueryIncidents, from: day.from, to: day.to, json: map[string]any{}},
		q{refID: "wrongtype", queryType: QueryIncidents, json: map[string]any{"teams": "llm"}},
	)
	require.ErrorContains(t, resp.Responses["bad"].Error, `tiers: unknown tier "P9", expected one of P1, P2, P3, P4`)
	require.Equal(t, backend.ErrorSourceDownstream, resp.Responses["bad"].ErrorSource)
	require.NoError(t, resp.Responses["good"].Error)
	require.ErrorContains(t, resp.Responses["wrongtype"].Error, `query field "teams": expected []string`)

	resp = run(t, d, nil, nil,
		q{refID: "bogus", queryType: "bogus"},
		q{refID: "empty", queryType: "", from: day.from, to: day.to},
	)
	require.ErrorContains(t, resp.Responses["bogus"].Error, `queryType: unknown "bogus", expected incidents, counts`)
	require.Equal(t, backend.ErrorSourceDownstream, resp.Responses["bogus"].ErrorSource)
	require.NoError(t, resp.Responses["empty"].Error)
	require.Equal(t, 4, resp.Responses["empty"].Frames[0].Rows(), "an empty query type lists incidents")

	// A misspelt filter is not applied, and the frame says so.
	r := run(t, d, nil, nil, q{queryType: QueryIncidents, from: day.from, to: day.to, json: map[string]any{"refId": "A", "teamz": []string{"llm"}, "intervalMs": 1000}}).Responses["A"]
	require.NoError(t, r.Error)
	require.Equal(t, []data.Notice{{Severity: data.NoticeSeverityWarning, Text: "Ignored query fields this datasource does not know: teamz"}}, r.Frames[0].Meta.Notices)

	fake.fail = http.StatusServiceUnavailable
	r = run(t, d, nil, nil, q{queryType: QueryIncidents, from: day.from, to: day.to}).Responses["A"]
	require.ErrorContains(t, r.Error, "incidentd answered 503")
	require.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource)
	require.Equal(t, backend.Status(503), r.Status)

	// Another version of incidentd: a column the plugin does not know is skipped; one it
	// needs missing is an error naming it.
	fake.fail = 0
	fake.addColumn = "severity_score"
	r = run(t, d, nil, nil, q{queryType: QueryIncidents, from: day.from, to: day.to, json: map[string]any{"labelColumns": []string{"region"}}}).Responses["A"]
	require.NoError(t, r.Error)
	require.Equal(t, 4, r.Frames[0].Rows())
	fake.dropColumn = "detected_at"
	r = run(t, d, nil, nil, q{queryType: QueryIncidents, from: day.from, to: day.to}).Responses["A"]
	require.ErrorContains(t, r.Error, `columns: missing "detected_at"`)
	require.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource)
	fake.dropColumn = "labels"
	r = run(t, d, nil, nil, q{queryType: QueryIncidents, from: day.from, to: day.to, json: map[string]any{"labelColumns": []string{"region"}}}).Responses["A"]
	require.ErrorContains(t, r.Error, `columns: missing "labels"`)
	r = run(t, d, nil, nil, q{queryType: QueryCounts, from: day.from, to: day.to, interval: time.Hour}).Responses["A"]
	require.NoError(t, r.Error, "labels are only needed when asked for")

	srv.Close()
	r = run(t, d, nil, nil, q{queryType: QueryIncidents, from: day.from, to: day.to}).Responses["A"]
	require.ErrorContains(t, r.Error, "incidentd unreachable")
	require.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource)
	require.Equal(t, backend.StatusBadGateway, r.Status)
}

// The table view is asked for the labels shown as columns only, by name; past
// incidentd's bound on named labels, for all of them. Either way the columns hold the
// same values.
func TestIncidentsTableNamesItsLabels(t *testing.T) {
	for _, n := range []int{2, 101} {
		fake := newFake(fixture())
		srv := fake.start(t)
		d := newTestDS(t, srv.URL, nil, "plugin")
		names := []string{"region", "alertname"}
		for len(names) < n {
			names = append(names, fmt.Sprintf("absent_%d", len(names)))
		}
		r := run(t, d, nil, nil, q{queryType: QueryIncidents, from: day.from, to: day.to, json: map[string]any{"labelColumns": names}}).Responses["A"]
		require.NoError(t, r.Error)
		region, _ := r.Frames[0].FieldByName("label_region")
		require.Equal(t, "us", *region.At(1).(*string), "n=%d", n)
		absent, _ := r.Frames[0].FieldByName("label_absent_2")
		require.True(t, n == 2 || absent.At(0).(*string) == nil, "n=%d", n)
		for _, req := range fake.requests {
			if req.URL.Path != "/api/v1/incidents" {
				continue
			}
			q := req.URL.Query()
			if n <= 100 {
				require.Equal(t, names, q["label"])
				require.False(t, q.Has("labels"))
			} else {
				require.Equal(t, "true", q.Get("labels"))
				require.False(t, q.Has("label"))
			}
		}
	}
}
