package plugin

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	sdklog "github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/experimental/datasourcetest"
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/internal/incidentd"
)

// The SDK's gRPC test server registers its middleware metrics with the default registry,
// so a process can start it once: every test shares it and tells instances apart by the
// datasource UID (Grafana's instance cache key).
var grpcPlugin struct {
	once sync.Once
	tp   datasourcetest.TestPlugin
	err  error
}

func TestMain(m *testing.M) {
	// The SDK's gRPC middleware logs every request at debug level to stderr, which buries
	// test and benchmark output; tests assert on frames, not on those lines.
	sdklog.DefaultLogger = sdklog.NewNullLogger()
	backend.Logger = sdklog.DefaultLogger
	code := m.Run()
	if grpcPlugin.tp.Client != nil {
		_ = grpcPlugin.tp.Shutdown()
	}
	os.Exit(code)
}

func sharedGRPC(t testing.TB) *datasourcetest.TestPluginClient {
	t.Helper()
	grpcPlugin.once.Do(func() {
		factory := NewFactory(Options{Now: func() time.Time { return testNow }})
		// Picking a free port by closing a listener can race with another process; retry.
		for range 5 {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				grpcPlugin.err = err
				return
			}
			addr := l.Addr().String()
			_ = l.Close()
			grpcPlugin.tp, grpcPlugin.err = datasourcetest.Manage(factory, datasourcetest.ManageOpts{Address: addr})
			if grpcPlugin.err == nil {
				return
			}
		}
	})
	require.NoError(t, grpcPlugin.err)
	return grpcPlugin.tp.Client
}

func grpcContext(uid, url, token string) backend.PluginContext {
	s := instanceSettings(url, nil, token)
	s.UID = uid
	return backend.PluginContext{PluginID: ID, DataSourceInstanceSettings: &s}
}

// The plugin answers over gRPC as Grafana calls it: frames survive Arrow encoding, health
// and resources work, and a settings change rebuilds the instance.
func TestOverGRPC(t *testing.T) {
	c := sharedGRPC(t)
	fake := newFake(fixture())
	srv := fake.start(t)
	pc := grpcContext("grpc-main", srv.URL, "plugin")
	ctx := context.Background()

	h, err := c.CheckHealth(ctx, &backend.CheckHealthRequest{PluginContext: pc})
	require.NoError(t, err)
	require.Equal(t, backend.HealthStatusOk, h.Status, h.Message)

	resp, err := c.QueryData(ctx, &backend.QueryDataRequest{PluginContext: pc, Queries: []backend.DataQuery{
		{RefID: "A", QueryType: QueryIncidents, JSON: []byte(`{"teams":["ml-platform"]}`), TimeRange: backend.TimeRange{From: day.from, To: day.to}},
		{RefID: "B", QueryType: QueryCounts, JSON: []byte(`{"interval":"1h"}`), TimeRange: backend.TimeRange{From: day.from, To: day.to}},
		{RefID: "C", QueryType: QueryIncidents, JSON: []byte(`{"states":["nope"]}`)},
	}})
	require.NoError(t, err)
	a := resp.Responses["A"]
	require.NoError(t, a.Error)
	require.Equal(t, 2, a.Frames[0].Rows())
	dur, _ := a.Frames[0].FieldByName("duration")
	require.Equal(t, "s", dur.Config.Unit, "field config survives Arrow")
	b := resp.Responses["B"]
	require.NoError(t, b.Error)
	require.Equal(t, []int64{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1}, seriesValues(t, b.Frames[0]))
	require.ErrorContains(t, resp.Responses["C"].Error, `states: unknown state "nope"`)
	require.Equal(t, backend.ErrorSourceDownstream, resp.Responses["C"].ErrorSource)

	var got *backend.CallResourceResponse
	err = c.CallResource(ctx, &backend.CallResourceRequest{
		PluginContext: backend.PluginContext{PluginID: ID, DataSourceInstanceSettings: pc.DataSourceInstanceSettings, User: &backend.User{Login: "erin", Role: "Editor"}},
		Method:        "POST", Path: "incidents/4/ack", URL: "incidents/4/ack", Body: []byte(`{}`),
	}, backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error { got = r; return nil }))
	require.NoError(t, err)
	require.Equal(t, 200, got.Status, string(got.Body))
	require.Equal(t, "erin (via plugin)", fake.actions[0].Actor)

	// New settings (a bad token) under the same UID take effect once Updated changes.
	s := *pc.DataSourceInstanceSettings
	s.DecryptedSecureJSONData = map[string]string{"apiToken": "wrong"}
	s.Updated = s.Updated.Add(time.Minute)
	h, err = c.CheckHealth(ctx, &backend.CheckHealthRequest{PluginContext: backend.PluginContext{PluginID: ID, DataSourceInstanceSettings: &s}})
	require.NoError(t, err)
	require.Equal(t, backend.HealthStatusError, h.Status)
	require.Contains(t, h.Message, "rejected the API token")
}

// BenchmarkQuery10k measures a query over 10,000 incidents through the plugin's gRPC
// server from a loopback incidentd fake (pages encoded once, so the fake's encoding is not
// counted): the incidents table, the counts and the annotations read the table view (a
// page per half of the range), decoded, the frames built, Arrow-encoded and decoded.
// fetch-only, the baseline, reads the full view's 20 pages with the client alone, as all
// three did before.
func BenchmarkQuery10k(b *testing.B) {
	c := sharedGRPC(b)
	many := make([]incidentd.Incident, 10000)
	start := testNow.AddDate(0, -6, 0)
	for i := range many {
		det := start.Add(time.Duration(i) * 25 * time.Minute)
		many[i] = incidentd.Incident{ID: int64(i + 1), Title: fmt.Sprintf("incident %d", i), Tier: incidentd.Tier(validTiers[i%4]), State: "resolved",
			Team: "team-" + fmt.Sprint(i%7), Model: "model-" + fmt.Sprint(i%11), Labels: map[string]string{"alertname": "A", "region": "eu"},
			DetectedAt: det, TriagedAt: det.Add(5 * time.Minute), ResolvedAt: det.Add(time.Hour), AlertsTotal: 1}
	}
	fake := newFake(many)
	fake.pages = map[string][]byte{}
	srv := fake.start(b)
	// The baseline: reading the same 20 pages with the client alone, no frames, no gRPC.
	// The plugin's own cost is the ratio of the other runs to this one.
	b.Run("fetch-only", func(b *testing.B) {
		d := newTestDS(b, srv.URL, nil, "plugin")
		for b.Loop() {
			got, _, err := d.client.List(context.Background(), incidentd.Filter{From: start, To: testNow}, 50000)
			if err != nil || len(got) != 10000 {
				b.Fatal(err, len(got))
			}
		}
	})
	query := func(name, qt string) {
		b.Run(name, func(b *testing.B) {
			pc := grpcContext("bench-"+name, srv.URL, "plugin")
			req := &backend.QueryDataRequest{PluginContext: pc, Queries: []backend.DataQuery{{RefID: "A", QueryType: qt,
				JSON: []byte(`{"labelColumns":["region"],"splitBy":"tier"}`), Interval: time.Hour, MaxDataPoints: 1000,
				TimeRange: backend.TimeRange{From: start, To: testNow}}}}
			for b.Loop() {
				resp, err := c.QueryData(context.Background(), req)
				if err != nil || resp.Responses["A"].Error != nil {
					b.Fatal(err, resp.Responses["A"].Error)
				}
				if qt != QueryCounts && resp.Responses["A"].Frames[0].Rows() != 10000 {
					b.Fatalf("rows %d", resp.Responses["A"].Frames[0].Rows())
				}
			}
		})
	}
	for _, qt := range []string{QueryIncidents, QueryCounts, QueryAnnotations} {
		query(qt, qt)
	}
	// The containment column's cost: the incidents table again, now with 1,000 active
	// containments (the most the plugin reads) on 1,000 of the incidents; compare with
	// "incidents", where the fake has none to serve.
	fake.mu.Lock()
	fake.containments = make([]incidentd.Containment, 1000)
	for i := range fake.containments {
		fake.containments[i] = incidentd.Containment{ID: int64(i + 1), Model: many[i*10].Model, Version: "v2", Action: "fallback",
			FallbackVersion: "v1", IncidentID: many[i*10].ID, Policy: "p1-fallback", Active: true}
	}
	fake.mu.Unlock()
	query("incidents-contained", QueryIncidents)
}
