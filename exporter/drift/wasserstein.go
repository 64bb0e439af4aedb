package drift

import (
	"math"
	"slices"
)

// MinStdForNorm is the floor on the reference standard deviation used to norm the Wasserstein
// distance, so a constant reference does not divide by zero (Evidently's value).
const MinStdForNorm = 0.001

// Wasserstein returns the first Wasserstein (earth mover's) distance ∫|F_ref − F_cur| dx of two
// raw samples.
func Wasserstein(ref, cur []float64) float64 {
	if len(ref) == 0 || len(cur) == 0 {
		return math.NaN()
	}
	a, b := slices.Clone(ref), slices.Clone(cur)
	slices.Sort(a)
	slices.Sort(b)
	n, m := float64(len(a)), float64(len(b))
	var i, j int
	var w, prev float64
	first := true
	for i < len(a) || j < len(b) {
		var x float64
		switch {
		case i == len(a):
			x = b[j]
		case j == len(b):
			x = a[i]
		default:
			x = math.Min(a[i], b[j])
		}
		if !first {
			w += math.Abs(float64(i)/n-float64(j)/m) * (x - prev)
		}
		first = false
		for i < len(a) && a[i] == x {
			i++
		}
		for j < len(b) && b[j] == x {
			j++
		}
		prev = x
	}
	return w
}

// PopulationStd is the standard deviation with divisor n (NumPy's default, as Evidently uses).
func PopulationStd(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	var mean float64
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return math.Sqrt(ss / float64(len(x)))
}

// WassersteinNormed is Wasserstein(ref, cur) / max(σ_ref, MinStdForNorm).
func WassersteinNormed(ref, cur []float64) float64 {
	return Wasserstein(ref, cur) / math.Max(PopulationStd(ref), MinStdForNorm)
}
