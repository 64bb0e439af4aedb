package compile_test

import (
	"testing"

	"github.com/opscentre/opscentre/rulegen/internal/check"
	"github.com/opscentre/opscentre/rulegen/internal/compile"
	"github.com/opscentre/opscentre/rulegen/internal/output"
	"github.com/opscentre/opscentre/rulegen/spec"
)

// FuzzSpec: whatever the parser accepts must compile to rules that pass rulefmt and the
// PromQL parser (output.Render re-parses every rule file and fails otherwise), and nothing
// may panic.
func FuzzSpec(f *testing.F) {
	f.Add([]byte(head + "  - {name: A, tier: P1, preset: error_rate, runbook_url: https://x.example}\n"))
	f.Add([]byte(head + "  - {name: A, tier: P1, runbook_url: https://x.example, threshold: {expr: up, by: [job], op: '>', value: 1}}\n"))
	f.Add([]byte(head + "  - {name: A, tier: P1, preset: feature_drift, runbook_url: https://x.example, evidence: {features: [amount, '{{ $labels.feature }}'], causes: [capacity]}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, errs := spec.Parse("fuzz.yaml", data, spec.Options{AllowMissingRunbooks: true})
		if s == nil {
			if len(errs.Fatal()) == 0 {
				t.Fatal("nil spec without an error")
			}
			return
		}
		res, cerrs := compile.Compile(s)
		if res == nil {
			if len(cerrs) == 0 {
				t.Fatal("nil result without an error")
			}
			return
		}
		files, err := output.Render(res, "fuzz.yaml")
		if err != nil {
			t.Fatalf("accepted spec renders invalid output: %v", err)
		}
		for _, p := range files.Paths() {
			if len(p) > 6 && p[:6] == "rules/" {
				if err := check.RuleFile(files[p]); err != nil {
					t.Fatalf("%s: %v", p, err)
				}
			}
		}
	})
}
