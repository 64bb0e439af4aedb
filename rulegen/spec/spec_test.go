package spec

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const header = `apiVersion: opscentre.io/v1
tiers:
  P1: {name: Critical, response_time: immediate}
  P2: {name: High, response_time: 1h}
defaults: {team: ml}
`

func TestParseValid(t *testing.T) {
	s, errs := Parse("spec.yaml", []byte(header+`alerts:
  - name: ErrorRate
    tier: P1
    preset: error_rate
    runbook_url: https://runbooks.example.com/errors
  - name: Nulls
    tier: P2
    for: 10m
    runbook: [check the pipeline]
    threshold: {expr: 'max by (model) (aiops_feature_null_ratio)', by: [model], op: ">", value: 0.1}
`), Options{})
	require.Empty(t, errs.Fatal())
	require.Len(t, s.Alerts, 2)
	require.Equal(t, "threshold", s.Alerts[0].Kind())
	require.Equal(t, "error_rate", s.Alerts[0].Preset)
	require.Equal(t, 0.05, s.Alerts[0].Threshold.Value)
	require.Equal(t, "ml", s.Alerts[1].Team)
	require.Equal(t, "ml", s.Alerts[1].Owner, "owner defaults to the team")
	require.Equal(t, "10m0s", s.Alerts[1].For.String())
	require.Equal(t, "5m0s", s.Alerts[0].For.String(), "for defaults to 5m")
}

// TestParseErrors checks every kind of bad input gives a clear error at the right place.
// A field that is present but invalid gets one error, its own — not also "missing".
func TestInvalidFieldIsNotAlsoMissing(t *testing.T) {
	_, errs := Parse("spec.yaml", []byte(header+"alerts:\n  - name: A\n    tier: P1\n    runbook_url: https://x.example\n    threshold: {expr: up, by: [job], op: '=<', value: 1}\n"), Options{})
	require.Len(t, errs.Fatal(), 1, errs.Error())
	require.Contains(t, errs.Error(), `alerts[0].threshold.op: invalid value "=<"`)
	_, errs = Parse("spec.yaml", []byte(header+"alerts:\n  - name: A\n    tier: P1\n    runbook_url: https://x.example\n    threshold: {expr: up, by: [job], value: 1}\n"), Options{})
	require.Contains(t, errs.Error(), "alerts[0].threshold.op: missing op", "an absent field is still reported")
}

func TestParseErrors(t *testing.T) {
	cases := map[string]struct {
		spec string
		want string // "line:col: path: message fragment"
	}{
		"wrong apiVersion": {
			spec: "apiVersion: opscentre.io/v2\ntiers: {P1: {name: C, response_time: now}}\nalerts: []\n",
			want: "spec.yaml:1:13: apiVersion: unsupported apiVersion \"opscentre.io/v2\"",
		},
		"unknown top-level key": {
			spec: header + "alert: []\nalerts: []\n",
			want: "spec.yaml:6:1: alert: unknown key \"alert\"",
		},
		"unknown key in a kind": {
			spec: header + "alerts:\n  - name: A\n    tier: P1\n    runbook_url: https://x.example\n    threshold: {expr: up, by: [job], op: '>', value: 1, above: 2}\n",
			want: "spec.yaml:10:57: alerts[0].threshold.above: unknown key \"above\"",
		},
		"undefined tier": {
			spec: header + "alerts:\n  - name: A\n    tier: P3\n    runbook_url: https://x.example\n    threshold: {expr: up, by: [job], op: '>', value: 1}\n",
			want: "spec.yaml:7:5: alerts[0].tier: alert \"A\" uses tier \"P3\", which is not defined",
		},
		"duplicate alert name": {
			spec: header + "alerts:\n  - {name: A, tier: P1, runbook_url: https://x.example, preset: error_rate}\n  - {name: A, tier: P1, runbook_url: https://x.example, preset: error_rate}\n",
			want: "spec.yaml:8:5: alerts[1].name: duplicate alert name \"A\"; first defined at line 7",
		},
		"invalid PromQL": {
			spec: header + "alerts:\n  - name: A\n    tier: P1\n    runbook_url: https://x.example\n    threshold:\n      expr: sum by (model) (rate(x[5m])\n      by: [model]\n      op: '>'\n      value: 1\n",
			want: "spec.yaml:11:13: alerts[0].threshold.expr: invalid PromQL",
		},
		"negative duration": {
			spec: header + "alerts:\n  - name: A\n    tier: P1\n    for: -5m\n    runbook_url: https://x.example\n    preset: error_rate\n",
			want: "spec.yaml:9:10: alerts[0].for: negative duration \"-5m\"",
		},
		"SLO of 100%": {
			spec: header + "alerts:\n  - name: A\n    tier: P1\n    runbook_url: https://x.example\n    slo:\n      good: sum by (m) (increase(g[{{window}}]))\n      total: sum by (m) (increase(t[{{window}}]))\n      by: [m]\n      objective: 100\n",
			want: "alerts[0].slo.objective: objective 100% is impossible",
		},
		"missing runbook": {
			spec: header + "alerts:\n  - {name: A, tier: P1, preset: error_rate}\n",
			want: "spec.yaml:7:5: alerts[0].runbook_url: alert \"A\" has no runbook",
		},
		"two kinds": {
			spec: header + "alerts:\n  - {name: A, tier: P1, runbook_url: https://x.example, preset: error_rate, absence: {selector: up}}\n",
			want: "has 2 kinds (preset, absence); expected exactly one",
		},
		"unknown preset param": {
			spec: header + "alerts:\n  - {name: A, tier: P1, runbook_url: https://x.example, preset: error_rate, params: {maximum: '1'}}\n",
			want: "alerts[0].params.maximum: preset error_rate has no param \"maximum\"",
		},
		"business hours missing": {
			spec: "apiVersion: opscentre.io/v1\ntiers:\n  P2: {name: High, response_time: 1h, hours: business}\nalerts: []\n",
			want: "spec.yaml:3:7: tiers.P2.hours: tier P2 uses hours: business, so business_hours needs weekdays, start and end",
		},
		"bad weekday": {
			spec: "apiVersion: opscentre.io/v1\nbusiness_hours: {timezone: UTC, weekdays: [\"monday:fryday\"], start: \"09:00\", end: \"17:00\"}\ntiers:\n  P2: {name: High, response_time: 1h, hours: business}\nalerts: []\n",
			want: "business_hours.weekdays[0]: invalid weekday \"monday:fryday\"",
		},
		"end before start": {
			spec: "apiVersion: opscentre.io/v1\nbusiness_hours: {timezone: UTC, weekdays: [monday], start: \"09:00\", end: \"08:59\"}\ntiers:\n  P2: {name: High, response_time: 1h, hours: business}\nalerts: []\n",
			want: "business_hours.end: end 08:59 must be after start 09:00",
		},
		"bad end": {
			spec: "apiVersion: opscentre.io/v1\nbusiness_hours: {timezone: UTC, weekdays: [monday], start: \"09:00\", end: \"24:30\"}\ntiers:\n  P2: {name: High, response_time: 1h, hours: business}\nalerts: []\n",
			want: "business_hours.end: invalid time \"24:30\"",
		},
		"undefined receiver": {
			spec: "apiVersion: opscentre.io/v1\ntiers:\n  P1: {name: C, response_time: now, receivers: [pagerduty]}\nalerts: []\n",
			want: "tiers.P1.receivers[0]: tier P1 uses receiver \"pagerduty\", which is not defined under receivers",
		},
		"not a mapping": {
			spec: header + "alerts:\n  - just-a-string\n",
			want: "spec.yaml:7:5: alerts[0]: expected a mapping, got the scalar \"just-a-string\"",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, errs := Parse("spec.yaml", []byte(tc.spec), Options{})
			require.Nil(t, s)
			require.NotEmpty(t, errs.Fatal())
			require.Contains(t, errs.Error(), tc.want)
		})
	}
}

func TestAllowMissingRunbooks(t *testing.T) {
	s, errs := Parse("spec.yaml", []byte(header+"alerts:\n  - {name: A, tier: P1, preset: error_rate}\n"), Options{AllowMissingRunbooks: true})
	require.NotNil(t, s)
	require.Len(t, errs.Warnings(), 1)
	require.True(t, strings.Contains(errs.Warnings()[0].Msg, "no runbook"))
}

func TestFormatNum(t *testing.T) {
	require.Equal(t, "0.001", FormatNum(1-0.999))
	require.Equal(t, "14.4", FormatNum(0.02*720))
	require.Equal(t, "0.0144", FormatNum(14.4*(1-0.999)))
	require.Equal(t, "1e-09", FormatNum(1e-9))
	require.Equal(t, "10000", FormatNum(10000))
}

// TestEvidenceHints: presets carry the hints of the cause they point to (the fired feature for
// per-feature presets), an alert's own evidence block replaces them, and a bad hint is an error
// naming its field.
func TestEvidenceHints(t *testing.T) {
	s, errs := Parse("spec.yaml", []byte(header+`alerts:
  - {name: Drift, tier: P2, preset: feature_drift, runbook_url: https://x.example}
  - {name: Slow, tier: P2, preset: latency_p95, runbook_url: https://x.example}
  - {name: Tokens, tier: P2, preset: token_spend, runbook_url: https://x.example}
  - {name: Errors, tier: P2, preset: error_rate, runbook_url: https://x.example}
  - name: Own
    tier: P2
    preset: error_rate
    runbook_url: https://x.example
    evidence: {features: [amount], causes: [version_mismatch, capacity]}
  - name: Plain
    tier: P1
    runbook: [look]
    threshold: {expr: up, by: [job], op: "<", value: 1}
`), Options{})
	require.Empty(t, errs.Fatal(), errs.Error())
	want := []*EvidenceHints{
		{Features: []string{"{{ $labels.feature }}"}, Causes: []string{"inputs_changed"}},
		{Causes: []string{"capacity"}},
		{Causes: []string{"adversarial_inputs"}},
		{Causes: []string{"external_api_change"}},
		{Features: []string{"amount"}, Causes: []string{"version_mismatch", "capacity"}},
		nil,
	}
	for i, w := range want {
		require.Equal(t, w, s.Alerts[i].Evidence, s.Alerts[i].Name)
	}

	for spec, msg := range map[string]string{
		"evidence: {causes: [gremlins]}": `spec.yaml:11:15: alerts[0].evidence.causes[0]: unknown cause "gremlins"; expected one of inputs_changed, version_mismatch, external_api_change, adversarial_inputs, capacity`,
		"evidence: {features: ['a,b']}":  `alerts[0].evidence.features[0]: invalid feature "a,b"`,
		"evidence: {feature: [amount]}":  `alerts[0].evidence.feature: unknown key "feature"; expected one of: causes, features`,
		"evidence: {}":                   `alerts[0].evidence: evidence hints are empty`,
		"evidence: [capacity]":           `alerts[0].evidence: expected a mapping`,
		"evidence: {causes: capacity}":   `alerts[0].evidence.causes: expected a list of strings`,
	} {
		_, errs := Parse("spec.yaml", []byte(header+"alerts:\n  - name: A\n    tier: P1\n    runbook_url: https://x.example\n    preset: error_rate\n    "+spec+"\n"), Options{})
		require.Contains(t, errs.Error(), msg, spec)
	}
}
