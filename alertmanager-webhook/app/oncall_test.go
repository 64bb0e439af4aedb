package app

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const onCallConfig = `oncall:
  teams:
  - name: ml-platform
    business_hours: {timezone: Europe/Berlin, start: "09:00", end: "17:00"}
    schedules:
    - {name: primary, timezone: Europe/Berlin, rotation: weekly, start: 2026-11-02, handoff: "09:00", members: [alice, bob]}
    - {name: secondary, timezone: Europe/Berlin, rotation: weekly, start: 2026-11-02, handoff: "09:00", members: [bob, alice]}
`

func TestOnCallAPIAndReload(t *testing.T) {
	h := start(t)
	cfgPath := filepath.Join(h.dir, "incidentd.yml")
	code, out := h.do("GET", "/api/v1/oncall", "view-token", nil)
	require.Equal(t, http.StatusOK, code, string(out))
	require.Contains(t, string(out), `"teams":[]`)

	require.NoError(t, os.WriteFile(cfgPath, []byte(testConfig(onCallConfig)), 0o600))
	code, out = h.do("POST", "/-/reload", "admin-token", nil)
	require.Equal(t, http.StatusOK, code, string(out))

	// Monday 2026-11-30 is the fifth week since 2026-11-02: alice (weeks 0, 2, 4) is primary.
	code, out = h.do("GET", "/api/v1/oncall?team=ml-platform&at=2026-11-30T08:30:00Z", "view-token", nil)
	require.Equal(t, http.StatusOK, code, string(out))
	require.JSONEq(t, `{"at":"2026-11-30T08:30:00Z","teams":[{"team":"ml-platform","business_hours":true,"shifts":[
		{"schedule":"primary","member":"alice","start":"2026-11-30T08:00:00Z","end":"2026-12-07T08:00:00Z","override":false},
		{"schedule":"secondary","member":"bob","start":"2026-11-30T08:00:00Z","end":"2026-12-07T08:00:00Z","override":false}]}]}`, string(out))
	code, out = h.do("GET", "/api/v1/oncall?team=ml-platform&at=2026-11-30T07:30:00Z", "view-token", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(out), `"business_hours":false,"next_business_hours":"2026-11-30T08:00:00Z"`)
	require.Contains(t, string(out), `"member":"bob"`)

	code, out = h.do("GET", "/api/v1/oncall?team=nope", "view-token", nil)
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, string(out), `team \"nope\"`)
	code, out = h.do("GET", "/api/v1/oncall?at=monday", "view-token", nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(out), "at: expected an RFC 3339 time")

	// A bad zone is refused with its line, and the previous schedules stay in force.
	bad := strings.Replace(testConfig(onCallConfig), "timezone: Europe/Berlin, rotation", "timezone: Europe/Berlim, rotation", 1)
	require.NoError(t, os.WriteFile(cfgPath, []byte(bad), 0o600))
	code, out = h.do("POST", "/-/reload", "admin-token", nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(out), "oncall.teams[0].schedules[0].timezone (line 18)")
	code, out = h.do("GET", "/api/v1/oncall?team=ml-platform&at=2026-11-30T08:30:00Z", "view-token", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(out), `"member":"alice"`)
}

func TestCheckConfigResponseSections(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yml")
	good := `oncall:
  teams:
  - name: risk
    schedules:
    - {name: primary, timezone: UTC, rotation: daily, start: 2026-01-01, members: [alice]}
channels:
- {name: hook, webhook: {url: "https://hooks.example/x", secret: "0123456789abcdef0123"}}
people: {alice: [hook]}
escalation_policies:
- {name: risk, steps: [{targets: [{schedule: primary}]}, {delay: 10m, targets: [{person: alice}]}]}
routing:
  routes: [{match: {team: risk}, team: risk, escalation_policy: risk, queue_channel: hook}]
  default: {escalation_policy: risk}
  backlog_channel: hook
heartbeats: [{alertname: Watchdog, after: 10m}]
`
	require.NoError(t, os.WriteFile(p, []byte(good), 0o600))
	_, err := CheckConfig(p)
	require.NoError(t, err)
	for from, want := range map[string]string{
		`{name: hook, webhook:`:          "channels[0] (line 7): exactly one of",
		`secret: "0123456789abcdef0123"`: "channels[0].webhook.secret (line 7): required",
		`people: {alice: [hook]}`:        "people.alice[0] (line 8): no channel",
		`{person: alice}`:                "escalation_policies[0].steps[1].targets[0] (line 10): exactly one of",
		`escalation_policy: risk, queue`: "routing.routes[0].escalation_policy (line 12): no policy",
		`team: risk, escalation`:         "routing.routes[0].team (line 12): no team",
		`after: 10m`:                     "heartbeats[0].after (line 15)",
		`match: {team: risk}`:            "routing.routes[0].match_re.team (line 12)",
	} {
		to := map[string]string{
			`{name: hook, webhook:`:          `{name: hook, slack: {url: "https://h/x"}, webhook:`,
			`secret: "0123456789abcdef0123"`: `secret: short`,
			`people: {alice: [hook]}`:        `people: {alice: [pager]}`,
			`{person: alice}`:                `{person: alice, channel: hook}`,
			`escalation_policy: risk, queue`: `escalation_policy: nope, queue`,
			`team: risk, escalation`:         `team: nobody, escalation`,
			`after: 10m`:                     `after: 10s`,
			`match: {team: risk}`:            `match_re: {team: "("}`,
		}[from]
		require.NoError(t, os.WriteFile(p, []byte(strings.Replace(good, from, to, 1)), 0o600))
		_, err := CheckConfig(p)
		require.ErrorContains(t, err, want, to)
	}
}

func TestMaintenanceAPI(t *testing.T) {
	h := start(t)
	now := h.clock.Now()
	body := `{"matchers":{"team":"ml-platform"},"ends_at":"` + now.Add(2*time.Hour).Format(time.RFC3339) + `","reason":"feature store migration"}`
	code, _ := h.do("POST", "/api/v1/maintenance", "view-token", body)
	require.Equal(t, http.StatusForbidden, code)
	code, out := h.do("POST", "/api/v1/maintenance", "alice-token", body)
	require.Equal(t, http.StatusCreated, code, string(out))
	require.Contains(t, string(out), `"created_by":"alice"`)
	for bad, want := range map[string]string{
		`{"matchers":{"team":"x"},"reason":"r"}`:                                                                             "ends_at: required",
		`{"matchers":{},"ends_at":"` + now.Add(time.Hour).Format(time.RFC3339) + `","reason":"r"}`:                           "matchers:",
		`{"matchers":{"team":"x"},"ends_at":"` + now.Add(30*24*time.Hour).Format(time.RFC3339) + `","reason":"r"}`:           "at most",
		`{"matchers":{"team":"x"},"ends_at":"tomorrow","reason":"r"}`:                                                        "ends_at: expected an RFC 3339",
		`{"matchers":["team=\"x\"","tier~\"P2\""],"ends_at":"` + now.Add(time.Hour).Format(time.RFC3339) + `","reason":"r"}`: `matchers[1]: \"tier~\\\"P2\\\"\": bad matcher format`,
	} {
		code, out := h.do("POST", "/api/v1/maintenance", "alice-token", bad)
		require.Equal(t, http.StatusBadRequest, code, bad)
		require.Contains(t, string(out), want, bad)
	}
	list := `{"matchers":["team=\"ml-platform\"","tier=~\"P3|P4\""],"ends_at":"` + now.Add(time.Hour).Format(time.RFC3339) + `","reason":"reindex"}`
	code, out = h.do("POST", "/api/v1/maintenance", "alice-token", list)
	require.Equal(t, http.StatusCreated, code, string(out))
	require.Contains(t, string(out), `"matchers":["team=\"ml-platform\"","tier=~\"P3|P4\""]`)
	code, out = h.do("GET", "/api/v1/maintenance", "view-token", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(out), "feature store migration")
	code, out = h.do("GET", "/api/v1/audit?action=maintenance.", "admin-token", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(out), `"actor":"alice"`)
}
