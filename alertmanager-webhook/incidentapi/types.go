// Package incidentapi is the contract of incidentd's REST API (/api/v1): the JSON it
// returns and accepts, declared once, and a Go client for it. incidentd serves these
// types, and every Go client (the Grafana plugin, the demo, the end-to-end tests, the
// containment watcher of exporter/client) decodes them, so a field added on one side is
// added on the other.
//
// It imports only the standard library and incidentd's leaf packages of names (incident
// states and tiers, the change log's entry, the audit entry), never the store: a client
// builds without incidentd.
package incidentapi

import (
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/audit"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/changes"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
)

// State is an incident's lifecycle state (detected, triaged, contained, investigating,
// resolved, reviewed).
type State = incident.State

// Tier is an incident's tier (P1 to P4).
type Tier = incident.Tier

// The lifecycle states, in order, and the tiers.
const (
	Detected      = incident.Detected
	Triaged       = incident.Triaged
	Contained     = incident.Contained
	Investigating = incident.Investigating
	Resolved      = incident.Resolved
	Reviewed      = incident.Reviewed

	P1 = incident.P1
	P2 = incident.P2
	P3 = incident.P3
	P4 = incident.P4
)

// Change is one entry of the change log (deploy, model version, config change, …).
type Change = changes.Change

// ChangeInput is a change as POST /api/v1/changes takes it.
type ChangeInput = changes.Input

// AuditEntry is one entry of the audit log; AuditVerification the answer of its check
// (GET /api/v1/audit/verify).
type (
	AuditEntry        = audit.Entry
	AuditVerification = audit.Verification
)

// AuditList is the answer of GET /api/v1/audit.
type AuditList struct {
	Entries []AuditEntry `json:"entries"`
}

// Incident is one incident: an alert group's trouble from detection to review.
type Incident struct {
	ID        int64             `json:"id"`
	GroupKey  string            `json:"group_key"`
	Title     string            `json:"title"`
	Summary   string            `json:"summary"`
	Tier      Tier              `json:"tier"`
	AlertTier Tier              `json:"alert_tier"`
	Team      string            `json:"team"`
	Model     string            `json:"model"`
	Labels    map[string]string `json:"labels"`
	// RunbookURL is the runbook_url annotation of the alert that opened the incident (where
	// Prometheus rules put it), else its runbook_url label.
	RunbookURL   string    `json:"runbook_url,omitempty"`
	State        State     `json:"state"`
	Assignee     string    `json:"assignee"`
	DetectedAt   time.Time `json:"detected_at"`
	TriagedAt    time.Time `json:"triaged_at,omitzero"`
	ContainedAt  time.Time `json:"contained_at,omitzero"`
	InvestigAt   time.Time `json:"investigating_at,omitzero"`
	ResolvedAt   time.Time `json:"resolved_at,omitzero"`
	ReviewedAt   time.Time `json:"reviewed_at,omitzero"`
	ResolvedBy   string    `json:"resolved_by,omitempty"`
	AlertsFiring int       `json:"alerts_firing"`
	AlertsTotal  int       `json:"alerts_total"`
	ReopenCount  int       `json:"reopen_count"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`

	// Computed when read.
	MTTASeconds float64 `json:"mtta_seconds,omitempty"`
	MTTRSeconds float64 `json:"mttr_seconds,omitempty"`
	SLABreached bool    `json:"sla_breached"`
}

// Alert is one alert occurrence of an incident: (fingerprint, startsAt).
type Alert struct {
	ID           int64             `json:"id"`
	IncidentID   int64             `json:"incident_id,omitempty"`
	GroupKey     string            `json:"group_key"`
	Fingerprint  string            `json:"fingerprint"`
	StartsAt     time.Time         `json:"starts_at"`
	EndsAt       time.Time         `json:"ends_at,omitzero"`
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	GeneratorURL string            `json:"generator_url,omitempty"`
	FirstSeen    time.Time         `json:"first_seen"`
}

// TimelineEntry is a step in an incident's history.
type TimelineEntry struct {
	ID    int64     `json:"id"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	Kind  string    `json:"kind"`
	From  State     `json:"from,omitempty"`
	To    State     `json:"to,omitempty"`
	Note  string    `json:"note,omitempty"`
}

// Note is a note, link or containment action on an incident.
type Note struct {
	ID              int64     `json:"id"`
	At              time.Time `json:"at"`
	Actor           string    `json:"actor"`
	Kind            string    `json:"kind"` // note, link, containment
	ContainmentKind string    `json:"containment_kind,omitempty"`
	Text            string    `json:"text"`
	URL             string    `json:"url,omitempty"`
}

// Detail is an incident with everything attached to it (GET /api/v1/incidents/{id}).
type Detail struct {
	Incident
	Alerts   []Alert         `json:"alerts"`
	Timeline []TimelineEntry `json:"timeline"`
	Notes    []Note          `json:"notes"`
	// RelatedChanges answers "what changed?": changes of the incident's model, service or
	// team in the window before detection, nearest first.
	RelatedChanges []Change `json:"related_changes"`
}

// Page is one page of incidents (GET /api/v1/incidents); NextCursor, when set, reads the next.
type Page struct {
	Incidents  []Incident `json:"incidents"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// ChangePage is one page of the change log (GET /api/v1/changes).
type ChangePage struct {
	Changes    []Change `json:"changes"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// Bucket is the incidents of one key (tier, team, model) in the stats.
type Bucket struct {
	Key         string  `json:"key"`
	Count       int     `json:"count"`
	Open        int     `json:"open"`
	Acked       int     `json:"acknowledged"`
	Resolved    int     `json:"resolved"`
	SLABreached int     `json:"sla_breached"`
	MTTASeconds float64 `json:"mtta_seconds"`
	MTTRSeconds float64 `json:"mttr_seconds"`
}

// Stats are counts, MTTA and MTTR of incidents detected in [From, To) (GET /api/v1/stats).
type Stats struct {
	From    time.Time      `json:"from"`
	To      time.Time      `json:"to"`
	Total   Bucket         `json:"total"`
	ByState map[string]int `json:"by_state"`
	ByTier  []Bucket       `json:"by_tier"`
	ByTeam  []Bucket       `json:"by_team"`
	ByModel []Bucket       `json:"by_model"`
}

// Inputs of the incident actions (POST /api/v1/incidents/{id}/…). incidentd rejects
// unknown fields, so a client sends only these.
type (
	// TransitionInput moves an incident (…/transitions).
	TransitionInput struct {
		To   State  `json:"to"`
		Note string `json:"note,omitempty"`
	}
	// NoteOnlyInput carries an optional note (…/ack, …/reopen).
	NoteOnlyInput struct {
		Note string `json:"note,omitempty"`
	}
	// AssignInput assigns an incident; an empty assignee unassigns it (…/assign).
	AssignInput struct {
		Assignee string `json:"assignee"`
		Note     string `json:"note,omitempty"`
	}
	// TierInput overrides the tier; "" restores the alerts' tier (…/tier).
	TierInput struct {
		Tier Tier   `json:"tier"`
		Note string `json:"note,omitempty"`
	}
	// NoteInput adds a note, link or containment action (…/notes).
	NoteInput struct {
		Kind            string `json:"kind"`
		ContainmentKind string `json:"containment_kind,omitempty"`
		Text            string `json:"text,omitempty"`
		URL             string `json:"url,omitempty"`
	}
)

// ErrorBody is every error answer of the API: {"error": "…"} naming what to fix.
type ErrorBody struct {
	Error string `json:"error"`
}
