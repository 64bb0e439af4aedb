package drift

import (
	"math"
	"slices"
)

// MaxExactKS is the largest sample size for which KSPValue uses the exact two-sample null
// distribution; above it the asymptotic one is used. It matches SciPy's ks_2samp
// method="auto" (and so Evidently).
const MaxExactKS = 10000

// KSStatistic returns the two-sided two-sample Kolmogorov–Smirnov statistic
// D = sup |F_ref − F_cur| of two raw samples. NaN values must be removed first.
func KSStatistic(ref, cur []float64) float64 {
	if len(ref) == 0 || len(cur) == 0 {
		return math.NaN()
	}
	a, b := slices.Clone(ref), slices.Clone(cur)
	slices.Sort(a)
	slices.Sort(b)
	n, m := float64(len(a)), float64(len(b))
	var i, j int
	var d float64
	for i < len(a) && j < len(b) {
		// Step past every copy of the smallest remaining value in both samples, so ties are
		// evaluated on the right-continuous ECDFs.
		x := math.Min(a[i], b[j])
		for i < len(a) && a[i] == x {
			i++
		}
		for j < len(b) && b[j] == x {
			j++
		}
		d = math.Max(d, math.Abs(float64(i)/n-float64(j)/m))
	}
	return d
}

// KSPValue returns the two-sided p-value of a two-sample KS statistic d for sample sizes n1 and
// n2, the way SciPy's ks_2samp(method="auto") does: the exact distribution when
// max(n1, n2) ≤ MaxExactKS, otherwise the one-sample Kolmogorov distribution of
// round(n1·n2/(n1+n2)). exact reports which was used.
func KSPValue(d float64, n1, n2 int) (p float64, exact bool) {
	if n1 <= 0 || n2 <= 0 || math.IsNaN(d) {
		return math.NaN(), false
	}
	if max(n1, n2) <= MaxExactKS {
		return KSExactPValue(d, n1, n2), true
	}
	return KSAsymptoticPValue(d, n1, n2), false
}

// KSAsymptoticPValue is the p-value SciPy's ks_2samp(method="asymp") returns:
// P(D_n ≥ d) for the one-sample Kolmogorov distribution with n = round(n1·n2/(n1+n2)).
func KSAsymptoticPValue(d float64, n1, n2 int) float64 {
	en := math.Round(float64(n1) * float64(n2) / float64(n1+n2))
	return KolmogorovSF(int(en), d)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// KSExactPValue returns P(D ≥ d) under the null hypothesis for samples of sizes m and n
// without ties: the share of monotone lattice paths from (0,0) to (m,n) that touch the region
// |i/m − j/n| ≥ d. It walks the paths with transition probabilities instead of counting them,
// so nothing overflows; cost is O(m·n·d).
//
// The result is the probability mass that leaves the band, summed as it leaves (each term
// positive), not 1 − P(stay inside): the difference would round a p-value below about 1e-16 to
// exactly 0, while the direct sum keeps full relative precision down to the smallest normal
// floats (a −log₁₀ p panel needs that).
func KSExactPValue(d float64, m, n int) float64 {
	if m <= 0 || n <= 0 || math.IsNaN(d) {
		return math.NaN()
	}
	g := gcd(m, n)
	lcm := int64(m / g * n)
	// D of real data is a multiple of 1/lcm; rounding removes floating noise.
	h := int64(math.Round(d * float64(lcm)))
	if h <= 0 {
		return 1
	}
	bound := h * int64(g) // inside ⇔ |i·n − j·m| < h·g
	inside := func(i, j int) bool {
		v := int64(i)*int64(n) - int64(j)*int64(m)
		if v < 0 {
			v = -v
		}
		return v < bound
	}
	// Probability of a step from (a, b): in i with (m−a)/(m+n−a−b), in j with (n−b)/(m+n−a−b).
	stepI := func(a, b int) float64 { return float64(m-a) / float64(m+n-a-b) }
	stepJ := func(a, b int) float64 { return float64(n-b) / float64(m+n-a-b) }
	// prev[j] is the probability that a uniformly random path reaches (i, j) staying inside;
	// [plo, phi] is the range of j the last row wrote. out sums the mass that leaves.
	prev := make([]float64, n+1)
	next := make([]float64, n+1)
	var out float64
	prev[0] = 1
	plo, phi := 0, 0
	for j := 1; j <= n; j++ {
		if !inside(0, j) {
			out += prev[j-1] * stepJ(0, j-1)
			break
		}
		prev[j] = prev[j-1] * stepJ(0, j-1)
		phi = j
	}
	for i := 1; i <= m; i++ {
		// Mass stepping in i from an inside point of the last row to an outside one.
		for j := plo; j <= phi; j++ {
			if prev[j] != 0 && !inside(i, j) {
				out += prev[j] * stepI(i-1, j)
			}
		}
		// Only the band |i·n − j·m| < h·g can be inside; visiting just it makes the cost
		// O(m·n·D) instead of O(m·n). The band only moves right as i grows, so a buffer never
		// holds values right of the current band, and clearing around the band is enough.
		lo := max(0, int((int64(i)*int64(n)-bound)/int64(m))-1)
		hi := min(n, int((int64(i)*int64(n)+bound)/int64(m))+1)
		clear(next[max(0, lo-1):min(n+1, hi+2)])
		for j := lo; j <= hi; j++ {
			if !inside(i, j) {
				// Mass stepping in j from the inside neighbour on the left leaves here.
				if j > 0 && next[j-1] != 0 {
					out += next[j-1] * stepJ(i, j-1)
				}
				continue
			}
			// Arrive from (i-1, j) by a step in i, or from (i, j-1) by a step in j.
			v := prev[j] * stepI(i-1, j)
			if j > 0 {
				v += next[j-1] * stepJ(i, j-1)
			}
			next[j] = v
		}
		prev, next = next, prev
		plo, phi = lo, hi
	}
	return clampProb(out)
}

func clampProb(p float64) float64 {
	return math.Min(1, math.Max(0, p))
}

// KolmogorovSF returns P(D_n ≥ x) for the one-sample two-sided Kolmogorov statistic D_n, the
// function SciPy calls kstwo.sf. It follows SciPy's choice of method per region so that results
// agree: closed forms at the extremes, the Durbin matrix (Marsaglia–Tsang–Wang, exact) where it
// is cheap, 2·P(D⁺ ≥ x) (exact one-sided, Birnbaum–Tingey) in the far tail where the two-sided
// correction is below 1e-7, and the Pelz–Good expansion for large n.
func KolmogorovSF(n int, x float64) float64 {
	if n <= 0 || math.IsNaN(x) {
		return math.NaN()
	}
	if x >= 1 {
		return 0
	}
	if x <= 0 {
		return 1
	}
	nf := float64(n)
	t := nf * x
	if t <= 1 {
		if t <= 0.5 {
			return 1
		}
		// Ruben–Gambino: P(D_n < x) = n!/nⁿ (2t−1)ⁿ for 1/(2n) ≤ x ≤ 1/n.
		lg, _ := math.Lgamma(nf + 1)
		return clampProb(1 - math.Exp(lg-nf*math.Log(nf)+nf*math.Log(2*t-1)))
	}
	if t >= nf-1 {
		return clampProb(2 * math.Pow(1-x, nf))
	}
	if x >= 0.5 {
		return clampProb(2 * smirnovSF(n, x))
	}
	nxx := t * x
	if n <= 140 {
		if nxx <= 4 {
			return clampProb(1 - durbinCDF(n, x))
		}
		return clampProb(2 * smirnovSF(n, x))
	}
	if nxx >= 370 {
		return 0
	}
	if nxx >= 2.2 {
		return clampProb(2 * smirnovSF(n, x))
	}
	if n <= 100000 && nf*math.Pow(x, 1.5) <= 1.4 {
		return clampProb(1 - durbinCDF(n, x))
	}
	return clampProb(1 - pelzGoodCDF(n, x))
}

// smirnovSF is the exact one-sided P(D⁺_n ≥ x) by the Birnbaum–Tingey sum
// x Σ_{j=0}^{⌊n(1−x)⌋} C(n,j) (1−x−j/n)^{n−j} (x+j/n)^{j−1}, each term taken in logs.
func smirnovSF(n int, x float64) float64 {
	nf := float64(n)
	lgn, _ := math.Lgamma(nf + 1)
	last := int(math.Floor(nf * (1 - x)))
	var s float64
	for j := 0; j <= last; j++ {
		jf := float64(j)
		a := 1 - x - jf/nf
		if a <= 0 {
			if n-j == 0 {
				a = 1
			} else {
				continue
			}
		}
		lj, _ := math.Lgamma(jf + 1)
		lnj, _ := math.Lgamma(nf - jf + 1)
		lt := lgn - lj - lnj + (nf-jf)*math.Log(a) + (jf-1)*math.Log(x+jf/nf)
		s += math.Exp(lt)
	}
	return clampProb(x * s)
}

// durbinCDF is P(D_n < x) by the matrix method of Durbin as programmed by Marsaglia, Tsang and
// Wang (2003): the (k,k) entry of Hⁿ times n!/nⁿ, with the exponent carried separately because
// the entries overflow long before the result does.
func durbinCDF(n int, x float64) float64 {
	nf := float64(n)
	k := int(nf*x) + 1
	m := 2*k - 1
	h := float64(k) - nf*x
	H := make([]float64, m*m)
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			if i-j+1 >= 0 {
				H[i*m+j] = 1
			}
		}
	}
	for i := 0; i < m; i++ {
		H[i*m] -= math.Pow(h, float64(i+1))
		H[(m-1)*m+i] -= math.Pow(h, float64(m-i))
	}
	if 2*h-1 > 0 {
		H[(m-1)*m] += math.Pow(2*h-1, float64(m))
	}
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			if i-j+1 > 0 {
				for g := 1; g <= i-j+1; g++ {
					H[i*m+j] /= float64(g)
				}
			}
		}
	}
	q, scale := matPow(H, m, n)
	lg, _ := math.Lgamma(nf + 1)
	v := q[(k-1)*m+k-1]
	if v <= 0 {
		return 0
	}
	return clampProb(math.Exp(math.Log(v) + scale + lg - nf*math.Log(nf)))
}

// matPow returns A^e and the natural log of the factor it was scaled down by.
func matPow(a []float64, m, e int) ([]float64, float64) {
	result := make([]float64, m*m)
	for i := 0; i < m; i++ {
		result[i*m+i] = 1
	}
	base := slices.Clone(a)
	var scaleResult, scaleBase float64
	tmp := make([]float64, m*m)
	for e > 0 {
		if e&1 == 1 {
			matMul(tmp, result, base, m)
			result, tmp = tmp, result
			scaleResult += scaleBase
			scaleResult += rescale(result)
		}
		e >>= 1
		if e > 0 {
			matMul(tmp, base, base, m)
			base, tmp = tmp, base
			scaleBase *= 2
			scaleBase += rescale(base)
		}
	}
	return result, scaleResult
}

// rescale divides the matrix by its largest entry when that exceeds 1e100 and returns the log of
// the divisor (0 when nothing changed).
func rescale(a []float64) float64 {
	var big float64
	for _, v := range a {
		big = math.Max(big, math.Abs(v))
	}
	if big < 1e100 {
		return 0
	}
	for i := range a {
		a[i] /= big
	}
	return math.Log(big)
}

func matMul(dst, a, b []float64, m int) {
	clear(dst)
	for i := 0; i < m; i++ {
		for k := 0; k < m; k++ {
			aik := a[i*m+k]
			if aik == 0 {
				continue
			}
			row := b[k*m : k*m+m]
			out := dst[i*m : i*m+m]
			for j, v := range row {
				out[j] += aik * v
			}
		}
	}
}

// pelzGoodCDF is the Pelz–Good (1976) asymptotic expansion of P(D_n ≤ x) to order n^(-3/2),
// written in the small-z (theta function) form.
func pelzGoodCDF(n int, x float64) float64 {
	nf := float64(n)
	z := math.Sqrt(nf) * x
	z2, z3, z4, z6 := z*z, z*z*z, z*z*z*z, math.Pow(z, 6)
	pi2 := math.Pi * math.Pi
	pi4, pi6 := pi2*pi2, pi2*pi2*pi2
	qlog := -pi2 / 8 / z2
	if qlog < -745 {
		return 0
	}
	q := math.Exp(qlog)
	k1a, k1b := -z2, pi2/4
	k2a := 6*z6 + 2*z4
	k2b := (2*z4 - 5*z2) * pi2 / 4
	k2c := pi4 * (1 - 2*z2) / 16
	k3d := pi6 * (5 - 30*z2) / 64
	k3c := pi4 * (-60*z2 + 212*z4) / 16
	k3b := pi2 * (135*z4 - 96*z6) / 4
	k3a := -30*z6 - 90*math.Pow(z, 8)
	var K [4]float64
	maxk := int(math.Ceil(16 * z / math.Pi))
	for k := maxk; k >= 1; k-- {
		mm := float64(2*k - 1)
		m2, m4, m6 := mm*mm, mm*mm*mm*mm, math.Pow(mm, 6)
		qp := math.Pow(q, float64(8*k))
		c := [4]float64{1, k1a + k1b*m2, k2a + k2b*m2 + k2c*m4, k3a + k3b*m2 + k3c*m4 + k3d*m6}
		for i := range K {
			K[i] = K[i]*qp + c[i]
		}
	}
	sqrt2pi := math.Sqrt(2 * math.Pi)
	div := [4]float64{z, 6 * z4, 72 * math.Pow(z, 7), 6480 * math.Pow(z, 10)}
	for i := range K {
		K[i] *= q * sqrt2pi / div[i]
	}
	q2 := math.Exp(-pi2 / 2 / z2)
	var k2extra, k3extra float64
	sqrt3z := math.Sqrt(3) * z
	for k := maxk; k >= 1; k-- {
		kf := float64(k)
		qp := math.Pow(q2, kf*kf)
		k2extra += kf * kf * qp
		kpi := math.Pi * kf
		k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * kf * kf * qp
	}
	K[2] += k2extra * pi2 * sqrt2pi / (-36 * z3)
	K[3] += k3extra * pi2 * sqrt2pi / (216 * z6)
	var s float64
	for i := range K {
		s += K[i] / math.Pow(nf, float64(i)/2)
	}
	return clampProb(s)
}
