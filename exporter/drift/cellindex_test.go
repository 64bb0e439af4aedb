package drift

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// plainCell is the fine cell by binary search over all edges: the definition cellOf must keep.
func plainCell(edges []float64, v float64) int {
	lo := searchEdges(edges, v)
	if lo < len(edges) && edges[lo] == v {
		return 2*lo + 1
	}
	return 2 * lo
}

// probes are the values most likely to expose a bucket off by one: each edge, its float
// neighbours, midpoints, and the special values.
func probes(edges []float64, rng *rand.Rand) []float64 {
	out := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1),
		math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 0x1p-1022, -0x1p-1022,
		MaxMagnitude, -MaxMagnitude, math.MaxFloat64, -math.MaxFloat64}
	for i, e := range edges {
		out = append(out, e, math.Nextafter(e, math.Inf(1)), math.Nextafter(e, math.Inf(-1)))
		if i > 0 {
			out = append(out, edges[i-1]/2+e/2)
		}
	}
	lo, hi := edges[0], edges[len(edges)-1]
	for range 2000 {
		out = append(out, lo+(hi-lo)*(rng.Float64()*1.2-0.1))
	}
	return out
}

func TestCellIndexMatchesBinarySearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	sorted := func(vs []float64) []float64 {
		return slices.Compact(slices.Sorted(slices.Values(vs)))
	}
	gen := func(n int, f func() float64) []float64 {
		vs := make([]float64, n)
		for i := range vs {
			vs[i] = f()
		}
		return sorted(vs)
	}
	cases := map[string][]float64{
		"two edges":       {-1, 1},
		"normal":          gen(257, rng.NormFloat64),
		"log-normal":      gen(257, func() float64 { return math.Exp(rng.NormFloat64() * 5) }),
		"integers":        gen(300, func() float64 { return float64(rng.IntN(50)) }),
		"clustered":       sorted(append(gen(200, func() float64 { return rng.Float64() * 1e-9 }), 1e9, -1e9)),
		"subnormals":      {math.SmallestNonzeroFloat64, 2 * math.SmallestNonzeroFloat64, 5 * math.SmallestNonzeroFloat64},
		"around zero":     {-math.SmallestNonzeroFloat64, 0, math.SmallestNonzeroFloat64, 1},
		"full range":      {-math.MaxFloat64, 0, math.MaxFloat64},
		"magnitude range": {-MaxMagnitude, -1, 1, MaxMagnitude},
		"one edge":        {3},
		"adjacent floats": {1, math.Nextafter(1, 2), math.Nextafter(math.Nextafter(1, 2), 2)},
	}
	for name, edges := range cases {
		t.Run(name, func(t *testing.T) {
			f := &FeatureProfile{Name: "x", Kind: Numeric, Edges: edges}
			f.prepare()
			if name != "one edge" && name != "subnormals" && name != "full range" {
				require.True(t, f.lookup.ok(), "these edges get a bucket table")
			}
			for _, v := range probes(edges, rng) {
				require.Equal(t, plainCell(edges, v), f.cellOf(v), "edges %d, value %v (%b)", len(edges), v, v)
			}
		})
	}
}

// TestAddFloatFastPathKeepsHistograms bins the same stream into histograms of a prepared
// profile (the lookup) and of the plain binary search, including values AddFloat must treat
// as null or reject, and requires identical counts, sums, nulls and errors.
func TestAddFloatFastPathKeepsHistograms(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	b := NewBuilder(ProfileOptions{})
	for range 5000 {
		require.NoError(t, b.AddFloat("x", rng.NormFloat64()*3))
	}
	f := b.Profile().Features[0]
	require.True(t, f.lookup.ok(), "a 5000-row numeric reference gets a lookup")
	fast := f.NewHistogram()
	want := f.NewHistogram()
	stream := append(probes(f.Edges, rng), 2*MaxMagnitude, -2*MaxMagnitude)
	for _, v := range stream {
		gotErr := f.AddFloat(&fast, v)
		var wantErr error
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			want.Nulls++
		case math.Abs(v) > MaxMagnitude:
			wantErr = gotErr
			require.ErrorContains(t, gotErr, "out of range", "value %v", v)
		default:
			c := plainCell(f.Edges, v)
			want.Counts[c]++
			want.Sums[c] += v
		}
		require.Equal(t, wantErr, gotErr, "value %v", v)
	}
	require.Equal(t, want, fast)
}

// TestAddCategoryScanMatchesLookup bins byte values (categories, near misses, invalid UTF-8
// that repairs to a category) into profiles with few categories (scanned) and many (looked up
// in the map), and requires each count to land in the bin a plain search of the repaired
// value over Categories gives.
func TestAddCategoryScanMatchesLookup(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, cats := range [][]string{
		{"a", "b", "\uFFFD", "ab", ""},
		{"a", "seven77", "eight888", "\x00", "\x00\x00"}, // too long to pack: scanned as strings
		{"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10", "c11"},
	} {
		f := &FeatureProfile{Name: "x", Kind: Categorical, Categories: cats}
		f.prepare()
		require.Equal(t, len(cats) <= maxScanned, f.few != nil)
		require.Equal(t, f.few != nil && !slices.Contains(cats, "eight888"), f.keys != nil)
		values := [][]byte{{0xff}, {'a', 0xff}, {}, []byte("c1 "), []byte("A"), {0}, {0, 0, 0}, []byte("seven7"), []byte("seven777")}
		for _, c := range cats {
			values = append(values, []byte(c), append([]byte(c), 'x'))
		}
		for range 500 {
			b := make([]byte, rng.IntN(4))
			for i := range b {
				b[i] = "abc0123\xff\xfe"[rng.IntN(9)]
			}
			values = append(values, b)
		}
		for _, v := range values {
			h := f.NewHistogram()
			require.NoError(t, f.AddCategory(&h, v))
			want := len(cats) // unseen
			if i := slices.Index(cats, validCategory(string(v))); i >= 0 {
				want = i
			}
			wantCounts := make([]float64, len(cats)+1)
			wantCounts[want] = 1
			require.Equal(t, wantCounts, h.Counts, "value %q", v)
		}
	}
}

// TestAddFloatsMatchesAddFloat bins the probe values (edges, their neighbours, NaN, ±Inf,
// values out of range), in runs of every length, with AddFloats and one by one with AddFloat,
// and requires identical histograms and the same number of errors.
func TestAddFloatsMatchesAddFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	for name, gen := range map[string]func() float64{
		"normal":   rng.NormFloat64,
		"integers": func() float64 { return float64(rng.IntN(30)) },
		"clustered": func() float64 { // buckets of many edges, and many of none
			if rng.IntN(50) == 0 {
				return 1e6
			}
			return rng.Float64() * 1e-3
		},
	} {
		b := NewBuilder(ProfileOptions{})
		for range 3000 {
			require.NoError(t, b.AddFloat("x", gen()))
		}
		f := b.Profile().Features[0]
		require.True(t, f.lookup.ok(), name)
		stream := append(probes(f.Edges, rng), 2*MaxMagnitude, -2*MaxMagnitude, math.NaN())
		rng.Shuffle(len(stream), func(i, j int) { stream[i], stream[j] = stream[j], stream[i] })
		one, many := f.NewHistogram(), f.NewHistogram()
		var wantFailed, failed int
		for _, v := range stream {
			if f.AddFloat(&one, v) != nil {
				wantFailed++
			}
		}
		for rest := stream; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(300))
			failed += f.AddFloats(&many, rest[:n])
			rest = rest[n:]
		}
		require.Equal(t, one, many, name)
		require.Equal(t, wantFailed, failed, name)
		require.Positive(t, failed, name)
	}
}
