package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/containment"
	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/exporter/client"
	"github.com/opscentre/opscentre/exporter/sim"
	"github.com/opscentre/opscentre/test/stack"
	"github.com/opscentre/opscentre/test/testbin"
)

// The containment loop: fraud v2 starts failing, a P1 alert asks for a fallback to v1.
const (
	containRules = `groups:
- name: containment
  interval: 1s
  rules:
  - alert: FraudV2Errors
    expr: sum by (model, version) (rate(aiops_inference_errors_total{model="fraud",version="v2"}[5s])) > 1
    labels: {tier: P1, team: risk, containment: fallback, fallback_version: v1}
    annotations: {summary: fraud v2 is failing}
`
	containAlertmanager = `route:
  receiver: incidentd
  group_by: [alertname, model]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1m
receivers:
- name: incidentd
  webhook_configs:
  - url: {{INCIDENTD}}/api/v1/alertmanager
    send_resolved: true
`
	containIncidentd = `api:
  tokens:
  - {subject: alice, role: responder, token_sha256: %s}
  - {subject: fraud-app, role: application, token_sha256: %s}
containment:
  enabled: true
  max_actions_per_hour: 5
  policies:
  - name: p1-fallback
    match: ['tier="P1"', 'containment="fallback"']
    action: fallback
    lift: {after_resolve: manual}
`
	containScenario = `seed: 11
models:
  - name: fraud
    kind: classifier
    rate: 40
    versions: [{name: v1, weight: 1}, {name: v2, weight: 1}]
faults:
  - {name: v2-errors, kind: errors, model: fraud, version: v2, ratio: 0.6, at: 5s, for: 25s}
`
)

func hexSHA(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

// TestContainmentLoop runs the real stack — aiops-sim's application (obeying through the Go
// client's watcher) → aiops_exporter → Prometheus 3 → Alertmanager → incidentd — and checks
// each step of an automatic containment with its timing: fault → P1 incident → fallback
// applied within 2 s of the incident opening → v2's traffic falls to zero and v1's rises
// (read from Prometheus) → the alert resolves and the incident with it → a responder lifts
// the containment → v2's traffic returns and nothing is contained any more.
func TestContainmentLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("the containment loop takes about a minute")
	}
	bins := stack.Binaries{
		Exporter:     testbin.Project(t, "aiops_exporter"),
		Incidentd:    testbin.Project(t, "incidentd"),
		Alertmanager: testbin.Alertmanager(t),
		Prometheus:   testbin.Prometheus(t, 3),
	}
	dir := t.TempDir()
	rules := filepath.Join(dir, "contain.rules.yml")
	require.NoError(t, os.WriteFile(rules, []byte(containRules), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	st, err := stack.Start(ctx, stack.Options{
		Dir: filepath.Join(dir, "stack"), Bin: bins, RuleFiles: []string{rules}, AlertmanagerConfig: containAlertmanager,
		IncidentdConfig: fmt.Sprintf(containIncidentd, hexSHA("alice-token"), hexSHA("app-token")),
	})
	require.NoError(t, err)
	t.Cleanup(st.Stop)

	const refresh = 500 * time.Millisecond
	w, err := client.NewWatcher(client.WatcherOptions{URL: st.IncidentdURL, Token: "app-token", Models: []string{"fraud"}, Refresh: refresh})
	require.NoError(t, err)
	defer w.Close()
	sc, err := sim.ParseScenario("contain.yaml", []byte(containScenario))
	require.NoError(t, err)
	start := time.Now()
	simCtx, stopSim := context.WithCancel(ctx)
	simDone := make(chan sim.Stats, 1)
	go func() {
		stats, _ := sim.Run(simCtx, sim.Options{Scenario: sc, Sink: &sim.HTTPSink{URL: st.ExporterURL}, Start: start, Decide: w.Decide})
		simDone <- stats
	}()
	defer stopSim()

	app := incidentapi.New(st.IncidentdURL, incidentapi.Options{Token: "app-token"})
	alice := incidentapi.New(st.IncidentdURL, incidentapi.Options{Token: "alice-token"})
	active := func() []incidentapi.Containment {
		t.Helper()
		cs, err := app.ListContainments(ctx, incidentapi.ContainmentFilter{Model: "fraud", Active: true})
		require.NoError(t, err)
		return cs
	}
	get := func(id int64) *incidentapi.Detail {
		t.Helper()
		d, err := alice.Get(ctx, id)
		require.NoError(t, err)
		return d
	}
	promValue := func(q string) float64 { return promAt(t, st.PrometheusURL, q, time.Now()) }
	const (
		v2Rate        = `sum(rate(aiops_events_total{model="fraud",version="v2"}[3s]))`
		v1Rate        = `sum(rate(aiops_events_total{model="fraud",version="v1"}[3s]))`
		containedRate = `sum(rate(aiops_contained_events_total{model="fraud"}[3s]))`
	)

	// Healthy split before the fault: both versions serve.
	require.Eventually(t, func() bool { return promValue(v2Rate) > 10 && promValue(v1Rate) > 10 }, 30*time.Second, 500*time.Millisecond)
	before := promValue(v1Rate)

	// The fault opens a P1 incident, and its policy contains it.
	var cs []incidentapi.Containment
	require.Eventually(t, func() bool {
		cs = active()
		return len(cs) == 1
	}, 60*time.Second, 100*time.Millisecond, "automatic containment")
	c := cs[0]
	inc := get(c.IncidentID)
	require.Equal(t, incidentapi.Tier("P1"), inc.Tier)
	require.Equal(t, containment.Fallback, c.Action)
	require.Equal(t, "v2", c.Version)
	require.Equal(t, "v1", c.FallbackVersion)
	appliedAfter := c.CreatedAt.Sub(inc.CreatedAt)
	t.Logf("fault at 5s; incident %d opened %s after start; containment applied %s after the incident",
		inc.ID, inc.CreatedAt.Sub(start).Round(100*time.Millisecond), appliedAfter.Round(time.Millisecond))
	require.LessOrEqual(t, appliedAfter, 2*time.Second, "containment applied within 2 s of the incident")

	// The application obeys within its refresh; Prometheus shows v2 at zero, v1 up.
	require.Eventually(t, func() bool { return w.Decide("fraud", "v2", nil).Action == client.Fallback }, 5*time.Second, 20*time.Millisecond)
	obeyed := time.Since(start)
	t.Logf("application obeyed %s after the containment was applied (refresh %s)",
		(obeyed - c.CreatedAt.Sub(start)).Round(time.Millisecond), refresh)
	require.Less(t, obeyed-c.CreatedAt.Sub(start), refresh+time.Second, "switched within the client's refresh interval")
	require.Eventually(t, func() bool { return promValue(v2Rate) == 0 }, 20*time.Second, 500*time.Millisecond, "v2 traffic drops to zero")
	after := promValue(v1Rate)
	require.Greater(t, after, 1.5*before, "v1 takes v2's traffic: %.1f/s before, %.1f/s after", before, after)
	require.Greater(t, promValue(containedRate), 10.0, "the exporter counts contained traffic")

	// v2's errors stop, the alert resolves and the incident with it.
	require.Eventually(t, func() bool {
		return get(inc.ID).State == "resolved"
	}, 60*time.Second, 500*time.Millisecond, "incident resolves once v2 no longer fails")
	require.Len(t, active(), 1, "a manual-lift containment outlives the resolution")

	// After the fault, a responder lifts it; traffic returns to v2, nothing is contained.
	if end := 31*time.Second - time.Since(start); end > 0 {
		time.Sleep(end)
	}
	// DELETE, the other spelling of POST …/lift that the client sends.
	var out incidentapi.Containment
	require.NoError(t, alice.Do(ctx, http.MethodDelete, "lift", fmt.Sprintf("/api/v1/containments/%d", c.ID), nil, "", incidentapi.LiftInput{Reason: "v2 fixed"}, &out))
	require.Equal(t, "alice", out.LiftedBy)
	lifted := time.Now()
	require.Eventually(t, func() bool { return w.Decide("fraud", "v2", nil).Action == client.Serve }, 5*time.Second, 20*time.Millisecond)
	t.Logf("application served v2 again %s after the lift", time.Since(lifted).Round(time.Millisecond))
	require.Eventually(t, func() bool { return promValue(v2Rate) > 10 }, 20*time.Second, 500*time.Millisecond, "v2 traffic returns")
	require.Eventually(t, func() bool { return promValue(containedRate) == 0 }, 20*time.Second, 500*time.Millisecond, "nothing contained after the lift")

	stopSim()
	stats := <-simDone
	require.Zero(t, stats.SendErrors, "last send error: %v", stats.LastError)
	var kinds []string
	for _, e := range get(inc.ID).Timeline {
		kinds = append(kinds, e.Kind+"/"+e.Actor)
	}
	require.Contains(t, kinds, "containment_applied/system")
	require.Contains(t, kinds, "containment_lifted/alice")
}
