package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/app"
	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/test/incidentdtest"
	"github.com/opscentre/opscentre/test/notifytest"
)

const incdrRoutingKey = "R0UT1NGKEY0123456789abcdefABCDEF"

// TestIncidentdResponseWithAlertmanager: a real Alertmanager notifies incidentd; the P1
// incident pages the on-call person through a fake PagerDuty Events API and the team
// through a fake Slack webhook, the P4 goes to the Slack backlog without a page, and the
// resolve reaches both — exactly these messages and no others.
func TestIncidentdResponseWithAlertmanager(t *testing.T) {
	slack := notifytest.NewServer(t)
	pd := notifytest.NewServer(t, 202, 202, 202, 202)
	cfg := fmt.Sprintf(`webhook:
  bearer_token_sha256: [%q]
oncall:
  teams:
  - name: ml-platform
    schedules:
    - {name: primary, timezone: Europe/Berlin, rotation: daily, start: 2026-01-01, handoff: "09:00", members: [alice]}
channels:
- {name: team-slack, slack: {url: %q}}
- {name: alice-pd, pagerduty: {routing_key: %q, url: %q}}
people:
  alice: [alice-pd]
escalation_policies:
- name: ml
  steps:
  - targets: [{schedule: primary}, {channel: team-slack}]
routing:
  default: {team: ml-platform, escalation_policy: ml}
  backlog_channel: team-slack
notifications:
  incident_url: "https://grafana.example/incidents/%%d"
`, incidentdtest.SHA("s3cret"), slack.URL+"/services/T0/B0/secret", incdrRoutingKey, pd.URL+"/v2/enqueue")
	base := incdrStart(t, cfg)
	am := incdStartAM(t, base, "")

	down := incdAlert{Labels: map[string]string{"alertname": "ModelDown", "model": "fraud-v3", "tier": "P1", "team": "ml-platform"},
		Annotations: map[string]string{"summary": "fraud-v3 answers 5xx", "runbook_url": "https://runbooks.example/model-down"}}
	nulls := incdAlert{Labels: map[string]string{"alertname": "NullsRising", "model": "churn-v1", "tier": "P4", "team": "ml-platform"},
		Annotations: map[string]string{"summary": "null ratio 2%"}}
	am.post(t, []incdAlert{down, nulls})
	require.Eventually(t, func() bool { return len(pd.Requests()) == 1 && len(slack.Requests()) == 2 }, 30*time.Second, 50*time.Millisecond)

	by := incdByModel(incdList(t, base))
	require.Len(t, by["fraud-v3"], 1)
	p1 := by["fraud-v3"][0]
	require.Equal(t, incidentapi.P1, p1.Tier)

	down.EndsAt = time.Now().Add(-time.Second)
	am.post(t, []incdAlert{down})
	require.Eventually(t, func() bool { return len(pd.Requests()) == 2 && len(slack.Requests()) == 3 }, 30*time.Second, 50*time.Millisecond)
	time.Sleep(time.Second) // anything more would be a duplicate
	require.Len(t, pd.Requests(), 2)
	require.Len(t, slack.Requests(), 3)

	var actions []string
	for _, r := range pd.Requests() {
		var ev map[string]any
		require.NoError(t, json.Unmarshal(r.Body, &ev))
		require.Equal(t, incdrRoutingKey, ev["routing_key"])
		require.Equal(t, p1.GroupKey, ev["dedup_key"])
		actions = append(actions, ev["event_action"].(string))
	}
	require.Equal(t, []string{"trigger", "resolve"}, actions)
	var trig map[string]any
	require.NoError(t, json.Unmarshal(pd.Requests()[0].Body, &trig))
	require.Equal(t, "[P1] "+p1.Title, trig["payload"].(map[string]any)["summary"])
	require.Equal(t, "critical", trig["payload"].(map[string]any)["severity"])

	var texts []string
	for _, r := range slack.Requests() {
		require.Equal(t, "/services/T0/B0/secret", r.Path)
		var m struct{ Text string }
		require.NoError(t, json.Unmarshal(r.Body, &m))
		texts = append(texts, m.Text)
	}
	require.Equal(t, ":red_circle: Resolved P1: "+p1.Title, texts[2], "the resolve comes last")
	first := texts[:2]
	sort.Strings(first)
	p4 := by["churn-v1"][0]
	require.Equal(t, []string{":red_circle: Firing P1: " + p1.Title, ":white_circle: Backlog P4: " + p4.Title}, first)
	require.Contains(t, string(slack.Requests()[0].Body)+string(slack.Requests()[1].Body), "https://runbooks.example/model-down")

	// The incident shows the deliveries.
	n, err := incidentapi.New(base, incidentapi.Options{}).Notifications(context.Background(), p1.ID)
	require.NoError(t, err)
	sent := 0
	for _, d := range n.Notifications {
		if d.Status == "sent" {
			sent++
		}
	}
	require.Equal(t, 4, sent, "%+v", n.Notifications)
}

// incdrStart runs incidentd in-process with the configuration text, the escalation worker
// ticking every 50 ms, and returns its base URL.
func incdrStart(t *testing.T, cfg string) string {
	return incidentdtest.StartWith(t, cfg, func(o *app.Options) { o.EscalationInterval = 50 * time.Millisecond })
}
