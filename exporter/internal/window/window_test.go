package window

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type counts struct{ N int }

func resetCounts(c *counts) { *c = counts{} }

func sum(r *Ring[counts], now time.Time) int {
	total := 0
	r.Each(now, func(c *counts) { total += c.N })
	return total
}

func TestRingSlides(t *testing.T) {
	r := New(3, time.Minute, resetCounts)
	t0 := time.Unix(1_700_000_000, 0).Truncate(time.Minute)
	for i := range 5 {
		r.At(t0.Add(time.Duration(i) * time.Minute)).N += i + 1 // 1..5 in minutes 0..4
	}
	// The window at minute 4 holds minutes 2, 3, 4.
	require.Equal(t, 3+4+5, sum(r, t0.Add(4*time.Minute+30*time.Second)))
	// Later, older sub-windows fall out without any write.
	require.Equal(t, 4+5, sum(r, t0.Add(5*time.Minute)))
	require.Equal(t, 0, sum(r, t0.Add(7*time.Minute)))
	// A time older than the ring's newest data has no slot.
	require.Nil(t, r.At(t0))
	// An out-of-order time inside the window lands in its own sub-window.
	r.At(t0.Add(3*time.Minute + 10*time.Second)).N += 10
	require.Equal(t, 3+4+5+10, sum(r, t0.Add(4*time.Minute)))
}

func TestRingBefore1970(t *testing.T) {
	r := New(2, time.Minute, resetCounts)
	r.At(time.Unix(-61, 0)).N = 1
	r.At(time.Unix(-1, 0)).N = 2
	require.Equal(t, 3, sum(r, time.Unix(-1, 0)))
}

func TestRingPersist(t *testing.T) {
	r := New(4, time.Minute, resetCounts)
	t0 := time.Unix(1_700_000_000, 0)
	r.At(t0).N = 7
	r.At(t0.Add(time.Minute)).N = 8
	data, err := json.Marshal(r)
	require.NoError(t, err)

	back := New(4, time.Minute, resetCounts)
	require.NoError(t, back.Restore(data))
	require.Equal(t, 15, sum(back, t0.Add(time.Minute)))

	// A shorter ring keeps what still fits.
	short := New(1, time.Minute, resetCounts)
	require.NoError(t, short.Restore(data))
	require.Equal(t, 8, sum(short, t0.Add(time.Minute)))

	// Another width drops the saved sub-windows rather than mis-assigning them.
	wide := New(4, time.Hour, resetCounts)
	require.NoError(t, wide.Restore(data))
	require.Equal(t, 0, sum(wide, t0.Add(time.Minute)))

	require.ErrorContains(t, back.Restore([]byte(`{"epochs":[1],"slots":[]}`)), "1 epochs but 0 slots")
	require.ErrorContains(t, back.Restore([]byte(`nope`)), "decoding saved ring")
}
