package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/api"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/storetest"
)

func sha(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func testConfig(extra string) string {
	return fmt.Sprintf(`
incidents:
  reopen_window: 30m
webhook:
  bearer_token_sha256: [%s]
  basic_auth_users: {am: %s}
api:
  tokens:
    - {subject: alice, role: responder, token_sha256: %s}
    - {subject: root, role: admin, token_sha256: %s}
    - {subject: grafana-plugin, role: responder, token_sha256: %s, delegate: true}
  tokens_file: tokens.txt
%s`, sha("s3cret"), sha("pw"), sha("alice-token"), sha("admin-token"), sha("grafana-token"), extra)
}

type harness struct {
	t      *testing.T
	app    *App
	url    string
	reg    *prometheus.Registry
	dir    string
	clock  *storetest.Clock
	reload chan struct{}
	done   chan error
	cancel context.CancelFunc
}

func start(t *testing.T, opts ...func(*Options)) *harness {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "incidentd.yml"), []byte(testConfig("")), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokens.txt"), []byte("# subject role token\nvictor viewer view-token\n"), 0o600))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h := &harness{t: t, url: "http://" + l.Addr().String(), reg: prometheus.NewRegistry(), dir: dir,
		clock: storetest.NewClock(storetest.T0.Add(24 * time.Hour)), reload: make(chan struct{}), done: make(chan error, 1)}
	o := DefaultOptions()
	o.ConfigFile = filepath.Join(dir, "incidentd.yml")
	o.StoragePath = filepath.Join(dir, "data", "incidentd.db")
	o.Listener = l
	o.Registry = h.reg
	o.Now = h.clock.Now
	o.Reload = h.reload
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	a, err := New(ctx, o)
	require.NoError(t, err)
	h.app = a
	go func() { h.done <- a.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-h.done)
	})
	return h
}

func (h *harness) do(method, path, token string, body any, hdr ...string) (int, []byte) {
	h.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(h.t, err)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, h.url+path, r)
	require.NoError(h.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return resp.StatusCode, out
}

func capture(t *testing.T, name string) []byte {
	b, err := os.ReadFile(filepath.Join("..", "internal", "webhook", "testdata", name))
	require.NoError(t, err)
	return b
}

func TestWebhookAuthAndStatuses(t *testing.T) {
	h := start(t)
	body := capture(t, "firing-group.json")
	code, out := h.do("POST", "/api/v1/alertmanager", "", body)
	require.Equal(t, http.StatusUnauthorized, code, string(out))
	code, _ = h.do("POST", "/api/v1/alertmanager", "wrong", body)
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = h.do("POST", "/api/v1/alertmanager", "alice-token", body)
	require.Equal(t, http.StatusUnauthorized, code, "API tokens are not webhook credentials")

	code, out = h.do("POST", "/api/v1/alertmanager", "s3cret", body)
	require.Equal(t, http.StatusOK, code, string(out))
	require.Contains(t, string(out), `"new_transitions":2`)

	// basic auth works too
	req, _ := http.NewRequest("POST", h.url+"/api/v1/alertmanager", bytes.NewReader(body))
	req.SetBasicAuth("am", "pw")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	code, out = h.do("POST", "/api/v1/alertmanager", "s3cret", `{"status":"firing","alerts":[{"status":"firing","startsAt":"nope"}]}`)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(out), "cannot decode")
	code, out = h.do("POST", "/api/v1/alertmanager", "s3cret", `{"status":"firing","alerts":[{"status":"firing","labels":{"a":"b"}}]}`)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(out), `alerts[0].startsAt`)
	big := `{"status":"firing","receiver":"` + strings.Repeat("x", 5<<20) + `","alerts":[]}`
	code, _ = h.do("POST", "/api/v1/alertmanager", "s3cret", big)
	require.Equal(t, http.StatusRequestEntityTooLarge, code)

	metrics := scrape(t, h)
	require.Contains(t, metrics, `incidentd_notifications_received_total 8`)
	require.Contains(t, metrics, `incidentd_notifications_deduplicated_total 1`)
	require.Contains(t, metrics, `incidentd_notifications_rejected_total{reason="invalid"} 2`)
	require.Contains(t, metrics, `incidentd_notifications_rejected_total{reason="unauthorized"} 3`)
	require.Contains(t, metrics, `incidentd_notifications_rejected_total{reason="too_large"} 1`)
	require.Contains(t, metrics, `incidentd_incidents_open{state="detected",tier="P3"} 1`)
}

func scrape(t *testing.T, h *harness) string {
	t.Helper()
	code, out := h.do("GET", "/metrics", "", nil)
	require.Equal(t, http.StatusOK, code)
	return string(out)
}

func TestIncidentAPI(t *testing.T) {
	h := start(t)
	code, _ := h.do("POST", "/api/v1/alertmanager", "s3cret", capture(t, "firing-group.json"))
	require.Equal(t, http.StatusOK, code)

	code, _ = h.do("GET", "/api/v1/incidents", "", nil)
	require.Equal(t, http.StatusUnauthorized, code)
	code, out := h.do("GET", "/api/v1/incidents?tier=P3&team=ml-platform&state=detected", "view-token", nil)
	require.Equal(t, http.StatusOK, code, string(out))
	var page store.Page
	require.NoError(t, json.Unmarshal(out, &page))
	require.Len(t, page.Incidents, 1)
	id := page.Incidents[0].ID
	code, out = h.do("GET", "/api/v1/incidents?tier=P9", "view-token", nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(out), "tier")
	code, out = h.do("GET", "/api/v1/incidents?from=yesterday", "view-token", nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(out), "from: expected an RFC 3339 time")

	path := fmt.Sprintf("/api/v1/incidents/%d", id)
	code, _ = h.do("POST", path+"/ack", "view-token", `{}`)
	require.Equal(t, http.StatusForbidden, code, "viewers cannot act")
	h.clock.Set(storetest.T0.Add(24*time.Hour + 5*time.Minute))
	code, out = h.do("POST", path+"/ack", "alice-token", `{"note":"on it"}`)
	require.Equal(t, http.StatusOK, code, string(out))
	require.Contains(t, string(out), `"state":"triaged"`)

	code, out = h.do("POST", path+"/transitions", "grafana-token", `{"to":"contained","note":"fallback on"}`, "X-Grafana-User", "bob")
	require.Equal(t, http.StatusOK, code, string(out))
	code, out = h.do("POST", path+"/transitions", "alice-token", `{"to":"contained"}`, "X-Grafana-User", "mallory")
	require.Equal(t, http.StatusForbidden, code, "alice's token may not delegate: %s", out)
	code, out = h.do("POST", path+"/transitions", "alice-token", `{"to":"triaged"}`)
	require.Equal(t, http.StatusConflict, code, string(out))
	code, out = h.do("POST", path+"/transitions", "alice-token", `{"to":"done"}`)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(out), "to: unknown state")
	code, out = h.do("POST", path+"/transitions", "alice-token", `{"to":"resolved","colour":"red"}`)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(out), `unknown field \"colour\"`)
	code, out = h.do("POST", path+"/notes", "alice-token", `{"kind":"containment","containment_kind":"fallback","text":"routed to rules"}`)
	require.Equal(t, http.StatusOK, code, string(out))
	code, _ = h.do("POST", path+"/assign", "alice-token", `{"assignee":"ml-oncall"}`)
	require.Equal(t, http.StatusOK, code)
	code, _ = h.do("POST", path+"/tier", "alice-token", `{"tier":"P2"}`)
	require.Equal(t, http.StatusOK, code)
	code, _ = h.do("POST", "/api/v1/incidents/999/ack", "alice-token", `{}`)
	require.Equal(t, http.StatusNotFound, code)
	code, _ = h.do("POST", "/api/v1/incidents/abc/ack", "alice-token", `{}`)
	require.Equal(t, http.StatusBadRequest, code)

	code, out = h.do("GET", path, "view-token", nil)
	require.Equal(t, http.StatusOK, code)
	var d store.Detail
	require.NoError(t, json.Unmarshal(out, &d))
	require.Len(t, d.Alerts, 2)
	require.Len(t, d.Notes, 1)
	require.Equal(t, "P2", string(d.Tier))
	require.Equal(t, "ml-oncall", d.Assignee)
	// Detected when the alert started (20:58:15), acknowledged the next day at 20:05:00.
	require.Equal(t, (23*time.Hour + 6*time.Minute + 45*time.Second).Seconds(), d.MTTASeconds)
	require.True(t, d.SLABreached, "P2 (after override) target is one hour")
	var actors []string
	for _, e := range d.Timeline {
		actors = append(actors, e.Kind+":"+e.Actor)
	}
	require.Equal(t, []string{"opened:system", "ack:alice", "transition:bob (via grafana-plugin)", "containment:alice", "assigned:alice", "tier_changed:alice"}, actors)

	code, _ = h.do("GET", "/api/v1/audit", "alice-token", nil)
	require.Equal(t, http.StatusForbidden, code, "audit is for admins")
	code, out = h.do("GET", "/api/v1/audit?actor=bob+(via+grafana-plugin)", "admin-token", nil)
	require.Equal(t, http.StatusOK, code, string(out))
	require.Contains(t, string(out), `"action":"incident.transition"`)
	require.Equal(t, 1, strings.Count(string(out), `"seq"`))
	code, out = h.do("GET", "/api/v1/audit/verify", "admin-token", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(out), `"ok":true`)
	require.Contains(t, string(out), `"entries":6`)

	code, out = h.do("GET", "/api/v1/stats?from=2026-11-29T00:00:00Z&to=2026-12-01T00:00:00Z", "view-token", nil)
	require.Equal(t, http.StatusOK, code, string(out))
	var st store.Stats
	require.NoError(t, json.Unmarshal(out, &st))
	require.Equal(t, 1, st.Total.Count)
	require.Equal(t, 1, st.Total.Acked)
	require.Equal(t, "ml-platform", st.ByTeam[0].Key)

	m := scrape(t, h)
	require.Contains(t, m, `incidentd_incident_ack_duration_seconds_count{tier="P2"} 1`)
	require.Contains(t, m, `incidentd_incident_ack_duration_seconds_bucket{tier="P2",le="86400"} 1`)
	require.Contains(t, m, `incidentd_incident_ack_duration_seconds_bucket{tier="P2",le="14400"} 0`)
	require.Contains(t, m, `incidentd_incidents_open{state="contained",tier="P2"} 1`)
	require.Contains(t, m, `incidentd_incidents_sla_breached{tier="P2"} 1`)
	require.Contains(t, m, `incidentd_store_operation_duration_seconds_count{op="ingest"} 1`)
}

// The README acknowledges with `POST …/ack` and no body: every field of ack and reopen is
// optional, so an empty body is an empty object; an action that requires a field still names it.
func TestActionsTakeAnEmptyBody(t *testing.T) {
	h := start(t)
	code, _ := h.do("POST", "/api/v1/alertmanager", "s3cret", capture(t, "firing-group.json"))
	require.Equal(t, http.StatusOK, code)
	code, out := h.do("GET", "/api/v1/incidents", "view-token", nil)
	require.Equal(t, http.StatusOK, code, string(out))
	var page store.Page
	require.NoError(t, json.Unmarshal(out, &page))
	require.Len(t, page.Incidents, 1)
	path := fmt.Sprintf("/api/v1/incidents/%d", page.Incidents[0].ID)

	code, out = h.do("POST", path+"/ack", "alice-token", nil)
	require.Equal(t, http.StatusOK, code, string(out))
	require.Contains(t, string(out), `"state":"triaged"`)
	code, out = h.do("POST", path+"/transitions", "alice-token", nil)
	require.Equal(t, http.StatusBadRequest, code, string(out))
	require.Contains(t, string(out), "to")
	code, out = h.do("POST", path+"/ack", "alice-token", "{")
	require.Equal(t, http.StatusBadRequest, code, "a malformed body is still an error: %s", out)
}

func TestOpenAPICoversEveryRoute(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(api.OpenAPI(), &doc))
	a := api.New(api.Options{})
	require.NotEmpty(t, a.Routes())
	paths := map[string]bool{}
	for _, r := range a.Routes() {
		paths[r.Path] = true
		ops, ok := doc.Paths[r.Path]
		require.True(t, ok, "%s missing from openapi.yaml", r.Path)
		_, ok = ops[strings.ToLower(r.Method)]
		require.True(t, ok, "%s %s missing from openapi.yaml", r.Method, r.Path)
	}
	require.Len(t, doc.Paths, len(paths), "openapi.yaml documents a path the router does not serve")
	h := start(t)
	code, out := h.do("GET", "/api/v1/openapi.yaml", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, api.OpenAPI(), out)
}

func TestOperations(t *testing.T) {
	h := start(t)
	code, _ := h.do("GET", "/-/healthy", "", nil)
	require.Equal(t, http.StatusOK, code)
	code, _ = h.do("GET", "/-/ready", "", nil)
	require.Equal(t, http.StatusOK, code)

	// A broken file is refused and the old configuration stays.
	cfgPath := filepath.Join(h.dir, "incidentd.yml")
	require.NoError(t, os.WriteFile(cfgPath, []byte("incidents:\n  group_by: [\"not a label\"]\n"), 0o600))
	code, out := h.do("POST", "/-/reload", "admin-token", nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(out), "incidents.group_by[0]")
	require.Contains(t, scrape(t, h), "incidentd_config_last_reload_successful 0")
	code, _ = h.do("POST", "/api/v1/alertmanager", "s3cret", capture(t, "firing-group.json"))
	require.Equal(t, http.StatusOK, code, "old credentials still work")

	// Rotate the webhook secret via SIGHUP.
	newCfg := strings.Replace(testConfig(""), sha("s3cret"), sha("n3w"), 1)
	require.NoError(t, os.WriteFile(cfgPath, []byte(newCfg), 0o600))
	h.reload <- struct{}{}
	require.Eventually(t, func() bool {
		return strings.Contains(scrape(t, h), "incidentd_config_last_reload_successful 1")
	}, 5*time.Second, 20*time.Millisecond)
	code, _ = h.do("POST", "/api/v1/alertmanager", "s3cret", capture(t, "firing-group.json"))
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = h.do("POST", "/api/v1/alertmanager", "n3w", capture(t, "partly-resolved-group.json"))
	require.Equal(t, http.StatusOK, code)
	code, _ = h.do("POST", "/-/reload", "alice-token", nil)
	require.Equal(t, http.StatusForbidden, code)
	code, out = h.do("GET", "/api/v1/audit?action=config.", "admin-token", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(out), `"actor":"signal"`)
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yml")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokens.txt"), []byte("bad line\n"), 0o600))
	require.NoError(t, os.WriteFile(p, []byte(testConfig("")), 0o600))
	_, err := CheckConfig(p)
	require.ErrorContains(t, err, "tokens.txt:1: expected `subject role token [delegate]`")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokens.txt"), []byte("x admin tok delegate\n"), 0o600))
	_, err = CheckConfig(p)
	require.NoError(t, err)
	for body, want := range map[string]string{
		"sla: {P7: 1h}":                 "sla.P7",
		"incidents: {reopen_windw: 1h}": "field reopen_windw not found",
		"api: {tokens: [{subject: a, role: god, token_sha256: " + sha("x") + "}]}": "api.tokens[0].role",
		"api: {tokens: [{subject: a, role: admin, token_sha256: abc}]}":            "api.tokens[0].token_sha256",
		"webhook: {max_body_bytes: -1}":                                            "webhook.max_body_bytes",
	} {
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		_, err := CheckConfig(p)
		require.ErrorContains(t, err, want, body)
	}
}

// TestPprofOnlyWhenEnabled: the profiler is unauthenticated, so it is served only on request.
func TestPprofOnlyWhenEnabled(t *testing.T) {
	h := start(t)
	code, _ := h.do("GET", "/debug/pprof/cmdline", "", nil)
	require.Equal(t, http.StatusNotFound, code)
	h = start(t, func(o *Options) { o.EnablePprof = true })
	code, _ = h.do("GET", "/debug/pprof/cmdline", "", nil)
	require.Equal(t, http.StatusOK, code)
	code, out := h.do("GET", "/debug/pprof/", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(out), "goroutine")
}
