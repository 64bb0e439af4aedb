package stack

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/client"
	"github.com/opscentre/opscentre/test/testbin"
)

// With the demo's tokens, the real incidentd refuses anonymous reads; the applications'
// token reads containments and nothing else, so the demo's watcher sees a containment the
// demo's responder applies from the API (as the README's tour does with curl), and loses
// it when the responder lifts it; a watcher without a token learns nothing.
func TestDemoTokensCloseTheAPI(t *testing.T) {
	bin := testbin.Project(t, "incidentd")
	d, err := LoadDemo(testbin.RepoRoot(t))
	require.NoError(t, err)
	tokens, err := NewDemoTokens()
	require.NoError(t, err)
	require.Len(t, tokens.Application, 32)
	require.NotEqual(t, tokens.Application, tokens.Responder)
	dir := t.TempDir()
	require.NoError(t, tokens.WriteTo(dir))
	for name, want := range map[string]string{ApplicationTokenFile: tokens.Application, ResponderTokenFile: tokens.Responder, GrafanaTokenFile: tokens.Grafana} {
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), name)
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, want, strings.TrimSpace(string(b)))
	}
	cfg := filepath.Join(dir, "incidentd.yml")
	require.NoError(t, os.WriteFile(cfg, []byte(DemoContainmentConfig+tokens.IncidentdConfig()), 0o600))
	port, err := FreePort()
	require.NoError(t, err)
	s := &Stack{opts: Options{Dir: dir, ReadyTimeout: 30 * time.Second}, IncidentdURL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	t.Cleanup(s.Stop)
	require.NoError(t, s.run(context.Background(), "incidentd", bin, []string{"--web.listen-address=" + addr(port),
		"--storage.path=" + filepath.Join(dir, "i.db"), "--config.file=" + cfg}, s.IncidentdURL+"/-/ready"))

	var grafanaUser string // sent as X-Grafana-User when set
	do := func(method, path, token, body string) int {
		t.Helper()
		req, err := http.NewRequest(method, s.IncidentdURL+path, bytes.NewBufferString(body))
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if grafanaUser != "" {
			req.Header.Set("X-Grafana-User", grafanaUser)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusUnauthorized, do("GET", "/api/v1/containments", "", ""), "no token, no containments")
	require.Equal(t, http.StatusUnauthorized, do("GET", "/api/v1/incidents", "", ""), "no token, no incidents")
	require.Equal(t, http.StatusOK, do("GET", "/api/v1/containments", tokens.Application, ""))
	require.Equal(t, http.StatusForbidden, do("GET", "/api/v1/incidents", tokens.Application, ""), "the applications' token reads containments only")
	require.Equal(t, http.StatusForbidden, do("POST", "/api/v1/containments", tokens.Application,
		`{"model":"fraud-classifier","action":"disable","reason":"x"}`), "nor may it contain")
	require.Equal(t, http.StatusOK, do("GET", "/api/v1/incidents", tokens.Responder, ""))
	_, err = Incidents(context.Background(), s.IncidentdURL, tokens.Responder)
	require.NoError(t, err)
	_, err = Containments(context.Background(), s.IncidentdURL, "")
	require.ErrorContains(t, err, "401")

	w, err := d.Watcher(s.IncidentdURL, tokens.Application)
	require.NoError(t, err)
	defer w.Close()
	anon, err := client.NewWatcher(client.WatcherOptions{URL: s.IncidentdURL, Models: []string{"fraud-classifier"}, Refresh: DemoWatchRefresh})
	require.NoError(t, err)
	defer anon.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// incidentd contains only models it has heard of: an alert of the demo's fraud model
	// (Alertmanager's webhook has its own credentials, none in the demo).
	require.Equal(t, http.StatusOK, do("POST", "/api/v1/alertmanager", "", `{"version":"4","groupKey":"{}:{alertname=\"FraudV2Errors\"}","status":"firing",
		"receiver":"incidentd","groupLabels":{"alertname":"FraudV2Errors"},"commonLabels":{"alertname":"FraudV2Errors","model":"fraud-classifier","tier":"P2"},
		"externalURL":"http://am","alerts":[{"status":"firing","labels":{"alertname":"FraudV2Errors","model":"fraud-classifier","tier":"P2"},
		"startsAt":"`+time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)+`","fingerprint":"f1"}]}`))
	require.Equal(t, http.StatusCreated, do("POST", "/api/v1/containments", tokens.Responder,
		`{"model":"fraud-classifier","version":"v2","action":"fallback","fallback_version":"v1","reason":"the tour"}`))
	require.NoError(t, w.Refresh(ctx))
	dec := w.Decide("fraud-classifier", "v2", nil)
	require.Equal(t, client.Fallback, dec.Action)
	require.Equal(t, "v1", dec.Version)
	require.ErrorContains(t, anon.Refresh(ctx), "401")
	require.Equal(t, client.Serve, anon.Decide("fraud-classifier", "v2", nil).Action, "an unauthenticated watcher never learns of it")

	cs, err := Containments(ctx, s.IncidentdURL, tokens.Responder)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.Equal(t, "demo-responder", cs[0].CreatedBy)
	require.Equal(t, http.StatusOK, do("POST", fmt.Sprintf("/api/v1/containments/%d/lift", cs[0].ID), tokens.Responder, `{"reason":"v2 fixed"}`))
	require.NoError(t, w.Refresh(ctx))
	require.Equal(t, client.Serve, w.Decide("fraud-classifier", "v2", nil).Action)

	// The Grafana token acts for the Grafana user (the plugin's contain and lift); the
	// responder's may not.
	grafanaUser = "alice"
	require.Equal(t, http.StatusForbidden, do("POST", "/api/v1/containments", tokens.Responder,
		`{"model":"fraud-classifier","action":"disable","reason":"from Grafana"}`))
	require.Equal(t, http.StatusCreated, do("POST", "/api/v1/containments", tokens.Grafana,
		`{"model":"fraud-classifier","action":"disable","reason":"from Grafana"}`))
	cs, err = Containments(ctx, s.IncidentdURL, tokens.Responder)
	require.NoError(t, err)
	require.Len(t, cs, 2)
	require.Equal(t, "alice (via grafana)", cs[1].CreatedBy)
}
