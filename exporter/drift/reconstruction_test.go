package drift

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// correlated draws (x1, x2) standard normal with correlation rho, and three independent
// standard normal features: every marginal is N(0, 1) whatever rho is.
func correlated(rng *rand.Rand, rho float64) [5]float64 {
	a, b := rng.NormFloat64(), rng.NormFloat64()
	return [5]float64{a, rho*a + math.Sqrt(1-rho*rho)*b, rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
}

var corrNames = [5]string{"x1", "x2", "x3", "x4", "x5"}

func correlatedProfile(t *testing.T, rng *rand.Rand, rows int) *Profile {
	t.Helper()
	b := NewBuilder(ProfileOptions{})
	for i := 0; i < rows; i++ {
		for j, v := range correlated(rng, 0.8) {
			if err := b.AddFloat(corrNames[j], v); err != nil {
				t.Fatal(err)
			}
		}
		b.EndRow()
	}
	return b.Profile()
}

// corrWindow bins n events into a drift window and their reconstruction errors.
func corrWindow(t *testing.T, p *Profile, rng *rand.Rand, n int, rho float64) (*Window, *ReconstructionWindow) {
	t.Helper()
	w := p.NewWindow()
	rc := p.Reconstruction
	var rw ReconstructionWindow
	z := make([]float64, len(rc.Features))
	for i := 0; i < n; i++ {
		clear(z)
		for j, v := range correlated(rng, rho) {
			f, k := p.Feature(corrNames[j])
			if err := f.AddFloat(&w.Histograms[k], v); err != nil {
				t.Fatal(err)
			}
			if c := rc.Index(corrNames[j]); c >= 0 {
				rc.Standardise(z, c, v)
			}
		}
		rw.Add(rc.Error(z))
	}
	return w, &rw
}

// TestReconstructionSeesFlippedCorrelation: each feature keeps its N(0, 1) distribution but
// the correlation of x1 and x2 flips from +0.8 to −0.8. No univariate method can see it; the
// reconstruction error must. Windows without the flip must stay quiet.
func TestReconstructionSeesFlippedCorrelation(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	p := correlatedProfile(t, rng, 20000)
	rc := p.Reconstruction
	if rc == nil {
		t.Fatal("no reconstruction fitted from 20,000 rows of 5 numeric features")
	}
	t.Logf("kept %d of %d components explaining %.3f of the variance; reference error %.4f ± %.4f",
		rc.K, len(rc.Features), rc.Explained, rc.ErrorMean, rc.ErrorStd)
	if rc.Explained < DefaultVarianceShare || rc.K >= len(rc.Features) {
		t.Fatalf("k %d explains %.3f, want the fewest components reaching %.2f", rc.K, rc.Explained, DefaultVarianceShare)
	}

	var quietAlarms int
	for trial := 0; trial < 20; trial++ {
		_, rw := corrWindow(t, p, rng, 2000, 0.8)
		if rc.Judge(rw, 0).Drifted {
			quietAlarms++
		}
	}
	if quietAlarms > 2 {
		t.Errorf("reconstruction drift fired in %d of 20 windows without drift", quietAlarms)
	}

	w, rw := corrWindow(t, p, rng, 2000, -0.8)
	rep, err := Compare(p, w, Config{Scores: Methods()})
	if err != nil {
		t.Fatal(err)
	}
	for _, fr := range rep.Features {
		if fr.Drifted {
			t.Errorf("feature %s: univariate drift by %s (%v) on unchanged marginals", fr.Feature, fr.Method, fr.Value)
		}
		for _, s := range fr.Scores {
			if s.Method.IsTest() && s.PValue < 0.001 {
				t.Errorf("feature %s: %s p-value %g on unchanged marginals", fr.Feature, s.Method, s.PValue)
			}
		}
	}
	res := rc.Judge(rw, 0)
	t.Logf("flipped correlation: error %.4f against bounds [%.4f, %.4f]", res.Error, res.Lower, res.Upper)
	if !res.Drifted || res.Error <= res.Upper {
		t.Errorf("reconstruction drift missed the flipped correlation: error %.4f, upper bound %.4f", res.Error, res.Upper)
	}
}

// TestReconstructionFitAgainstNumPy checks the fit on a small fixed sample against a direct
// computation: standardise, covariance, eigenvectors, error = distance to the projection.
func TestReconstructionErrorIsDistanceToProjection(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := correlatedProfile(t, rng, 500)
	rc := p.Reconstruction
	d := len(rc.Features)
	// The components are orthonormal.
	for a := 0; a < rc.K; a++ {
		for b := 0; b < rc.K; b++ {
			var dot float64
			for j := 0; j < d; j++ {
				dot += rc.Components[a*d+j] * rc.Components[b*d+j]
			}
			want := 0.0
			if a == b {
				want = 1
			}
			if math.Abs(dot-want) > 1e-9 {
				t.Fatalf("components %d·%d = %v, want %v", a, b, dot, want)
			}
		}
	}
	// Error equals ‖z − VVᵀz‖ computed the long way.
	z := []float64{1.5, -0.3, 0.2, 2.0, -1.1}
	recon := make([]float64, d)
	for c := 0; c < rc.K; c++ {
		var dot float64
		for j := 0; j < d; j++ {
			dot += rc.Components[c*d+j] * z[j]
		}
		for j := 0; j < d; j++ {
			recon[j] += dot * rc.Components[c*d+j]
		}
	}
	var sq float64
	for j := range z {
		sq += (z[j] - recon[j]) * (z[j] - recon[j])
	}
	if got := rc.Error(z); math.Abs(got-math.Sqrt(sq)) > 1e-12 {
		t.Errorf("error %v, want %v", got, math.Sqrt(sq))
	}
}

// TestReconstructionProfileRoundTripAndValidate: the profile keeps the reconstruction through
// JSON, and a corrupt one is refused naming the field.
func TestReconstructionProfileRoundTripAndValidate(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	p := correlatedProfile(t, rng, 300)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var q Profile
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	if q.Reconstruction == nil || q.Reconstruction.K != p.Reconstruction.K {
		t.Fatal("reconstruction lost in JSON")
	}
	for name, mutate := range map[string]func(rc *Reconstruction){
		"reconstruction.features[1]": func(rc *Reconstruction) { rc.Features[1] = "nope" },
		"mean and std":               func(rc *Reconstruction) { rc.Std = rc.Std[:2] },
		"components":                 func(rc *Reconstruction) { rc.Components = rc.Components[:3] },
		"positive finite std":        func(rc *Reconstruction) { rc.Std[0] = 0 },
	} {
		var r Profile
		_ = json.Unmarshal(b, &r)
		mutate(r.Reconstruction)
		if err := r.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	// Without rows (EndRow never called) there is nothing to fit.
	nb := NewBuilder(ProfileOptions{})
	for i := 0; i < 500; i++ {
		_ = nb.AddFloat("a", rng.NormFloat64())
		_ = nb.AddFloat("b", rng.NormFloat64())
	}
	if nb.Profile().Reconstruction != nil {
		t.Error("a reconstruction without rows")
	}
}

// TestReconstructionAgainstScikitLearn checks the fit and the errors against scikit-learn's
// SimpleImputer(mean), StandardScaler and PCA(n_components=0.65)
// (testdata/make_reconstruction_vectors.py wrote the vectors).
func TestReconstructionAgainstScikitLearn(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "reconstruction-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Cases []struct {
			Name          string       `json:"name"`
			Reference     [][]*float64 `json:"reference"`
			Current       [][]*float64 `json:"current"`
			K             int          `json:"k"`
			Explained     float64      `json:"explained"`
			RefErrorMean  float64      `json:"reference_error_mean"`
			RefErrorStd   float64      `json:"reference_error_std"`
			CurErrorMean  float64      `json:"current_error_mean"`
			CurrentErrors []float64    `json:"current_errors"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) != 2 {
		t.Fatalf("want 2 cases, got %d", len(v.Cases))
	}
	for _, c := range v.Cases {
		b := NewBuilder(ProfileOptions{})
		names := make([]string, len(c.Reference[0]))
		for j := range names {
			names[j] = fmt.Sprint("f", j)
		}
		for _, row := range c.Reference {
			for j, x := range row {
				if x == nil {
					_ = b.AddNull(names[j])
				} else if err := b.AddFloat(names[j], *x); err != nil {
					t.Fatal(err)
				}
			}
			b.EndRow()
		}
		p := b.Profile()
		rc := p.Reconstruction
		if rc == nil {
			t.Fatalf("%s: no reconstruction", c.Name)
		}
		if rc.K != c.K || math.Abs(rc.Explained-c.Explained) > 1e-9 {
			t.Errorf("%s: k %d explaining %v, scikit-learn %d explaining %v", c.Name, rc.K, rc.Explained, c.K, c.Explained)
		}
		near := func(what string, want, got float64) {
			if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("%s: %s %v, scikit-learn %v", c.Name, what, got, want)
			}
		}
		near("reference error mean", c.RefErrorMean, rc.ErrorMean)
		near("reference error std", c.RefErrorStd, rc.ErrorStd)
		var w ReconstructionWindow
		z := make([]float64, len(rc.Features))
		for i, row := range c.Current {
			clear(z)
			for j, x := range row {
				if x != nil {
					rc.Standardise(z, rc.Index(names[j]), *x)
				}
			}
			e := rc.Error(z)
			w.Add(e)
			if i < len(c.CurrentErrors) {
				near(fmt.Sprint("error of current row ", i), c.CurrentErrors[i], e)
			}
		}
		near("current error mean", c.CurErrorMean, w.Sum/w.N)
	}
}

// Extreme values keep the error finite: standardised values are clamped.
func TestReconstructionExtremeValues(t *testing.T) {
	p := correlatedProfile(t, rand.New(rand.NewPCG(9, 9)), 200)
	rc := p.Reconstruction
	z := make([]float64, len(rc.Features))
	rc.Standardise(z, 0, 1e300)
	rc.Standardise(z, 1, math.Inf(-1))
	rc.Standardise(z, 2, math.NaN())
	e := rc.Error(z)
	if math.IsNaN(e) || math.IsInf(e, 0) || e <= 0 {
		t.Fatalf("error %v for extreme values, want a large finite number", e)
	}
	var w ReconstructionWindow
	for range 1000 {
		w.Add(e)
	}
	if r := rc.Judge(&w, 0); !r.Drifted || math.IsInf(r.Error, 0) {
		t.Fatalf("judged %+v", r)
	}
}
