package routing

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/oncall"
)

func compile(t *testing.T, src string) (*Config, error) {
	t.Helper()
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&c))
	dir, err := oncall.Compile(oncall.Config{Teams: []oncall.TeamConfig{{Name: "risk"}, {Name: "payments"}, {Name: "ops"}}}, nil)
	require.NoError(t, err)
	return &c, c.Compile(map[string]bool{"risk": true, "payments": true, "ops": true, "fallback": true}, map[string]bool{}, dir)
}

// Routes take Alertmanager's matcher syntax next to the map forms, with Alertmanager's
// semantics: anchored regexps, negation, a missing label being the empty value.
func TestRouteMatchers(t *testing.T) {
	c, err := compile(t, `
routes:
- {matchers: ['severity=~"P1|P2"', 'team!="payments"'], team: ops, escalation_policy: ops}
- {match: {team: payments}, match_re: {model: "fraud-.*"}, team: payments, escalation_policy: payments}
- {matchers: ['{env="prod", region=~"eu-.+"}', 'owner=""'], team: risk, escalation_policy: risk}
default: {escalation_policy: fallback}
`)
	require.NoError(t, err)
	for _, tc := range []struct {
		labels map[string]string
		policy string
	}{
		{map[string]string{"severity": "P1", "team": "risk"}, "ops"},
		{map[string]string{"severity": "P2"}, "ops"},                                               // team missing: != "payments"
		{map[string]string{"severity": "P10", "team": "risk"}, "fallback"},                         // anchored: P10 is not P1
		{map[string]string{"severity": "P1", "team": "payments", "model": "fraud-v2"}, "payments"}, // first route refuses payments
		{map[string]string{"team": "payments", "model": "xfraud-v2"}, "fallback"},                  // match_re is anchored too
		{map[string]string{"env": "prod", "region": "eu-west"}, "risk"},
		{map[string]string{"env": "prod", "region": "eu-west", "owner": "bob"}, "fallback"}, // owner="" needs the label unset
	} {
		require.Equal(t, tc.policy, c.Route(tc.labels).EscalationPolicy, "%v", tc.labels)
	}
	d := c.Decide(map[string]string{"severity": "P1", "team": "x"}, incident.P1, time.Now(), nil)
	require.Equal(t, "ops", d.Team)
}

// A bad matcher is refused at load time with the field and the matcher named.
func TestRouteMatcherErrors(t *testing.T) {
	for src, want := range map[string]string{
		"routes: [{matchers: ['severity=~\"P1|P2\"', 'team=risk\"'], team: ops}]": `routing.routes[0].matchers[1]: "team=risk\""`,
		"routes: [{matchers: ['severity~\"P1\"'], team: ops}]":                    `routing.routes[0].matchers[0]: "severity~\"P1\"": bad matcher format`,
		"routes: [{match_re: {model: \"fraud-(\"}, team: ops}]":                   `routing.routes[0].match_re.model: "fraud-(": error parsing regexp`,
		"routes: [{match: {team-name: x}, team: ops}]":                            `routing.routes[0].match: "team-name" is not a valid label name`,
		"default: {matchers: ['']}":                                               `routing.default.matchers[0]: "" holds no matcher`,
	} {
		_, err := compile(t, src)
		require.ErrorContains(t, err, want, src)
	}
}
