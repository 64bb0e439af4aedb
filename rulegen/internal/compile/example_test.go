package compile_test

import (
	"fmt"

	"github.com/opscentre/opscentre/rulegen/internal/compile"
	"github.com/opscentre/opscentre/rulegen/spec"
)

func ExampleCompile() {
	s, _ := spec.Parse("spec.yaml", []byte(`apiVersion: opscentre.io/v1
tiers: {P2: {name: High, response_time: 1h}}
defaults: {team: ml}
alerts:
  - {name: DriftedShare, tier: P2, preset: drifted_share, runbook_url: https://runbooks.example.com/drift}
`), spec.Options{})
	res, _ := compile.Compile(s)
	for _, r := range res.Groups[0].Rules {
		fmt.Println(r.Record+r.Alert, "=", r.Expr)
	}
	// Output:
	// model:drifted_share:value = max by (model) (aiops_drifted_features_ratio)
	// DriftedShare = model:drifted_share:value > 0.3
}
