package drift

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestTinyPValuesAgainstSciPy checks p-values far in the tail, down to about 1e-300, against
// SciPy and (for the exact two-sample KS) against exact rational path counts
// (testdata/make_tail_vectors.py wrote them). A p-value computed as 1 − P(inside) rounds to 0
// below about 1e-16, which breaks a −log₁₀ p panel; each must match to a relative 1e-6.
func TestTinyPValuesAgainstSciPy(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "tail-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Exact []struct {
			N1     int      `json:"n1"`
			N2     int      `json:"n2"`
			D      float64  `json:"d"`
			PSciPy *float64 `json:"p_scipy"`
			PExact float64  `json:"p_exact"`
		} `json:"ks_exact"`
		Kolmogorov []struct {
			N  int     `json:"n"`
			X  float64 `json:"x"`
			SF float64 `json:"sf"`
		} `json:"kolmogorov_sf"`
		Z []struct {
			N1, K1, N2, K2 float64
			Z              float64 `json:"z"`
			P              float64 `json:"p"`
		} `json:"z"`
		Chi2 []struct {
			Reference []float64 `json:"reference"`
			Current   []float64 `json:"current"`
			Statistic float64   `json:"statistic"`
			P         float64   `json:"p"`
		} `json:"chi2"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Exact) == 0 || len(v.Kolmogorov) == 0 || len(v.Z) == 0 || len(v.Chi2) == 0 {
		t.Fatal("tail-vectors.json: a group is empty")
	}
	rel := func(what string, want, got float64) {
		t.Helper()
		if want <= 0 || !(math.Abs(got-want) <= 1e-6*want) {
			t.Errorf("%s: got %g, want %g (relative error %.2g)", what, got, want, math.Abs(got-want)/want)
		}
	}
	var smallest float64 = 1
	for _, c := range v.Exact {
		got := KSExactPValue(c.D, c.N1, c.N2)
		rel("exact KS p (path count)", c.PExact, got)
		if c.PSciPy != nil {
			rel("exact KS p (SciPy)", *c.PSciPy, got)
		}
		p, exact := KSPValue(c.D, c.N1, c.N2)
		if !exact || p != got {
			t.Errorf("KSPValue(%v, %d, %d) = %g (exact %v), want the exact %g", c.D, c.N1, c.N2, p, exact, got)
		}
		smallest = min(smallest, c.PExact)
	}
	for _, c := range v.Kolmogorov {
		rel("kstwo.sf", c.SF, KolmogorovSF(c.N, c.X))
		smallest = min(smallest, c.SF)
	}
	for _, c := range v.Z {
		z, p := TwoProportionZ(c.N1, c.K1, c.N2, c.K2)
		rel("z", c.Z, z)
		rel("z-test p", c.P, p)
	}
	for _, c := range v.Chi2 {
		stat, p, _ := ChiSquare(c.Reference, c.Current)
		rel("chi2", c.Statistic, stat)
		rel("chi2 p", c.P, p)
	}
	if smallest > 1e-250 {
		t.Errorf("the vectors reach only %g; they should reach about 1e-300", smallest)
	}
}
