package spec_test

import (
	"fmt"

	"github.com/opscentre/opscentre/rulegen/spec"
)

func ExampleParse() {
	s, problems := spec.Parse("spec.yaml", []byte(`apiVersion: opscentre.io/v1
tiers: {P1: {name: Critical, response_time: immediate}}
defaults: {team: ml}
alerts:
  - {name: ErrorRate, tier: P1, preset: error_rate, runbook_url: https://runbooks.example.com/errors}
  - {name: Nulls, tier: P3, preset: null_rate, runbook_url: https://runbooks.example.com/nulls}
`), spec.Options{})
	fmt.Println(s == nil)
	fmt.Println(problems)
	// Output:
	// true
	// spec.yaml:6:5: alerts[1].tier: alert "Nulls" uses tier "P3", which is not defined under tiers
}
