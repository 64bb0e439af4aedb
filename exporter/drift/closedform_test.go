package drift

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// Closed-form cases, worked by hand, for every binned statistic.
func TestBinnedClosedForms(t *testing.T) {
	ln := math.Log
	// r = (½, ½), c = (¼, ¾): PSI = ¼ ln 2 + (−¼) ln(⅔) = ¼ ln 3; KL = ½ ln 2 + ½ ln ⅔ = ½ ln(4/3).
	require.InDelta(t, ln(3)/4, PSI([]float64{2, 2}, []float64{1, 3}), 1e-15)
	require.InDelta(t, ln(4.0/3)/2, KL([]float64{2, 2}, []float64{1, 3}), 1e-15)
	// Counts are scale-free.
	require.InDelta(t, PSI([]float64{2, 2}, []float64{1, 3}), PSI([]float64{2000, 2000}, []float64{7, 21}), 1e-15)
	// Identical distributions: every distance is 0.
	for _, f := range []func(a, b []float64) float64{PSI, KL, JS, Hellinger} {
		require.InDelta(t, 0, f([]float64{1, 2, 3}, []float64{10, 20, 30}), 1e-15)
	}
	// Disjoint supports: JS reaches √ln2, Hellinger 1; PSI with the ε = 1e-4 fill is
	// 2·(1 − 1e-4)·ln(1e4).
	require.InDelta(t, math.Sqrt(ln(2)), JS([]float64{1, 0}, []float64{0, 1}), 1e-15)
	require.InDelta(t, 1, Hellinger([]float64{1, 0}, []float64{0, 1}), 1e-15)
	require.InDelta(t, 2*(1-1e-4)*ln(1e4), PSI([]float64{1, 0}, []float64{0, 1}), 1e-12)
	// The fill follows the smallest non-zero share: with a share of 1e-5 present, ε = 1e-11.
	ref := []float64{1e5 - 1, 1, 0}
	cur := []float64{1, 1, 1}
	r := []float64{(1e5 - 1) / 1e5, 1e-5, 1e-11}
	c := []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}
	var want float64
	for i := range r {
		want += (r[i] - c[i]) * ln(r[i]/c[i])
	}
	require.InDelta(t, want, PSI(ref, cur), 1e-12)
	// JS with half the mass shared: r = (1, 0), c = (½, ½), m = (¾, ¼):
	// KL(r‖m) = ln(4/3), KL(c‖m) = ½ ln(⅔) + ½ ln 2; JS = √(average).
	js := math.Sqrt((ln(4.0/3) + 0.5*ln(2.0/3) + 0.5*ln(2)) / 2)
	require.InDelta(t, js, JS([]float64{4, 0}, []float64{1, 1}), 1e-15)
	// Empty or mismatched inputs say so with NaN rather than a number.
	require.True(t, math.IsNaN(PSI(nil, nil)))
	require.True(t, math.IsNaN(JS([]float64{0, 0}, []float64{1, 1})))
	require.True(t, math.IsNaN(KL([]float64{1}, []float64{1, 1})))
	require.True(t, math.IsNaN(Hellinger([]float64{-1, 2}, []float64{1, 1})))
}

// TestChiSquareClosedForm: with one degree of freedom the χ² survival is erfc(√(x/2)), and the
// statistic of r = (½, ½) against c = (30, 70) is (20² + 20²)/50 = 16.
func TestChiSquareClosedForm(t *testing.T) {
	stat, p, df := ChiSquare([]float64{1, 1}, []float64{30, 70})
	require.Equal(t, 1, df)
	require.InDelta(t, 16, stat, 1e-12)
	require.InDelta(t, math.Erfc(math.Sqrt(8)), p, 1e-15)
	// Three bins, df 2: the survival is exp(−x/2).
	stat, p, df = ChiSquare([]float64{1, 1, 2}, []float64{10, 20, 30})
	require.Equal(t, 2, df)
	wantStat := (10-15)*(10-15)/15.0 + (20-15)*(20-15)/15.0 + 0 // the third bin: (30−30)²/30
	require.InDelta(t, wantStat, stat, 1e-12)
	require.InDelta(t, math.Exp(-wantStat/2), p, 1e-14)
	// A bin empty on both sides is left out.
	_, _, df = ChiSquare([]float64{1, 1, 0}, []float64{3, 4, 0})
	require.Equal(t, 1, df)
	// A single bin says nothing.
	stat, p, _ = ChiSquare([]float64{5}, []float64{9})
	require.Equal(t, 0.0, stat)
	require.Equal(t, 1.0, p)
}

// TestZTestIsChiSquareOfTwoByTwo: the pooled two-proportion z² equals Pearson's χ² of the 2×2
// contingency table (without continuity correction), computed here from the table.
func TestZTestIsChiSquareOfTwoByTwo(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for trial := 0; trial < 50; trial++ {
		n1, n2 := float64(20+rng.IntN(500)), float64(20+rng.IntN(500))
		k1, k2 := float64(rng.IntN(int(n1)+1)), float64(rng.IntN(int(n2)+1))
		z, p := TwoProportionZ(n1, k1, n2, k2)
		if k1+k2 == 0 || k1+k2 == n1+n2 {
			require.Equal(t, 0.0, z)
			require.Equal(t, 1.0, p)
			continue
		}
		table := [2][2]float64{{k1, n1 - k1}, {k2, n2 - k2}}
		rows := [2]float64{n1, n2}
		cols := [2]float64{k1 + k2, n1 + n2 - k1 - k2}
		var chi float64
		for i := 0; i < 2; i++ {
			for j := 0; j < 2; j++ {
				e := rows[i] * cols[j] / (n1 + n2)
				chi += (table[i][j] - e) * (table[i][j] - e) / e
			}
		}
		require.InDelta(t, chi, z*z, 1e-9*math.Max(1, chi))
		require.InDelta(t, math.Erfc(math.Sqrt(chi/2)), p, 1e-12)
	}
}

// TestWassersteinClosedForms: shifting a sample moves W₁ by exactly the shift; two point masses
// are their distance apart; KS of disjoint samples is 1 with the smallest possible p-value.
func TestWassersteinClosedForms(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	a := normal(rng, 300, 0, 1)
	b := make([]float64, len(a))
	for i, v := range a {
		b[i] = v + 2.5
	}
	require.InDelta(t, 2.5, Wasserstein(a, b), 1e-12)
	require.InDelta(t, 2.5/PopulationStd(a), WassersteinNormed(a, b), 1e-12)
	require.InDelta(t, 3, Wasserstein([]float64{1, 1}, []float64{4}), 1e-15)
	// ¼ of the mass moves by 2: W₁ = ½.
	require.InDelta(t, 0.5, Wasserstein([]float64{0, 0, 0, 0}, []float64{0, 0, 0, 2}), 1e-15)
	require.InDelta(t, 1, KSStatistic([]float64{1, 2, 3}, []float64{4, 5}), 1e-15)
	// P(D = 1) for sizes 3 and 2: 2 of the C(5,2) = 10 paths, p = 0.2.
	require.InDelta(t, 0.2, KSExactPValue(1, 3, 2), 1e-15)
	require.True(t, math.IsNaN(Wasserstein(nil, a)))
	require.True(t, math.IsNaN(KSStatistic(a, nil)))
	// The profile path: a grid that holds every value, shifted window, exact tails.
	p := numericProfile(t, ProfileOptions{}, []float64{0, 1, 2, 3})
	w := windowOf(t, p, []float64{10, 11, 12, 13})
	require.InDelta(t, 10, p.Features[0].cellWasserstein(&w.Histograms[0]), 1e-12)
}

func TestParseMethod(t *testing.T) {
	for _, m := range Methods() {
		got, err := ParseMethod(string(m))
		require.NoError(t, err)
		require.Equal(t, m, got)
	}
	_, err := ParseMethod("psy")
	require.ErrorContains(t, err, `unknown drift method "psy"; want one of`)
}
