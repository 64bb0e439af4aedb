package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// testEvidence: an incident's evidence is absent (ErrNotFound) until saved, then read back
// as stored, replaced by a later gathering, and its supported causes listed by incident.
func testEvidence(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(store.DefaultConfig(), NewClock(T0.Add(time.Minute)).Now)
	a := ingest(t, s, Msg("drift", A{FP: "a"})).Incidents[0]
	b := ingest(t, s, Msg("latency", A{FP: "b"})).Incidents[0]
	_, err := s.Evidence(ctx, a)
	require.True(t, errors.Is(err, store.ErrNotFound), "%v", err)

	report := json.RawMessage(`{"model":"m-drift","causes":[{"name":"inputs_changed","verdict":"supported"}]}`)
	require.NoError(t, s.SaveEvidence(ctx, store.Evidence{IncidentID: a, Tier: incident.P2, GatheredAt: T0, Supported: []string{"inputs_changed"}, Report: report}))
	e, err := s.Evidence(ctx, a)
	require.NoError(t, err)
	require.Equal(t, incident.P2, e.Tier)
	require.True(t, e.GatheredAt.Equal(T0))
	require.Equal(t, []string{"inputs_changed"}, e.Supported)
	require.JSONEq(t, string(report), string(e.Report))

	require.NoError(t, s.SaveEvidence(ctx, store.Evidence{IncidentID: a, Tier: incident.P1, GatheredAt: T0.Add(time.Minute), Supported: []string{"inputs_changed", "capacity"}, Report: json.RawMessage(`{}`)}))
	e, err = s.Evidence(ctx, a)
	require.NoError(t, err)
	require.Equal(t, incident.P1, e.Tier, "a later gathering replaces the report")
	require.JSONEq(t, `{}`, string(e.Report))

	require.NoError(t, s.SaveEvidence(ctx, store.Evidence{IncidentID: b, Tier: incident.P3, GatheredAt: T0, Report: json.RawMessage(`{}`)}))
	sup, err := s.EvidenceSupported(ctx, []int64{a, b, 999})
	require.NoError(t, err)
	require.Equal(t, map[int64][]string{a: {"inputs_changed", "capacity"}, b: nil}, sup)

	err = s.SaveEvidence(ctx, store.Evidence{IncidentID: 999, Tier: incident.P3, Report: json.RawMessage(`{}`)})
	require.True(t, errors.Is(err, store.ErrNotFound), "no evidence for an unknown incident: %v", err)
}
