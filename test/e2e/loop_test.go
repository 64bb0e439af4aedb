package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/containment"
	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/dashboards/promapi"
	"github.com/opscentre/opscentre/exporter/sim"
	"github.com/opscentre/opscentre/test/stack"
	"github.com/opscentre/opscentre/test/testbin"
)

// TestLoop runs the whole loop — aiops-sim → aiops_exporter → Prometheus (rules from
// rulegen) → Alertmanager (routes from rulegen) → incidentd — with the demo's scenario, on
// Prometheus 2 and 3, and checks that each scripted fault opened exactly one incident of
// its alert's tier within its budget, that each was resolved after its fault ended (the
// contained P1 fault: resolved at all), that the clean stretch opened nothing, and that the
// P1 fault was contained automatically and the application obeyed (checkContainment).
func TestLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("the loop takes about four minutes")
	}
	root := testbin.RepoRoot(t)
	bins := stack.Binaries{
		Exporter:     testbin.Project(t, "aiops_exporter"),
		Incidentd:    testbin.Project(t, "incidentd"),
		Alertmanager: testbin.Alertmanager(t),
	}
	for _, major := range []int{2, 3} {
		t.Run(fmt.Sprintf("prometheus%d", major), func(t *testing.T) {
			t.Parallel()
			b := bins
			b.Prometheus = testbin.Prometheus(t, major)
			runLoop(t, root, b)
		})
	}
}

func runLoop(t *testing.T, root string, bins stack.Binaries) {
	demo, err := stack.LoadDemo(root)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	slack, pagerduty := newReceiver(t, `ok`), newReceiver(t, `{"status":"success","message":"Event processed"}`)
	// The demo's API tokens: the applications read containments with theirs, the test reads
	// as the demo's responder.
	tokens, err := stack.NewDemoTokens()
	require.NoError(t, err)
	st, err := stack.Start(ctx, stack.Options{
		Dir:                t.TempDir(),
		Bin:                bins,
		RuleFiles:          demo.RuleFiles,
		AlertmanagerConfig: demo.AlertmanagerConfig,
		ExporterArgs:       []string{"--config.file=" + demo.ExporterConfig},
		IncidentdConfig:    fmt.Sprintf(incidentdResponseConfig, slack.URL, pagerduty.URL) + evidenceConfig + stack.DemoContainmentConfig + tokens.IncidentdConfig(),
	})
	require.NoError(t, err)
	t.Cleanup(st.Stop)
	// The applications obey incidentd's containments, as in the demo.
	watcher, err := demo.Watcher(st.IncidentdURL, tokens.Application)
	require.NoError(t, err)
	defer watcher.Close()
	// As in the demo, the API refuses callers without a token.
	_, _, err = incidentapi.New(st.IncidentdURL, incidentapi.Options{}).List(ctx, incidentapi.Filter{}, 1)
	require.Equal(t, http.StatusUnauthorized, incidentapi.StatusOf(err), "%v", err)

	// The simulator plays until the check below is done: the systems keep running healthy
	// after the last fault, so every alert can resolve.
	start := time.Now()
	simCtx, stopSim := context.WithCancel(ctx)
	simDone := make(chan sim.Stats, 1)
	go func() {
		stats, _ := sim.Run(simCtx, sim.Options{Scenario: demo.Scenario, Sink: demo.Sink(st.ExporterURL), Start: start, Decide: watcher.Decide})
		simDone <- stats
	}()
	defer stopSim()

	// Wait until the last fault is over, then until every incident resolved (or a deadline).
	verify := stack.VerifyOptions{Start: start, Pipeline: stack.DemoPipeline, RequireResolved: true}
	deadline := start.Add(demo.LastFaultEnd() + 90*time.Second)
	var (
		incidents []incidentapi.Incident
		outcomes  []stack.Outcome
		problems  []string
	)
	for {
		time.Sleep(2 * time.Second)
		incidents, err = stack.Incidents(ctx, st.IncidentdURL, tokens.Responder)
		require.NoError(t, err)
		outcomes, problems = demo.Verify(incidents, verify)
		done := time.Since(start) > demo.LastFaultEnd() && len(problems) == 0
		for _, o := range outcomes {
			done = done && o.OK()
		}
		// The contained fault's containment is lifted 10 s after its incident resolved; the
		// run goes on until then and a few seconds more, to see the traffic return.
		if done {
			cs, err := stack.Containments(ctx, st.IncidentdURL, tokens.Responder)
			require.NoError(t, err)
			for _, o := range outcomes {
				if o.Contained {
					c := containmentOf(cs, o.Incident.ID)
					done = done && c != nil && !c.LiftedAt.IsZero() && time.Since(c.LiftedAt) > 8*time.Second
				}
			}
		}
		if done || time.Now().After(deadline) {
			break
		}
	}
	stopSim()
	stats := <-simDone
	require.NotZero(t, stats.Events)
	require.Zero(t, stats.SendErrors, "last send error: %v", stats.LastError)
	require.NotZero(t, stats.Labels)

	var report strings.Builder
	for _, o := range outcomes {
		fmt.Fprintf(&report, "%-24s %-22s %s opened after %-6s budget %-5s margin %-6s %v\n", o.Fault, o.Alert, o.Tier,
			o.OpenedAfter.Round(100*time.Millisecond), o.Budget, (o.Budget - o.OpenedAfter).Round(100*time.Millisecond), o.Problems)
	}
	t.Logf("fault → incident:\n%s", report.String())
	for _, o := range outcomes {
		require.True(t, o.OK(), "fault %s: %v\n%s", o.Fault, o.Problems, report.String())
	}
	require.Empty(t, problems)
	require.Len(t, outcomes, len(demo.Scenario.Faults))
	checkEvidence(t, st.IncidentdURL, tokens.Responder, outcomes)
	checkContainment(t, demo, st, tokens.Responder, start, outcomes)

	// Routing by tier: P1/P2 page the on-call member through PagerDuty exactly once per
	// incident and resolve that page when the incident resolves; P3/P4 never page. Every
	// incident reaches the team's Slack channel (queue or backlog, or the page step).
	require.Eventually(t, func() bool { return resolvesSent(pagerduty, outcomes) }, 30*time.Second, time.Second,
		"PagerDuty resolves for every resolved P1/P2 incident")
	events := pagerduty.bodies()
	logLikelyCauses(t, events)
	slackMsgs := slack.bodies()
	for _, o := range outcomes {
		var triggers, resolves int
		key := ""
		for _, ev := range events {
			details, _ := ev["payload"].(map[string]any)
			custom, _ := details["custom_details"].(map[string]any)
			if id, _ := custom["incident_id"].(float64); int64(id) == o.Incident.ID && ev["event_action"] == "trigger" {
				triggers++
				key, _ = ev["dedup_key"].(string)
			}
		}
		for _, ev := range events {
			if key != "" && ev["dedup_key"] == key && ev["event_action"] == "resolve" {
				resolves++
			}
		}
		switch o.Tier {
		case "P1", "P2":
			require.Equal(t, 1, triggers, "%s (%s): PagerDuty triggers", o.Alert, o.Tier)
			require.Equal(t, 1, resolves, "%s (%s): PagerDuty resolves", o.Alert, o.Tier)
		default:
			require.Zero(t, triggers, "%s (%s) must not page", o.Alert, o.Tier)
		}
		found := false
		for _, m := range slackMsgs {
			b, _ := json.Marshal(m)
			found = found || strings.Contains(string(b), o.Incident.Title)
		}
		require.True(t, found, "%s (%s): no Slack message names %q", o.Alert, o.Tier, o.Incident.Title)
	}
}

// incidentdResponseConfig routes every incident of the demo's team to its on-call member
// (PagerDuty) and its Slack channel, paging P2 at any hour so the test does not depend on
// the time of day it runs (holding P2 until business hours is tested with a fake clock in
// alertmanager-webhook). The two %s are the fake Slack and PagerDuty servers.
const incidentdResponseConfig = `
oncall:
  teams:
  - name: ml-platform
    business_hours: {location: UTC, weekdays: ["monday:friday"], times: [{start_time: "09:00", end_time: "17:00"}]}
    schedules:
    - {name: primary, timezone: UTC, rotation: weekly, start: 2026-01-05, handoff: "09:00", members: [alice]}
channels:
- {name: ml-slack, slack: {url: "%s/services/T000/B000/XXXX"}}
- {name: alice-pd, pagerduty: {routing_key: "0123456789abcdef0123456789abcdef", url: "%s/v2/enqueue"}}
people:
  alice: [alice-pd]
escalation_policies:
- name: ml
  steps:
  - targets: [{schedule: primary}, {channel: ml-slack}]
routing:
  routes:
  - {matchers: ['team="ml-platform"'], team: ml-platform, escalation_policy: ml, queue_channel: ml-slack, page_outside_hours: true}
  default: {team: ml-platform, escalation_policy: ml}
  backlog_channel: ml-slack
`

// receiver is a fake Slack or PagerDuty endpoint that records the JSON bodies it receives.
type receiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []map[string]any
}

func newReceiver(t *testing.T, answer string) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
			http.Error(w, "invalid JSON", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, body)
		r.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(answer))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) bodies() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.got...)
}

// resolvesSent reports whether PagerDuty has a resolve for every resolved P1/P2 incident.
func resolvesSent(pd *receiver, outcomes []stack.Outcome) bool {
	want := 0
	for _, o := range outcomes {
		if o.Tier == "P1" || o.Tier == "P2" {
			want++
		}
	}
	got := 0
	for _, ev := range pd.bodies() {
		if ev["event_action"] == "resolve" {
			got++
		}
	}
	return got >= want
}

func containmentOf(cs []incidentapi.Containment, incident int64) *incidentapi.Containment {
	for i := range cs {
		if cs[i].IncidentID == incident {
			return &cs[i]
		}
	}
	return nil
}

// checkContainment follows the demo's contained P1 fault through each step: the automatic
// fallback applied within 2 s of its incident opening, the faulty version's traffic at zero
// and the fallback's up while it held (read from Prometheus, so what the application did, as
// the exporter counted it), the contained traffic counted, and after incidentd lifted it
// (10 s after the incident resolved) the faulty version serving again.
func checkContainment(t *testing.T, demo *stack.Demo, st *stack.Stack, token string, start time.Time, outcomes []stack.Outcome) {
	cs, err := stack.Containments(context.Background(), st.IncidentdURL, token)
	require.NoError(t, err)
	n := 0
	for _, o := range outcomes {
		if !o.Contained {
			require.Nil(t, containmentOf(cs, o.Incident.ID), "%s: only the P1 fault asking for it is contained", o.Fault)
			continue
		}
		n++
		var f sim.Fault
		for _, sf := range demo.Scenario.Faults {
			if sf.Name == o.Fault {
				f = sf
			}
		}
		c := containmentOf(cs, o.Incident.ID)
		require.NotNil(t, c, "%s: incident %d not contained: %+v", o.Fault, o.Incident.ID, cs)
		require.Equal(t, containment.Fallback, c.Action)
		require.Equal(t, "p1-fallback", c.Policy)
		require.Equal(t, f.Model, c.Model)
		require.Equal(t, f.Version, c.Version)
		require.Equal(t, "v1", c.FallbackVersion)
		applied := c.CreatedAt.Sub(o.Incident.CreatedAt)
		require.LessOrEqual(t, applied, 2*time.Second, "%s: containment applied %s after the incident opened", o.Fault, applied)
		require.False(t, c.LiftedAt.IsZero(), "%s: lifted after the incident resolved", o.Fault)
		require.Equal(t, "system", c.LiftedBy)
		require.False(t, c.LiftedAt.Before(o.Incident.ResolvedAt.Add(10*time.Second)), "lifted 10 s after the resolve, not before")

		ver := func(v string) string {
			return fmt.Sprintf(`sum(rate(aiops_events_total{model=%q,version=%q}[3s]))`, f.Model, v)
		}
		// Before: both versions served. While contained (past the watcher's refresh and a
		// rate window): the faulty version nothing, the fallback more. After the lift: both.
		before := c.CreatedAt.Add(-2 * time.Second)
		during := c.CreatedAt.Add(stack.DemoWatchRefresh + 5*time.Second)
		after := c.LiftedAt.Add(stack.DemoWatchRefresh + 5*time.Second)
		require.Greater(t, promAt(t, st.PrometheusURL, ver(f.Version), before), 0.5, "%s served before the containment", f.Version)
		require.Zero(t, promAt(t, st.PrometheusURL, ver(f.Version), during), "%s: no traffic while contained", f.Version)
		// v1 has nine tenths of the traffic, so its rise is within its noise: the model's
		// whole traffic holding up, all of it now on v1, is what shows the move.
		total := fmt.Sprintf(`sum(rate(aiops_events_total{model=%q}[10s]))`, f.Model)
		totalBefore, v1During := promAt(t, st.PrometheusURL, total, before), promAt(t, st.PrometheusURL, strings.Replace(ver("v1"), "[3s]", "[10s]", 1), during.Add(7*time.Second))
		require.Greater(t, v1During, 0.8*totalBefore, "the fallback v1 took the model's traffic: %.1f/s of %.1f/s", v1During, totalBefore)
		require.Greater(t, promAt(t, st.PrometheusURL, fmt.Sprintf(`sum(rate(aiops_contained_events_total{model=%q,action="fallback"}[3s]))`, f.Model), during), 0.5,
			"the exporter counts contained traffic")
		require.Greater(t, promAt(t, st.PrometheusURL, ver(f.Version), after), 0.5, "%s serves again after the lift", f.Version)
		t.Logf("%s: incident %d opened %s after the fault, contained %s later, lifted %s after it resolved",
			o.Fault, o.Incident.ID, o.OpenedAfter.Round(100*time.Millisecond), applied.Round(time.Millisecond),
			c.LiftedAt.Sub(o.Incident.ResolvedAt).Round(100*time.Millisecond))
	}
	require.Equal(t, 1, n, "the demo has one contained fault")
	require.Len(t, cs, n, "no other containment")
}

// promAt is the value of a one-series instant query at t (0 when empty).
func promAt(t *testing.T, promURL, q string, at time.Time) float64 {
	t.Helper()
	api, err := promapi.New(promURL, nil)
	require.NoError(t, err)
	res, err := promapi.Query(context.Background(), api, q, at)
	require.NoError(t, err)
	if len(res) == 0 {
		return 0
	}
	return res[0].Values[0].V
}
