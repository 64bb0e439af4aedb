package plugin

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseInterval(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "1h": time.Hour, "1d": 24 * time.Hour, "2w": 14 * 24 * time.Hour, "0.5d": 12 * time.Hour} {
		got, err := parseInterval(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "0s", "-1h", "d", "1x", "500ms"} {
		_, err := parseInterval(in)
		require.ErrorContains(t, err, "interval:", in)
	}
}

func FuzzParseQuery(f *testing.F) {
	f.Add(`{"states":["resolved"],"tiers":["p1"],"teams":["{a,b}"],"splitBy":"tier","interval":"1d"}`)
	f.Add(`{"incidentId":"12","countMode":"open"}`)
	f.Add(`{"teams":"x"}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseQuery(json.RawMessage(raw), QueryIncidents)
		if err != nil {
			return
		}
		for _, s := range q.States {
			if !slices.Contains(validStates, s) {
				t.Fatalf("accepted state %q", s)
			}
		}
		for _, s := range q.Tiers {
			if !slices.Contains(validTiers, s) {
				t.Fatalf("accepted tier %q", s)
			}
		}
		if id, err := q.incidentID(); err == nil && id <= 0 {
			t.Fatalf("accepted incident id %d", id)
		}
		_ = q.filter(time.Time{}, time.Time{}).Encode()
	})
}
