package gate

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Interval is a two-sided interval [Lower, Upper].
type Interval struct {
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
}

// smoothed is the proportion used in variances: (x+0.5)/(n+1) keeps the variance positive when
// every observation is a success or a failure, where the plug-in x/n would give a zero-width
// interval after a handful of observations.
func smoothed(x, n float64) float64 { return (x + 0.5) / (n + 1) }

// DiffVariance is the variance of p̂c − p̂b for independent binomial samples (unpooled).
func DiffVariance(xc, nc, xb, nb float64) float64 {
	pc, pb := smoothed(xc, nc), smoothed(xb, nb)
	return pc*(1-pc)/nc + pb*(1-pb)/nb
}

// Wilson returns the Wilson score interval of a binomial proportion at confidence 1−alpha.
func Wilson(x, n, alpha float64) Interval {
	z := distuv.UnitNormal.Quantile(1 - alpha/2)
	p := x / n
	den := 1 + z*z/n
	centre := (p + z*z/(2*n)) / den
	half := z / den * math.Sqrt(p*(1-p)/n+z*z/(4*n*n))
	return Interval{Lower: centre - half, Upper: centre + half}
}

// Newcombe returns Newcombe's hybrid score interval (his method 10) for pc − pb at confidence
// 1−alpha, built from the two Wilson intervals; it keeps its coverage near 0 and 1 where the
// Wald interval does not.
func Newcombe(xc, nc, xb, nb, alpha float64) Interval {
	pc, pb := xc/nc, xb/nb
	c, b := Wilson(xc, nc, alpha), Wilson(xb, nb, alpha)
	d := pc - pb
	return Interval{
		Lower: d - math.Sqrt((pc-c.Lower)*(pc-c.Lower)+(b.Upper-pb)*(b.Upper-pb)),
		Upper: d + math.Sqrt((c.Upper-pc)*(c.Upper-pc)+(pb-b.Lower)*(pb-b.Lower)),
	}
}

// NonInferiorityZ is the one-sided Wald z-test of H0: pc − pb ≤ −margin against pc − pb > −margin
// (for a metric where higher is better), with the unpooled variance. It returns z and the
// p-value. Used for a single planned look; repeated looks use the confidence sequence.
func NonInferiorityZ(xc, nc, xb, nb, margin float64) (z, p float64) {
	v := DiffVariance(xc, nc, xb, nb)
	z = (xc/nc - xb/nb + margin) / math.Sqrt(v)
	return z, normalSF(z)
}

// normalSF is the standard normal survival function through erfc, which keeps its relative
// precision far into the tail (gonum's Survival loses digits below 1e-12).
func normalSF(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }

// Mixture is the normal-mixture boundary (Robbins 1970) behind the mixture sequential
// probability ratio test of Johari, Pekelis and Walsh ("Always valid inference", 2017): for an
// estimator that is asymptotically normal around θ with variance V, the interval
//
//	θ̂ ± sqrt( V(V+τ²)/τ² · (2·log(1/α) + log((V+τ²)/V)) )
//
// covers θ at every look simultaneously with probability ≥ 1−α (Ville's inequality applied to
// the mixture martingale), so a gate may be evaluated as often as wanted.
type Mixture struct {
	// Tau2 is the mixing variance τ², fixed before the data are seen.
	Tau2 float64
}

// MixtureFor tunes τ² so the sequence is narrowest when the estimator's variance is vPlan:
// τ² = r·vPlan with r = 2·log(1/α) + log(2·log(1/α) + 1), the choice of Waudby-Smith et al.
// ("Time-uniform central limit theory and asymptotic confidence sequences", 2024).
func MixtureFor(alpha, vPlan float64) Mixture {
	l := 2 * math.Log(1/alpha)
	return Mixture{Tau2: (l + math.Log(l+1)) * vPlan}
}

// HalfWidth is the half-width of the confidence sequence at level 1−alpha for variance v.
func (m Mixture) HalfWidth(v, alpha float64) float64 {
	if v <= 0 {
		return 0
	}
	return math.Sqrt(v * (v + m.Tau2) / m.Tau2 * (2*math.Log(1/alpha) + math.Log((v+m.Tau2)/v)))
}

// Bucket is one cumulative bucket of a classic histogram: Count observations ≤ UpperBound.
type Bucket struct {
	UpperBound float64
	Count      float64
}

// densify turns cumulative buckets (any order) into per-bucket counts sorted by bound; a
// cumulative count that goes down (a counter reset seen by only one bucket, or a partial
// scrape) is clamped so no bucket is negative.
func densify(bs []Bucket) (bounds, counts []float64) {
	s := append([]Bucket(nil), bs...)
	sort.Slice(s, func(i, j int) bool { return s[i].UpperBound < s[j].UpperBound })
	prev := 0.0
	for _, b := range s {
		c := b.Count - prev
		if c < 0 {
			c = 0
		}
		bounds = append(bounds, b.UpperBound)
		counts = append(counts, c)
		if b.Count > prev {
			prev = b.Count
		}
	}
	return bounds, counts
}

// MannWhitney is the Mann-Whitney comparison of two histograms. Observations in the same
// bucket are ties: they get the bucket's mid-rank, the variance under H0 carries the tie
// correction, and the effect size counts a tie as half.
type MannWhitney struct {
	NC, NB float64 // observations of the candidate and the baseline
	// U is the candidate's U statistic: pairs where the candidate is slower, plus half the ties.
	U float64
	// Theta = U/(NC·NB), the probability that a candidate request is slower than a baseline
	// request (ties counted half); 0.5 when the distributions are the same.
	Theta float64
	// Z and P are the two-sided test of H0 (same distribution) with the tie-corrected variance
	// and a continuity correction of 0.5, as scipy.stats.mannwhitneyu(method="asymptotic").
	Z, P float64
	// Var is DeLong's variance of Theta (from the placement values), valid away from H0 too;
	// it sets the interval around Theta.
	Var float64
}

// CompareHistograms runs the Mann-Whitney comparison of candidate and baseline histograms with
// the same bucket bounds (a bound present in only one of them counts zero in the other).
func CompareHistograms(cand, base []Bucket) MannWhitney {
	cb, cc := densify(cand)
	bb, bc := densify(base)
	// Align on the union of bounds.
	idx := map[float64]int{}
	var bounds []float64
	for _, b := range append(append([]float64(nil), cb...), bb...) {
		if _, ok := idx[b]; !ok {
			idx[b] = 0
			bounds = append(bounds, b)
		}
	}
	sort.Float64s(bounds)
	for i, b := range bounds {
		idx[b] = i
	}
	c := make([]float64, len(bounds))
	b := make([]float64, len(bounds))
	for i, v := range cc {
		c[idx[cb[i]]] += v
	}
	for i, v := range bc {
		b[idx[bb[i]]] += v
	}
	var r MannWhitney
	for i := range bounds {
		r.NC += c[i]
		r.NB += b[i]
	}
	if r.NC == 0 || r.NB == 0 {
		return r
	}
	n := r.NC + r.NB
	// Mid-ranks and placements in one pass over the buckets.
	var below, cBelow, bBelow, ties float64
	var rankSum float64
	var s10, s01 float64 // Σ placement, Σ placement² per sample
	var q10, q01 float64
	for i := range bounds {
		t := c[i] + b[i]
		if t == 0 {
			continue
		}
		mid := below + (t+1)/2
		rankSum += c[i] * mid
		ties += t*t*t - t
		// Placement of a candidate observation in bucket i: share of baseline below it plus
		// half the baseline in the same bucket; of a baseline observation: share of the
		// candidate above it plus half the candidate in the same bucket.
		v10 := (bBelow + b[i]/2) / r.NB
		v01 := (r.NC - cBelow - c[i] + c[i]/2) / r.NC
		s10 += c[i] * v10
		q10 += c[i] * v10 * v10
		s01 += b[i] * v01
		q01 += b[i] * v01 * v01
		below += t
		cBelow += c[i]
		bBelow += b[i]
	}
	r.U = rankSum - r.NC*(r.NC+1)/2
	r.Theta = r.U / (r.NC * r.NB)
	mu := r.NC * r.NB / 2
	sigma := math.Sqrt(r.NC * r.NB / 12 * ((n + 1) - ties/(n*(n-1))))
	if sigma > 0 {
		d := r.U - mu
		cc := 0.5
		if d < 0 {
			cc = -0.5
		} else if d == 0 {
			cc = 0
		}
		r.Z = (d - cc) / sigma
		r.P = math.Min(1, 2*normalSF(math.Abs(r.Z)))
	} else {
		r.P = 1
	}
	// DeLong: Var(θ̂) = S10/NC + S01/NB with S the sample variances of the placements.
	var v float64
	if r.NC > 1 {
		v += (q10 - s10*s10/r.NC) / (r.NC - 1) / r.NC
	}
	if r.NB > 1 {
		v += (q01 - s01*s01/r.NB) / (r.NB - 1) / r.NB
	}
	r.Var = math.Max(v, 0)
	return r
}

// Exceedance counts the observations of a histogram above limit. A limit that falls inside a
// bucket cannot be resolved, so it returns the count above the largest bound ≤ limit (an upper
// estimate, at least the true count) and above the smallest bound ≥ limit (a lower estimate).
// When limit is a bucket bound the two agree.
func Exceedance(bs []Bucket, limit float64) (total, upper, lower float64) {
	bounds, counts := densify(bs)
	for _, c := range counts {
		total += c
	}
	var cum, cumLE float64
	upperBound := math.NaN()
	for i, b := range bounds {
		cum += counts[i]
		if b <= limit {
			cumLE = cum
		}
		if b >= limit && math.IsNaN(upperBound) {
			upperBound = b
			// Everything in this bucket may be at or below the limit.
			lower = total - cum
		}
	}
	if math.IsNaN(upperBound) {
		lower = 0
	}
	return total, total - cumLE, lower
}

// Quantile estimates the q-quantile of a histogram by linear interpolation within the bucket,
// as PromQL's histogram_quantile does (the lowest bucket starts at 0 when its bound is
// positive; a quantile in the +Inf bucket is the largest finite bound).
func Quantile(bs []Bucket, q float64) float64 {
	bounds, counts := densify(bs)
	var total float64
	for _, c := range counts {
		total += c
	}
	if total == 0 || len(bounds) == 0 {
		return math.NaN()
	}
	rank := q * total
	var cum, lo float64
	for i, b := range bounds {
		if cum+counts[i] >= rank && counts[i] > 0 {
			if math.IsInf(b, 1) {
				if i == 0 {
					return math.NaN()
				}
				return bounds[i-1]
			}
			if i == 0 && b <= 0 {
				return b
			}
			return lo + (b-lo)*(rank-cum)/counts[i]
		}
		cum += counts[i]
		lo = b
	}
	return bounds[len(bounds)-1]
}
