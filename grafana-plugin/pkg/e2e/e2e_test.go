// Package e2e starts the built plugin binary exactly as Grafana does (hashicorp/go-plugin
// handshake, gRPC over a unix socket) against the real incidentd binary on loopback, and
// checks health, every query type, the actions (which must land in incidentd's audit log
// in the Grafana user's name) and the plugin's own metrics.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/test/testbin"
)

const pluginID = "opscentre-incidents-datasource"

// pluginBinary finds the backend built by grafana-plugin/build.sh; in CI its absence fails
// the test, so CI cannot pass without testing the real binary.
func pluginBinary(t testing.TB) string {
	t.Helper()
	p := os.Getenv("OPSCENTRE_PLUGIN_BIN")
	if p == "" {
		p = filepath.Join(testbin.RepoRoot(t), "grafana-plugin", "dist", fmt.Sprintf("gpx_opscentre_incidents_%s_%s", runtime.GOOS, runtime.GOARCH))
	}
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		msg := fmt.Sprintf("plugin binary %s is missing; build it with grafana-plugin/build.sh --backend-only", p)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

func sha(s string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(s))) }

type incidentd struct {
	url string
}

// startIncidentd runs the real incidentd binary with a plugin token (responder, may
// delegate), a reader token that may not delegate, and an admin token for the audit log.
func startIncidentd(t testing.TB) incidentd {
	t.Helper()
	bin := testbin.Project(t, "incidentd")
	dir := t.TempDir()
	cfg := fmt.Sprintf(`api:
  tokens:
  - {subject: grafana-plugin, role: responder, delegate: true, token_sha256: %q}
  - {subject: reader, role: responder, token_sha256: %q}
  - {subject: auditor, role: admin, token_sha256: %q}
`, sha("plugin-token"), sha("reader-token"), sha("admin-token"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "incidentd.yml"), []byte(cfg), 0o600))
	// incidentd needs its address on the command line; a port free a moment ago may be
	// taken by another process, so try a few.
	for attempt := 0; attempt < 5; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		_ = l.Close()
		cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "incidentd.yml"),
			"--storage.path="+filepath.Join(dir, fmt.Sprintf("incidentd-%d.db", attempt)), "--web.listen-address="+addr)
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		require.NoError(t, cmd.Start())
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		if waitReady(t, "http://"+addr+"/-/ready", exited) {
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
				if t.Failed() {
					t.Logf("incidentd log:\n%s", logs.String())
				}
			})
			return incidentd{url: "http://" + addr}
		}
		_ = cmd.Process.Kill()
		<-exited
		t.Logf("incidentd did not start on %s (attempt %d):\n%s", addr, attempt, logs.String())
	}
	t.Fatal("incidentd did not start")
	return incidentd{}
}

func waitReady(t testing.TB, url string, exited <-chan struct{}) bool {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func (d incidentd) call(t *testing.T, method, path, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, d.url+path, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && resp.StatusCode/100 == 2 {
		require.NoError(t, json.Unmarshal(b, out), string(b))
	}
	return resp.StatusCode
}

// notify posts an Alertmanager webhook notification, as Alertmanager would.
func (d incidentd) notify(t *testing.T, group map[string]string, labels map[string]string, startsAt time.Time) {
	t.Helper()
	all := map[string]string{}
	for k, v := range group {
		all[k] = v
	}
	for k, v := range labels {
		all[k] = v
	}
	keyParts := []string{}
	for k, v := range group {
		keyParts = append(keyParts, fmt.Sprintf("%s=%q", k, v))
	}
	msg := map[string]any{
		"version": "4", "status": "firing", "receiver": "incidentd",
		"groupKey":    "{}:{" + strings.Join(keyParts, ", ") + "}",
		"groupLabels": group, "commonLabels": all, "commonAnnotations": map[string]string{},
		"externalURL": "http://alertmanager:9093",
		"alerts": []map[string]any{{
			"status": "firing", "labels": all, "annotations": map[string]string{"summary": "summary of " + all["alertname"], "runbook_url": "https://runbooks.example/" + all["alertname"]},
			"startsAt": startsAt.UTC().Format(time.RFC3339Nano), "endsAt": "0001-01-01T00:00:00Z", "fingerprint": sha(all["alertname"] + all["model"])[:16],
		}},
	}
	require.Equal(t, http.StatusOK, d.call(t, http.MethodPost, "/api/v1/alertmanager", "", msg, nil))
}

// grafana is the Grafana side of the plugin protocol.
type grafana struct {
	client      *goplugin.Client
	data        grpcplugin.DataClient
	diagnostics grpcplugin.DiagnosticsClient
	resource    grpcplugin.ResourceClient
}

// startPlugin starts the binary the way Grafana's plugin manager does, with env added to
// this process's environment.
func startPlugin(t testing.TB, bin string, env ...string) grafana {
	t.Helper()
	cmd := exec.Command(bin)
	// A short socket directory: unix socket paths are limited to 107 bytes.
	sockDir, err := os.MkdirTemp("", "gpx")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(sockDir) })
	cmd.Env = append(os.Environ(), "GF_VERSION=13.2.0", "GF_EDITION=oss", "PLUGIN_UNIX_SOCKET_DIR="+sockDir, "GF_PLUGIN_LOG_LEVEL=warn")
	cmd.Env = append(cmd.Env, env...)
	c := goplugin.NewClient(&goplugin.ClientConfig{
		Cmd: cmd,
		HandshakeConfig: goplugin.HandshakeConfig{
			ProtocolVersion:  grpcplugin.ProtocolVersion,
			MagicCookieKey:   grpcplugin.MagicCookieKey,
			MagicCookieValue: grpcplugin.MagicCookieValue,
		},
		VersionedPlugins: map[int]goplugin.PluginSet{grpcplugin.ProtocolVersion: {
			"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{},
			"resource":    &grpcplugin.ResourceGRPCPlugin{},
			"data":        &grpcplugin.DataGRPCPlugin{},
			"stream":      &grpcplugin.StreamGRPCPlugin{},
		}},
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           hclog.New(&hclog.LoggerOptions{Output: io.Discard}),
		StartTimeout:     30 * time.Second,
	})
	t.Cleanup(c.Kill)
	rpc, err := c.Client()
	require.NoError(t, err, "go-plugin handshake with %s", bin)
	g := grafana{client: c}
	raw, err := rpc.Dispense("data")
	require.NoError(t, err)
	g.data = raw.(grpcplugin.DataClient)
	raw, err = rpc.Dispense("diagnostics")
	require.NoError(t, err)
	g.diagnostics = raw.(grpcplugin.DiagnosticsClient)
	raw, err = rpc.Dispense("resource")
	require.NoError(t, err)
	g.resource = raw.(grpcplugin.ResourceClient)
	return g
}

func settings(url, token string, updated time.Time) *backend.DataSourceInstanceSettings {
	return &backend.DataSourceInstanceSettings{UID: "incidents", Name: "Incidents", Type: pluginID, URL: url,
		JSONData: []byte(`{"timeoutSeconds":10}`), DecryptedSecureJSONData: map[string]string{"apiToken": token}, Updated: updated}
}

func (g grafana) health(t *testing.T, pc backend.PluginContext) *backend.CheckHealthResult {
	t.Helper()
	resp, err := g.diagnostics.CheckHealth(context.Background(), &pluginv2.CheckHealthRequest{PluginContext: backend.ToProto().PluginContext(pc)})
	require.NoError(t, err)
	return backend.FromProto().CheckHealthResponse(resp)
}

func (g grafana) query(t testing.TB, pc backend.PluginContext, headers map[string]string, qs ...backend.DataQuery) *backend.QueryDataResponse {
	t.Helper()
	resp, err := g.data.QueryData(context.Background(), backend.ToProto().QueryDataRequest(&backend.QueryDataRequest{PluginContext: pc, Headers: headers, Queries: qs}))
	require.NoError(t, err)
	out, err := backend.FromProto().QueryDataResponse(resp)
	require.NoError(t, err)
	return out
}

func (g grafana) resourceCall(t *testing.T, pc backend.PluginContext, method, path string, body any) (int, []byte) {
	t.Helper()
	var b []byte
	if body != nil {
		var err error
		b, err = json.Marshal(body)
		require.NoError(t, err)
	}
	stream, err := g.resource.CallResource(context.Background(), backend.ToProto().CallResourceRequest(&backend.CallResourceRequest{
		PluginContext: pc, Method: method, Path: path, URL: path, Body: b,
		Headers: map[string][]string{"Content-Type": {"application/json"}},
	}))
	require.NoError(t, err)
	status := 0
	var out []byte
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if status == 0 {
			status = int(r.Code)
		}
		out = append(out, r.Body...)
	}
	return status, out
}

func dq(refID, queryType string, from, to time.Time, js string) backend.DataQuery {
	return backend.DataQuery{RefID: refID, QueryType: queryType, JSON: []byte(js), Interval: time.Hour, MaxDataPoints: 500,
		TimeRange: backend.TimeRange{From: from, To: to}}
}

func TestBinaryAgainstIncidentd(t *testing.T) {
	bin := pluginBinary(t)
	inc := startIncidentd(t)
	g := startPlugin(t, bin)

	now := time.Now().UTC().Truncate(time.Second)
	inc.notify(t, map[string]string{"alertname": "ModelDown", "model": "fraud-v3"}, map[string]string{"tier": "P1", "team": "ml-platform"}, now.Add(-3*time.Hour))
	inc.notify(t, map[string]string{"alertname": "AccuracyLow", "model": "support-llm"}, map[string]string{"tier": "P2", "team": "llm"}, now.Add(-2*time.Hour))
	inc.notify(t, map[string]string{"alertname": "FeatureDriftHigh", "model": "fraud-v3"}, map[string]string{"tier": "P3", "team": "ml-platform"}, now.Add(-1*time.Hour))
	var page struct {
		Incidents []struct {
			ID    int64  `json:"id"`
			Title string `json:"title"`
			Tier  string `json:"tier"`
		} `json:"incidents"`
	}
	require.Equal(t, 200, inc.call(t, http.MethodGet, "/api/v1/incidents", "plugin-token", nil, &page))
	require.Len(t, page.Incidents, 3)
	p1 := page.Incidents[2].ID // newest detection first
	require.Equal(t, "P1", page.Incidents[2].Tier)

	updated := now
	editor := &backend.User{Login: "erin", Name: "Erin", Role: "Editor"}
	pc := backend.PluginContext{PluginID: pluginID, DataSourceInstanceSettings: settings(inc.url, "plugin-token", updated), User: editor}
	from, to := now.Add(-6*time.Hour), now.Add(time.Minute)

	t.Run("health", func(t *testing.T) {
		h := g.health(t, pc)
		require.Equal(t, backend.HealthStatusOk, h.Status, h.Message)
		require.Contains(t, h.Message, "Connected to incidentd at "+inc.url)

		bad := backend.PluginContext{PluginID: pluginID, DataSourceInstanceSettings: settings(inc.url, "wrong-token", updated.Add(time.Second))}
		bad.DataSourceInstanceSettings.UID = "wrong-token"
		h = g.health(t, bad)
		require.Equal(t, backend.HealthStatusError, h.Status)
		require.Contains(t, h.Message, "rejected the API token (401)")

		nodelegate := backend.PluginContext{PluginID: pluginID, DataSourceInstanceSettings: settings(inc.url, "reader-token", updated)}
		nodelegate.DataSourceInstanceSettings.UID = "reader"
		h = g.health(t, nodelegate)
		require.Equal(t, backend.HealthStatusOk, h.Status)
		require.Contains(t, h.Message, "may not act for Grafana users")
	})

	t.Run("queries", func(t *testing.T) {
		resp := g.query(t, pc, nil,
			dq("incidents", "incidents", from, to, `{"labelColumns":["alertname"]}`),
			dq("filtered", "incidents", from, to, `{"teams":["ml-platform"],"tiers":["P1","P3"]}`),
			dq("counts", "counts", from, to, `{"splitBy":"team"}`),
			dq("stats", "stats", from, to, `{"groupBy":"tier"}`),
			dq("timeline", "timeline", from, to, fmt.Sprintf(`{"incidentId":%d}`, p1)),
			dq("annotations", "annotations", from, to, `{"includeChanges":true}`),
			dq("teams", "variables", from, to, `{"variable":"teams"}`),
		)
		for ref, r := range resp.Responses {
			require.NoError(t, r.Error, ref)
		}
		inc := resp.Responses["incidents"].Frames[0]
		require.Equal(t, 3, inc.Rows())
		tier, _ := inc.FieldByName("tier")
		require.Equal(t, []string{"P3", "P2", "P1"}, []string{tier.At(0).(string), tier.At(1).(string), tier.At(2).(string)})
		an, _ := inc.FieldByName("label_alertname")
		require.Equal(t, "FeatureDriftHigh", *an.At(0).(*string))
		// The runbook is the alert's runbook_url annotation, where Prometheus rules put it.
		rb, _ := inc.FieldByName("runbook")
		require.Equal(t, "https://runbooks.example/FeatureDriftHigh", *rb.At(0).(*string))
		require.Equal(t, 2, resp.Responses["filtered"].Frames[0].Rows())

		var total int64
		teams := map[string]int64{}
		for _, f := range resp.Responses["counts"].Frames {
			for i := 0; i < f.Rows(); i++ {
				v := f.Fields[1].At(i).(int64)
				total += v
				teams[f.Fields[1].Labels["team"]] += v
			}
		}
		require.Equal(t, int64(3), total)
		require.Equal(t, map[string]int64{"llm": 1, "ml-platform": 2}, teams)

		st := resp.Responses["stats"].Frames[0]
		counts := map[string]float64{}
		for _, f := range st.Fields {
			if f.Name == "count" {
				counts[f.Labels["tier"]] = *f.At(0).(*float64)
			}
		}
		require.Equal(t, map[string]float64{"P1": 1, "P2": 1, "P3": 1}, counts)

		tl := resp.Responses["timeline"].Frames[0]
		require.GreaterOrEqual(t, tl.Rows(), 2, "opened + alert firing")
		require.Equal(t, 3, resp.Responses["annotations"].Frames[0].Rows())
		tv := resp.Responses["teams"].Frames[0].Fields[0]
		require.Equal(t, []string{"llm", "ml-platform"}, []string{tv.At(0).(string), tv.At(1).(string)})
	})

	t.Run("alerting without a user", func(t *testing.T) {
		alerting := backend.PluginContext{PluginID: pluginID, DataSourceInstanceSettings: pc.DataSourceInstanceSettings}
		resp := g.query(t, alerting, map[string]string{"http_FromAlert": "true"}, dq("A", "stats", from, to, `{}`))
		require.NoError(t, resp.Responses["A"].Error)
		open, _ := resp.Responses["A"].Frames[0].FieldByName("open")
		require.Equal(t, 3.0, *open.At(0).(*float64))
	})

	t.Run("actions reach the audit log as the Grafana user", func(t *testing.T) {
		code, body := g.resourceCall(t, pc, http.MethodPost, fmt.Sprintf("incidents/%d/ack", p1), map[string]string{"note": "looking"})
		require.Equal(t, 200, code, string(body))
		code, body = g.resourceCall(t, pc, http.MethodPost, fmt.Sprintf("incidents/%d/transition", p1), map[string]string{"to": "contained", "note": "fallback on"})
		require.Equal(t, 200, code, string(body))
		code, body = g.resourceCall(t, pc, http.MethodPost, fmt.Sprintf("incidents/%d/notes", p1), map[string]string{"kind": "note", "text": "rolled back v8"})
		require.Equal(t, 200, code, string(body))

		// incidentd refuses to move back: its 409 comes through, attributed downstream.
		code, body = g.resourceCall(t, pc, http.MethodPost, fmt.Sprintf("incidents/%d/transition", p1), map[string]string{"to": "detected"})
		require.Equal(t, 409, code, string(body))
		require.Contains(t, string(body), `"source":"downstream"`)

		viewer := pc
		viewer.User = &backend.User{Login: "vic", Role: "Viewer"}
		code, body = g.resourceCall(t, viewer, http.MethodPost, fmt.Sprintf("incidents/%d/ack", p1), nil)
		require.Equal(t, 403, code, string(body))

		var detail struct {
			State    string `json:"state"`
			Timeline []struct {
				Actor string `json:"actor"`
				To    string `json:"to"`
			} `json:"timeline"`
		}
		require.Equal(t, 200, inc.call(t, http.MethodGet, fmt.Sprintf("/api/v1/incidents/%d", p1), "admin-token", nil, &detail))
		require.Equal(t, "contained", detail.State)

		var audit struct {
			Entries []struct {
				Actor  string `json:"actor"`
				Action string `json:"action"`
				Object string `json:"object"`
			} `json:"entries"`
		}
		require.Equal(t, 200, inc.call(t, http.MethodGet, "/api/v1/audit?object="+fmt.Sprintf("incident/%d", p1), "admin-token", nil, &audit))
		var byErin []string
		for _, e := range audit.Entries {
			if e.Actor == "erin (via grafana-plugin)" {
				byErin = append(byErin, e.Action)
			}
			require.NotEqual(t, "vic (via grafana-plugin)", e.Actor, "the viewer's attempt must not reach incidentd")
		}
		require.Len(t, byErin, 3, "ack, transition and note, each in erin's name: %+v", audit.Entries)

		// The timeline query shows the transition in the user's name.
		resp := g.query(t, pc, nil, dq("T", "timeline", from, to, fmt.Sprintf(`{"incidentId":"%d"}`, p1)))
		require.NoError(t, resp.Responses["T"].Error)
		actors, _ := resp.Responses["T"].Frames[0].FieldByName("actor")
		found := false
		for i := 0; i < actors.Len(); i++ {
			found = found || actors.At(i).(string) == "erin (via grafana-plugin)"
		}
		require.True(t, found)
	})

	t.Run("metrics", func(t *testing.T) {
		resp, err := g.diagnostics.CollectMetrics(context.Background(), &pluginv2.CollectMetricsRequest{PluginContext: backend.ToProto().PluginContext(pc)})
		require.NoError(t, err)
		text := string(resp.Metrics.Prometheus)
		require.Contains(t, text, `opscentre_plugin_queries_total{from_alert="true",outcome="ok",query_type="stats"} 1`)
		require.Contains(t, text, `opscentre_plugin_actions_total{action="ack",outcome="ok"} 1`)
		require.Contains(t, text, `opscentre_plugin_actions_total{action="ack",outcome="denied"} 1`)
		require.Contains(t, text, `opscentre_plugin_incidentd_requests_total{code="401",endpoint="incidents"} 1`)
	})
}

// Run by hand, the binary refuses politely, as Grafana's plugins do.
func TestBinaryWithoutGrafana(t *testing.T) {
	bin := pluginBinary(t)
	out, err := exec.Command(bin).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "This binary is a plugin")
}
