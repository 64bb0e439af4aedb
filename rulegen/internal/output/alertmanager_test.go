package output

import (
	"testing"

	"github.com/prometheus/alertmanager/config"
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/rulegen/spec"
)

// A business-hours tier must not mute its incidentd route: incidentd holds the page until
// the hours start, and an alert muted in Alertmanager that resolves overnight is never seen.
// A direct pager on the same tier is muted outside business hours.
func TestBusinessHoursMuteOnlyDirectReceivers(t *testing.T) {
	src := []byte(`apiVersion: opscentre.io/v1
business_hours: {timezone: Europe/Berlin, weekdays: ["monday:friday"], start: "09:00", end: "17:00"}
receivers:
  - {name: incidentd, url: "http://incidentd:9478/api/v1/alertmanager"}
  - {name: pager, url: "https://pager.example.com/hook"}
tiers:
  P1: {name: Critical, response_time: immediate, hours: always, receivers: [pager, incidentd]}
  P2: {name: High, response_time: within 1 hour, hours: business, receivers: [pager, incidentd]}
  P3: {name: Medium, response_time: within 24 hours, hours: business}
  P4: {name: Low, response_time: next sprint, hours: always}
alerts:
  - name: Up
    team: ml
    tier: P2
    runbook_url: https://runbooks.example.com/up
    threshold: {expr: "max by (model) (aiops_model_accuracy)", by: [model], op: "<", value: 0.5}
`)
	s, errs := spec.Parse("spec.yaml", src, spec.Options{})
	require.Empty(t, errs)
	out, err := Alertmanager("spec.yaml", s)
	require.NoError(t, err)
	cfg, err := config.Load(string(out))
	require.NoError(t, err)
	require.Len(t, cfg.TimeIntervals, 1)

	muted := map[string]bool{} // "tier receiver" → has active_time_intervals
	for _, r := range cfg.Route.Routes {
		require.Len(t, r.Matchers, 1)
		muted[r.Matchers[0].Value+" "+r.Receiver] = len(r.ActiveTimeIntervals) > 0
	}
	require.Equal(t, map[string]bool{
		"P1 pager": false, "P1 incidentd": false,
		"P2 pager": true, "P2 incidentd": false,
		"P3 incidentd": false,
		"P4 incidentd": false,
	}, muted)
}

// With business-hours tiers that only reach incidentd, no route is ever muted: the file must
// not carry a time interval nothing uses.
func TestNoUnusedBusinessHoursInterval(t *testing.T) {
	src := []byte(`apiVersion: opscentre.io/v1
business_hours: {timezone: Europe/Berlin, weekdays: ["monday:friday"], start: "09:00", end: "17:00"}
receivers:
  - {name: incidentd, url: "http://incidentd:9478/api/v1/alertmanager"}
tiers:
  P1: {name: Critical, response_time: immediate, hours: always}
  P2: {name: High, response_time: within 1 hour, hours: business}
alerts:
  - name: Up
    team: ml
    tier: P2
    runbook_url: https://runbooks.example.com/up
    threshold: {expr: "max by (model) (aiops_model_accuracy)", by: [model], op: "<", value: 0.5}
`)
	s, errs := spec.Parse("spec.yaml", src, spec.Options{})
	require.Empty(t, errs)
	out, err := Alertmanager("spec.yaml", s)
	require.NoError(t, err)
	cfg, err := config.Load(string(out))
	require.NoError(t, err)
	require.Empty(t, cfg.TimeIntervals, "%s", out)
	require.NotContains(t, string(out), BusinessHoursInterval)
}
