package drift

import (
	"math"
	"slices"
)

// EvidentlyBins bins two raw samples the way Evidently's PSI, KL and JS do
// (stattests/utils.get_binned_data), for golden comparisons with Evidently on raw windows. A
// reference with more than 20 distinct values is cut into equal-width bins over the combined
// minimum..maximum, ⌈log₂(n_ref+n_cur)⌉+1 of them (NumPy's "sturges"), the last bin closed;
// otherwise there is one bin per distinct value of either sample. The live exporter cannot use
// this (the edges depend on the window); it uses frozen reference quantiles instead.
func EvidentlyBins(ref, cur []float64) (refCounts, curCounts []float64) {
	if len(ref) == 0 || len(cur) == 0 {
		return nil, nil
	}
	distinct := slices.Compact(slices.Sorted(slices.Values(ref)))
	if len(distinct) <= 20 {
		values := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(ref), cur...))))
		count := func(x []float64) []float64 {
			out := make([]float64, len(values))
			for _, v := range x {
				i, _ := slices.BinarySearch(values, v)
				out[i]++
			}
			return out
		}
		return count(ref), count(cur)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range [][]float64{ref, cur} {
		for _, v := range x {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	k := int(math.Ceil(math.Log2(float64(len(ref)+len(cur))))) + 1
	// NumPy's bin search: edges linspace(lo, hi, k+1), value v in bin ⌊(v−lo)/width⌋, corrected
	// against the edges, with hi in the last bin.
	// The arithmetic follows NumPy's linspace and histogram so values on an edge land alike.
	step := (hi - lo) / float64(k)
	edges := make([]float64, k+1)
	for i := range edges {
		edges[i] = float64(i)*step + lo
	}
	edges[k] = hi
	norm := float64(k) / (hi - lo)
	count := func(x []float64) []float64 {
		out := make([]float64, k)
		for _, v := range x {
			i := int((v - lo) * norm)
			i = min(max(i, 0), k-1)
			for i > 0 && v < edges[i] {
				i--
			}
			for i < k-1 && v >= edges[i+1] {
				i++
			}
			out[i]++
		}
		return out
	}
	return count(ref), count(cur)
}
