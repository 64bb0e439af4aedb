package stack

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/rulegen/cli"
	"github.com/opscentre/opscentre/test/testbin"
)

// The demo's committed rules must be what its spec generates, or the demo (and the e2e
// loop test) would run something other than what the spec says.
func TestDemoGeneratedOutputIsCurrent(t *testing.T) {
	root := testbin.RepoRoot(t)
	var out, errOut bytes.Buffer
	err := cli.Run(context.Background(), []string{"generate", "--check",
		filepath.Join(root, "deploy/demo/spec.yaml"), "-o", filepath.Join(root, "deploy/demo/generated")},
		nil, &out, &errOut)
	require.NoError(t, err, "deploy/demo/generated is stale; run make generate\n%s%s", out.String(), errOut.String())
}

func TestLoadDemo(t *testing.T) {
	d, err := LoadDemo(testbin.RepoRoot(t))
	require.NoError(t, err)
	require.NotEmpty(t, d.RuleFiles)
	require.Contains(t, d.AlertmanagerConfig, "{{INCIDENTD}}/api/v1/alertmanager")
	for _, f := range d.Scenario.Faults {
		require.NotEmpty(t, f.Expect, "every demo fault names the alert it must raise")
		require.NotEmpty(t, d.tier(f.Expect))
	}
}

// The demo's generated promtool tests pass on the real promtool 2 and 3, and the generated
// Alertmanager configuration loads in the real amtool.
func TestDemoRulesWithRealTools(t *testing.T) {
	root := testbin.RepoRoot(t)
	for _, major := range []int{2, 3} {
		promtool := testbin.Promtool(t, major)
		var out, errOut bytes.Buffer
		err := cli.Run(context.Background(), []string{"test", "--promtool=" + promtool, filepath.Join(root, "deploy/demo/spec.yaml")}, nil, &out, &errOut)
		require.NoError(t, err, "promtool %d:\n%s%s", major, out.String(), errOut.String())
	}
	amtool := testbin.Amtool(t)
	cmd := exec.Command(amtool, "check-config", filepath.Join(root, "deploy/demo/generated/alertmanager.yml"))
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
}

// Verify is what decides whether `make demo DURATION=…` and the e2e loop pass: check it
// against hand-made incident lists.
func TestVerify(t *testing.T) {
	d, err := LoadDemo(testbin.RepoRoot(t))
	require.NoError(t, err)
	start := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	f := d.Scenario.Faults[0]
	tier := d.tier(f.Expect)
	inc := func(id int64, alert, tier string, after time.Duration) incidentapi.Incident {
		return incidentapi.Incident{ID: id, Tier: incidentapi.Tier(tier), Labels: map[string]string{"alertname": alert}, DetectedAt: start.Add(f.At.D() + after)}
	}
	until := start.Add(f.At.D() + 45*time.Second) // only the first fault's budget (40s) has run out
	opts := VerifyOptions{Start: start, Pipeline: 30 * time.Second, Until: until}

	outcomes, problems := d.Verify([]incidentapi.Incident{inc(1, f.Expect, tier, 15*time.Second)}, opts)
	require.Empty(t, problems)
	require.True(t, outcomes[0].OK(), outcomes[0].Problems)
	require.Equal(t, 15*time.Second, outcomes[0].OpenedAfter)
	for _, o := range outcomes[1:] {
		require.True(t, o.NotReached, "%s begins after the run stopped", o.Fault)
	}

	outcomes, _ = d.Verify([]incidentapi.Incident{inc(1, f.Expect, "P4", 15*time.Second)}, opts)
	require.Contains(t, outcomes[0].Problems, "tier P4, want "+tier)
	outcomes, _ = d.Verify([]incidentapi.Incident{inc(1, f.Expect, tier, 5*time.Second), inc(2, f.Expect, tier, 9*time.Second)}, opts)
	require.Contains(t, outcomes[0].Problems, "2 incidents opened, want exactly one")
	outcomes, _ = d.Verify([]incidentapi.Incident{inc(1, f.Expect, tier, time.Hour)}, VerifyOptions{Start: start, Pipeline: 30 * time.Second})
	require.False(t, outcomes[0].OK(), "opened after its budget")
	outcomes, _ = d.Verify(nil, VerifyOptions{Start: start, Pipeline: 30 * time.Second})
	require.Contains(t, outcomes[0].Problems, "no incident opened")
	_, problems = d.Verify([]incidentapi.Incident{inc(9, "Other", "P3", -f.At.D()/2)}, opts)
	require.Len(t, problems, 2, "an unexpected incident, opened in the clean stretch: %v", problems)
	outcomes, _ = d.Verify([]incidentapi.Incident{inc(1, f.Expect, tier, 15*time.Second)}, VerifyOptions{Start: start, Pipeline: 30 * time.Second, RequireResolved: true})
	require.Contains(t, outcomes[0].Problems[0], "want resolved after the fault ended")
}

// The demo's P1 fault is contained automatically: its alert carries the labels the demo's
// policy matches, and Verify accepts its incident resolving before the fault ended (the
// containment took the faulty version out of service) while still demanding it resolve.
func TestVerifyContainedFault(t *testing.T) {
	d, err := LoadDemo(testbin.RepoRoot(t))
	require.NoError(t, err)
	var contained []string
	for _, f := range d.Scenario.Faults {
		if d.Contained(f.Expect) {
			contained = append(contained, f.Name)
			require.Equal(t, "P1", d.tier(f.Expect), "the demo policy contains P1 incidents only")
			require.Contains(t, DemoContainmentConfig, `containment="`+alertLabel(d, f.Expect, "containment")+`"`)
			require.NotEmpty(t, f.Version, "%s: the fault names the version to fall back from", f.Name)
			require.NotEqual(t, f.Version, alertLabel(d, f.Expect, "fallback_version"))
		}
	}
	require.Equal(t, []string{"fraud-v2-errors"}, contained)

	start := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	var faultIdx int
	for i, f := range d.Scenario.Faults {
		if f.Name == "fraud-v2-errors" {
			faultIdx = i
		}
	}
	f := d.Scenario.Faults[faultIdx]
	in := incidentapi.Incident{ID: 1, Tier: "P1", State: "resolved", Labels: map[string]string{"alertname": f.Expect},
		DetectedAt: start.Add(f.At.D() + 18*time.Second), ResolvedAt: start.Add(f.At.D() + 25*time.Second)}
	require.Less(t, 25*time.Second, f.For.D(), "the incident resolves before the fault ends")
	opts := VerifyOptions{Start: start, Pipeline: 30 * time.Second, RequireResolved: true}
	outcomes, _ := d.Verify([]incidentapi.Incident{in}, opts)
	o := outcomes[faultIdx]
	require.True(t, o.Contained)
	require.True(t, o.OK(), o.Problems)
	in.ResolvedAt, in.State = time.Time{}, "triggered"
	outcomes, _ = d.Verify([]incidentapi.Incident{in}, opts)
	require.Contains(t, outcomes[faultIdx].Problems, "still triggered, want resolved after the fault ended")
	// Another fault resolving early is still a failure.
	g := d.Scenario.Faults[0]
	require.False(t, d.Contained(g.Expect))
	early := incidentapi.Incident{ID: 2, Tier: incidentapi.Tier(d.tier(g.Expect)), State: "resolved", Labels: map[string]string{"alertname": g.Expect},
		DetectedAt: start.Add(g.At.D() + 15*time.Second), ResolvedAt: start.Add(g.At.D() + 20*time.Second)}
	outcomes, _ = d.Verify([]incidentapi.Incident{early}, opts)
	require.Contains(t, outcomes[0].Problems[0], "before the fault ended")
}

func alertLabel(d *Demo, alert, label string) string {
	for _, a := range d.Spec.Alerts {
		if a.Name == alert {
			return a.Labels[label]
		}
	}
	return ""
}

// A server whose port was taken before it bound it is reported as such (errPortTaken):
// what makes Start pick its ports again. A port given in the options is not picked again.
func TestTakenPortIsReported(t *testing.T) {
	bin := testbin.Project(t, "incidentd")
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port

	s := &Stack{opts: Options{Dir: t.TempDir(), ReadyTimeout: 30 * time.Second}, IncidentdURL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	err = s.run(context.Background(), "incidentd", bin, []string{"--web.listen-address=" + addr(port), "--storage.path=" + filepath.Join(s.opts.Dir, "i.db")}, s.IncidentdURL+"/-/ready")
	s.Stop()
	require.ErrorIs(t, err, errPortTaken)

	// Given the port, Start does not pick another.
	_, err = Start(context.Background(), Options{Dir: t.TempDir(), Bin: Binaries{Incidentd: bin}, IncidentdPort: port})
	require.ErrorIs(t, err, errPortTaken)
}

// FreePort's ports are bindable and, where Linux says where its ephemeral range starts,
// below it: outgoing connections cannot take them between the pick and the bind.
func TestFreePortBelowEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	for range 20 {
		p, err := FreePort()
		require.NoError(t, err)
		if low > 11000 {
			require.Less(t, p, low)
			require.GreaterOrEqual(t, p, 10000)
		}
		l, err := net.Listen("tcp", addr(p))
		require.NoError(t, err)
		require.NoError(t, l.Close())
	}
}
