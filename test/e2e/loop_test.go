package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/sim"
	"github.com/opscentre/opscentre/grafana-plugin/pkg/incidentd"
	"github.com/opscentre/opscentre/test/stack"
	"github.com/opscentre/opscentre/test/testbin"
)

// pipelineAllowance is what the data path may add to an alert's `for` between a fault's
// start and its incident: the alert's 20 s rate window filling enough to cross the
// threshold, a 1 s scrape, a 1 s rule evaluation, Alertmanager's 2 s group_wait, and a
// margin for a loaded CI machine.
const pipelineAllowance = 20*time.Second + 1*time.Second + 1*time.Second + 2*time.Second + 10*time.Second

// TestLoop runs the whole loop — aiops-sim → aiops_exporter → Prometheus (rules from
// rulegen) → Alertmanager (routes from rulegen) → incidentd — with the demo's scenario, on
// Prometheus 2 and 3, and checks that each scripted fault opened exactly one incident of
// its alert's tier within its budget, that each was resolved after its fault ended, and
// that the clean stretch opened nothing.
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
	st, err := stack.Start(ctx, stack.Options{
		Dir:                t.TempDir(),
		Bin:                bins,
		RuleFiles:          demo.RuleFiles,
		AlertmanagerConfig: demo.AlertmanagerConfig,
		ExporterArgs:       []string{"--config.file=" + demo.ExporterConfig},
	})
	require.NoError(t, err)
	t.Cleanup(st.Stop)

	// The simulator plays until the check below is done: the systems keep running healthy
	// after the last fault, so every alert can resolve.
	start := time.Now()
	simCtx, stopSim := context.WithCancel(ctx)
	simDone := make(chan sim.Stats, 1)
	go func() {
		stats, _ := sim.Run(simCtx, sim.Options{Scenario: demo.Scenario, Sink: &sim.HTTPSink{URL: st.ExporterURL}, Start: start})
		simDone <- stats
	}()
	defer stopSim()

	// Wait until the last fault is over, then until every incident resolved (or a deadline).
	verify := stack.VerifyOptions{Start: start, Pipeline: pipelineAllowance, RequireResolved: true}
	deadline := start.Add(demo.LastFaultEnd() + 90*time.Second)
	var (
		incidents []incidentd.Incident
		outcomes  []stack.Outcome
		problems  []string
	)
	for {
		time.Sleep(2 * time.Second)
		incidents, err = stack.Incidents(ctx, st.IncidentdURL)
		require.NoError(t, err)
		outcomes, problems = demo.Verify(incidents, verify)
		done := time.Since(start) > demo.LastFaultEnd() && len(problems) == 0
		for _, o := range outcomes {
			done = done && o.OK()
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
}
