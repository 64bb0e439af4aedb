package incident

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCheckTransition(t *testing.T) {
	cases := []struct {
		from, to State
		ok       bool
	}{
		{Detected, Triaged, true},
		{Detected, Resolved, true}, // skip forward
		{Triaged, Investigating, true},
		{Investigating, Triaged, false}, // backward
		{Resolved, Detected, false},
		{Resolved, Reviewed, true},
		{Investigating, Reviewed, false}, // review needs resolution first
		{Reviewed, Resolved, false},
		{Triaged, Triaged, false},
		{Detected, State("bogus"), false},
	}
	for _, c := range cases {
		t.Run(string(c.from)+"->"+string(c.to), func(t *testing.T) {
			err := CheckTransition(c.from, c.to)
			if c.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}

func TestTierFromLabels(t *testing.T) {
	require.Equal(t, P3, TierFromLabels(map[string]string{"tier": "p3", "severity": "critical"}))
	require.Equal(t, P1, TierFromLabels(map[string]string{"severity": "critical"}))
	require.Equal(t, P4, TierFromLabels(map[string]string{"severity": "info"}))
	require.Equal(t, Tier(""), TierFromLabels(map[string]string{"tier": "urgent"}))
	_, err := ParseTier("P9")
	require.ErrorContains(t, err, "P9")
}

func TestSLA(t *testing.T) {
	s := DefaultSLA()
	t0 := time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)
	require.False(t, s.Breached(P1, t0, t0.Add(15*time.Minute), t0.Add(time.Hour)))
	require.True(t, s.Breached(P1, t0, t0.Add(16*time.Minute), t0.Add(time.Hour)))
	require.True(t, s.Breached(P2, t0, time.Time{}, t0.Add(61*time.Minute)), "unacknowledged past target")
	require.False(t, s.Breached(P2, t0, time.Time{}, t0.Add(59*time.Minute)))
	require.False(t, s.Breached(P4, t0, time.Time{}, t0.Add(1000*time.Hour)), "P4 has no target")
}

func TestMeasure(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := Measure(t0, t0.Add(5*time.Minute), t0.Add(2*time.Hour))
	require.Equal(t, 5*time.Minute, d.MTTA)
	require.Equal(t, 2*time.Hour, d.MTTR)
	d = Measure(t0, t0.Add(-time.Minute), time.Time{})
	require.Zero(t, d.MTTA, "skewed ack counts as zero")
	require.Zero(t, d.MTTR)
}
