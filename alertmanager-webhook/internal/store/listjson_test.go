package store

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
)

// marshalPage is the page as the API's wire type (incidentapi.Page) encodes with
// json.Encoder, what the list handler wrote before AppendJSON.
func marshalPage(t testing.TB, p *Page) []byte {
	var buf bytes.Buffer
	require.NoError(t, json.NewEncoder(&buf).Encode(p.Wire()))
	return buf.Bytes()
}

func sampleIncidents() []Incident {
	t0 := time.Date(2026, 11, 29, 23, 0, 0, 123456789, time.UTC)
	full := Incident{Incident: incidentapi.Incident{ID: 42, GroupKey: `{}:{alertname="Drift"}`, Title: "Drift <on> model & \"friends\"", Summary: "naïve\tline\nbreak \u2028 \x01",
		Tier: incident.P1, AlertTier: incident.P2, Team: "ml", Model: "m-1", Labels: map[string]string{"z": "1", "a": "<b>", "é": "x"},
		RunbookURL: "https://runbooks.example/drift?a=1&b=<2>", State: incident.Resolved, Assignee: "alice", DetectedAt: t0, TriagedAt: t0.Add(90 * time.Second), ContainedAt: t0.Add(time.Hour),
		InvestigAt: t0.Add(2 * time.Hour), ResolvedAt: t0.Add(3*time.Hour + 1), ReviewedAt: t0.Add(4 * time.Hour), ResolvedBy: "bob",
		AlertsFiring: 0, AlertsTotal: 12, ReopenCount: 3, CreatedAt: t0, UpdatedAt: t0.Add(5 * time.Hour),
		MTTASeconds: 90, MTTRSeconds: 10800.000000001, SLABreached: true}}
	fresh := Incident{Incident: incidentapi.Incident{ID: 1, GroupKey: "g", Title: "t", Tier: incident.P4, AlertTier: incident.P4, Labels: map[string]string{},
		State: incident.Detected, DetectedAt: time.Unix(0, 1).UTC(), CreatedAt: time.Unix(1, 0).UTC(), UpdatedAt: time.Unix(1, 0).UTC()}}
	tiny := fresh
	tiny.ID, tiny.Labels, tiny.MTTASeconds, tiny.MTTRSeconds = 2, nil, 1e-9, 3e21
	return []Incident{full, fresh, tiny}
}

// TestPageAppendJSONMatchesEncodingJSON: the list response's bytes did not change when the
// handler stopped using encoding/json, with labels from a map and from stored JSON alike.
func TestPageAppendJSONMatchesEncodingJSON(t *testing.T) {
	for _, p := range []*Page{
		{Incidents: []Incident{}},
		{Incidents: sampleIncidents()},
		{Incidents: sampleIncidents()[:1], NextCursor: encodeCursor(123, 45)},
	} {
		want := marshalPage(t, p)
		require.Equal(t, string(want), string(p.AppendJSON(nil)))
		// As List with RawLabels returns them: labels kept as the store wrote them.
		raw := &Page{NextCursor: p.NextCursor}
		for _, inc := range p.Incidents {
			l, err := json.Marshal(inc.Labels)
			require.NoError(t, err)
			inc.Labels, inc.labelsJSON = nil, l
			raw.Incidents = append(raw.Incidents, inc)
		}
		require.Equal(t, string(want), string(raw.AppendJSON(nil)))
	}
}

func FuzzIncidentAppendJSON(f *testing.F) {
	f.Add(int64(7), "Drift <on> & \"x\"", "naïve\x01", "k", "v\u2028", int64(1764457200123456789), 90.5, 1e-7)
	f.Add(int64(-1), "", "\xff\xfe", "", "", int64(1), 0.0, 1e21)
	f.Fuzz(func(t *testing.T, id int64, title, summary, lk, lv string, det int64, mtta, mttr float64) {
		if math.IsNaN(mtta) || math.IsInf(mtta, 0) || math.IsNaN(mttr) || math.IsInf(mttr, 0) {
			t.Skip("durations are finite")
		}
		inc := Incident{Incident: incidentapi.Incident{ID: id, Title: title, Summary: summary, Team: lk, Assignee: lv, Labels: map[string]string{lk: lv},
			DetectedAt: fromNanos(det), TriagedAt: fromNanos(det / 2), CreatedAt: fromNanos(det), UpdatedAt: fromNanos(det),
			MTTASeconds: mtta, MTTRSeconds: mttr, ResolvedBy: title, RunbookURL: lv}}
		p := &Page{Incidents: []Incident{inc}, NextCursor: summary}
		require.Equal(t, string(marshalPage(t, p)), string(p.AppendJSON(nil)))
	})
}
