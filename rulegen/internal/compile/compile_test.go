package compile_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/rulegen/internal/compile"
	"github.com/opscentre/opscentre/rulegen/internal/output"
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

	msg = compileErr(t, `  - name: Loop
    tier: P1
    runbook_url: https://x.example
    threshold: {expr: 'count by (model) (ALERTS{alertname="Loop", alertstate="firing"})', by: [model], op: ">", value: 0}
`)
	require.Contains(t, msg, "selects the alert's own ALERTS series")
}

func TestSlugCollision(t *testing.T) {
	msg := compileErr(t, `  - {name: AB1, tier: P1, preset: error_rate, runbook_url: https://x.example}
  - {name: Ab1, tier: P1, preset: error_rate, runbook_url: https://x.example}
`)
	require.Contains(t, msg, "spec.yaml:6:5: alerts[1]: alert \"Ab1\" and alert \"AB1\" (line 5) both become \"ab1\"")
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

// TestHugeWindowsSkipTests: a window of years compiles, but generates no test series
// instead of allocating gigabytes.
func TestHugeWindowsSkipTests(t *testing.T) {
	s, errs := spec.Parse("spec.yaml", []byte(head+`  - name: Slow
    tier: P1
    for: 520w
    runbook_url: https://x.example
    anomaly: {expr: 'max by (model) (aiops_model_accuracy)', by: [model], window: 5200w}
`), spec.Options{})
	require.Empty(t, errs.Fatal())
	res, cerrs := compile.Compile(s)
	require.Empty(t, cerrs)
	require.Nil(t, res.Groups[0].Tests)
	require.Contains(t, res.Groups[0].NoTests[0], "more than 50000 samples")
}

func sloAlert(t *testing.T, slo string) (*compile.Result, map[string]string) {
	t.Helper()
	s, errs := spec.Parse("spec.yaml", []byte(head+`  - name: Acc
    tier: P1
    runbook_url: https://x.example
    slo:
      good: sum by (model) (increase(aiops_predictions_labeled_total{outcome="correct"}[{{window}}]))
      total: sum by (model) (increase(aiops_predictions_labeled_total[{{window}}]))
      by: [model]
`+slo), spec.Options{})
	require.Empty(t, errs.Fatal())
	res, cerrs := compile.Compile(s)
	require.Empty(t, cerrs)
	exprs := map[string]string{}
	for _, r := range res.Groups[0].Rules {
		if r.Alert != "" {
			exprs[r.Alert] = r.Expr
		}
	}
	return res, exprs
}

// TestSLOFactorsFromPeriod: for 28d (672h) and 99.9%, factor = share × 672 / long window:
// 0.02·672/1 = 13.44, 0.05·672/6 = 5.6, 0.1·672/24 = 2.8, 0.1·672/72 = 0.9333…; thresholds are
// factor × 0.001.
func TestSLOFactorsFromPeriod(t *testing.T) {
	_, exprs := sloAlert(t, "      objective: 99.9\n      period: 28d\n")
	require.Contains(t, exprs["AccFastBurn"], "ratio5m > 0.01344 and model:acc_error:ratio1h > 0.01344")
	require.Contains(t, exprs["AccFastBurn"], "ratio30m > 0.0056 and model:acc_error:ratio6h > 0.0056")
	require.Contains(t, exprs["AccSlowBurn"], "ratio2h > 0.0028 and model:acc_error:ratio1d > 0.0028")
	require.Contains(t, exprs["AccSlowBurn"], "ratio6h > 0.000933333333333 and model:acc_error:ratio3d > 0.000933333333333")
}

func TestSLODisableAndImpossibleWindows(t *testing.T) {
	_, exprs := sloAlert(t, "      objective: 99\n      disable: [\"1h\", \"6h\"]\n")
	require.NotContains(t, exprs, "AccFastBurn", "both fast windows disabled: no fast alert")
	require.Contains(t, exprs, "AccSlowBurn")

	// At 90% the 1h pair needs an error ratio of 1.44: impossible, so it is left out with a warning.
	res, exprs := sloAlert(t, "      objective: 90\n")
	require.NotContains(t, exprs["AccFastBurn"], "ratio1h")
	require.Contains(t, exprs["AccFastBurn"], "ratio6h > 0.6")
	require.Len(t, res.Warnings, 1)
	require.Contains(t, res.Warnings[0].Msg, "burn window 1h of Acc can never fire: it needs an error ratio of 1.44")
}

// TestEveryExampleAlertHasFiringAndQuietTests guards against the generator silently
// dropping scenarios: every alert of every kind and preset gets at least one test that must
// fire and one that must stay quiet, and each alerting rule is expected to fire somewhere.
func TestEveryExampleAlertHasFiringAndQuietTests(t *testing.T) {
	res, _ := compileFile(t, "testdata/kinds.spec.yaml")
	for _, g := range res.Groups {
		require.NotNil(t, g.Tests, "%s has no tests: %v", g.Alert.Name, g.NoTests)
		fires, quiet := map[string]bool{}, 0
		for _, tc := range g.Tests.Tests {
			for _, ch := range tc.Checks {
				if len(ch.Exp) > 0 {
					fires[ch.Alertname] = true
				} else {
					quiet++
				}
			}
		}
		require.Positive(t, quiet, "%s has no quiet scenario", g.Alert.Name)
		for _, r := range g.Rules {
			if r.Alert != "" {
				require.True(t, fires[r.Alert], "%s has no scenario that fires it", r.Alert)
			}
		}
	}
}

func TestBadTemplate(t *testing.T) {
	msg := compileErr(t, `  - name: Tmpl
    tier: P1
    runbook_url: https://x.example
    summary: "{{ $labels.model "
    preset: error_rate
`)
	require.Contains(t, msg, "spec.yaml:5:5: alerts[0]: alert Tmpl: invalid template: annotation \"summary\"")
}

// TestEvidenceAnnotations: an alert's evidence hints become the annotations incidentd reads,
// comma-joined; an alert without hints carries neither.
func TestEvidenceAnnotations(t *testing.T) {
	s, errs := spec.Parse("spec.yaml", []byte(head+`  - name: Hinted
    tier: P1
    runbook_url: https://x.example
    preset: feature_drift
    evidence: {features: [amount, "{{ $labels.feature }}"], causes: [inputs_changed, capacity]}
  - name: Plain
    tier: P1
    runbook_url: https://x.example
    threshold: {expr: up, by: [job], op: "<", value: 1}
`), spec.Options{})
	require.Empty(t, errs.Fatal(), errs.Error())
	res, cerrs := compile.Compile(s)
	require.Empty(t, cerrs)
	alerts := map[string]compile.Rule{}
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				alerts[r.Alert] = r
			}
		}
	}
	require.Equal(t, "amount,{{ $labels.feature }}", alerts["Hinted"].Annotations["opscentre_evidence_features"])
	require.Equal(t, "inputs_changed,capacity", alerts["Hinted"].Annotations["opscentre_evidence_causes"])
	require.NotContains(t, alerts["Plain"].Annotations, "opscentre_evidence_features")
	require.NotContains(t, alerts["Plain"].Annotations, "opscentre_evidence_causes")
}
