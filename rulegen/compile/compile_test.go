package compile_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/rulegen/compile"
	"github.com/opscentre/opscentre/rulegen/output"
	"github.com/opscentre/opscentre/rulegen/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func compileFile(t testing.TB, path string) (*compile.Result, output.Files) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	s, errs := spec.Parse(filepath.Base(path), b, spec.Options{})
	require.Empty(t, errs.Fatal())
	res, cerrs := compile.Compile(s)
	require.Empty(t, cerrs)
	files, err := output.Render(res, filepath.Base(path))
	require.NoError(t, err)
	return res, files
}

// TestGolden compares the rules and promtool tests of every kind and preset with the files
// in testdata/golden; run with -update after an intended change and review the diff.
func TestGolden(t *testing.T) {
	_, files := compileFile(t, "testdata/kinds.spec.yaml")
	for _, p := range files.Paths() {
		if !strings.HasPrefix(p, "rules/") && !strings.HasPrefix(p, "tests/") {
			continue
		}
		golden := filepath.Join("testdata", "golden", strings.ReplaceAll(p, "/", "_"))
		if *update {
			require.NoError(t, os.WriteFile(golden, files[p], 0o644))
			continue
		}
		want, err := os.ReadFile(golden)
		require.NoError(t, err, "missing golden file; run go test ./rulegen/compile -update")
		require.Equal(t, string(want), string(files[p]), "output for %s changed; run with -update if intended", p)
	}
}

func TestEveryPresetAndKindCovered(t *testing.T) {
	res, _ := compileFile(t, "testdata/kinds.spec.yaml")
	kinds, presets := map[string]bool{}, map[string]bool{}
	for _, g := range res.Groups {
		kinds[g.Alert.Kind()] = true
		presets[g.Alert.Preset] = true
	}
	for _, k := range []string{"threshold", "change", "anomaly", "trend", "absence", "slo"} {
		require.True(t, kinds[k], "kind %s not covered", k)
	}
	for _, p := range spec.PresetNames() {
		require.True(t, presets[p], "preset %s not covered", p)
	}
}

const head = `apiVersion: opscentre.io/v1
tiers: {P1: {name: Critical, response_time: immediate}}
defaults: {team: ml}
alerts:
`

func compileErr(t *testing.T, alerts string) string {
	t.Helper()
	s, errs := spec.Parse("spec.yaml", []byte(head+alerts), spec.Options{})
	require.Empty(t, errs.Fatal())
	_, cerrs := compile.Compile(s)
	require.NotEmpty(t, cerrs)
	return cerrs.Error()
}

func TestSelfMatchingSelector(t *testing.T) {
	msg := compileErr(t, `  - name: Loop
    tier: P1
    runbook_url: https://x.example
    threshold:
      expr: max by (model) (model:loop:value)
      by: [model]
      op: ">"
      value: 1
`)
	require.Contains(t, msg, "spec.yaml:9:7: alerts[0].threshold")
	require.Contains(t, msg, "selects model:loop:value, which this alert records itself")

	msg = compileErr(t, `  - name: Loop
    tier: P1
    runbook_url: https://x.example
    threshold: {expr: 'count by (model) (ALERTS{alertname="Loop"})', by: [model], op: ">", value: 0}
`)
	require.Contains(t, msg, "selects the alert's own ALERTS series")
}

func TestLabelMismatch(t *testing.T) {
	msg := compileErr(t, `  - name: Ratio
    tier: P1
    runbook_url: https://x.example
    threshold:
      expr: sum by (model) (rate(aiops_inference_errors_total[5m])) / sum by (model, version) (rate(aiops_events_total[5m]))
      by: [model]
      op: ">"
      value: 0.1
`)
	require.Contains(t, msg, `"/" without on/ignoring joins label sets {model} and {model, version}, which differ`)

	msg = compileErr(t, `  - name: Join
    tier: P1
    runbook_url: https://x.example
    threshold:
      expr: sum by (model) (rate(aiops_events_total[5m])) / on (feature) sum by (model) (rate(aiops_events_total[5m]))
      by: [model]
      op: ">"
      value: 0.1
`)
	require.Contains(t, msg, `the left side {model} has no label "feature"`)

	msg = compileErr(t, `  - name: By
    tier: P1
    runbook_url: https://x.example
    threshold: {expr: 'max by (model, feature) (aiops_feature_null_ratio)', by: [model], op: ">", value: 0.1}
`)
	require.Contains(t, msg, "yields labels {feature, model} but by lists {model}")
}

func TestSLOFactors(t *testing.T) {
	res, _ := compileFile(t, "testdata/kinds.spec.yaml")
	var fast string
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			if r.Alert == "LowAccuracySLOFastBurn" {
				fast = r.Expr
			}
		}
	}
	// 99% over 30d: budget 0.01, factors 14.4 (1h/5m) and 6 (6h/30m), recomputed here by hand.
	require.Contains(t, fast, "model:low_accuracy_slo_error:ratio5m > 0.144 and model:low_accuracy_slo_error:ratio1h > 0.144")
	require.Contains(t, fast, "model:low_accuracy_slo_error:ratio30m > 0.06 and model:low_accuracy_slo_error:ratio6h > 0.06")
	require.Contains(t, fast, "and on (model) model:low_accuracy_slo_total:increase1h >= 60")
}

func BenchmarkGenerate1000(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(head)
	presets := spec.PresetNames()
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&sb, "  - {name: Alert%d, tier: P1, preset: %s, runbook_url: https://x.example}\n", i, presets[i%len(presets)])
	}
	data := []byte(sb.String())
	b.ReportAllocs()
	for b.Loop() {
		s, errs := spec.Parse("bench.yaml", data, spec.Options{})
		if len(errs.Fatal()) > 0 {
			b.Fatal(errs)
		}
		res, cerrs := compile.Compile(s)
		if len(cerrs) > 0 {
			b.Fatal(cerrs)
		}
		if _, err := output.Render(res, "bench.yaml"); err != nil {
			b.Fatal(err)
		}
	}
}
