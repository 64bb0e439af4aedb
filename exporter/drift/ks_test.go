package drift

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestKSAgainstSciPyGrid checks the one-sample Kolmogorov survival function and the exact
// two-sample p-value against SciPy on a grid that reaches every method KolmogorovSF switches
// between (testdata/make_ks_grid.py wrote it).
func TestKSAgainstSciPyGrid(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "ks-grid.json"))
	require.NoError(t, err)
	var grid struct {
		Kolmogorov []struct {
			N  int     `json:"n"`
			X  float64 `json:"x"`
			SF float64 `json:"sf"`
		} `json:"kolmogorov_sf"`
		Exact []struct {
			N1 int     `json:"n1"`
			N2 int     `json:"n2"`
			D  float64 `json:"d"`
			P  float64 `json:"p"`
		} `json:"ks_exact"`
	}
	require.NoError(t, json.Unmarshal(b, &grid))
	require.NotEmpty(t, grid.Kolmogorov)
	require.NotEmpty(t, grid.Exact)
	for _, c := range grid.Kolmogorov {
		require.InDelta(t, c.SF, KolmogorovSF(c.N, c.X), 1e-6, "kstwo.sf(%v, %d)", c.X, c.N)
	}
	for _, c := range grid.Exact {
		require.InDelta(t, c.P, KSExactPValue(c.D, c.N1, c.N2), 1e-6, "exact p(d=%v, %d, %d)", c.D, c.N1, c.N2)
	}
}

// countPathsOutside is a second, differently written exact two-sample KS p-value: it counts
// lattice paths with big-number-free binomial arithmetic in float64 (exact for small sizes) and
// divides by C(m+n, m).
func countPathsOutside(d float64, m, n int) float64 {
	// paths[i][j] = number of monotone paths from (0,0) to (i,j) that never leave the band.
	paths := make([][]float64, m+1)
	for i := range paths {
		paths[i] = make([]float64, n+1)
	}
	for i := 0; i <= m; i++ {
		for j := 0; j <= n; j++ {
			if math.Abs(float64(i)/float64(m)-float64(j)/float64(n)) >= d-1e-12 {
				continue
			}
			if i == 0 && j == 0 {
				paths[i][j] = 1
				continue
			}
			if i > 0 {
				paths[i][j] += paths[i-1][j]
			}
			if j > 0 {
				paths[i][j] += paths[i][j-1]
			}
		}
	}
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	total := math.Exp(lg(m+n) - lg(m) - lg(n))
	return 1 - paths[m][n]/total
}

func TestKSExactAgainstPathCounting(t *testing.T) {
	for _, size := range [][2]int{{1, 1}, {3, 4}, {8, 8}, {12, 5}, {20, 30}, {40, 25}} {
		m, n := size[0], size[1]
		lcm := m / gcd(m, n) * n
		for h := 1; h <= lcm; h++ {
			d := float64(h) / float64(lcm)
			require.InDelta(t, countPathsOutside(d, m, n), KSExactPValue(d, m, n), 1e-9, "m=%d n=%d d=%v", m, n, d)
		}
	}
}

// TestKSStatisticAgainstBruteForce compares the merge-walk statistic with a direct evaluation of
// both ECDFs at every sample point, on data with and without ties.
func TestKSStatisticAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ecdf := func(s []float64, x float64) float64 {
		var k float64
		for _, v := range s {
			if v <= x {
				k++
			}
		}
		return k / float64(len(s))
	}
	for trial := 0; trial < 50; trial++ {
		a := make([]float64, 1+rng.IntN(40))
		b := make([]float64, 1+rng.IntN(40))
		for i := range a {
			a[i] = float64(rng.IntN(8))
		}
		for i := range b {
			b[i] = float64(rng.IntN(8)) + float64(trial%3)*0.5
		}
		var want float64
		for _, x := range append(append([]float64{}, a...), b...) {
			want = math.Max(want, math.Abs(ecdf(a, x)-ecdf(b, x)))
		}
		require.InDelta(t, want, KSStatistic(a, b), 1e-12)
	}
}

func TestKolmogorovSFLimits(t *testing.T) {
	// For large n the distribution of √n·D_n tends to Kolmogorov's:
	// P(√n D > z) = 2 Σ (-1)^(k-1) exp(-2k²z²).
	limit := func(z float64) float64 {
		var s float64
		for k := 1; k < 100; k++ {
			s += 2 * math.Pow(-1, float64(k-1)) * math.Exp(-2*float64(k*k)*z*z)
		}
		return s
	}
	n := 1_000_000
	for _, z := range []float64{0.5, 0.8, 1.0, 1.36, 1.63} {
		require.InDelta(t, limit(z), KolmogorovSF(n, z/math.Sqrt(float64(n))), 2e-3, "z=%v", z)
	}
	require.Equal(t, 1.0, KolmogorovSF(10, 0))
	require.Equal(t, 0.0, KolmogorovSF(10, 1))
	require.True(t, math.IsNaN(KolmogorovSF(0, 0.5)))
}
