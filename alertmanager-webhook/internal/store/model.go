package store

import (
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
)

// Incident is an incident as the store reads and writes it: the API's incident
// (incidentapi.Incident, the one declaration of its JSON) and what the store keeps beside it.
type Incident struct {
	incidentapi.Incident

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

// The rest of an incident's read model is the API's: one declaration of each JSON shape.
type (
	// Alert is one alert occurrence.
	Alert = incidentapi.Alert
	// TimelineEntry is a step in an incident's history.
	TimelineEntry = incidentapi.TimelineEntry
	// Note is a note, link or containment action on an incident.
	Note = incidentapi.Note
	// Detail is an incident with everything attached to it.
	Detail = incidentapi.Detail
)
