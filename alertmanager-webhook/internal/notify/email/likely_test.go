package email

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify"
)

func TestBodyLikelyCauses(t *testing.T) {
	require.Contains(t, Body(notify.Message{Title: "t", LikelyCauses: "adversarial inputs (tokens per call ×5)"}), "\nLikely causes: adversarial inputs (tokens per call ×5)\n")
	require.NotContains(t, Body(notify.Message{Title: "t"}), "Likely causes")
}
