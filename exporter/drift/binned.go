package drift

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// DefaultEpsilon is the fill given to an empty bin when the smallest non-empty share is
// above 1e-4. Evidently uses the same rule; see FillEmpty.
const DefaultEpsilon = 1e-4

// shares turns counts into proportions. It returns nil when the counts sum to zero or hold a
// negative or non-finite value, so callers can report "no data" instead of dividing by zero.
func shares(counts []float64) []float64 {
	var total float64
	for _, c := range counts {
		if c < 0 || math.IsNaN(c) || math.IsInf(c, 0) {
			return nil
		}
		total += c
	}
	if total <= 0 {
		return nil
	}
	out := make([]float64, len(counts))
	for i, c := range counts {
		out[i] = c / total
	}
	return out
}

// FillEmpty replaces zero shares with ε so that PSI and KL stay finite, exactly as Evidently
// does: ε = min_nonzero/10⁶ when the smallest non-zero share is at most 10⁻⁴, else 10⁻⁴. The
// vector is not renormalised here: PSI uses the filled shares as they are (as Evidently does),
// while KL renormalises them, as scipy.stats.entropy (Evidently's KL) does. p is modified in
// place and returned.
func FillEmpty(p []float64) []float64 {
	minNonZero := math.Inf(1)
	for _, v := range p {
		if v > 0 && v < minNonZero {
			minNonZero = v
		}
	}
	eps := DefaultEpsilon
	if minNonZero <= 1e-4 {
		eps = minNonZero / 1e6
	}
	for i, v := range p {
		if v == 0 {
			p[i] = eps
		}
	}
	return p
}

// PSI is the population stability index Σ (rᵢ − cᵢ)·ln(rᵢ/cᵢ) of the current counts against the
// reference counts (same bins, any scale), with empty bins filled by FillEmpty. It returns NaN
// when either side has no observations or the lengths differ.
func PSI(ref, cur []float64) float64 {
	r, c := shares(ref), shares(cur)
	if r == nil || c == nil || len(r) != len(c) {
		return math.NaN()
	}
	FillEmpty(r)
	FillEmpty(c)
	var s float64
	for i := range r {
		s += (r[i] - c[i]) * math.Log(r[i]/c[i])
	}
	return s
}

// KL is the Kullback–Leibler divergence Σ rᵢ·ln(rᵢ/cᵢ) of the reference from the current
// distribution (Evidently's orientation), with empty bins filled by FillEmpty and both vectors
// then renormalised to sum to 1, as scipy.stats.entropy(r, c), which Evidently calls, does.
func KL(ref, cur []float64) float64 {
	r, c := shares(ref), shares(cur)
	if r == nil || c == nil || len(r) != len(c) {
		return math.NaN()
	}
	r, c = shares(FillEmpty(r)), shares(FillEmpty(c))
	var s float64
	for i := range r {
		s += r[i] * math.Log(r[i]/c[i])
	}
	return s
}

// JS is the Jensen–Shannon distance (the square root of the divergence) with the natural
// logarithm, so it lies in [0, √ln2 ≈ 0.833]. No smoothing is needed: the mixture is never zero
// where either side is positive. Divide by √ln2 for the base-2 value NannyML reports.
func JS(ref, cur []float64) float64 {
	r, c := shares(ref), shares(cur)
	if r == nil || c == nil || len(r) != len(c) {
		return math.NaN()
	}
	var s float64
	for i := range r {
		m := (r[i] + c[i]) / 2
		if r[i] > 0 {
			s += r[i] * math.Log(r[i]/m)
		}
		if c[i] > 0 {
			s += c[i] * math.Log(c[i]/m)
		}
	}
	// Rounding can leave a tiny negative sum for identical inputs.
	return math.Sqrt(math.Max(s/2, 0))
}

// Hellinger is the Hellinger distance √(½ Σ (√rᵢ − √cᵢ)²), in [0, 1].
func Hellinger(ref, cur []float64) float64 {
	r, c := shares(ref), shares(cur)
	if r == nil || c == nil || len(r) != len(c) {
		return math.NaN()
	}
	var s float64
	for i := range r {
		d := math.Sqrt(r[i]) - math.Sqrt(c[i])
		s += d * d
	}
	return math.Sqrt(s / 2)
}

// ChiSquare is Pearson's goodness-of-fit test of the current counts against the expected counts
// rᵢ/Σr · Σc. Bins empty on both sides are left out of the degrees of freedom. A current value in
// a bin the reference never saw makes the statistic +Inf and the p-value 0, as in Evidently and
// whylogs. df is the number of bins used minus one; with fewer than two bins the test says
// nothing and the p-value is 1.
func ChiSquare(ref, cur []float64) (stat, pvalue float64, df int) {
	r, c := shares(ref), shares(cur)
	if r == nil || c == nil || len(r) != len(c) {
		return math.NaN(), math.NaN(), 0
	}
	var nCur float64
	for _, v := range cur {
		nCur += v
	}
	used := 0
	for i := range r {
		exp := r[i] * nCur
		obs := cur[i]
		switch {
		case exp == 0 && obs == 0:
			continue
		case exp == 0:
			stat = math.Inf(1)
		default:
			stat += (obs - exp) * (obs - exp) / exp
		}
		used++
	}
	df = used - 1
	if df < 1 {
		return 0, 1, df
	}
	if math.IsInf(stat, 1) {
		return stat, 0, df
	}
	return stat, distuv.ChiSquared{K: float64(df)}.Survival(stat), df
}

// TwoProportionZ is the pooled two-proportion z-test of k₁ successes in n₁ reference rows against
// k₂ in n₂ current rows; the p-value is two-sided. When both samples are all-true or all-false
// the test has no variance and reports z = 0, p = 1 (nothing changed).
func TwoProportionZ(n1, k1, n2, k2 float64) (z, pvalue float64) {
	if n1 <= 0 || n2 <= 0 {
		return math.NaN(), math.NaN()
	}
	p1, p2 := k1/n1, k2/n2
	pooled := (k1 + k2) / (n1 + n2)
	se := math.Sqrt(pooled * (1 - pooled) * (1/n1 + 1/n2))
	if se == 0 || math.IsNaN(se) {
		return 0, 1
	}
	z = (p1 - p2) / se
	// erfc(|z|/√2) is the two-sided tail computed directly, exact down to about 1e-300;
	// gonum's normal survival loses it below about 1e-16.
	return z, math.Erfc(math.Abs(z) / math.Sqrt2)
}
