package incidentapi

import (
	"context"
	"net/http"
	"time"
)

// EvidenceVerdict is a cause's judgement: supported, not_supported or unknown (the data to
// judge was missing, or Prometheus failed; it never stands in for not supported).
type EvidenceVerdict string

// The verdicts.
const (
	Supported    EvidenceVerdict = "supported"
	NotSupported EvidenceVerdict = "not_supported"
	Unknown      EvidenceVerdict = "unknown"
)

// The causes evidence judges, the seed's Investigate list, by the names reports and
// alert annotations use.
const (
	CauseInputsChanged   = "inputs_changed"
	CauseVersionMismatch = "version_mismatch"
	CauseExternalAPI     = "external_api_change"
	CauseAdversarial     = "adversarial_inputs"
	CauseCapacity        = "capacity"
)

// The alert annotations that carry evidence hints (rulegen writes them from an alert's
// evidence block or its preset), each a comma-separated list.
const (
	AnnotationEvidenceFeatures = "opscentre_evidence_features"
	AnnotationEvidenceCauses   = "opscentre_evidence_causes"
)

// EvidenceFinding is one fact behind a verdict: a number now and, where it compares,
// before; the PromQL that produced it and the dashboard panel that shows it.
type EvidenceFinding struct {
	Name   string   `json:"name"`
	Now    *float64 `json:"now,omitempty"`
	Before *float64 `json:"before,omitempty"`
	Note   string   `json:"note,omitempty"`
	Query  string   `json:"query,omitempty"`
	Panel  string   `json:"panel,omitempty"`
}

// EvidenceCause is one root cause with its verdict, a one-line reason and its findings.
type EvidenceCause struct {
	Name    string          `json:"name"`
	Verdict EvidenceVerdict `json:"verdict"`
	// Hinted marks a cause the opening alert named in its evidence hints: listed first, but
	// judged like any other.
	Hinted   bool              `json:"hinted,omitempty"`
	Reason   string            `json:"reason"`
	Findings []EvidenceFinding `json:"findings,omitempty"`
}

// EvidenceHints are the opening alert's evidence hints (annotations naming features and
// causes to look at first).
type EvidenceHints struct {
	Features []string `json:"features,omitempty"`
	Causes   []string `json:"causes,omitempty"`
	// Ignored names the hint values not used, with why: an unknown cause, a value too long,
	// more features than incidentd takes.
	Ignored []string `json:"ignored,omitempty"`
}

// EvidenceReport is the evidence gathered for one incident.
type EvidenceReport struct {
	Model      string          `json:"model"`
	Version    string          `json:"version,omitempty"`
	At         time.Time       `json:"at"`
	Window     string          `json:"window"`
	Baseline   string          `json:"baseline"`
	Causes     []EvidenceCause `json:"causes"`
	Hints      *EvidenceHints  `json:"hints,omitempty"`
	Queries    int             `json:"queries"`
	Errors     []string        `json:"errors,omitempty"`
	DurationMS int64           `json:"duration_ms"`
}

// Cause returns the named cause of the report.
func (r EvidenceReport) Cause(name string) (EvidenceCause, bool) {
	for _, c := range r.Causes {
		if c.Name == name {
			return c, true
		}
	}
	return EvidenceCause{}, false
}

// Supported names the causes judged supported, in report order.
func (r EvidenceReport) Supported() []string {
	var out []string
	for _, c := range r.Causes {
		if c.Verdict == Supported {
			out = append(out, c.Name)
		}
	}
	return out
}

// SimilarIncident is a past incident ranked against the current one, with why and how it
// ended.
type SimilarIncident struct {
	ID              int64     `json:"id"`
	Title           string    `json:"title"`
	Score           float64   `json:"score"`
	SameAlert       bool      `json:"same_alert"`
	SameModel       bool      `json:"same_model"`
	LabelSimilarity float64   `json:"label_similarity"`
	SameCauses      []string  `json:"same_causes,omitempty"`
	DetectedAt      time.Time `json:"detected_at"`
	ResolvedAt      time.Time `json:"resolved_at,omitzero"`
	ResolvedBy      string    `json:"resolved_by,omitempty"`
	// TimeToResolveSeconds is resolution minus detection, absent while it is open.
	TimeToResolveSeconds float64  `json:"time_to_resolve_seconds,omitempty"`
	RootCause            string   `json:"root_cause,omitempty"`
	ActionItems          []string `json:"action_items,omitempty"`
}

// Evidence is an incident's evidence (GET /api/v1/incidents/{id}/evidence): the report
// gathered when it opened and the similar past incidents.
type Evidence struct {
	IncidentID int64     `json:"incident_id"`
	GatheredAt time.Time `json:"gathered_at"`
	Tier       Tier      `json:"tier"`
	EvidenceReport
	Similar []SimilarIncident `json:"similar"`
}

// Evidence reads an incident's evidence: an *Error with Status 404 before it is gathered
// or when incidentd has no Prometheus configured.
func (c *Client) Evidence(ctx context.Context, id int64) (*Evidence, error) {
	return call[Evidence](ctx, c, http.MethodGet, "evidence", IncidentPath(id, "evidence"), nil, "", nil)
}

// RequestEvidence asks incidentd to gather an incident's evidence again (it answers 202
// and gathers in the background; 429 when its queue is full).
func (c *Client) RequestEvidence(ctx context.Context, id int64, actingUser string) error {
	return c.Do(ctx, http.MethodPost, "request_evidence", IncidentPath(id, "evidence"), nil, actingUser, nil, nil)
}
