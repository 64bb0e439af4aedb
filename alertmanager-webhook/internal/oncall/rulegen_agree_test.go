package oncall_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/oncall"
	"github.com/opscentre/opscentre/rulegen/cli"
)

// TestBusinessHoursRulegenAgreesWithIncidentd: the business hours a rulegen spec declares
// mute a direct pager in Alertmanager (the time interval rulegen writes) exactly when
// incidentd, given the same hours, holds a P2 page — at every quarter hour of three weeks
// around New York's DST change, with the day ending at 24:00.
func TestBusinessHoursRulegenAgreesWithIncidentd(t *testing.T) {
	const zone, start, end = "America/New_York", "08:30", "24:00"
	weekdays := `["monday:thursday", "Saturday"]`
	src := fmt.Sprintf(`apiVersion: opscentre.io/v1
business_hours: {timezone: %s, weekdays: %s, start: %q, end: %q}
receivers: [{name: pager, url: "https://pager.example.com/hook"}]
tiers:
  P2: {name: High, response_time: within 1 hour, hours: business, receivers: [pager]}
alerts:
  - {name: Up, team: ml, tier: P2, runbook_url: "https://runbooks.example.com/up", threshold: {expr: "max by (model) (aiops_model_accuracy)", by: [model], op: "<", value: 0.5}}
`, zone, weekdays, start, end)
	dir := t.TempDir()
	specPath := filepath.Join(dir, "spec.yaml")
	require.NoError(t, os.WriteFile(specPath, []byte(src), 0o644))
	var stdout, stderr bytes.Buffer
	require.NoError(t, cli.Run(context.Background(), []string{"generate", specPath, "-o", dir}, nil, &stdout, &stderr), stderr.String())
	out, err := os.ReadFile(filepath.Join(dir, "alertmanager.yml"))
	require.NoError(t, err)
	am, err := amconfig.Load(string(out))
	require.NoError(t, err)
	require.Len(t, am.TimeIntervals, 1)
	require.Len(t, am.TimeIntervals[0].TimeIntervals, 1)
	interval := am.TimeIntervals[0].TimeIntervals[0]

	var oc oncall.Config
	require.NoError(t, yaml.Unmarshal([]byte(fmt.Sprintf(`teams:
- name: ml
  business_hours: {location: %s, weekdays: %s, times: [{start_time: %q, end_time: %q}]}
`, zone, weekdays, start, end)), &oc))
	teams, err := oncall.Compile(oc, nil)
	require.NoError(t, err)
	team, _ := teams.Team("ml")
	open := 0
	for at := time.Date(2026, 10, 19, 0, 0, 0, 0, time.UTC); at.Before(time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC)); at = at.Add(15 * time.Minute) {
		require.Equal(t, interval.ContainsTime(at), team.Hours.Open(at), "at %s", at)
		if team.Hours.Open(at) {
			open++
		}
	}
	require.Equal(t, 3*5*62, open, "five days a week, 15.5 hours a day, in quarter hours")
}
