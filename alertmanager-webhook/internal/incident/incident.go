// Package incident holds the incident lifecycle: its states and the transitions allowed
// between them, tiers and their response targets, the MTTA/MTTR/SLA arithmetic, and what a
// notification of alerts does to incidents (Groups, PlanGroup, Settle): open, reopen, raise
// the tier, resolve, and the alert rows, timeline and audit entries that record it.
//
// It is pure logic with no storage, so the rules are the same whichever store enforces them:
// a store reads the state a plan is made from and persists the plan's effects.
package incident

import (
	"fmt"
	"strings"
	"time"
)

// State is a step of the lifecycle.
type State string

// The lifecycle, in order. A human may skip forward; going back happens only by reopening.
const (
	Detected      State = "detected"
	Triaged       State = "triaged"
	Contained     State = "contained"
	Investigating State = "investigating"
	Resolved      State = "resolved"
	Reviewed      State = "reviewed"
)

// States lists the lifecycle in order (a fresh slice: callers may not change the rules).
func States() []State {
	return []State{Detected, Triaged, Contained, Investigating, Resolved, Reviewed}
}

// ParseState checks a state name.
func ParseState(s string) (State, error) {
	for _, st := range States() {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown state %q, expected one of %s", s, stateNames())
}

func stateNames() string {
	n := make([]string, len(States()))
	for i, s := range States() {
		n[i] = string(s)
	}
	return strings.Join(n, ", ")
}

// Rank is the position of s in the lifecycle (0 for detected), or -1 when unknown.
func (s State) Rank() int {
	for i, st := range States() {
		if st == s {
			return i
		}
	}
	return -1
}

// Open reports whether the incident still needs work (not resolved or reviewed).
func (s State) Open() bool { return s.Rank() >= 0 && s.Rank() < Resolved.Rank() }

// TransitionError explains a refused transition.
type TransitionError struct {
	From, To State
	Reason   string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("cannot move incident from %s to %s: %s", e.From, e.To, e.Reason)
}

// CheckTransition tells whether a human may move an incident from one state to another.
// Forward moves, skipping steps, are allowed; backward moves are refused — reopening is
// a separate action; reviewed is final except for reopening.
func CheckTransition(from, to State) error {
	if to.Rank() < 0 {
		return &TransitionError{From: from, To: to, Reason: "unknown target state"}
	}
	if from == to {
		return &TransitionError{From: from, To: to, Reason: "already in that state"}
	}
	if to.Rank() < from.Rank() {
		return &TransitionError{From: from, To: to, Reason: "moving back is only possible by reopening the incident"}
	}
	if to == Reviewed && from != Resolved {
		return &TransitionError{From: from, To: to, Reason: "only a resolved incident can be reviewed"}
	}
	return nil
}

// Tier is a priority, P1 (critical) to P4 (low).
type Tier string

// The tiers of ARCHITECTURE.md.
const (
	P1 Tier = "P1"
	P2 Tier = "P2"
	P3 Tier = "P3"
	P4 Tier = "P4"
)

// ParseTier accepts P1..P4 in any case; the empty string is the unknown tier.
func ParseTier(s string) (Tier, error) {
	switch t := Tier(strings.ToUpper(strings.TrimSpace(s))); t {
	case P1, P2, P3, P4, "":
		return t, nil
	}
	return "", fmt.Errorf("unknown tier %q, expected P1, P2, P3 or P4", s)
}

// TierFromLabels reads the tier of an alert: the `tier` label, else `severity` when it is
// itself a tier name or a common severity word.
func TierFromLabels(l map[string]string) Tier {
	if t, err := ParseTier(l["tier"]); err == nil && t != "" {
		return t
	}
	switch strings.ToLower(l["severity"]) {
	case "p1", "critical", "page":
		return P1
	case "p2", "high", "error":
		return P2
	case "p3", "medium", "warning":
		return P3
	case "p4", "low", "info":
		return P4
	}
	return ""
}

// SLA holds the acknowledge targets per tier. Zero means no target.
type SLA map[Tier]time.Duration

// DefaultSLA are the response targets of the tier table. "Immediate" for P1 is taken as
// acknowledged within 15 minutes — a page has to reach a human and be read; P4 ("next
// sprint") has no acknowledge target.
func DefaultSLA() SLA {
	return SLA{P1: 15 * time.Minute, P2: time.Hour, P3: 24 * time.Hour}
}

// Target returns the acknowledge target of a tier, and whether it has one.
func (s SLA) Target(t Tier) (time.Duration, bool) {
	d, ok := s[t]
	return d, ok && d > 0
}

// Breached reports whether an incident detected at detected and acknowledged at acked
// (zero: not yet) has missed its tier's target as of now.
func (s SLA) Breached(t Tier, detected, acked, now time.Time) bool {
	d, ok := s.Target(t)
	if !ok || detected.IsZero() {
		return false
	}
	end := acked
	if end.IsZero() {
		end = now
	}
	return end.Sub(detected) > d
}

// Durations of an incident's response, zero when the step has not happened.
type Durations struct {
	MTTA time.Duration // time to acknowledge: triaged − detected
	MTTR time.Duration // time to resolve: resolved − detected
}

// Measure computes time to acknowledge and to resolve. A step recorded before detection
// (clock skew between Prometheus and us) counts as zero rather than negative.
func Measure(detected, acked, resolved time.Time) Durations {
	var d Durations
	if !detected.IsZero() && !acked.IsZero() {
		d.MTTA = max(acked.Sub(detected), 0)
	}
	if !detected.IsZero() && !resolved.IsZero() {
		d.MTTR = max(resolved.Sub(detected), 0)
	}
	return d
}

// ContainmentKinds are the kinds of containment action the API accepts; free text goes beside.
func ContainmentKinds() []string {
	return []string{"fallback", "feature_disabled", "inputs_blocked", "rollback", "rate_limited", "other"}
}

// CheckContainmentKind validates a containment kind.
func CheckContainmentKind(k string) error {
	for _, c := range ContainmentKinds() {
		if c == k {
			return nil
		}
	}
	return fmt.Errorf("unknown containment kind %q, expected one of %s", k, strings.Join(ContainmentKinds(), ", "))
}
