package store

import (
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/changes"
	"github.com/opscentre/opscentre/alertmanager-webhook/incident"
)

// Incident is one incident: an alert group's trouble from detection to review.
type Incident struct {
	ID        int64             `json:"id"`
	GroupKey  string            `json:"group_key"`
	Title     string            `json:"title"`
	Summary   string            `json:"summary"`
	Tier      incident.Tier     `json:"tier"`
	AlertTier incident.Tier     `json:"alert_tier"`
	Team      string            `json:"team"`
	Model     string            `json:"model"`
	Labels    map[string]string `json:"labels"`
	// RunbookURL is the runbook_url annotation of the alert that opened the incident (where
	// Prometheus rules put it), else its runbook_url label.
	RunbookURL   string         `json:"runbook_url,omitempty"`
	State        incident.State `json:"state"`
	Assignee     string         `json:"assignee"`
	DetectedAt   time.Time      `json:"detected_at"`
	TriagedAt    time.Time      `json:"triaged_at,omitzero"`
	ContainedAt  time.Time      `json:"contained_at,omitzero"`
	InvestigAt   time.Time      `json:"investigating_at,omitzero"`
	ResolvedAt   time.Time      `json:"resolved_at,omitzero"`
	ReviewedAt   time.Time      `json:"reviewed_at,omitzero"`
	ResolvedBy   string         `json:"resolved_by,omitempty"`
	AlertsFiring int            `json:"alerts_firing"`
	AlertsTotal  int            `json:"alerts_total"`
	ReopenCount  int            `json:"reopen_count"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`

	// Computed on read.
	MTTASeconds float64 `json:"mtta_seconds,omitempty"`
	MTTRSeconds float64 `json:"mttr_seconds,omitempty"`
	SLABreached bool    `json:"sla_breached"`

	// labelsJSON holds the stored labels when a listing asked for them undecoded
	// (Filter.RawLabels); AppendJSON writes them as they are.
	labelsJSON []byte
}

// stepTime returns the timestamp of reaching a state.
func (i *Incident) stepTime(s incident.State) time.Time {
	switch s {
	case incident.Detected:
		return i.DetectedAt
	case incident.Triaged:
		return i.TriagedAt
	case incident.Contained:
		return i.ContainedAt
	case incident.Investigating:
		return i.InvestigAt
	case incident.Resolved:
		return i.ResolvedAt
	case incident.Reviewed:
		return i.ReviewedAt
	}
	return time.Time{}
}

func (i *Incident) setStep(s incident.State, t time.Time) {
	switch s {
	case incident.Triaged:
		i.TriagedAt = t
	case incident.Contained:
		i.ContainedAt = t
	case incident.Investigating:
		i.InvestigAt = t
	case incident.Resolved:
		i.ResolvedAt = t
	case incident.Reviewed:
		i.ReviewedAt = t
	}
}

// latestStep is the latest timestamp recorded on the incident, the floor for the next one
// so that steps stay monotonic even if the clock steps back.
func (i *Incident) latestStep() time.Time {
	var t time.Time
	for _, s := range incident.States() {
		if st := i.stepTime(s); st.After(t) {
			t = st
		}
	}
	return t
}

func (i *Incident) compute(sla incident.SLA, now time.Time) {
	d := incident.Measure(i.DetectedAt, i.TriagedAt, i.ResolvedAt)
	i.MTTASeconds = d.MTTA.Seconds()
	i.MTTRSeconds = d.MTTR.Seconds()
	i.SLABreached = sla.Breached(i.Tier, i.DetectedAt, i.TriagedAt, now)
}

// Alert is one alert occurrence.
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
	ID    int64          `json:"id"`
	At    time.Time      `json:"at"`
	Actor string         `json:"actor"`
	Kind  string         `json:"kind"`
	From  incident.State `json:"from,omitempty"`
	To    incident.State `json:"to,omitempty"`
	Note  string         `json:"note,omitempty"`
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

// Detail is an incident with everything attached to it.
type Detail struct {
	Incident
	Alerts   []Alert         `json:"alerts"`
	Timeline []TimelineEntry `json:"timeline"`
	Notes    []Note          `json:"notes"`
	// RelatedChanges answers "what changed?": changes of the incident's model, service or
	// team in the window before detection, nearest first.
	RelatedChanges []changes.Change `json:"related_changes"`
}
