package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/test/notifytest"
)

// responseConfig routes every incident to team risk, whose policy pages the primary at
// once and the secondary after an hour.
func responseConfig(hookURL string) string {
	return fmt.Sprintf(`
oncall:
  teams:
  - name: risk
    schedules:
    - {name: primary, timezone: UTC, rotation: daily, start: 2026-01-01, members: [alice]}
    - {name: secondary, timezone: UTC, rotation: daily, start: 2026-01-01, members: [carol]}
channels:
- {name: alice-hook, webhook: {url: %q, secret: "0123456789abcdef"}}
- {name: carol-hook, webhook: {url: %q, secret: "0123456789abcdef"}}
people: {alice: [alice-hook], carol: [carol-hook]}
escalation_policies:
- {name: risk, steps: [{targets: [{schedule: primary}]}, {delay: 1h, targets: [{schedule: secondary}]}]}
routing:
  default: {team: risk, escalation_policy: risk}
`, hookURL+"/alice", hookURL+"/carol")
}

// An incident the worker has paged for shows where its escalation stands in
// /notifications, as the README and the OpenAPI document promise (it used to answer
// "escalation": null for every incident: the API was never given the status).
func TestNotificationsShowEscalationState(t *testing.T) {
	hooks := notifytest.NewServer(t)
	h := start(t, withConfig(responseConfig(hooks.URL)), func(o *Options) { o.EscalationInterval = 20 * time.Millisecond })
	code, out := h.do("POST", "/api/v1/alertmanager", "s3cret", p1Fallback(h.clock.Now().Add(-time.Minute), "firing"))
	require.Equal(t, http.StatusOK, code, string(out))
	var res struct {
		Incidents []int64 `json:"incidents"`
	}
	require.NoError(t, json.Unmarshal(out, &res), string(out))
	require.Len(t, res.Incidents, 1)
	path := fmt.Sprintf("/api/v1/incidents/%d/notifications", res.Incidents[0])

	type notifications struct {
		Escalation *struct {
			Team, Policy, Tier, Action, State string
			Step                              int       `json:"next_step"`
			DueAt                             time.Time `json:"due_at"`
		} `json:"escalation"`
		Notifications []struct{ Channel, Kind, Status string } `json:"notifications"`
	}
	var got notifications
	eventually(t, "the first page to be delivered", func() bool {
		code, out := h.do("GET", path, "view-token", nil)
		require.Equal(t, http.StatusOK, code, string(out))
		got = notifications{}
		require.NoError(t, json.Unmarshal(out, &got), string(out))
		return len(got.Notifications) > 0 && got.Notifications[0].Status == "sent"
	})
	require.Equal(t, "alice-hook", got.Notifications[0].Channel)
	require.NotNil(t, got.Escalation, `"escalation" is null for an incident the worker paged for`)
	require.Equal(t, "risk", got.Escalation.Team)
	require.Equal(t, "risk", got.Escalation.Policy)
	require.Equal(t, "P1", got.Escalation.Tier)
	require.Equal(t, "page", got.Escalation.Action)
	require.Equal(t, "pending", got.Escalation.State)
	require.Equal(t, 2, got.Escalation.Step, "the secondary is next")
	require.Equal(t, h.clock.Now().Add(time.Hour).UTC(), got.Escalation.DueAt.UTC(), "due an hour after the first page")
}

// Every field of api.Options is set by the app: a field left nil is an endpoint that
// answers as if the feature were off (as /notifications' escalation state once did).
// Evidence is set only with a Prometheus configured, so this configuration has one.
func TestEveryAPIOptionIsWired(t *testing.T) {
	hooks := notifytest.NewServer(t)
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
	}))
	t.Cleanup(prom.Close)
	h := start(t, withConfig(responseConfig(hooks.URL)+fmt.Sprintf("prometheus: {url: %q}\n", prom.URL)))
	rt := h.app.rt.Load()
	o := h.app.apiOptions(rt)
	v := reflect.ValueOf(o)
	for i := range v.NumField() {
		require.False(t, v.Field(i).IsZero(), "api.Options.%s is not wired", v.Type().Field(i).Name)
	}
	// The getters answer with the runtime the API was built for.
	require.Same(t, rt.auth, o.Auth())
	require.Same(t, rt.response.Directory, o.OnCall())
	require.Equal(t, []string{"risk"}, o.OnCall().Teams())
}

// twoConfigs are configurations that differ in every part a reload swaps: tokens, on-call
// teams, routing, heartbeats, containment policies, hooks and the incident policy. Each
// names its part after itself ("alpha" or "beta"), so a reader can tell which file any
// part came from; the admin token is in both.
func twoConfigs(hookURL string) map[string]string {
	out := map[string]string{}
	for name, reopen := range map[string]string{"alpha": "10m", "beta": "20m"} {
		out[name] = fmt.Sprintf(`
incidents: {reopen_window: %[4]s}
webhook:
  bearer_token_sha256: [%[2]s]
api:
  tokens:
  - {subject: root, role: admin, token_sha256: %[3]s}
  - {subject: %[1]s, role: viewer, token_sha256: %[5]s}
oncall:
  teams:
  - name: %[1]s
    schedules:
    - {name: primary, timezone: UTC, rotation: daily, start: 2026-01-01, members: [alice]}
channels:
- {name: alice-hook, webhook: {url: %[6]q, secret: "0123456789abcdef"}}
people: {alice: [alice-hook]}
escalation_policies:
- {name: %[1]s, steps: [{targets: [{schedule: primary}]}]}
routing:
  default: {team: %[1]s, escalation_policy: %[1]s}
heartbeats:
- {alertname: Watchdog-%[1]s, after: 10m, team: %[1]s}
containment:
  enabled: true
  policies:
  - {name: %[1]s, match: ['tier="P1"'], action: disable, lift: {after_resolve: manual}}
containment_hooks:
- {name: %[1]s, url: %[6]q, secret: "0123456789abcdef"}
`, name, sha("s3cret"), sha("admin-token"), reopen, sha(name+"-token"), hookURL)
	}
	return out
}

// writeConfig replaces the configuration file at once, so a reload never reads half of it.
func writeConfig(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path+".tmp", []byte(content), 0o600))
	require.NoError(t, os.Rename(path+".tmp", path))
}

// requireWhole checks that every part of rt comes from the configuration called name.
func requireWhole(t *testing.T, rt *runtime, name string) {
	t.Helper()
	other := map[string]string{"alpha": "beta", "beta": "alpha"}[name]
	authed := func(token string) bool {
		r := httptest.NewRequest("GET", "/api/v1/oncall", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		_, err := rt.auth.Authenticate(r)
		return err == nil
	}
	require.True(t, authed(name+"-token"), "tokens")
	require.False(t, authed(other+"-token"), "tokens")
	require.Equal(t, []string{name}, rt.directory().Teams(), "on-call teams")
	require.Equal(t, name, rt.response.Routing.Default.Team, "routing")
	require.Contains(t, rt.response.Policies, name, "escalation policies")
	require.Equal(t, name, rt.heartbeats[0].Team, "heartbeats")
	require.Equal(t, name, rt.containments.Policies[0].Name, "containment policies")
	require.Equal(t, name, rt.hooks[0].Name, "containment hooks")
	require.Equal(t, map[string]time.Duration{"alpha": 10 * time.Minute, "beta": 20 * time.Minute}[name], rt.store.ReopenWindow, "incident policy")
	// The API bound to rt answers with rt's teams.
	req := httptest.NewRequest("GET", "/api/v1/oncall", nil)
	req.Header.Set("Authorization", "Bearer "+name+"-token")
	rec := httptest.NewRecorder()
	rt.api.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"team":"`+name+`"`)
}

// A reload swaps the whole configuration at once: what was in force before stays whole
// for the readers that hold it, and what is in force after is wholly the new file.
func TestReloadSwapsTheWholeConfiguration(t *testing.T) {
	cfgs := twoConfigs("http://127.0.0.1:1")
	h := start(t, withConfig(""), func(o *Options) { writeConfig(t, o.ConfigFile, cfgs["alpha"]) })
	before := h.app.rt.Load()
	requireWhole(t, before, "alpha")
	writeConfig(t, filepath.Join(h.dir, "incidentd.yml"), cfgs["beta"])
	code, out := h.do("POST", "/-/reload", "admin-token", nil)
	require.Equal(t, http.StatusOK, code, string(out))
	after := h.app.rt.Load()
	requireWhole(t, after, "beta")
	requireWhole(t, before, "alpha") // not changed in place
	require.Contains(t, scrape(t, h), "incidentd_config_last_reload_successful 1")
}

// While reloads flip the configuration between two files, every request is answered
// under one of them: a token of one file is never shown the teams of the other. With a
// configuration swapped part by part (tokens, then schedules), a request authenticated
// under the old file could read the new file's teams.
func TestReloadStormNeverMixesConfigurations(t *testing.T) {
	cfgs := twoConfigs("http://127.0.0.1:1")
	h := start(t, withConfig(""), func(o *Options) { writeConfig(t, o.ConfigFile, cfgs["alpha"]) })
	path := filepath.Join(h.dir, "incidentd.yml")
	ctx, stop := context.WithTimeout(context.Background(), 2*time.Second)
	defer stop()
	var reloads atomic.Int64
	go func() {
		defer stop()
		for i := 0; ctx.Err() == nil; i++ {
			name := []string{"beta", "alpha"}[i%2]
			if err := os.WriteFile(path+".tmp", []byte(cfgs[name]), 0o600); err != nil {
				t.Error(err)
				return
			}
			if err := os.Rename(path+".tmp", path); err != nil {
				t.Error(err)
				return
			}
			req, _ := http.NewRequestWithContext(ctx, "POST", h.url+"/-/reload", nil)
			req.Header.Set("Authorization", "Bearer admin-token")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			reloads.Add(1)
		}
	}()
	var wg sync.WaitGroup
	var answered [2]atomic.Int64
	for w := range 4 {
		wg.Go(func() {
			name := []string{"alpha", "beta"}[w%2]
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "GET", h.url+"/api/v1/oncall", nil)
				req.Header.Set("Authorization", "Bearer "+name+"-token")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					continue // the other file is in force: this token is unknown there
				}
				answered[w%2].Add(1)
				if !assert.Contains(t, string(b), `"team":"`+name+`"`, "a %s token was answered with another file's teams", name) {
					return
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d reloads; %d and %d requests answered with alpha and beta tokens", reloads.Load(), answered[0].Load(), answered[1].Load())
	require.Greater(t, reloads.Load(), int64(10))
	require.Positive(t, answered[0].Load())
	require.Positive(t, answered[1].Load())
}
