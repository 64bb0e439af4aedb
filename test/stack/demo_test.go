package stack

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

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
