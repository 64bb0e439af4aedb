package investigate

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/changes"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// The queue never waits: past its size an offer is dropped and counted, and an incident
// already waiting is not queued twice (a later forced offer makes it forced).
func TestEnqueueBoundedAndDeduplicated(t *testing.T) {
	v := New(Options{QueueSize: 2, Registerer: prometheus.NewRegistry()})
	require.True(t, v.Enqueue(1, false))
	require.True(t, v.Enqueue(1, false), "already waiting")
	require.True(t, v.Enqueue(2, false))
	require.False(t, v.Enqueue(3, false), "full")
	require.Equal(t, 1.0, testutil.ToFloat64(v.results.WithLabelValues(ResultDropped)))
	require.True(t, v.Enqueue(2, true))
	require.Equal(t, map[int64]bool{1: false, 2: true}, v.pending)
	require.Len(t, v.queue, 2)
}

func TestTierRose(t *testing.T) {
	require.True(t, tierRose(incident.P3, incident.P1))
	require.True(t, tierRose("", incident.P4))
	require.False(t, tierRose(incident.P2, incident.P2))
	require.False(t, tierRose(incident.P1, incident.P3))
	require.False(t, tierRose(incident.P2, "P"), "a malformed tier is unknown, never a panic")
}

// The subject takes the incident's model and version and only the deployments of that
// model within the baseline before detection.
func TestSubject(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	d := &store.Detail{Incident: incidentapi.Incident{Model: "fraud", DetectedAt: t0, Labels: map[string]string{"version": "v5"}},
		RelatedChanges: []changes.Change{
			{Kind: "model_version", Model: "fraud", Version: "v5", Title: "canary", At: t0.Add(-5 * time.Minute)},
			{Kind: "deploy", Model: "fraud", At: t0.Add(-3 * time.Hour)},           // before the baseline
			{Kind: "prompt", Model: "fraud", At: t0.Add(-time.Minute)},             // not a deployment
			{Kind: "deploy", Model: "other", Team: "ml", At: t0.Add(-time.Minute)}, // another model of the team
		}}
	s := Subject(d, time.Hour)
	require.Equal(t, "fraud", s.Model)
	require.Equal(t, "v5", s.Version)
	require.Equal(t, t0, s.DetectedAt)
	require.Len(t, s.Deployments, 1)
	require.Equal(t, "model_version v5 (canary)", s.Deployments[0].Summary)
}
