package drift

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// Multivariate drift by data reconstruction (NannyML's method, re-derived): standardise the
// numeric features with the reference's means and standard deviations, fit PCA on the
// reference and keep the fewest components that explain VarianceShare of its variance, and
// measure each event by its reconstruction error, the Euclidean distance between the
// standardised event and its projection back from those components. A change in how the
// features vary together moves events off the reference's principal subspace, so the mean
// error over a window rises even when every feature's own distribution stays the same.

// Defaults of the reconstruction.
const (
	// DefaultVarianceShare is the share of the reference's variance the kept components
	// explain (NannyML's default, 0.65).
	DefaultVarianceShare = 0.65
	// DefaultReconstructionRows bounds the reference rows kept to fit the PCA (a uniform
	// reservoir of rows, 8·features bytes each).
	DefaultReconstructionRows = 10000
	// MaxReconstructionFeatures bounds the numeric features a reconstruction uses (the first
	// ones seen); the fit is O(features³) once, each event O(features·components).
	MaxReconstructionFeatures = 200
	// MinReconstructionRows is the fewest complete-enough reference rows a fit needs.
	MinReconstructionRows = 100
	// DefaultReconstructionSigmas is k in the bounds mean ± k·σ/√n (NannyML's 3).
	DefaultReconstructionSigmas = 3
)

// Reconstruction is the frozen reference of the data-reconstruction drift of a model
// version's numeric features.
type Reconstruction struct {
	// Features are the numeric features used, in the order of Mean, Std and the components'
	// rows; constant reference features are left out (they carry no variance).
	Features []string  `json:"features"`
	Mean     []float64 `json:"mean"`
	Std      []float64 `json:"std"`
	// Components holds the kept principal axes, one per row: k rows of len(Features) values,
	// row-major, orthonormal.
	Components    []float64 `json:"components"`
	K             int       `json:"k"`
	VarianceShare float64   `json:"variance_share"`
	// Explained is the share of the reference's variance the K components explain.
	Explained float64 `json:"explained"`
	// Rows is how many reference rows the fit used; ErrorMean and ErrorStd are the mean and
	// population standard deviation of their per-row reconstruction errors.
	Rows      float64 `json:"rows"`
	ErrorMean float64 `json:"error_mean"`
	ErrorStd  float64 `json:"error_std"`
}

// fitReconstruction fits the PCA on reference rows (NaN for a missing value, imputed with the
// mean, i.e. 0 once standardised, as NannyML imputes). It returns nil, nil when there is not
// enough to fit: fewer than two non-constant features or MinReconstructionRows rows.
func fitReconstruction(names []string, rows [][]float64, share float64) (*Reconstruction, error) {
	d := len(names)
	if d < 2 || len(rows) < MinReconstructionRows {
		return nil, nil
	}
	if !(share > 0 && share < 1) {
		return nil, fmt.Errorf("reconstruction: variance share must be in (0, 1), got %v", share)
	}
	mean := make([]float64, d)
	m2 := make([]float64, d)
	cnt := make([]float64, d)
	for _, r := range rows {
		for j := 0; j < d && j < len(r); j++ {
			if v := r[j]; !math.IsNaN(v) {
				cnt[j]++
				delta := v - mean[j]
				mean[j] += delta / cnt[j]
				m2[j] += delta * (v - mean[j])
			}
		}
	}
	var keep []int
	for j := range names {
		if cnt[j] > 0 && m2[j] > 0 {
			keep = append(keep, j)
		}
	}
	if len(keep) < 2 {
		return nil, nil
	}
	rc := &Reconstruction{VarianceShare: share, Rows: float64(len(rows))}
	for _, j := range keep {
		rc.Features = append(rc.Features, names[j])
		rc.Mean = append(rc.Mean, mean[j])
		// Missing values are imputed with the mean before scaling, as NannyML does, so they
		// count in the standard deviation's denominator and add nothing to its numerator.
		rc.Std = append(rc.Std, math.Sqrt(m2[j]/float64(len(rows))))
	}
	d = len(keep)
	z := mat.NewDense(len(rows), d, nil)
	for i, r := range rows {
		for c, j := range keep {
			if j < len(r) && !math.IsNaN(r[j]) {
				z.Set(i, c, (r[j]-rc.Mean[c])/rc.Std[c])
			}
		}
	}
	var cov mat.SymDense
	cov.SymOuterK(1/float64(len(rows)), z.T())
	var eig mat.EigenSym
	if !eig.Factorize(&cov, true) {
		return nil, errors.New("reconstruction: the eigendecomposition of the reference covariance did not converge")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	order := make([]int, d)
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return vals[order[a]] > vals[order[b]] })
	var total float64
	for _, v := range vals {
		total += math.Max(v, 0)
	}
	if total <= 0 {
		return nil, nil
	}
	var cum float64
	for _, i := range order {
		cum += math.Max(vals[i], 0)
		rc.K++
		for r := 0; r < d; r++ {
			rc.Components = append(rc.Components, vecs.At(r, i))
		}
		// Never keep every axis: the error would be 0 whatever happens.
		if cum/total >= share || rc.K == d-1 {
			break
		}
	}
	rc.Explained = cum / total
	var sum, sumSq float64
	zi := make([]float64, d)
	for i := range rows {
		copy(zi, z.RawRowView(i))
		e := rc.errorOf(zi)
		sum += e
		sumSq += e * e
	}
	n := float64(len(rows))
	rc.ErrorMean = sum / n
	rc.ErrorStd = math.Sqrt(math.Max(sumSq/n-rc.ErrorMean*rc.ErrorMean, 0))
	return rc, nil
}

// errorOf is the reconstruction error of a standardised row: the components are orthonormal,
// so ‖z − VVᵀz‖² = ‖z‖² − ‖Vᵀz‖², which costs one projection.
func (rc *Reconstruction) errorOf(z []float64) float64 {
	d := len(rc.Features)
	var norm, proj float64
	for _, v := range z {
		norm += v * v
	}
	for c := 0; c < rc.K; c++ {
		axis := rc.Components[c*d : c*d+d]
		var dot float64
		for j, v := range z {
			dot += axis[j] * v
		}
		proj += dot * dot
	}
	return math.Sqrt(math.Max(norm-proj, 0))
}

// maxZ bounds a standardised value: a million standard deviations already means "far off",
// and the bound keeps squares and sums of errors finite whatever an event sends.
const maxZ = 1e6

// Standardise writes feature j's standardised value into z (z must hold len(Features) values,
// zero for a missing one), clamped to ±maxZ; a NaN leaves z[j] as it was (missing).
func (rc *Reconstruction) Standardise(z []float64, j int, v float64) {
	x := (v - rc.Mean[j]) / rc.Std[j]
	if math.IsNaN(x) {
		return
	}
	z[j] = math.Max(-maxZ, math.Min(maxZ, x))
}

// Error is the reconstruction error of one event's standardised values (see Standardise).
func (rc *Reconstruction) Error(z []float64) float64 { return rc.errorOf(z) }

// Index returns the position of a feature in Features, or -1.
func (rc *Reconstruction) Index(name string) int { return slices.Index(rc.Features, name) }

// validate checks a reconstruction loaded from storage.
func (rc *Reconstruction) validate(p *Profile) error {
	d := len(rc.Features)
	if d < 2 || d > MaxReconstructionFeatures {
		return fmt.Errorf("reconstruction.features: want 2..%d, got %d", MaxReconstructionFeatures, d)
	}
	if len(rc.Mean) != d || len(rc.Std) != d {
		return fmt.Errorf("reconstruction: mean and std need %d values, got %d and %d", d, len(rc.Mean), len(rc.Std))
	}
	if rc.K < 1 || rc.K >= d || len(rc.Components) != rc.K*d {
		return fmt.Errorf("reconstruction: want 1 ≤ k < %d and k·%d components, got k %d and %d values", d, d, rc.K, len(rc.Components))
	}
	seen := map[string]bool{}
	for j, name := range rc.Features {
		if f, _ := p.Feature(name); f == nil || f.Kind != Numeric {
			return fmt.Errorf("reconstruction.features[%d]: %q is not a numeric feature of the profile", j, name)
		}
		if seen[name] {
			return fmt.Errorf("reconstruction.features[%d]: duplicate %q", j, name)
		}
		seen[name] = true
		if !finite(rc.Mean[j]) || !(rc.Std[j] > 0) || !finite(rc.Std[j]) {
			return fmt.Errorf("reconstruction: feature %q needs a finite mean and a positive finite std, got %v and %v", name, rc.Mean[j], rc.Std[j])
		}
	}
	for i, v := range rc.Components {
		if !finite(v) || math.Abs(v) > 1+1e-9 {
			return fmt.Errorf("reconstruction.components[%d]: want a finite value in [-1, 1], got %v", i, v)
		}
	}
	if !finiteNonNeg(rc.ErrorMean) || !finiteNonNeg(rc.ErrorStd) || !finiteNonNeg(rc.Rows) {
		return fmt.Errorf("reconstruction: error_mean, error_std and rows must be finite and non-negative, got %v, %v, %v", rc.ErrorMean, rc.ErrorStd, rc.Rows)
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// ReconstructionWindow accumulates the reconstruction errors of a window's events; it merges
// by adding and its size does not depend on the window's length.
type ReconstructionWindow struct {
	N     float64 `json:"n"`
	Sum   float64 `json:"sum"`
	SumSq float64 `json:"sum_sq"`
}

// Add records one event's error.
func (w *ReconstructionWindow) Add(e float64) {
	w.N++
	w.Sum += e
	w.SumSq += e * e
}

// Merge adds o into w.
func (w *ReconstructionWindow) Merge(o *ReconstructionWindow) {
	w.N += o.N
	w.Sum += o.Sum
	w.SumSq += o.SumSq
}

// Reset zeroes w.
func (w *ReconstructionWindow) Reset() { *w = ReconstructionWindow{} }

// ReconstructionResult is the verdict on a window.
type ReconstructionResult struct {
	// Error is the window's mean reconstruction error; Lower and Upper the bounds of the
	// reference's mean error for a sample of the window's size.
	Error, Lower, Upper float64
	Drifted             bool
	N                   float64
}

// Judge compares a window's mean error with the reference: drifted when it leaves
// ErrorMean ± sigmas·ErrorStd/√n. NannyML takes the standard deviation of the mean error over
// reference chunks; for a window of n events that is ErrorStd/√n when events are independent,
// which lets one reference serve a window of any length. sigmas ≤ 0 means
// DefaultReconstructionSigmas. With no events the result is NaN and not drifted.
func (rc *Reconstruction) Judge(w *ReconstructionWindow, sigmas float64) ReconstructionResult {
	if sigmas <= 0 {
		sigmas = DefaultReconstructionSigmas
	}
	r := ReconstructionResult{Error: math.NaN(), Lower: math.NaN(), Upper: math.NaN(), N: w.N}
	if w.N <= 0 {
		return r
	}
	r.Error = w.Sum / w.N
	half := sigmas * rc.ErrorStd / math.Sqrt(w.N)
	r.Lower, r.Upper = math.Max(rc.ErrorMean-half, 0), rc.ErrorMean+half
	r.Drifted = r.Error > r.Upper || r.Error < r.Lower
	return r
}
