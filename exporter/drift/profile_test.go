package drift

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func numericProfile(t testing.TB, opts ProfileOptions, ref []float64) *Profile {
	t.Helper()
	b := NewBuilder(opts)
	for _, v := range ref {
		require.NoError(t, b.AddFloat("x", v))
	}
	p := b.Profile()
	require.NoError(t, p.Validate())
	return p
}

func windowOf(t testing.TB, p *Profile, cur []float64) *Window {
	t.Helper()
	w := p.NewWindow()
	for _, v := range cur {
		require.NoError(t, p.Features[0].AddFloat(&w.Histograms[0], v))
		w.Events++
	}
	return w
}

// TestProfileMatchesRawSamples checks the profile/histogram path against the raw-sample
// statistics (themselves checked against SciPy) on the SciPy vectors: with a grid fine enough to
// keep every reference value KS is exact; Wasserstein is exact in the tails and close inside.
func TestProfileMatchesRawSamples(t *testing.T) {
	for _, c := range loadVectors(t) {
		if c.Kind != "numeric" {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			p := numericProfile(t, ProfileOptions{Resolution: 5000}, c.Reference)
			f := p.Features[0]
			require.True(t, f.Exact)
			w := windowOf(t, p, c.Current)
			h := &w.Histograms[0]
			require.InDelta(t, c.KSStatistic, f.cellKS(h), 1e-12, "exact grid: KS D")
			require.InDelta(t, c.ReferenceStd, f.Std, 1e-9)
			// Inside a cell where the CDFs cross, values are assumed spread evenly: the error
			// is bounded by the cell widths times the shares, small next to the 0.1 threshold.
			require.InDelta(t, c.Wasserstein, f.cellWasserstein(h), 0.02*c.Wasserstein+1e-9, "wasserstein")

			// The default grid: KS within one cell share of the truth, never above it.
			p = numericProfile(t, ProfileOptions{}, c.Reference)
			f = p.Features[0]
			w = windowOf(t, p, c.Current)
			d := f.cellKS(&w.Histograms[0])
			require.LessOrEqual(t, d, c.KSStatistic+1e-12)
			require.GreaterOrEqual(t, d, c.KSStatistic-2.0/256)
			require.InDelta(t, c.Wasserstein, f.cellWasserstein(&w.Histograms[0]), 0.05*c.Wasserstein+1e-9)
		})
	}
}

// TestCompareMatchesSciPyKS runs the whole Compare path on the small SciPy vectors: the
// reference is small, so KS is the default and its exact p-value must match SciPy's.
func TestCompareMatchesSciPyKS(t *testing.T) {
	for _, c := range loadVectors(t) {
		if c.Kind != "numeric" || c.Name == "with-ties" || c.Name == "constant-reference" {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			p := numericProfile(t, ProfileOptions{Resolution: 5000}, c.Reference)
			r, err := Compare(p, windowOf(t, p, c.Current), Config{SmallReference: 5000})
			require.NoError(t, err)
			fr := r.Features[0]
			require.Equal(t, MethodKS, fr.Method)
			require.True(t, fr.Judged)
			require.InDelta(t, c.KSStatistic, fr.Value, 1e-12)
			require.InDelta(t, c.KSPValueExact, fr.PValue, 1e-6)
			require.Equal(t, c.KSPValueExact <= 0.05, fr.Drifted)
		})
	}
}

func TestHistogramMergeEqualsSingleWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ref := make([]float64, 5000)
	for i := range ref {
		ref[i] = rng.NormFloat64()
	}
	p := numericProfile(t, ProfileOptions{}, ref)
	f := p.Features[0]
	whole := p.NewWindow()
	slots := []*Window{p.NewWindow(), p.NewWindow(), p.NewWindow()}
	for i := 0; i < 3000; i++ {
		v := rng.NormFloat64()*1.3 + 0.2
		require.NoError(t, f.AddFloat(&whole.Histograms[0], v))
		require.NoError(t, f.AddFloat(&slots[i%3].Histograms[0], v))
	}
	merged := p.NewWindow()
	for _, s := range slots {
		// Slots travel through the store as JSON.
		b, err := json.Marshal(s)
		require.NoError(t, err)
		var back Window
		require.NoError(t, json.Unmarshal(b, &back))
		require.NoError(t, merged.Merge(&back))
	}
	require.Equal(t, whole.Histograms[0].Counts, merged.Histograms[0].Counts)
	require.InDeltaSlice(t, whole.Histograms[0].Sums, merged.Histograms[0].Sums, 1e-9)
	merged.Reset()
	require.Zero(t, merged.Histograms[0].Rows())
	require.Error(t, merged.Merge(&Window{}))
}

func TestBinsAreReferenceQuantiles(t *testing.T) {
	ref := make([]float64, 1000)
	for i := range ref {
		ref[i] = float64(i)
	}
	p := numericProfile(t, ProfileOptions{Bins: 10}, ref)
	f := p.Features[0]
	require.Len(t, f.Cuts, 9)
	require.Equal(t, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, f.BinLabels())
	for _, s := range f.ReferenceShares() {
		require.InDelta(t, 0.1, s, 1e-9)
	}
	// Open-ended first and last bins take values far outside the reference.
	w := windowOf(t, p, []float64{-1e9, 1e9, 500})
	bins := f.Bins(w.Histograms[0].Counts)
	require.Equal(t, 1.0, bins[0])
	require.Equal(t, 1.0, bins[9])
	require.Equal(t, 1.0, bins[4]+bins[5])
	require.Equal(t, 2.0, f.OutOfRange(&w.Histograms[0]), "below 0 and above 999")
}

func TestProfileJSONRoundTrip(t *testing.T) {
	b := NewBuilder(ProfileOptions{})
	for i := 0; i < 200; i++ {
		require.NoError(t, b.AddFloat("num", float64(i%37)*1.5))
		require.NoError(t, b.AddString("cat", []string{"a", "b", "c"}[i%3]))
		require.NoError(t, b.AddBool("flag", i%4 == 0))
	}
	require.NoError(t, b.AddNull("num"))
	p := b.Profile()
	raw, err := json.Marshal(p)
	require.NoError(t, err)
	var back Profile
	require.NoError(t, json.Unmarshal(raw, &back))
	require.NoError(t, back.Validate())
	w1, w2 := p.NewWindow(), back.NewWindow()
	for i := 0; i < 50; i++ {
		for j, prof := range []*Profile{p, &back} {
			w := []*Window{w1, w2}[j]
			require.NoError(t, prof.Features[0].AddFloat(&w.Histograms[0], float64(i)))
			require.NoError(t, prof.Features[1].AddString(&w.Histograms[1], "d"))
			require.NoError(t, prof.Features[2].AddBool(&w.Histograms[2], true))
		}
	}
	r1, err := Compare(p, w1, Config{})
	require.NoError(t, err)
	r2, err := Compare(&back, w2, Config{})
	require.NoError(t, err)
	// %v prints NaN p-values equal, where == would not.
	require.Equal(t, fmt.Sprintf("%+v", r1), fmt.Sprintf("%+v", r2))
}

func TestValidateRejectsBrokenProfiles(t *testing.T) {
	good := func() *Profile {
		return numericProfile(t, ProfileOptions{}, []float64{1, 2, 3, 4, 5, 6, 7})
	}
	for name, tc := range map[string]struct {
		mutate func(*Profile)
		want   string
	}{
		"unsorted edges":  {func(p *Profile) { p.Features[0].Edges[1] = -5 }, "edges[1]"},
		"cells mismatch":  {func(p *Profile) { p.Features[0].RefCells = p.Features[0].RefCells[:3] }, "ref_cells"},
		"negative count":  {func(p *Profile) { p.Features[0].RefCells[1] = -1 }, "ref_cells[1]"},
		"unknown kind":    {func(p *Profile) { p.Features[0].Kind = "text" }, "kind"},
		"empty name":      {func(p *Profile) { p.Features[0].Name = "" }, "name"},
		"duplicate":       {func(p *Profile) { p.Features = append(p.Features, p.Features[0]) }, "duplicate"},
		"nan rows":        {func(p *Profile) { p.Features[0].Rows = math.NaN() }, "rows"},
		"cut not an edge": {func(p *Profile) { p.Features[0].Cuts = []float64{2.5} }, "cuts[0]"},
	} {
		t.Run(name, func(t *testing.T) {
			p := good()
			tc.mutate(p)
			err := p.Validate()
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}
