package escalation_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// The first page of a P1 carries the likely causes when the evidence is stored by the time
// it is sent; without evidence it goes out at once, without them; the second step's page
// does not repeat them.
func TestFirstPageCarriesLikelyCausesWhenReady(t *testing.T) {
	h := start(t, berlin("2026-12-01 03:00"))
	ready := h.fire("drift", incident.P1, h.clock.Now())
	report := `{"model":"m-drift","causes":[{"name":"inputs_changed","verdict":"supported","reason":"drifted: amount"},{"name":"capacity","verdict":"not_supported","reason":"steady"}]}`
	require.NoError(t, h.db.SaveEvidence(context.Background(), store.Evidence{IncidentID: ready, Tier: incident.P1, GatheredAt: h.clock.Now(),
		Supported: []string{"inputs_changed"}, Report: json.RawMessage(report)}))
	h.fire("latency", incident.P1, h.clock.Now())
	h.tick()
	got := map[int64]notify.Message{}
	for _, r := range h.srv.Requests() {
		var m notify.Message
		require.NoError(t, json.Unmarshal(r.Body, &m))
		got[m.IncidentID] = m
	}
	require.Len(t, got, 2)
	require.Equal(t, "inputs changed (drifted: amount)", got[ready].LikelyCauses)
	for id, m := range got {
		if id != ready {
			require.Empty(t, m.LikelyCauses, "not ready: the page goes without")
		}
	}
	h.clock.Add(10 * time.Minute)
	h.tick()
	reqs := h.srv.Requests()
	var last notify.Message
	require.NoError(t, json.Unmarshal(reqs[len(reqs)-1].Body, &last))
	require.Equal(t, 2, last.Step)
	require.Empty(t, last.LikelyCauses, "only the first page")
}
