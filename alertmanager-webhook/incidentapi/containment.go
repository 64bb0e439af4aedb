package incidentapi

import "time"

// ContainmentAction is what a containment makes applications do: fallback, disable or
// block_inputs (the containment package names them).
type ContainmentAction string

// ContainmentUntil says what ends a containment besides a human lifting it: expires,
// resolved or lifted.
type ContainmentUntil string

// ContainmentMatch selects the inputs a block_inputs containment refuses: a feature equal
// to a value, or a named input class the application assigns (e.g. "pdf_upload").
type ContainmentMatch struct {
	Feature    string `json:"feature,omitempty"`
	Value      string `json:"value,omitempty"`
	InputClass string `json:"input_class,omitempty"`
}

// Containment is one containment, active or lifted.
type Containment struct {
	ID              int64             `json:"id"`
	Model           string            `json:"model"`
	Version         string            `json:"version,omitempty"` // empty: every version of the model
	Action          ContainmentAction `json:"action"`
	Match           *ContainmentMatch `json:"match,omitempty"`
	FallbackVersion string            `json:"fallback_version,omitempty"`
	Reason          string            `json:"reason"`
	IncidentID      int64             `json:"incident,omitempty"`
	Policy          string            `json:"policy,omitempty"` // the automatic policy that applied it
	CreatedBy       string            `json:"created_by"`
	CreatedAt       time.Time         `json:"created_at"`
	Until           ContainmentUntil  `json:"until"`
	ExpiresAt       time.Time         `json:"expires_at,omitzero"`
	// LiftAfterSeconds is, for until resolved, how long after the incident resolves it is lifted.
	LiftAfterSeconds float64   `json:"lift_after_seconds,omitempty"`
	LiftedAt         time.Time `json:"lifted_at,omitzero"`
	LiftedBy         string    `json:"lifted_by,omitempty"`
	LiftReason       string    `json:"lift_reason,omitempty"`
	// Active is computed when read: not lifted and not expired.
	Active bool `json:"active"`
}

// ContainmentRequest applies a containment (POST /api/v1/containments, or
// /api/v1/incidents/{id}/containments where the path names the incident). incidentd
// checks it and names a bad field.
type ContainmentRequest struct {
	Model           string            `json:"model"`
	Version         string            `json:"version,omitempty"`
	Action          string            `json:"action"`
	Match           *ContainmentMatch `json:"match,omitempty"`
	FallbackVersion string            `json:"fallback_version,omitempty"`
	Reason          string            `json:"reason"`
	Incident        int64             `json:"incident,omitempty"`
	// At most one of ExpiresAt, UntilResolved, UntilLifted (none: until lifted).
	ExpiresAt     *time.Time `json:"expires_at,omitempty"`
	UntilResolved bool       `json:"until_resolved,omitempty"`
	UntilLifted   bool       `json:"until_lifted,omitempty"`
	// LiftAfter is how long after the incident resolves an until_resolved containment is
	// lifted, as a Go duration ("10m"); empty: at once.
	LiftAfter string `json:"lift_after,omitempty"`
}

// LiftInput is the optional body of a lift (DELETE /api/v1/containments/{id} or POST …/lift).
type LiftInput struct {
	Reason string `json:"reason,omitempty"`
}

// HookDelivery is one queued call of a containment hook, as GET /api/v1/containments/{id}
// lists them.
type HookDelivery struct {
	ID            int64     `json:"id"`
	Hook          string    `json:"hook"`
	ContainmentID int64     `json:"containment_id"`
	IncidentID    int64     `json:"incident,omitempty"`
	Event         string    `json:"event"` // containment.applied, containment.lifted
	CreatedAt     time.Time `json:"created_at"`
	Attempts      int       `json:"attempts"`
	NextAt        time.Time `json:"next_at,omitzero"`
	DeliveredAt   time.Time `json:"delivered_at,omitzero"`
	GaveUpAt      time.Time `json:"gave_up_at,omitzero"`
	LastError     string    `json:"last_error,omitempty"`
}

// ContainmentDetail is one containment with the calls of its hooks
// (GET /api/v1/containments/{id}).
type ContainmentDetail struct {
	Containment
	Hooks []HookDelivery `json:"hooks"`
}

// ContainmentList is the answer of GET /api/v1/containments.
type ContainmentList struct {
	Containments []Containment `json:"containments"`
}

// Delivery is one notification of an incident (GET /api/v1/incidents/{id}/notifications).
type Delivery struct {
	ID        int64          `json:"id"`
	Channel   string         `json:"channel"`
	Kind      string         `json:"kind"`
	Recipient string         `json:"recipient,omitempty"`
	Step      int            `json:"step,omitempty"`
	Status    DeliveryStatus `json:"status"`
	Attempts  int            `json:"attempts"`
	LastError string         `json:"last_error,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	SentAt    time.Time      `json:"sent_at,omitzero"`
}

// EscalationStatus is where an incident's escalation stands.
type EscalationStatus struct {
	Team   string           `json:"team"`
	Policy string           `json:"policy"`
	Tier   string           `json:"tier"`
	Action EscalationAction `json:"action"`
	State  EscalationState  `json:"state"`
	Step   int              `json:"next_step"`
	Round  int              `json:"round"`
	DueAt  time.Time        `json:"due_at,omitzero"`
}

// Notifications is the answer of GET /api/v1/incidents/{id}/notifications: the escalation
// (null before incidentd's worker routed the incident) and the notifications sent.
type Notifications struct {
	Escalation    *EscalationStatus `json:"escalation"`
	Notifications []Delivery        `json:"notifications"`
}

// NotificationMessage is one notification about an incident, as incidentd's webhook
// channel posts it (JSON) to a receiver users run.
type NotificationMessage struct {
	Kind        string            `json:"kind"`
	IncidentID  int64             `json:"incident_id"`
	IncidentKey string            `json:"incident_key"` // the alert group's key: stable across replicas, the dedup key
	Title       string            `json:"title"`
	Summary     string            `json:"summary,omitempty"`
	Tier        string            `json:"tier"`
	Team        string            `json:"team,omitempty"`
	Model       string            `json:"model,omitempty"`
	State       string            `json:"state"`
	RunbookURL  string            `json:"runbook_url,omitempty"`
	IncidentURL string            `json:"incident_url,omitempty"`
	Recipient   string            `json:"recipient,omitempty"` // the person paged, if any
	Step        int               `json:"step,omitempty"`      // escalation step (1-based) of a page
	At          time.Time         `json:"at"`
	DetectedAt  time.Time         `json:"detected_at"`
	Labels      map[string]string `json:"labels,omitempty"`
	// LikelyCauses is the causes the incident's evidence supported, one bounded line, on
	// the first page of a P1/P2 when the evidence was ready at send time (never waited for).
	LikelyCauses string `json:"likely_causes,omitempty"`
}
