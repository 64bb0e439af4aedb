package histogram

import (
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
