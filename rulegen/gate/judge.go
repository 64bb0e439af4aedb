package gate

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"
)

// Verdict is the outcome of a criterion or of the whole gate.
type Verdict string

// Verdicts. Inconclusive means "not enough evidence either way yet": CI and rollout tools wait.
const (
	Pass         Verdict = "pass"
	Fail         Verdict = "fail"
	Inconclusive Verdict = "inconclusive"
)

// Method names, as reported per criterion.
const (
	MethodSequential = "sequential" // always-valid confidence sequence (normal mixture)
	MethodFixed      = "fixed"      // one planned look
)

// Settings are the statistical settings of a gate evaluation.
type Settings struct {
	// Alpha is the error rate of the whole gate: the chance that equal versions fail, and that
	// a version worse by a margin passes. It is split evenly (Bonferroni) over the
	// statistical criteria.
	Alpha float64
	// MinSamples is the sample per version below which a statistical criterion is inconclusive.
	MinSamples float64
	// PlanSamples is the sample per version where the confidence sequence is tuned to be
	// narrowest (it stays valid at every size).
	PlanSamples float64
	// Method is MethodSequential (default) or MethodFixed.
	Method string
}

// DefaultSettings are the documented defaults.
func DefaultSettings() Settings {
	return Settings{Alpha: 0.05, MinSamples: 200, PlanSamples: 5000, Method: MethodSequential}
}

// Validate names the first bad setting.
func (s Settings) Validate() error {
	switch {
	case !(s.Alpha > 0 && s.Alpha < 0.5):
		return fmt.Errorf("alpha: expected a number in (0, 0.5), got %v", s.Alpha)
	case !(s.MinSamples >= 1) || math.IsInf(s.MinSamples, 0):
		return fmt.Errorf("min-samples: expected a count >= 1, got %v", s.MinSamples)
	case !(s.PlanSamples >= 1) || math.IsInf(s.PlanSamples, 0):
		return fmt.Errorf("plan-samples: expected a count >= 1, got %v", s.PlanSamples)
	case s.Method != MethodSequential && s.Method != MethodFixed:
		return fmt.Errorf("method: expected %q or %q, got %q", MethodSequential, MethodFixed, s.Method)
	}
	return nil
}

// Count is a binomial sample: X successes (or events) out of N.
type Count struct {
	X float64 `json:"x"`
	N float64 `json:"n"`
}

// Arm is what a criterion reports of one version.
type Arm struct {
	N     float64  `json:"n"`
	Value *float64 `json:"value,omitempty"`
}

// Criterion is the judgement of one gate criterion.
type Criterion struct {
	Name    string  `json:"name"`
	Verdict Verdict `json:"verdict"`
	// Kind: difference (candidate − baseline of a proportion), superiority (probability that
	// a candidate request is slower than a baseline one), exceedance (share of candidate
	// requests above a latency limit), bound (a point value against a limit), hard (a
	// condition with no sampling error).
	Kind   string `json:"kind"`
	Method string `json:"method,omitempty"`
	// Estimate is the effect size; Interval its interval at Level (both absent without data).
	Estimate *float64  `json:"estimate"`
	Interval *Interval `json:"interval,omitempty"`
	Level    float64   `json:"level,omitempty"`
	// Margin is the non-inferiority margin; Limit the bound of a bound or exceedance.
	Margin    *float64 `json:"margin,omitempty"`
	Limit     *float64 `json:"limit,omitempty"`
	PValue    *float64 `json:"p_value,omitempty"`
	Candidate *Arm     `json:"candidate,omitempty"`
	Baseline  *Arm     `json:"baseline,omitempty"`
	// SampleNeeded is the further sample per version (labelled predictions or requests) an
	// inconclusive criterion needs: to reach the minimum, or, past it, for the interval to
	// clear the nearer decision boundary if the current estimate holds.
	SampleNeeded float64 `json:"sample_needed,omitempty"`
	// Estimated is accuracy estimated from prediction scores (CBPE) while labelled predictions
	// are below the minimum: shown for information, never a basis for pass or fail.
	Estimated *Estimated `json:"estimated,omitempty"`
	Detail    string     `json:"detail"`
	Queries   []string   `json:"queries,omitempty"`
}

// Estimated is the exporter's CBPE estimate of accuracy per version
// (aiops_model_estimated_accuracy averaged over the range).
type Estimated struct {
	Candidate  float64 `json:"candidate"`
	Baseline   float64 `json:"baseline"`
	Difference float64 `json:"difference"`
}

func ptr(v float64) *float64 { return &v }

// width returns the half-width of the interval for an estimator of variance v.
type width func(v float64) float64

func (s Settings) width(alpha, vPlan float64) width {
	if s.Method == MethodFixed {
		z := distuv.UnitNormal.Quantile(1 - alpha/2)
		return func(v float64) float64 { return z * math.Sqrt(v) }
	}
	m := MixtureFor(alpha, vPlan)
	return func(v float64) float64 { return m.HalfWidth(v, alpha) }
}

// needed returns the further sample per version (scaling both from n) for the half-width to
// drop below target, or +Inf when no sample does.
func needed(w width, v, n, target float64) float64 {
	if target <= 0 || v <= 0 {
		return math.Inf(1)
	}
	if w(v) < target {
		return 0
	}
	lo, hi := n, n
	for w(v*n/hi) >= target {
		lo = hi
		hi *= 2
		if hi > 1e12 {
			return math.Inf(1)
		}
	}
	for hi-lo > 1 {
		mid := math.Floor((lo + hi) / 2)
		if w(v*n/mid) < target {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi - n
}

// ProportionInput is a proportion criterion: candidate and baseline counts, the direction in
// which the metric is better, and the margin by which the candidate may be worse.
type ProportionInput struct {
	Name         string
	Candidate    Count
	Baseline     Count
	HigherBetter bool
	Margin       float64
}

// JudgeProportion judges a difference of proportions with a non-inferiority margin. With the
// difference d = candidate − baseline oriented so that positive is better, the criterion
// passes when the interval's worse end is above −margin (non-inferior), fails when its better
// end is below 0 (significantly worse and not shown within the margin), and is inconclusive
// otherwise. The false-pass rate for a candidate worse by the margin and the false-fail rate
// for an equal candidate are each at most alpha.
func (s Settings) JudgeProportion(in ProportionInput, alpha float64) Criterion {
	c := Criterion{Name: in.Name, Kind: "difference", Method: s.Method, Margin: ptr(in.Margin), Level: 1 - alpha,
		Candidate: &Arm{N: in.Candidate.N}, Baseline: &Arm{N: in.Baseline.N}}
	unit := "labelled predictions"
	if in.Name != "accuracy" {
		unit = "observations"
	}
	if in.Candidate.N > 0 {
		c.Candidate.Value = ptr(in.Candidate.X / in.Candidate.N)
	}
	if in.Baseline.N > 0 {
		c.Baseline.Value = ptr(in.Baseline.X / in.Baseline.N)
	}
	n := math.Min(in.Candidate.N, in.Baseline.N)
	if n < s.MinSamples {
		c.Verdict = Inconclusive
		c.SampleNeeded = math.Ceil(s.MinSamples - n)
		c.Detail = fmt.Sprintf("%s %s and %s for the baseline, below the minimum of %s per version",
			fmtN(in.Candidate.N), unit, fmtN(in.Baseline.N), fmtN(s.MinSamples))
		if n > 0 {
			d := in.Candidate.X/in.Candidate.N - in.Baseline.X/in.Baseline.N
			c.Estimate = &d
		}
		return c
	}
	d := in.Candidate.X/in.Candidate.N - in.Baseline.X/in.Baseline.N
	v := DiffVariance(in.Candidate.X, in.Candidate.N, in.Baseline.X, in.Baseline.N)
	w := s.width(alpha, 0.5/s.PlanSamples)
	var iv Interval
	if s.Method == MethodFixed {
		iv = Newcombe(in.Candidate.X, in.Candidate.N, in.Baseline.X, in.Baseline.N, alpha)
		// Mirror the counts for a lower-is-better metric so one test serves both.
		xc, xb := in.Candidate.X, in.Baseline.X
		if !in.HigherBetter {
			xc, xb = in.Candidate.N-xc, in.Baseline.N-xb
		}
		_, p := NonInferiorityZ(xc, in.Candidate.N, xb, in.Baseline.N, in.Margin)
		c.PValue = &p
	} else {
		h := w(v)
		iv = Interval{Lower: d - h, Upper: d + h}
	}
	c.Estimate, c.Interval = &d, &iv
	// Orient: better is "good" positive.
	worse, better, est := iv.Lower, iv.Upper, d
	if !in.HigherBetter {
		worse, better, est = -iv.Upper, -iv.Lower, -d
	}
	switch {
	case worse > -in.Margin:
		c.Verdict = Pass
		c.Detail = fmt.Sprintf("non-inferior: the candidate is at worst %s behind (margin %s)", fmtP(math.Max(0, -worse)), fmtP(in.Margin))
	case better < 0:
		c.Verdict = Fail
		c.Detail = fmt.Sprintf("worse than the baseline by %s to %s (margin %s)", fmtP(-better), fmtP(-worse), fmtP(in.Margin))
	default:
		c.Verdict = Inconclusive
		target := est + in.Margin // distance to the pass boundary
		if est < -in.Margin/2 {
			target = -est // distance to the fail boundary
		}
		c.SampleNeeded = needed(w, v, n, target)
		c.Detail = fmt.Sprintf("the interval spans both the margin %s and no difference", fmtP(in.Margin))
	}
	return c
}

// ExceedanceInput is a latency bound: the candidate's q-quantile must be at most Limit, i.e.
// at most a share 1−q of requests may be slower than Limit.
type ExceedanceInput struct {
	Name     string
	Buckets  []Bucket
	Quantile float64
	Limit    float64
}

// JudgeExceedance judges a quantile bound as a proportion: the share of requests slower than
// the limit, counted from the histogram buckets (exact when the limit is a bucket bound).
func (s Settings) JudgeExceedance(in ExceedanceInput, alpha float64) Criterion {
	total, up, low := Exceedance(in.Buckets, in.Limit)
	share := math.Round((1-in.Quantile)*1e12) / 1e12
	c := Criterion{Name: in.Name, Kind: "exceedance", Method: s.Method, Limit: ptr(share), Level: 1 - alpha, Candidate: &Arm{N: total}}
	q := Quantile(in.Buckets, in.Quantile)
	qs := "no data"
	if !math.IsNaN(q) {
		c.Candidate.Value = ptr(q)
		qs = spec4(q) + "s"
		if t, above, _ := Exceedance(in.Buckets, q); above/t > share {
			// The quantile lies in the +Inf bucket: only its lower end is known.
			qs = "above " + qs
		}
	}
	if total < s.MinSamples {
		c.Verdict = Inconclusive
		c.SampleNeeded = math.Ceil(s.MinSamples - total)
		c.Detail = fmt.Sprintf("%s requests, below the minimum of %s; p%s %s (limit %ss)", fmtN(total), fmtN(s.MinSamples), pct(in.Quantile), qs, spec4(in.Limit))
		if total > 0 {
			c.Estimate = ptr(up / total)
		}
		return c
	}
	w := s.width(alpha, 0.25/s.PlanSamples)
	var iv Interval
	if s.Method == MethodFixed {
		iv = Interval{Lower: Wilson(low, total, alpha).Lower, Upper: Wilson(up, total, alpha).Upper}
	} else {
		pu, pl := smoothed(up, total), smoothed(low, total)
		iv = Interval{Lower: low/total - w(pl*(1-pl)/total), Upper: up/total + w(pu*(1-pu)/total)}
	}
	c.Estimate, c.Interval = ptr(up/total), &iv
	switch {
	case iv.Upper < share:
		c.Verdict = Pass
	case iv.Lower > share:
		c.Verdict = Fail
	default:
		c.Verdict = Inconclusive
		p := smoothed(up, total)
		target := share - up/total
		if up/total > share {
			target = low/total - share
		}
		c.SampleNeeded = needed(w, p*(1-p)/total, total, target)
	}
	c.Detail = fmt.Sprintf("%s to %s of requests slower than %ss (at most %s allowed); p%s %s",
		fmtP(math.Max(0, iv.Lower)), fmtP(math.Min(1, iv.Upper)), spec4(in.Limit), fmtP(share), pct(in.Quantile), qs)
	return c
}

// ShiftInput compares candidate and baseline latency histograms.
type ShiftInput struct {
	Name      string
	Candidate []Bucket
	Baseline  []Bucket
	// Margin is how far above 0.5 the probability that a candidate request is slower than a
	// baseline one may be.
	Margin float64
}

// JudgeShift judges the latency shift with the Mann-Whitney effect size θ = P(candidate
// slower) + ½P(same bucket): pass when θ's interval is below 0.5+Margin, fail when it is above
// 0.5 (the candidate is slower, and not shown within the margin).
func (s Settings) JudgeShift(in ShiftInput, alpha float64) Criterion {
	mw := CompareHistograms(in.Candidate, in.Baseline)
	c := Criterion{Name: in.Name, Kind: "superiority", Method: s.Method, Margin: ptr(in.Margin), Level: 1 - alpha,
		Candidate: &Arm{N: mw.NC}, Baseline: &Arm{N: mw.NB}}
	if q := Quantile(in.Candidate, 0.5); !math.IsNaN(q) {
		c.Candidate.Value = ptr(q)
	}
	if q := Quantile(in.Baseline, 0.5); !math.IsNaN(q) {
		c.Baseline.Value = ptr(q)
	}
	n := math.Min(mw.NC, mw.NB)
	if n < s.MinSamples {
		c.Verdict = Inconclusive
		c.SampleNeeded = math.Ceil(s.MinSamples - n)
		c.Detail = fmt.Sprintf("%s candidate and %s baseline requests, below the minimum of %s per version", fmtN(mw.NC), fmtN(mw.NB), fmtN(s.MinSamples))
		if n > 0 {
			c.Estimate = ptr(mw.Theta)
		}
		return c
	}
	v := mw.Var
	if v <= 0 {
		// All in one bucket on both sides: fall back to the variance under H0 without ties.
		v = (mw.NC + mw.NB + 1) / (12 * mw.NC * mw.NB)
	}
	w := s.width(alpha, 1/(6*s.PlanSamples))
	h := w(v)
	iv := Interval{Lower: mw.Theta - h, Upper: mw.Theta + h}
	c.Estimate, c.Interval = ptr(mw.Theta), &iv
	if s.Method == MethodFixed {
		c.PValue = ptr(mw.P)
	}
	switch {
	case iv.Upper < 0.5+in.Margin:
		c.Verdict = Pass
	case iv.Lower > 0.5:
		c.Verdict = Fail
	default:
		c.Verdict = Inconclusive
		target := 0.5 + in.Margin - mw.Theta
		if mw.Theta > 0.5+in.Margin/2 {
			target = mw.Theta - 0.5
		}
		c.SampleNeeded = needed(w, v, n, target)
	}
	c.Detail = fmt.Sprintf("P(candidate slower) %s, interval %s to %s (pass below %s); median %s vs %s",
		spec4(mw.Theta), spec4(iv.Lower), spec4(iv.Upper), spec4(0.5+in.Margin), secs(c.Candidate.Value), secs(c.Baseline.Value))
	return c
}

func secs(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return spec4(*v) + "s"
}

func fmtN(n float64) string { return fmt.Sprintf("%.0f", n) }

func fmtP(p float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", 100*p), "0"), ".") + "%"
}

func pct(q float64) string { return fmt.Sprintf("%.4g", 100*q) }

func spec4(v float64) string { return fmt.Sprintf("%.4g", v) }
