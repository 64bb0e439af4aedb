package incidentapi

import "fmt"

// EscalationState is where an incident's escalation stands.
type EscalationState string

// The escalation states. A row is pending while steps remain to run; done once routing
// or the policy has nothing more to do; stopped when a human (or a resolve) ended it early.
const (
	EscalationPending EscalationState = "pending"
	EscalationDone    EscalationState = "done"
	EscalationStopped EscalationState = "stopped"
)

func (s EscalationState) String() string { return string(s) }

// ParseEscalationState reads a stored or posted state; anything else is an error naming it.
func ParseEscalationState(v string) (EscalationState, error) {
	switch s := EscalationState(v); s {
	case EscalationPending, EscalationDone, EscalationStopped:
		return s, nil
	}
	return "", fmt.Errorf("unknown escalation state %q (expected pending, done or stopped)", v)
}

// EscalationAction is what was decided for an incident when the escalation worker routed
// it: the tier policy's action (page, hold, queue, backlog) or why nobody is notified.
type EscalationAction string

// The escalation actions.
const (
	EscalationPage       EscalationAction = "page"
	EscalationHold       EscalationAction = "hold" // page when business hours start
	EscalationQueue      EscalationAction = "queue"
	EscalationBacklog    EscalationAction = "backlog"
	EscalationSuppressed EscalationAction = "suppressed" // inside a maintenance window
	EscalationUnrouted   EscalationAction = "unrouted"   // no policy routes it
	EscalationStale      EscalationAction = "stale"      // older than the worker's max age
	EscalationNone       EscalationAction = "none"       // nothing to notify, or resolved already
)

func (a EscalationAction) String() string { return string(a) }

// ParseEscalationAction reads a stored action; anything else is an error naming it.
func ParseEscalationAction(v string) (EscalationAction, error) {
	switch a := EscalationAction(v); a {
	case EscalationPage, EscalationHold, EscalationQueue, EscalationBacklog, EscalationSuppressed, EscalationUnrouted, EscalationStale, EscalationNone:
		return a, nil
	}
	return "", fmt.Errorf("unknown escalation action %q (expected page, hold, queue, backlog, suppressed, unrouted, stale or none)", v)
}

// DeliveryStatus is where a queued notification (an outbox row) stands.
type DeliveryStatus string

// The delivery statuses: pending until sent, or failed once retries are exhausted or the
// channel refused it for good.
const (
	DeliveryPending DeliveryStatus = "pending"
	DeliverySent    DeliveryStatus = "sent"
	DeliveryFailed  DeliveryStatus = "failed"
)

func (s DeliveryStatus) String() string { return string(s) }

// ParseDeliveryStatus reads a stored status; anything else is an error naming it.
func ParseDeliveryStatus(v string) (DeliveryStatus, error) {
	switch s := DeliveryStatus(v); s {
	case DeliveryPending, DeliverySent, DeliveryFailed:
		return s, nil
	}
	return "", fmt.Errorf("unknown delivery status %q (expected pending, sent or failed)", v)
}
