package containment

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var now = time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func TestValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		name  string
		req   Request
		field string
	}{
		{"missing model", Request{Action: "disable", Reason: "r"}, "model"},
		{"unknown action", Request{Model: "m", Action: "reroute", Reason: "r"}, "action"},
		{"no action", Request{Model: "m", Reason: "r"}, "action"},
		{"fallback without version", Request{Model: "m", Action: "fallback", Reason: "r"}, "fallback_version"},
		{"fallback to itself", Request{Model: "m", Version: "v2", Action: "fallback", FallbackVersion: "v2", Reason: "r"}, "fallback_version"},
		{"block without match", Request{Model: "m", Action: "block_inputs", Reason: "r"}, "match"},
		{"block with empty match", Request{Model: "m", Action: "block_inputs", Match: &Match{}, Reason: "r"}, "match"},
		{"block of every value", Request{Model: "m", Action: "block_inputs", Match: &Match{Feature: "lang", Value: "*"}, Reason: "r"}, "match.value"},
		{"block of every class", Request{Model: "m", Action: "block_inputs", Match: &Match{InputClass: ".*"}, Reason: "r"}, "match.input_class"},
		{"feature without value", Request{Model: "m", Action: "block_inputs", Match: &Match{Feature: "lang"}, Reason: "r"}, "match.value"},
		{"match on disable", Request{Model: "m", Action: "disable", Match: &Match{InputClass: "pdf"}, Reason: "r"}, "match"},
		{"no reason", Request{Model: "m", Action: "disable"}, "reason"},
		{"expiry in the past", Request{Model: "m", Action: "disable", Reason: "r", ExpiresAt: ptr(now.Add(-time.Minute))}, "expires_at"},
		{"expiry now", Request{Model: "m", Action: "disable", Reason: "r", ExpiresAt: ptr(now)}, "expires_at"},
		{"expiry too far", Request{Model: "m", Action: "disable", Reason: "r", ExpiresAt: ptr(now.Add(MaxDuration + time.Hour))}, "expires_at"},
		{"two ends", Request{Model: "m", Action: "disable", Reason: "r", ExpiresAt: ptr(now.Add(time.Hour)), UntilLifted: true}, "expires_at"},
		{"until resolved without incident", Request{Model: "m", Action: "disable", Reason: "r", UntilResolved: true}, "until_resolved"},
		{"lift_after without until_resolved", Request{Model: "m", Action: "disable", Reason: "r", LiftAfter: "10m"}, "lift_after"},
		{"bad lift_after", Request{Model: "m", Action: "disable", Reason: "r", Incident: 3, UntilResolved: true, LiftAfter: "soon"}, "lift_after"},
		{"control character in model", Request{Model: "m\n", Action: "disable", Reason: "r"}, "model"},
		{"long model", Request{Model: strings.Repeat("m", 129), Action: "disable", Reason: "r"}, "model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.req.Validate(now)
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "error %v", err)
			require.Equal(t, tc.field, fe.Field, fe.Error())
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	c, err := Request{Model: "fraud", Version: "v2", Action: "fallback", FallbackVersion: "v1", Reason: "AUC collapsed", Incident: 7,
		UntilResolved: true, LiftAfter: "10m"}.Validate(now)
	require.NoError(t, err)
	require.Equal(t, Containment{Model: "fraud", Version: "v2", Action: Fallback, FallbackVersion: "v1", Reason: "AUC collapsed", IncidentID: 7,
		Until: UntilResolved, LiftAfterSeconds: 600}, c)

	c, err = Request{Model: "fraud", Action: "block_inputs", Match: &Match{Feature: "country", Value: "XX"}, Reason: "r",
		ExpiresAt: ptr(now.Add(time.Hour))}.Validate(now)
	require.NoError(t, err)
	require.Equal(t, UntilExpires, c.Until)
	require.Equal(t, now.Add(time.Hour), c.ExpiresAt)

	c, err = Request{Model: "fraud", Action: "disable", Reason: "r"}.Validate(now)
	require.NoError(t, err)
	require.Equal(t, UntilLifted, c.Until)
}

func TestLiftDue(t *testing.T) {
	resolved := now.Add(-5 * time.Minute)
	for _, tc := range []struct {
		name       string
		c          Containment
		resolvedAt time.Time
		due        bool
	}{
		{"until lifted never lifts itself", Containment{Until: UntilLifted}, resolved, false},
		{"expired", Containment{Until: UntilExpires, ExpiresAt: now}, time.Time{}, true},
		{"not yet expired", Containment{Until: UntilExpires, ExpiresAt: now.Add(time.Second)}, time.Time{}, false},
		{"incident open", Containment{Until: UntilResolved, LiftAfterSeconds: 60}, time.Time{}, false},
		{"resolved, wait not over", Containment{Until: UntilResolved, LiftAfterSeconds: 600}, resolved, false},
		{"resolved, wait over", Containment{Until: UntilResolved, LiftAfterSeconds: 300}, resolved, true},
		{"resolved, no wait", Containment{Until: UntilResolved}, resolved, true},
		{"already lifted", Containment{Until: UntilExpires, ExpiresAt: now.Add(-time.Hour), LiftedAt: now.Add(-time.Hour)}, time.Time{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			due, why := LiftDue(&tc.c, tc.resolvedAt, now)
			require.Equal(t, tc.due, due, why)
			if due {
				require.NotEmpty(t, why)
			}
		})
	}
}

func TestIsActive(t *testing.T) {
	require.True(t, (&Containment{}).IsActive(now))
	require.True(t, (&Containment{ExpiresAt: now.Add(time.Nanosecond)}).IsActive(now))
	require.False(t, (&Containment{ExpiresAt: now}).IsActive(now))
	require.False(t, (&Containment{LiftedAt: now}).IsActive(now))
}

func TestCompileRefuses(t *testing.T) {
	ok := PolicyConfig{Name: "p", Match: []string{`severity="P1"`}, Action: "fallback"}
	for _, tc := range []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"no matcher", func(c *Config) { c.Policies[0].Match = nil }, "policies[0].match: at least one"},
		{"matches everything", func(c *Config) { c.Policies[0].Match = []string{`model=~".*"`} }, "matches every incident"},
		{"bad matcher", func(c *Config) { c.Policies[0].Match = []string{`severity=~"(`} }, "policies[0].match[0]"},
		{"unknown action", func(c *Config) { c.Policies[0].Action = "panic" }, "policies[0].action"},
		{"bad lift", func(c *Config) { c.Policies[0].Lift.AfterResolve = "later" }, "lift.after_resolve"},
		{"duplicate", func(c *Config) { c.Policies = append(c.Policies, c.Policies[0]) }, "policies[1].name"},
		{"bad name", func(c *Config) { c.Policies[0].Name = "a b" }, "policies[0].name"},
		{"negative cap", func(c *Config) { c.MaxActionsPerHour = -1 }, "max_actions_per_hour"},
		{"class on fallback", func(c *Config) { c.Policies[0].BlockInputClass = "pdf" }, "block_input_class"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Enabled: true, Policies: []PolicyConfig{ok}}
			tc.mod(&c)
			_, err := Compile(c)
			require.ErrorContains(t, err, tc.want)
		})
	}
	c, err := Compile(Config{Policies: []PolicyConfig{ok}})
	require.NoError(t, err)
	require.Equal(t, DefaultMaxActionsPerHour, c.MaxActionsPerHour)
	require.True(t, c.Policies[0].Manual)
}

func TestPlan(t *testing.T) {
	c, err := Compile(Config{Enabled: true, Policies: []PolicyConfig{
		{Name: "p1-fallback", Match: []string{`severity="P1"`, `containment="fallback"`}, Action: "fallback", Lift: LiftConfig{AfterResolve: "10m"}},
		{Name: "pdf-block", Match: []string{`alertname=~"Parse.*"`}, Action: "block_inputs", BlockInputClass: "pdf_upload"},
		{Name: "fixed", Match: []string{`team="risk"`}, Action: "fallback", FallbackVersion: "v0"},
	}})
	require.NoError(t, err)

	got := c.Plan(Incident{ID: 4, Model: "fraud", Labels: map[string]string{"severity": "P1", "containment": "fallback", "version": "v2", "fallback_version": "v1"}})
	require.Len(t, got, 1)
	require.Empty(t, got[0].Skip)
	require.Equal(t, "p1-fallback", got[0].Policy)
	ct := got[0].Containment
	require.Equal(t, Containment{Model: "fraud", Version: "v2", Action: Fallback, FallbackVersion: "v1", IncidentID: 4, Until: UntilResolved,
		LiftAfterSeconds: 600, Reason: ct.Reason}, ct)
	require.Contains(t, ct.Reason, "p1-fallback")

	// A P2 does not match; nothing is planned.
	require.Empty(t, c.Plan(Incident{ID: 5, Model: "fraud", Labels: map[string]string{"severity": "P2", "containment": "fallback"}}))

	// A match without a fallback version cannot apply: it says so instead of guessing.
	got = c.Plan(Incident{ID: 6, Model: "fraud", Labels: map[string]string{"severity": "P1", "containment": "fallback"}})
	require.Len(t, got, 1)
	require.Contains(t, got[0].Skip, "fallback_version")

	// No model: nothing to contain.
	got = c.Plan(Incident{ID: 7, Labels: map[string]string{"alertname": "ParseErrors"}})
	require.Len(t, got, 1)
	require.Contains(t, got[0].Skip, "model")

	got = c.Plan(Incident{ID: 8, Labels: map[string]string{"alertname": "ParseErrors", "model": "ocr", "team": "risk", "version": "v3"}})
	require.Len(t, got, 2)
	require.Equal(t, &Match{InputClass: "pdf_upload"}, got[0].Containment.Match)
	require.Equal(t, UntilLifted, got[0].Containment.Until)
	require.Equal(t, "v0", got[1].Containment.FallbackVersion)
}

func TestAllow(t *testing.T) {
	require.True(t, Allow(0, 1))
	require.True(t, Allow(9, 10))
	require.False(t, Allow(10, 10))
	require.False(t, Allow(11, 10))
}

func TestDecide(t *testing.T) {
	fb := Containment{ID: 1, Model: "fraud", Version: "v2", Action: Fallback, FallbackVersion: "v1", Reason: "drift"}
	fbAll := Containment{ID: 2, Model: "fraud", Action: Fallback, FallbackVersion: "v0", Reason: "all"}
	blk := Containment{ID: 3, Model: "fraud", Action: BlockInputs, Match: &Match{Feature: "country", Value: "XX"}, Reason: "bad country"}
	cls := Containment{ID: 4, Model: "fraud", Action: BlockInputs, Match: &Match{InputClass: "pdf"}, Reason: "pdf parse"}
	num := Containment{ID: 5, Model: "fraud", Action: BlockInputs, Match: &Match{Feature: "amount", Value: "0.5"}, Reason: "amount"}
	dis := Containment{ID: 6, Model: "chat", Action: Disable, Reason: "toxic"}
	lifted := Containment{ID: 7, Model: "fraud", Action: Disable, Reason: "old", LiftedAt: now}
	all := []Containment{fb, fbAll, blk, cls, num, dis, lifted}
	for _, tc := range []struct {
		name     string
		cs       []Containment
		model    string
		version  string
		features map[string]any
		want     Decision
	}{
		{"nothing", nil, "fraud", "v2", nil, Decision{Action: Serve, Version: "v2"}},
		{"fallback of the version", []Containment{fb}, "fraud", "v2", nil, Decision{Action: Fallen, Version: "v1", Reason: "drift", ContainmentID: 1, ContainmentAction: Fallback}},
		{"other version serves", []Containment{fb}, "fraud", "v3", nil, Decision{Action: Serve, Version: "v3"}},
		{"the fallback itself serves", []Containment{fbAll}, "fraud", "v0", nil, Decision{Action: Serve, Version: "v0"}},
		{"oldest fallback wins", []Containment{fb, fbAll}, "fraud", "v2", nil, Decision{Action: Fallen, Version: "v1", Reason: "drift", ContainmentID: 1, ContainmentAction: Fallback}},
		{"block beats fallback", all[:3], "fraud", "v2", map[string]any{"country": "XX"}, Decision{Action: Blocked, Version: "v2", Reason: "bad country", ContainmentID: 3, ContainmentAction: BlockInputs}},
		{"other country falls back", all[:3], "fraud", "v2", map[string]any{"country": "FR"}, Decision{Action: Fallen, Version: "v1", Reason: "drift", ContainmentID: 1, ContainmentAction: Fallback}},
		{"input class", all, "fraud", "v9", map[string]any{"input_class": "pdf"}, Decision{Action: Blocked, Version: "v9", Reason: "pdf parse", ContainmentID: 4, ContainmentAction: BlockInputs}},
		{"number value", []Containment{num}, "fraud", "v9", map[string]any{"amount": 0.5}, Decision{Action: Blocked, Version: "v9", Reason: "amount", ContainmentID: 5, ContainmentAction: BlockInputs}},
		{"missing feature serves", []Containment{num}, "fraud", "v9", map[string]any{}, Decision{Action: Serve, Version: "v9"}},
		{"disable", all, "chat", "v1", nil, Decision{Action: Disabled, Reason: "toxic", ContainmentID: 6, ContainmentAction: Disable}},
		{"lifted ignored", []Containment{lifted}, "fraud", "v1", nil, Decision{Action: Serve, Version: "v1"}},
		{"other model", all, "ocr", "v1", map[string]any{"input_class": "pdf"}, Decision{Action: Serve, Version: "v1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Decide(tc.cs, tc.model, tc.version, tc.features))
		})
	}
}
