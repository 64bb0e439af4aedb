package slack

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify"
)

func TestPayloadLikelyCauses(t *testing.T) {
	m := notify.Message{Kind: notify.KindTrigger, Tier: "P1", Title: "drift", LikelyCauses: "inputs changed (drifted: <amount>)"}
	b, err := json.Marshal(Payload(m))
	require.NoError(t, err)
	require.Contains(t, string(b), `*Likely causes:* inputs changed (drifted: \u0026lt;amount\u0026gt;)`)
	m.LikelyCauses = ""
	b, _ = json.Marshal(Payload(m))
	require.NotContains(t, string(b), "Likely causes")
}
