package histogram

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// The reference is client_golang's own histogram fed the same values: both representations
// must come out identical.
func TestMatchesClientGolang(t *testing.T) {
	bounds := prometheus.DefBuckets
	for name, values := range map[string][]float64{
		"empty":   nil,
		"zeros":   {0, 0, 0},
		"edges":   {1, 2, 0.5, 0.25, 1.0905077326652577, 0.005, 10, 10.000001},
		"spread":  randomValues(1, 2000, 1e-4, 1e3),
		"gappy":   {0.001, 1000, 0.001, 5e6, 1e-9},
		"uniform": randomValues(2, 500, 0.09, 0.11),
	} {
		t.Run(name, func(t *testing.T) {
			ref := prometheus.NewHistogram(prometheus.HistogramOpts{
				Name: "x", Help: "x", Buckets: bounds,
				NativeHistogramBucketFactor:    1.1,
				NativeHistogramMaxBucketNumber: 0,
			})
			var h Histogram
			for _, v := range values {
				ref.Observe(v)
				h.Observe(bounds, v)
			}
			var want, got dto.Metric
			require.NoError(t, ref.Write(&want))
			desc := prometheus.NewDesc("x", "x", nil, nil)
			require.NoError(t, h.Metric(desc, bounds).Write(&got))
			want.Histogram.CreatedTimestamp = nil
			require.True(t, proto.Equal(want.Histogram, got.Histogram), "want %v\n got %v", want.Histogram, got.Histogram)
		})
	}
}

func randomValues(seed uint64, n int, lo, hi float64) []float64 {
	r := rand.New(rand.NewPCG(seed, seed))
	out := make([]float64, n)
	for i := range out {
		out[i] = lo + r.Float64()*(hi-lo)
	}
	return out
}

func TestMerge(t *testing.T) {
	bounds := []float64{1, 10}
	var a, b, all Histogram
	for _, v := range []float64{0.5, 3, 30} {
		a.Observe(bounds, v)
		all.Observe(bounds, v)
	}
	for _, v := range []float64{0, 3, 7} {
		b.Observe(bounds, v)
		all.Observe(bounds, v)
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	require.Equal(t, all, m)
	require.Equal(t, []uint64{2, 3, 1}, m.Counts)
	require.Equal(t, uint64(6), m.Count)
	require.InDelta(t, 43.5, m.Sum, 1e-12)
}

// Values over a huge range stay within MaxNativeBuckets, and the result is exactly what
// client_golang produces with NativeHistogramMaxBucketNumber set to the same bound.
func TestNativeBucketsBounded(t *testing.T) {
	values := randomLog(3, 5000, -30, 30) // 1e-30 … 1e30
	bounds := prometheus.DefBuckets
	cg := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "x", Help: "x", Buckets: bounds,
		NativeHistogramBucketFactor: 1.1, NativeHistogramMaxBucketNumber: MaxNativeBuckets})
	var h Histogram
	for _, v := range values {
		h.Observe(bounds, v)
		cg.Observe(v)
	}
	require.LessOrEqual(t, len(h.Native), MaxNativeBuckets)
	require.Less(t, h.Schema(), int32(NativeSchema))
	var want, got dto.Metric
	require.NoError(t, cg.Write(&want))
	require.NoError(t, h.Metric(prometheus.NewDesc("x", "x", nil, nil), bounds).Write(&got))
	want.Histogram.CreatedTimestamp = nil
	require.True(t, proto.Equal(want.Histogram, got.Histogram), "want %v\n got %v", want.Histogram, got.Histogram)

	// Reference: the same values observed directly at the final schema's resolution.
	var sum uint64
	for _, c := range h.Native {
		sum += c
	}
	require.Equal(t, uint64(len(values)), sum+h.ZeroCount)
	ref := map[int32]uint64{}
	for _, v := range values {
		ref[reduce(nativeIndex(v), h.Reduction)]++
	}
	require.Equal(t, ref, h.Native)
	// Each value lies inside its bucket: (base^(i-1), base^i] with base = 2^(2^-schema).
	base := math.Exp2(math.Exp2(-float64(h.Schema())))
	for _, v := range values[:200] {
		i := reduce(nativeIndex(v), h.Reduction)
		lo, hi := math.Pow(base, float64(i-1)), math.Pow(base, float64(i))
		require.True(t, v > lo*(1-1e-12) && v <= hi*(1+1e-12), "%g not in (%g, %g]", v, lo, hi)
	}

	// Merging a finer histogram into a coarser one coarsens the finer one's buckets.
	var fine Histogram
	fine.Observe(nil, 1.5)
	h.Merge(&fine)
	require.Equal(t, ref[reduce(nativeIndex(1.5), h.Reduction)]+1, h.Native[reduce(nativeIndex(1.5), h.Reduction)])
}

func randomLog(seed uint64, n int, lo, hi float64) []float64 {
	r := rand.New(rand.NewPCG(seed, seed))
	out := make([]float64, n)
	for i := range out {
		out[i] = math.Pow(10, lo+r.Float64()*(hi-lo))
	}
	return out
}
