package drift

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWindowBinaryRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(30, 31))
	b := NewBuilder(ProfileOptions{})
	for i := 0; i < 5000; i++ {
		require.NoError(t, b.AddFloat("x", rng.NormFloat64()))
		require.NoError(t, b.AddString("c", []string{"a", "b", "c"}[rng.IntN(3)]))
		require.NoError(t, b.AddBool("f", rng.IntN(2) == 0))
	}
	p := b.Profile()
	w := p.NewWindow()
	for i := 0; i < 20000; i++ {
		require.NoError(t, p.Features[0].AddFloat(&w.Histograms[0], rng.NormFloat64()*3))
		require.NoError(t, p.Features[1].AddString(&w.Histograms[1], []string{"a", "z"}[rng.IntN(2)]))
		require.NoError(t, p.Features[2].AddBool(&w.Histograms[2], true))
		w.Events++
	}
	p.Features[0].AddNull(&w.Histograms[0])
	bin, err := w.MarshalBinary()
	require.NoError(t, err)
	js, err := json.Marshal(w)
	require.NoError(t, err)
	t.Logf("window of 3 features: %d bytes binary, %d bytes JSON", len(bin), len(js))
	require.Less(t, len(bin)*2, len(js), "the binary form is the compact one")
	var back Window
	require.NoError(t, back.UnmarshalBinary(bin))
	require.Equal(t, *w, back)

	// Non-integral counts and sums in empty cells still round-trip, through the raw forms.
	odd := Window{Events: 1.5, Histograms: []Histogram{{Counts: []float64{0.5, 0}, Sums: []float64{1, 2}, Nulls: 0.25}, {Counts: []float64{3}}}}
	bin, err = odd.MarshalBinary()
	require.NoError(t, err)
	back = Window{}
	require.NoError(t, back.UnmarshalBinary(bin))
	require.Equal(t, odd, back)

	// Every truncation is an error naming where it stopped.
	bin, _ = w.MarshalBinary()
	for cut := 0; cut < len(bin); cut += 97 {
		var x Window
		require.Error(t, x.UnmarshalBinary(bin[:cut]), "cut at %d", cut)
	}
	var x Window
	require.ErrorContains(t, x.UnmarshalBinary(append(bin, 0)), "bytes left")
	require.ErrorContains(t, x.UnmarshalBinary([]byte{9}), "version 9")
	neg := Window{Histograms: []Histogram{{Counts: []float64{-1}}}}
	bin, _ = neg.MarshalBinary()
	require.ErrorContains(t, x.UnmarshalBinary(bin), "non-negative")
	nan := Window{Histograms: []Histogram{{Counts: []float64{math.NaN()}}}}
	bin, _ = nan.MarshalBinary()
	require.Error(t, x.UnmarshalBinary(bin))
	inf := Window{Histograms: []Histogram{{Counts: []float64{1}, Sums: []float64{math.Inf(1)}}}}
	bin, _ = inf.MarshalBinary()
	require.ErrorContains(t, x.UnmarshalBinary(bin), "sums[0]")
}

func FuzzWindowBinary(f *testing.F) {
	w := Window{Events: 3, Histograms: []Histogram{{Counts: []float64{1, 0, 2}, Sums: []float64{0.5, 0, 7}}, {Counts: []float64{4, 5}, Nulls: 1}}}
	seed, _ := w.MarshalBinary()
	f.Add(seed)
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		var w Window
		if err := w.UnmarshalBinary(data); err != nil {
			return
		}
		if _, err := json.Marshal(&w); err != nil {
			t.Fatalf("a decoded window must also encode as JSON: %v", err)
		}
		again, err := w.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var back Window
		if err := back.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded window does not decode: %v", err)
		}
	})
}
