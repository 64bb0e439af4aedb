package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/internal/labels"
)

func TestAwaitingRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 2, 9, 0, 0, 123, time.UTC)
	in := []labels.Entry{
		{ID: "tx-1", Prediction: labels.Prediction{At: at, Class: "fraud", Value: 0.93}, Added: at.Add(time.Second)},
		{ID: "4711", Prediction: labels.Prediction{Value: -12.5}, Added: at}, // zero time, regression
		{ID: "ü", Prediction: labels.Prediction{At: at, Class: "", Value: -1}, Added: at},
	}
	out, err := decodeAwaiting(encodeAwaiting(in))
	require.NoError(t, err)
	require.Equal(t, in, out)

	b := encodeAwaiting(in)
	for n := 1; n < len(b); n++ {
		if _, err := decodeAwaiting(b[:n]); err == nil {
			// A cut may fall exactly between entries; then fewer entries come back.
			got, _ := decodeAwaiting(b[:n])
			require.Less(t, len(got), len(in), "cut at %d", n)
		}
	}
	_, err = decodeAwaiting([]byte{9})
	require.ErrorContains(t, err, "unknown format")
}

func FuzzDecodeAwaiting(f *testing.F) {
	f.Add(encodeAwaiting([]labels.Entry{{ID: "a", Prediction: labels.Prediction{Class: "x", Value: 1}}}))
	f.Add([]byte{1, 200, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := decodeAwaiting(b)
		if err != nil {
			return
		}
		again, err := decodeAwaiting(encodeAwaiting(entries))
		require.NoError(t, err)
		require.Equal(t, len(entries), len(again))
	})
}
