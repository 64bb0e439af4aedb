package postmortem

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/changes"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

var t0 = time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)

func detail() *store.Detail {
	return &store.Detail{
		Incident: incidentapi.Incident{ID: 42, Title: "FraudModelAccuracyDrop", Summary: "accuracy of fraud\nfell to 0.71", Tier: incident.P1,
			Team: "risk", Model: "fraud", State: incident.Resolved, DetectedAt: t0, TriagedAt: t0.Add(7 * time.Minute),
			ContainedAt: t0.Add(20 * time.Minute), ResolvedAt: t0.Add(95 * time.Minute), ResolvedBy: "system", AlertsTotal: 2},
		Alerts: []store.Alert{
			{Fingerprint: "aa", StartsAt: t0, EndsAt: t0.Add(95 * time.Minute), Labels: map[string]string{"alertname": "FraudModelAccuracyDrop"}},
		},
		Timeline: []store.TimelineEntry{
			{At: t0.Add(30 * time.Second), Actor: "system", Kind: "opened", To: incident.Detected},
			{At: t0.Add(7 * time.Minute), Actor: "alice", Kind: "ack", From: incident.Detected, To: incident.Triaged},
		},
		Notes: []store.Note{
			{At: t0.Add(20 * time.Minute), Actor: "alice", Kind: "containment", ContainmentKind: "rollback", Text: "rolled back to v6"},
			{At: t0.Add(21 * time.Minute), Actor: "alice", Kind: "note", Text: "not a containment"},
		},
		RelatedChanges: []changes.Change{
			{ID: 1, At: t0.Add(-40 * time.Minute), Kind: "model_version", Title: "fraud v7 | new features", Version: "v7", Actor: "ci", Match: "model", BeforeDetectionSeconds: 2400, Link: "https://ci/7"},
		},
	}
}

func TestDraftFromIncident(t *testing.T) {
	md := Draft(Input{Incident: detail(), SLA: incident.DefaultSLA(), Now: t0.Add(5 * time.Hour),
		ActionItems: []store.ActionItem{{Owner: "carol", Text: "alert on | feature drift", Status: "open", DueAt: time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)}}})
	for _, want := range []string{
		"# Post-mortem: FraudModelAccuracyDrop\n",
		"blameless",
		"accuracy of fraud fell to 0.71", // user text kept on one line
		"| Tier | P1 (critical, immediate response) |",
		"| Acknowledged | 2026-11-29 03:07:00Z (time to acknowledge 7m 0s) |",
		"| Resolved | 2026-11-29 04:35:00Z (time to resolve 1h 35m, by system) |",
		"| Duration | 1h 35m |",
		"| Acknowledge target | 15m 0s, met |",
		"- 2026-11-29 02:20:00Z — change: model_version fraud v7 | new features\n",
		"- 2026-11-29 03:00:00Z — alert `FraudModelAccuracyDrop` fired\n",
		"- 2026-11-29 03:07:00Z — detected → triaged (alice)\n",
		"- 40m 0s before detection: **model_version** fraud v7 | new features (version `v7`) — ci, matched on model — https://ci/7",
		"- 2026-11-29 03:20:00Z — rollback: rolled back to v6 (alice)",
		"## Root cause",
		"| carol | alert on \\| feature drift | 2026-12-15 | open |",
	} {
		require.Contains(t, md, want)
	}
	require.NotContains(t, md, "not a containment")
	// The timeline is in time order.
	tl := md[strings.Index(md, "## Timeline"):strings.Index(md, "## What changed")]
	require.Less(t, strings.Index(tl, "change: model_version"), strings.Index(tl, "fired"))
	require.Less(t, strings.Index(tl, "fired"), strings.Index(tl, "incident opened"))
}

// An incident that resolved by itself before anyone acknowledged it did not meet the
// acknowledge target: nobody acknowledged it.
func TestDraftOfIncidentNeverAcknowledged(t *testing.T) {
	d := detail()
	d.TriagedAt, d.ContainedAt, d.SLABreached = time.Time{}, time.Time{}, false
	d.ResolvedAt = d.DetectedAt.Add(5 * time.Minute)
	md := Draft(Input{Incident: d, SLA: incident.DefaultSLA(), Now: t0.Add(50 * time.Hour)})
	require.Contains(t, md, "| Acknowledge target | 15m 0s, never acknowledged (resolved before the target passed) |")
	require.NotContains(t, md, ", met |")

	d.State, d.ResolvedAt, d.ResolvedBy = incident.Detected, time.Time{}, ""
	md = Draft(Input{Incident: d, SLA: incident.DefaultSLA(), Now: d.DetectedAt.Add(5 * time.Minute)})
	require.Contains(t, md, "| Acknowledge target | 15m 0s, not acknowledged yet |")
}

func TestDraftOfOpenUnacknowledgedIncident(t *testing.T) {
	d := detail()
	d.State, d.TriagedAt, d.ContainedAt, d.ResolvedAt, d.ResolvedBy = incident.Detected, time.Time{}, time.Time{}, time.Time{}, ""
	d.SLABreached, d.RelatedChanges, d.Notes = true, nil, nil
	md := Draft(Input{Incident: d, SLA: incident.DefaultSLA(), Now: t0.Add(50 * time.Hour)})
	require.Contains(t, md, "| Acknowledged | not acknowledged |")
	require.Contains(t, md, "| Resolved | still open at 2026-12-01 05:00:00Z |")
	require.Contains(t, md, "| Duration | 2d 2h so far |")
	require.Contains(t, md, "| Acknowledge target | 15m 0s, **missed** |")
	require.Contains(t, md, "No change of this model, service or team was recorded")
	require.Contains(t, md, "No containment action was recorded.")
	require.Contains(t, md, "| _owner_ | _action_ | _date_ | open |")
}
