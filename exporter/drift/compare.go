package drift

import (
	"fmt"
	"math"
	"slices"
)

// Method names a drift statistic; the value is the `method` (or `test`) label of the exported
// metrics.
type Method string

// The drift methods.
const (
	MethodPSI         Method = "psi"
	MethodKL          Method = "kl"
	MethodJS          Method = "js"
	MethodHellinger   Method = "hellinger"
	MethodWasserstein Method = "wasserstein" // normed by the reference standard deviation
	MethodKS          Method = "ks"
	MethodChi2        Method = "chi2"
	MethodZ           Method = "z"
)

// Methods returns every method, in a fixed order (a fresh slice: there is no package state).
func Methods() []Method {
	return []Method{MethodPSI, MethodKL, MethodJS, MethodHellinger, MethodWasserstein, MethodKS, MethodChi2, MethodZ}
}

// IsTest reports whether the method is a hypothesis test, judged by its p-value.
func (m Method) IsTest() bool { return m == MethodKS || m == MethodChi2 || m == MethodZ }

// DefaultThreshold is Evidently's threshold: a p-value below which (KS: at or below which) a
// test says drift, or a distance at or above which it does.
func (m Method) DefaultThreshold() float64 {
	if m.IsTest() {
		return 0.05
	}
	return 0.1
}

// ParseMethod checks a method name from configuration.
func ParseMethod(s string) (Method, error) {
	for _, m := range Methods() {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown drift method %q; want one of %v", s, Methods())
}

// Reasons a feature was not judged by its preferred method, exported as a label value.
const (
	ReasonReferenceEmpty    = "reference_empty"
	ReasonReferenceTooSmall = "reference_too_small"
	ReasonWindowEmpty       = "window_empty"
	ReasonWindowTooSmall    = "window_too_small"
	ReasonNotApplicable     = "method_not_applicable" // override ignored, default used
	ReasonUnseenValues      = "unseen_values"         // z-test switched to chi-square
)

// Config chooses methods and thresholds. The zero value gives the defaults.
type Config struct {
	// Method overrides the verdict method per feature.
	Method map[string]Method
	// Threshold overrides a method's threshold (all features), ThresholdFor per feature.
	Threshold    map[Method]float64
	ThresholdFor map[string]float64
	// Scores are computed for every feature they apply to, besides the verdict method. Default:
	// psi, kl, js, hellinger and wasserstein — the cheap ones. The tests cost more, so they run
	// only as the verdict method or when listed here: KS's exact p-value is O(n·m·D), and its
	// asymptotic one for n·m/(n+m) above 10⁵ sums up to n terms (about 0.1–0.5 s at 10⁶).
	Scores []Method
	// SmallReference is the largest reference (non-null rows) judged by p-values; larger
	// references are judged by distances (default 1000, Evidently's split).
	SmallReference float64
	// MinReferenceRows below which a feature is not judged (default 30); MinWindowRows the same
	// for the window (default 30). Evidently judges any window, even of one row; a verdict on a
	// handful of events is noise that pages someone (ten events flagged a feature in a demo),
	// so a window too small says so (reason window_too_small) instead.
	MinReferenceRows float64
	MinWindowRows    float64
	// DriftShare is the share of drifted features at or above which the dataset counts as
	// drifted (default 0.5).
	DriftShare float64
	// Outputs are features (the prediction) scored like others but left out of the dataset share.
	Outputs []string
}

func (c Config) withDefaults() Config {
	if c.Scores == nil {
		c.Scores = []Method{MethodPSI, MethodKL, MethodJS, MethodHellinger, MethodWasserstein}
	}
	if c.SmallReference <= 0 {
		c.SmallReference = 1000
	}
	if c.MinReferenceRows <= 0 {
		c.MinReferenceRows = 30
	}
	if c.MinWindowRows <= 0 {
		c.MinWindowRows = 30
	}
	if c.DriftShare <= 0 {
		c.DriftShare = 0.5
	}
	return c
}

func (c Config) threshold(feature string, m Method) float64 {
	if t, ok := c.ThresholdFor[feature]; ok {
		return t
	}
	if t, ok := c.Threshold[m]; ok {
		return t
	}
	return m.DefaultThreshold()
}

// Score is one method's result. PValue is NaN for distances.
type Score struct {
	Method Method
	Value  float64
	PValue float64
}

// FeatureResult is one feature's verdict.
type FeatureResult struct {
	Feature string
	Kind    Kind
	// Method decides Drifted; Value and PValue are its result, Threshold its threshold.
	Method    Method
	Value     float64
	PValue    float64
	Threshold float64
	Drifted   bool
	// Judged is false when the feature could not be judged; Reason says why. Reason may also
	// be set when it was judged by another method than asked for.
	Judged bool
	Reason string
	// Rows and Nulls are the window's non-null and null counts.
	Rows, Nulls float64
	// OutOfRange counts window values outside the reference: below its minimum or above its
	// maximum (numeric), or outside its category set (categorical) — the data-quality signal
	// behind aiops_feature_outlier_ratio (OutOfRange/Rows).
	OutOfRange float64
	Scores     []Score
}

// Report is the verdict on a whole window.
type Report struct {
	Features []FeatureResult
	// Judged counts the judged input features (Outputs excluded), Drifted those that drifted.
	Judged, Drifted int
	Share           float64 // Drifted / Judged, 0 when nothing was judged
	DatasetDrifted  bool
}

// Compare judges a window against a profile.
func Compare(p *Profile, w *Window, cfg Config) (*Report, error) {
	if len(w.Histograms) != len(p.Features) {
		return nil, fmt.Errorf("compare: window has %d features, profile %d", len(w.Histograms), len(p.Features))
	}
	cfg = cfg.withDefaults()
	r := &Report{Features: make([]FeatureResult, len(p.Features))}
	for i, f := range p.Features {
		h := &w.Histograms[i]
		if len(h.Counts) != f.cells() || len(h.Sums) != len(f.NewHistogram().Sums) {
			return nil, fmt.Errorf("compare: feature %q: histogram has %d cells, profile %d", f.Name, len(h.Counts), f.cells())
		}
		r.Features[i] = f.compare(h, cfg)
		if slices.Contains(cfg.Outputs, f.Name) || !r.Features[i].Judged {
			continue
		}
		r.Judged++
		if r.Features[i].Drifted {
			r.Drifted++
		}
	}
	if r.Judged > 0 {
		r.Share = float64(r.Drifted) / float64(r.Judged)
		r.DatasetDrifted = r.Share >= cfg.DriftShare
	}
	return r, nil
}

// DefaultMethod is the method Evidently would pick for this feature: by reference size
// (≤ small: tests, else distances) and by type and number of distinct reference values
// (numeric with more than 5: KS / Wasserstein; categorical or ≤ 5 values: chi-square / JS;
// two values or boolean: z-test / JS).
func (f *FeatureProfile) DefaultMethod(smallReference float64) Method {
	small := f.Rows <= smallReference
	binary := f.Kind == Boolean || f.Distinct <= 2
	switch {
	case binary && small:
		return MethodZ
	case f.Kind == Numeric && f.Distinct > 5 && small:
		return MethodKS
	case f.Kind == Numeric && f.Distinct > 5:
		return MethodWasserstein
	case small:
		return MethodChi2
	default:
		return MethodJS
	}
}

// Applies reports whether a method can judge this feature.
func (f *FeatureProfile) Applies(m Method) bool {
	switch m {
	case MethodKS, MethodWasserstein:
		return f.Kind == Numeric
	case MethodZ:
		return f.Kind == Boolean || f.Distinct <= 2
	default:
		return true
	}
}

func (f *FeatureProfile) compare(h *Histogram, cfg Config) FeatureResult {
	res := FeatureResult{Feature: f.Name, Kind: f.Kind, Rows: h.Rows(), Nulls: h.Nulls, OutOfRange: f.OutOfRange(h), Value: math.NaN(), PValue: math.NaN()}
	method := f.DefaultMethod(cfg.SmallReference)
	if m, ok := cfg.Method[f.Name]; ok {
		if f.Applies(m) {
			method = m
		} else {
			res.Reason = ReasonNotApplicable
		}
	}
	switch {
	case f.Rows == 0:
		res.Reason = ReasonReferenceEmpty
	case f.Rows < cfg.MinReferenceRows:
		res.Reason = ReasonReferenceTooSmall
	case res.Rows == 0 || h.Unbinned > 0 && res.Rows == h.Unbinned:
		res.Reason = ReasonWindowEmpty
	case res.Rows < cfg.MinWindowRows:
		res.Reason = ReasonWindowTooSmall
	}
	res.Method = method
	res.Threshold = cfg.threshold(f.Name, method)
	if res.Reason != "" && res.Reason != ReasonNotApplicable {
		return res
	}
	bins := f.Bins(h.Counts)
	if method == MethodZ && f.Kind != Boolean && bins[len(bins)-1] > 0 {
		// A third value appeared: a two-proportion test cannot see it, chi-square can.
		method, res.Reason = MethodChi2, ReasonUnseenValues
		res.Method, res.Threshold = method, cfg.threshold(f.Name, method)
	}
	want := append([]Method{method}, cfg.Scores...)
	for _, m := range Methods() {
		if !slices.Contains(want, m) || !f.Applies(m) {
			continue
		}
		s := f.score(m, h, bins)
		res.Scores = append(res.Scores, s)
		if m == method {
			res.Value, res.PValue = s.Value, s.PValue
		}
	}
	res.Judged = true
	switch method {
	case MethodKS:
		res.Drifted = res.PValue <= res.Threshold
	case MethodChi2, MethodZ:
		res.Drifted = res.PValue < res.Threshold
	default:
		res.Drifted = res.Value >= res.Threshold
	}
	return res
}

func (f *FeatureProfile) score(m Method, h *Histogram, bins []float64) Score {
	s := Score{Method: m, Value: math.NaN(), PValue: math.NaN()}
	switch m {
	case MethodPSI:
		s.Value = PSI(f.refBins, bins)
	case MethodKL:
		s.Value = KL(f.refBins, bins)
	case MethodJS:
		s.Value = JS(f.refBins, bins)
	case MethodHellinger:
		s.Value = Hellinger(f.refBins, bins)
	case MethodChi2:
		s.Value, s.PValue, _ = ChiSquare(f.refBins, bins)
	case MethodZ:
		var nr, nc float64
		for i := range bins {
			nr += f.refBins[i]
			nc += bins[i]
		}
		s.Value, s.PValue = TwoProportionZ(nr, f.refBins[0], nc, bins[0])
	case MethodKS:
		d := f.cellKS(h)
		s.Value = d
		s.PValue, _ = KSPValue(d, int(math.Round(f.ksRows())), int(math.Round(h.Rows())))
	case MethodWasserstein:
		s.Value = f.cellWasserstein(h) / math.Max(f.Std, MinStdForNorm)
	}
	return s
}

// cellKS is sup |F_ref − F_cur| evaluated after every fine cell. When the profile is Exact the
// reference has no values inside open cells, so the supremum is reached at a cell end and the
// result equals the raw-sample statistic; otherwise it is a lower bound within one cell share.
func (f *FeatureProfile) cellKS(h *Histogram) float64 {
	var nr, nc float64
	for i := range h.Counts {
		nr += f.RefCells[i]
		nc += h.Counts[i]
	}
	var fr, fc, d float64
	for i := range h.Counts {
		fr += f.RefCells[i]
		fc += h.Counts[i]
		d = math.Max(d, math.Abs(fr/nr-fc/nc))
	}
	return d
}

// cellWasserstein is ∫|F_ref − F_cur| dx over the fine cells. Beyond the reference extremes one
// CDF is 0 or 1, so the per-cell sums give the integral exactly; inside a cell it is exact when
// the CDFs do not cross there and otherwise assumes values spread evenly over the cell.
func (f *FeatureProfile) cellWasserstein(h *Histogram) float64 {
	var nr, nc float64
	for i := range h.Counts {
		nr += f.RefCells[i]
		nc += h.Counts[i]
	}
	e := f.Edges
	last := len(h.Counts) - 1
	// ∫ over the low tail of F is Σ(e₀ − x)/n, over the high tail of 1−F is Σ(x − e_m)/n.
	w := math.Abs((f.RefCells[0]*e[0]-f.RefSums[0])/nr - (h.Counts[0]*e[0]-h.Sums[0])/nc)
	w += math.Abs((f.RefSums[last]-f.RefCells[last]*e[len(e)-1])/nr - (h.Sums[last]-h.Counts[last]*e[len(e)-1])/nc)
	fr, fc := f.RefCells[0]/nr, h.Counts[0]/nc
	for c := 1; c < last; c++ {
		rr, cc := f.RefCells[c]/nr, h.Counts[c]/nc
		if c%2 == 0 { // open cell (a, b)
			a, b := e[c/2-1], e[c/2]
			width := b - a
			ga, gb := fr-fc, fr+rr-fc-cc
			if ga*gb >= 0 {
				ir := fr*width + (f.RefCells[c]*b-f.RefSums[c])/nr
				ic := fc*width + (h.Counts[c]*b-h.Sums[c])/nc
				w += math.Abs(ir - ic)
			} else {
				w += width * (ga*ga + gb*gb) / (2 * (math.Abs(ga) + math.Abs(gb)))
			}
		}
		fr += rr
		fc += cc
	}
	return w
}

// OutOfRange counts the histogram's values outside the reference: the two open-ended tail cells
// of a numeric feature (plus values binned nowhere because the reference was empty), or the
// unseen bin of a categorical one.
func (f *FeatureProfile) OutOfRange(h *Histogram) float64 {
	switch f.Kind {
	case Numeric:
		if len(h.Counts) == 0 {
			return h.Unbinned
		}
		return h.Counts[0] + h.Counts[len(h.Counts)-1]
	case Categorical:
		return h.Counts[len(h.Counts)-1]
	default:
		return 0
	}
}

// Warnings lists what an operator should know about a profile before trusting its verdicts, in
// words fit for a log line or an API response: features that will not be judged for lack of
// reference rows, references judged by p-values on few rows, and categories past the limit.
func (p *Profile) Warnings(cfg Config) []string {
	cfg = cfg.withDefaults()
	var out []string
	for _, f := range p.Features {
		switch {
		case f.Rows == 0:
			out = append(out, fmt.Sprintf("feature %q: no non-null reference value; it will not be judged (reason %s)", f.Name, ReasonReferenceEmpty))
			continue
		case f.Rows < cfg.MinReferenceRows:
			out = append(out, fmt.Sprintf("feature %q: %v reference rows, fewer than the %v needed; it will not be judged (reason %s)", f.Name, f.Rows, cfg.MinReferenceRows, ReasonReferenceTooSmall))
			continue
		}
		if f.Kind == Categorical && f.Distinct > len(f.Categories) {
			out = append(out, fmt.Sprintf("feature %q: %d reference categories, only the %d most frequent are kept; the rest share bin %s", f.Name, f.Distinct, len(f.Categories), UnseenBin))
		}
		if f.Kind == Numeric && f.Sampled {
			out = append(out, fmt.Sprintf("feature %q: %v reference rows; bins and KS/Wasserstein cells come from a uniform sample of them", f.Name, f.Rows))
		}
	}
	return out
}
