package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/notify/notifytest"
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
