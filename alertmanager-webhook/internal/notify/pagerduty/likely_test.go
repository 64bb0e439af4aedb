package pagerduty

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify"
)

func TestEventLikelyCauses(t *testing.T) {
	ev := Event(notify.Message{Kind: notify.KindTrigger, Tier: "P2", Title: "t", LikelyCauses: "capacity (p95 latency ×5)"}, "incidentd")
	details := ev["payload"].(map[string]any)["custom_details"].(map[string]any)
	require.Equal(t, "capacity (p95 latency ×5)", details["likely_causes"])
	ev = Event(notify.Message{Kind: notify.KindTrigger, Tier: "P2", Title: "t"}, "incidentd")
	require.NotContains(t, ev["payload"].(map[string]any)["custom_details"], "likely_causes")
}
