package config

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestErrorsCarryTheLine(t *testing.T) {
	_, err := Parse([]byte("incidents:\n  reopen_window: 5m\nchannels:\n- name: a\n  slack: {url: \"ftp://x\"}\n"))
	require.EqualError(t, err, "channels[0].slack.url (line 5): expected the incoming webhook's http(s) URL")
	_, err = Parse([]byte("sla: {P7: 1h}\n"))
	require.ErrorContains(t, err, "sla.P7", "a path not in the file as written keeps its message")
}

// A bad Alertmanager matcher in a route is refused at load with its field, line and text.
func TestRouteMatcherErrorCarriesTheLine(t *testing.T) {
	base := "oncall:\n  teams:\n  - name: t\n    schedules:\n    - {name: s, timezone: UTC, rotation: daily, start: 2026-01-01, members: [a]}\nchannels:\n- {name: c, webhook: {url: \"http://x\", secret: \"0123456789abcdef\"}}\npeople: {a: [c]}\nescalation_policies:\n- {name: p, steps: [{targets: [{schedule: s}]}]}\n"
	_, err := Parse([]byte(base + "routing:\n  routes:\n  - matchers: ['team=\"t\"', 'severity~\"P1\"']\n    escalation_policy: p\n"))
	require.ErrorContains(t, err, `routing.routes[0].matchers[1] (line 13): "severity~\"P1\"": bad matcher format`)
	c, err := Parse([]byte(base + "routing:\n  routes:\n  - {matchers: ['team=\"t\"', 'severity=~\"P1|P2\"'], escalation_policy: p}\n"))
	require.NoError(t, err)
	require.Equal(t, "p", c.Response().Routing.Route(map[string]string{"team": "t", "severity": "P2"}).EscalationPolicy)
	require.Empty(t, c.Response().Routing.Route(map[string]string{"team": "t", "severity": "P3"}).EscalationPolicy)
}

// FuzzParse: any bytes give a configuration or an error, never a panic, and an accepted
// configuration has its compiled parts.
func FuzzParse(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("prometheus: {url: \"http://localhost:9090\", window: 20s, baseline: 30s, basic_auth: {username: u, password_file: p}}\n"))
	f.Add([]byte("incidents: {group_by: [team], reopen_window: 10m}\nsla: {P1: 5m}\n"))
	f.Add([]byte("oncall:\n  teams:\n  - name: t\n    schedules:\n    - {name: s, timezone: UTC, rotation: daily, start: 2026-01-01, members: [a]}\nchannels:\n- {name: c, webhook: {url: \"http://x\", secret: \"0123456789abcdef\"}}\npeople: {a: [c]}\nescalation_policies:\n- {name: p, steps: [{targets: [{schedule: s}]}]}\nrouting: {default: {team: t, escalation_policy: p}}\nheartbeats: [{alertname: Watchdog, after: 5m}]\n"))
	f.Add([]byte("oncall:\n  teams:\n  - name: t\n    business_hours: {location: UTC, weekdays: [\"monday:friday\"], times: [{start_time: \"09:00\", end_time: \"24:00\"}]}\n    schedules:\n    - {name: s, timezone: UTC, rotation: daily, start: 2026-01-01, members: [a]}\nchannels:\n- {name: c, webhook: {url: \"http://x\", secret: \"0123456789abcdef\"}}\npeople: {a: [c]}\nescalation_policies:\n- {name: p, steps: [{targets: [{schedule: s}]}]}\nrouting: {routes: [{matchers: ['team=\"t\"', '{severity=~\"P1|P2\",env!=\"dev\"}'], escalation_policy: p}], default: {team: t}}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		if c.Directory() == nil || c.Response() == nil {
			t.Fatal("accepted configuration without its compiled parts")
		}
	})
}

// TestREADMEExample keeps the documented response configuration valid.
func TestREADMEExample(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	doc := string(b)
	i := strings.Index(doc, "## Response")
	require.Positive(t, i)
	start := strings.Index(doc[i:], "```yaml\n")
	require.Positive(t, start)
	block := doc[i+start+len("```yaml\n"):]
	block = block[:strings.Index(block, "```")]
	c, err := Parse([]byte(block))
	require.NoError(t, err)
	shifts, err := c.Directory().OnCall("risk", time.Date(2026, 12, 25, 12, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, "dave", shifts[0].Member, "the Christmas override")
	require.Len(t, c.Response().Policies, 2)
}

// A digest of the empty string (an unset $TOKEN piped into sha256sum) is refused, naming
// the field, so `incidentd --config.check` fails on it.
func TestEmptySecretDigestRefused(t *testing.T) {
	const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	for field, doc := range map[string]string{
		"api.tokens[1].token_sha256":     "api:\n  tokens:\n  - {subject: a, role: viewer, token_sha256: " + strings.Repeat("ab", 32) + "}\n  - {subject: root, role: admin, token_sha256: " + empty + "}\n",
		"webhook.bearer_token_sha256[0]": "webhook:\n  bearer_token_sha256: [" + empty + "]\n",
		"webhook.basic_auth_users.am":    "webhook:\n  basic_auth_users: {am: " + empty + "}\n",
	} {
		_, err := Parse([]byte(doc))
		require.ErrorContains(t, err, field, doc)
		require.ErrorContains(t, err, "SHA-256 of the empty string", doc)
	}
}

func TestContainmentSection(t *testing.T) {
	c, err := Parse([]byte(`
containment:
  enabled: true
  dry_run: true
  max_actions_per_hour: 3
  policies:
    - name: p1-fallback
      match: ['tier="P1"', 'containment="fallback"']
      action: fallback
      lift: {after_resolve: 10m}
`))
	require.NoError(t, err)
	cc := c.Containments()
	require.True(t, cc.Enabled)
	require.True(t, cc.DryRun)
	require.Equal(t, 3, cc.MaxActionsPerHour)
	require.Len(t, cc.Policies, 1)
	require.Equal(t, 10*time.Minute, cc.Policies[0].LiftAfter)

	_, err = Parse([]byte("containment:\n  policies:\n    - {name: x, match: ['a=~\".*\"'], action: disable}\n"))
	require.ErrorContains(t, err, "containment.policies[0].match")
	_, err = Parse([]byte("containment:\n  policies:\n    - {name: x, match: ['a=\"b\"'], action: explode}\n"))
	require.ErrorContains(t, err, "containment.policies[0].action")
	_, err = Parse([]byte("containment:\n  enable: true\n"))
	require.ErrorContains(t, err, "enable")

	// Without the section, automation is off.
	c, err = Parse([]byte("{}"))
	require.NoError(t, err)
	require.False(t, c.Containments().Enabled)
}
