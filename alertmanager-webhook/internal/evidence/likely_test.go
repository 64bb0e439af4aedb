package evidence

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLikelyCauses(t *testing.T) {
	r := Report{Causes: []Cause{
		{Name: InputsChanged, Verdict: Supported, Reason: "drifted: amount"},
		{Name: VersionMismatch, Verdict: NotSupported, Reason: "same versions"},
		{Name: Capacity, Verdict: Supported, Reason: "p95 latency ×5 with\nqueue depth 40 (was 8)"},
		{Name: ExternalAPI, Verdict: Unknown, Reason: "a query failed"},
	}}
	require.Equal(t, "inputs changed (drifted: amount); capacity (p95 latency ×5 with queue depth 40 (was 8))", LikelyCauses(r))
	require.Empty(t, LikelyCauses(Report{Causes: []Cause{{Name: Capacity, Verdict: NotSupported}}}))

	long := LikelyCauses(Report{Causes: []Cause{{Name: InputsChanged, Verdict: Supported, Reason: strings.Repeat("ü", 500)}}})
	require.LessOrEqual(t, len(long), MaxLikelyCauses)
	require.True(t, strings.HasSuffix(long, "…"))
	require.Equal(t, strings.ToValidUTF8(long, "?"), long)
}
