// Package containment decides what a containment is and does: routing a model's traffic
// to a fallback version, disabling an AI feature, or blocking a class of inputs while an
// incident is worked on.
//
// It holds the decisions only — validating a request, matching automatic policies against
// an incident, the hourly cap on automation, when a containment expires or is lifted, and
// what an application must do with a request (Decide) — so each is a pure function tested
// by tables. The store keeps containments; incidentd's API and worker call these decisions
// and the store in one transaction; applications call Decide through exporter/client.
package containment

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
)

// Action is what a containment makes applications do.
type Action = incidentapi.ContainmentAction

// Actions.
const (
	// Fallback sends the model's traffic to FallbackVersion.
	Fallback Action = "fallback"
	// Disable turns the AI feature off: the application serves its human or rule-based
	// alternative.
	Disable Action = "disable"
	// BlockInputs refuses the inputs that Match selects.
	BlockInputs Action = "block_inputs"
)

// ParseAction reads an action name.
func ParseAction(s string) (Action, error) {
	switch a := Action(s); a {
	case Fallback, Disable, BlockInputs:
		return a, nil
	}
	return "", fmt.Errorf("unknown action %q, expected fallback, disable or block_inputs", s)
}

// Until says what ends a containment (besides a human lifting it).
type Until = incidentapi.ContainmentUntil

// Ends of a containment.
const (
	UntilExpires  Until = "expires"  // at ExpiresAt
	UntilResolved Until = "resolved" // LiftAfter after its incident resolves
	UntilLifted   Until = "lifted"   // only when someone lifts it
)

// Match selects the inputs a block_inputs containment refuses: either a feature equal to
// a value, or a named input class the application assigns (e.g. "pdf_upload").
type Match = incidentapi.ContainmentMatch

// Containment is one containment, active or lifted: the API's (incidentapi.Containment,
// the one declaration of its JSON), with the decisions about it as methods.
type Containment incidentapi.Containment

// IsActive says whether c is in force at now.
func (c *Containment) IsActive(now time.Time) bool {
	return c.LiftedAt.IsZero() && (c.ExpiresAt.IsZero() || now.Before(c.ExpiresAt))
}

// Bounds of a containment's fields.
const (
	MaxNameBytes   = 128
	MaxReasonBytes = 2048
	// MaxDuration is the longest expiry accepted: a containment meant to last longer is
	// until_lifted, on purpose.
	MaxDuration = 30 * 24 * time.Hour
)

// FieldError is a request refused on its merits; Field names what to fix.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func bad(field, format string, a ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// Request is an apply request as the API receives it (incidentapi.ContainmentRequest),
// with its validation as a method.
type Request incidentapi.ContainmentRequest

func checkName(field, v string, required bool) error {
	switch {
	case v == "" && required:
		return bad(field, "required")
	case len(v) > MaxNameBytes:
		return bad(field, "at most %d bytes, got %d", MaxNameBytes, len(v))
	case !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return bad(field, "expected printable text")
	case v != strings.TrimSpace(v):
		return bad(field, "leading or trailing space in %q", v)
	}
	return nil
}

// wildcards are values that would match every input if an application treated them as
// patterns; a block must name what it blocks.
var wildcards = map[string]bool{"*": true, ".*": true, ".+": true, "%": true, "all": true, "any": true}

// CheckMatch validates the match of a block_inputs containment: a feature and its value,
// or an input class — never something that matches every input.
func CheckMatch(m *Match) error {
	if m == nil || *m == (Match{}) {
		return bad("match", "block_inputs needs a match: {feature, value} or {input_class}; a block of every input is action disable")
	}
	if m.InputClass != "" {
		if m.Feature != "" || m.Value != "" {
			return bad("match", "either {feature, value} or {input_class}, not both")
		}
		if err := checkName("match.input_class", m.InputClass, true); err != nil {
			return err
		}
		if wildcards[strings.ToLower(m.InputClass)] {
			return bad("match.input_class", "%q would match every input; name the class to block (use action disable to stop all traffic)", m.InputClass)
		}
		return nil
	}
	if err := checkName("match.feature", m.Feature, true); err != nil {
		return err
	}
	if m.Value == "" {
		return bad("match.value", "required with match.feature")
	}
	if err := checkName("match.value", m.Value, true); err != nil {
		return err
	}
	if wildcards[strings.ToLower(m.Value)] {
		return bad("match.value", "%q would match every input; give the value to block (use action disable to stop all traffic)", m.Value)
	}
	return nil
}

// Validate turns a request into a containment (without ID, creator and time), naming the
// first field that is wrong.
func (r Request) Validate(now time.Time) (Containment, error) {
	var c Containment
	if err := checkName("model", r.Model, true); err != nil {
		return c, err
	}
	if err := checkName("version", r.Version, false); err != nil {
		return c, err
	}
	if r.Action == "" {
		return c, bad("action", "required: fallback, disable or block_inputs")
	}
	a, err := ParseAction(r.Action)
	if err != nil {
		return c, bad("action", "%v", err)
	}
	c = Containment{Model: r.Model, Version: r.Version, Action: a, Reason: strings.TrimSpace(r.Reason), IncidentID: r.Incident}
	switch a {
	case Fallback:
		if err := checkName("fallback_version", r.FallbackVersion, true); err != nil {
			return c, err
		}
		if r.FallbackVersion == r.Version {
			return c, bad("fallback_version", "%q is the contained version itself", r.FallbackVersion)
		}
		c.FallbackVersion = r.FallbackVersion
	case BlockInputs:
		if err := CheckMatch(r.Match); err != nil {
			return c, err
		}
		m := *r.Match
		c.Match = &m
	}
	if a != Fallback && r.FallbackVersion != "" {
		return c, bad("fallback_version", "only with action fallback")
	}
	if a != BlockInputs && r.Match != nil {
		return c, bad("match", "only with action block_inputs")
	}
	if c.Reason == "" {
		return c, bad("reason", "required: say why, it is shown to everyone who reads the containment")
	}
	if len(c.Reason) > MaxReasonBytes || !utf8.ValidString(c.Reason) {
		return c, bad("reason", "at most %d bytes of UTF-8", MaxReasonBytes)
	}
	if r.Incident < 0 {
		return c, bad("incident", "expected a positive incident id, got %d", r.Incident)
	}
	n := 0
	for _, set := range []bool{r.ExpiresAt != nil, r.UntilResolved, r.UntilLifted} {
		if set {
			n++
		}
	}
	if n > 1 {
		return c, bad("expires_at", "at most one of expires_at, until_resolved, until_lifted")
	}
	switch {
	case r.ExpiresAt != nil:
		at := r.ExpiresAt.UTC()
		if !at.After(now) {
			return c, bad("expires_at", "%s is not in the future (now %s)", at.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
		if at.Sub(now) > MaxDuration {
			return c, bad("expires_at", "at most %s ahead; use until_lifted for a containment without end", MaxDuration)
		}
		c.Until, c.ExpiresAt = UntilExpires, at
	case r.UntilResolved:
		if r.Incident == 0 {
			return c, bad("until_resolved", "needs incident: the incident whose resolution lifts it")
		}
		c.Until = UntilResolved
	default:
		c.Until = UntilLifted
	}
	if r.LiftAfter != "" {
		if c.Until != UntilResolved {
			return c, bad("lift_after", "only with until_resolved")
		}
		d, err := time.ParseDuration(r.LiftAfter)
		if err != nil || d < 0 || d > MaxDuration {
			return c, bad("lift_after", "expected a duration from 0s to %s like 10m, got %q", MaxDuration, r.LiftAfter)
		}
		c.LiftAfterSeconds = d.Seconds()
	}
	return c, nil
}

// LiftDue says whether an active containment should now be lifted by incidentd itself,
// and why: it expired, or its incident resolved LiftAfter ago. resolvedAt is the zero time
// while the incident is open (or when the containment has none).
func LiftDue(c *Containment, resolvedAt, now time.Time) (bool, string) {
	if !c.LiftedAt.IsZero() {
		return false, ""
	}
	if !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt) {
		return true, "expired"
	}
	if c.Until == UntilResolved && !resolvedAt.IsZero() {
		after := time.Duration(c.LiftAfterSeconds * float64(time.Second))
		if !now.Before(resolvedAt.Add(after)) {
			return true, fmt.Sprintf("incident resolved %s ago", now.Sub(resolvedAt).Round(time.Second))
		}
	}
	return false, ""
}

// ErrNotActive is a lift of a containment already lifted or expired.
var ErrNotActive = errors.New("containment is not active")
