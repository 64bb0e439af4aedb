package containment

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzRequest feeds arbitrary JSON to an apply request: it is refused with a FieldError
// naming a field, or accepted as a containment that holds what the API promises — a
// model, a known action, a fallback version for a fallback, a specific match for a block,
// an expiry in the future — and Decide on it never panics.
func FuzzRequest(f *testing.F) {
	f.Add(`{"model":"fraud","version":"v2","action":"fallback","fallback_version":"v1","reason":"r"}`)
	f.Add(`{"model":"fraud","action":"block_inputs","match":{"feature":"country","value":"XX"},"reason":"r","expires_at":"2026-12-07T21:00:00Z"}`)
	f.Add(`{"model":"fraud","action":"block_inputs","match":{"input_class":"*"},"reason":"r"}`)
	f.Add(`{"model":"m","action":"disable","reason":"r","incident":3,"until_resolved":true,"lift_after":"10m"}`)
	f.Fuzz(func(t *testing.T, src string) {
		var r Request
		if json.Unmarshal([]byte(src), &r) != nil {
			return
		}
		c, err := r.Validate(now)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("error without a field: %v", err)
			}
			return
		}
		if c.Model == "" || c.Reason == "" {
			t.Fatalf("accepted without model or reason: %+v", c)
		}
		if _, err := ParseAction(string(c.Action)); err != nil {
			t.Fatalf("accepted action %q", c.Action)
		}
		switch c.Action {
		case Fallback:
			if c.FallbackVersion == "" || c.FallbackVersion == c.Version {
				t.Fatalf("bad fallback accepted: %+v", c)
			}
		case BlockInputs:
			if c.Match == nil || CheckMatch(c.Match) != nil || wildcards[strings.ToLower(c.Match.Value)] && c.Match.InputClass == "" {
				t.Fatalf("bad match accepted: %+v", c.Match)
			}
		}
		if !c.ExpiresAt.IsZero() && !c.ExpiresAt.After(now) {
			t.Fatalf("expiry not in the future accepted: %s", c.ExpiresAt)
		}
		c.ID = 1
		_ = Decide([]Containment{c}, c.Model, c.Version, map[string]any{"input_class": "x", "country": "XX"})
	})
}

// FuzzCompile feeds arbitrary YAML to the containment section: it compiles, or fails
// naming a field under containment. — never a panic — and a compiled policy plans.
func FuzzCompile(f *testing.F) {
	f.Add("enabled: true\npolicies:\n- {name: p, match: ['tier=\"P1\"'], action: fallback, lift: {after_resolve: 10m}}\n")
	f.Add("policies:\n- {name: p, match: ['a=~\".*\"'], action: disable}\n")
	f.Add("policies:\n- {name: b, match: ['{alertname=~\"Parse.+\", team!=\"x\"}'], action: block_inputs, block_input_class: pdf}\n")
	f.Fuzz(func(t *testing.T, src string) {
		var c Config
		if yaml.Unmarshal([]byte(src), &c) != nil {
			return
		}
		cc, err := Compile(c)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "containment.") {
				t.Fatalf("error without a field: %v", err)
			}
			return
		}
		for _, pl := range cc.Plan(Incident{ID: 1, Model: "m", Labels: map[string]string{"tier": "P1", "alertname": "ParseErrors", "fallback_version": "v0"}}) {
			if pl.Skip == "" && pl.Containment.Model != "m" {
				t.Fatalf("planned on the wrong model: %+v", pl)
			}
		}
	})
}
