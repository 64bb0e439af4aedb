// Package gate decides whether a candidate model version may replace its baseline, by
// statistics on the exporter's mergeable counters and histograms read from Prometheus.
//
// Proportions (accuracy, error rate, task completion) are compared with a non-inferiority
// margin on the difference candidate − baseline; latency is judged from histogram buckets
// (the share of requests above the p95 limit, and a Mann-Whitney shift against the baseline);
// drift and firing alerts are hard gates. Every statistical criterion reports its estimate
// and interval, and is inconclusive below a minimum sample. By default the intervals are
// always-valid confidence sequences, so the gate may be asked every minute during a rollout
// without inflating its error rates. Judging is pure (judge.go, stats.go); this file only
// reads Prometheus.
package gate

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/opscentre/opscentre/rulegen/spec"
)

// Querier is the part of the Prometheus HTTP API the gate uses (v1.API satisfies it).
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error)
}

// Target is what the gate judges.
type Target struct {
	Model, Candidate, Baseline string
}

// Criteria are the criteria a gate evaluates: the spec's gates plus those only the command
// line sets. A nil pointer leaves a criterion out.
type Criteria struct {
	// Window is the range the counters are summed over; Since, when set, replaces it with
	// the time since the rollout began (the sequential guarantee needs a fixed start).
	Window time.Duration
	Since  time.Time

	AccuracyMargin   *float64 // spec max_accuracy_drop
	ErrorRateMargin  *float64 // --max-error-rate-increase
	CompletionMargin *float64 // --max-completion-drop
	LatencyLimit     *float64 // spec max_p95_latency (seconds)
	LatencyQuantile  float64  // 0.95
	LatencyMargin    *float64 // --latency-margin: Mann-Whitney shift margin
	DriftedShare     *float64 // spec max_drifted_share
	CostPerRequest   *float64 // spec max_cost_per_request
	NoFiringTiers    []string
}

// FromSpec returns the criteria of a spec's gates section, with the latency shift margin.
func FromSpec(g *spec.Gates) Criteria {
	c := Criteria{Window: g.Window, LatencyQuantile: 0.95, NoFiringTiers: g.NoFiringTiers}
	if g.MaxAccuracyDropSet {
		c.AccuracyMargin = ptr(g.MaxAccuracyDrop)
	}
	if g.MaxP95LatencySet {
		c.LatencyLimit = ptr(g.MaxP95Latency)
	}
	if g.MaxDriftedShareSet {
		c.DriftedShare = ptr(g.MaxDriftedShare)
	}
	if g.MaxCostPerRequestSet {
		c.CostPerRequest = ptr(g.MaxCostPerRequest)
	}
	return c
}

// statistical counts the criteria that share alpha.
func (c Criteria) statistical() int {
	n := 0
	for _, p := range []*float64{c.AccuracyMargin, c.ErrorRateMargin, c.CompletionMargin, c.LatencyLimit} {
		if p != nil {
			n++
		}
	}
	if c.LatencyLimit != nil && c.LatencyMargin != nil {
		n++
	}
	return n
}

// Report is the gate's verdict.
type Report struct {
	Model       string      `json:"model"`
	Candidate   string      `json:"candidate"`
	Baseline    string      `json:"baseline"`
	Verdict     Verdict     `json:"verdict"`
	Alpha       float64     `json:"alpha"`
	Method      string      `json:"method"`
	Range       string      `json:"range"`
	Since       *time.Time  `json:"since,omitempty"`
	EvaluatedAt time.Time   `json:"evaluated_at"`
	Criteria    []Criterion `json:"criteria"`
}

// Counts returns the number of criteria with each verdict.
func (r *Report) Counts() (pass, fail, inconclusive int) {
	for _, c := range r.Criteria {
		switch c.Verdict {
		case Pass:
			pass++
		case Fail:
			fail++
		default:
			inconclusive++
		}
	}
	return
}

// overall: any fail fails, else any inconclusive is inconclusive, else pass. A gate with no
// criteria is inconclusive: it never passes on nothing.
func overall(cs []Criterion) Verdict {
	if len(cs) == 0 {
		return Inconclusive
	}
	v := Pass
	for _, c := range cs {
		switch c.Verdict {
		case Fail:
			return Fail
		case Inconclusive:
			v = Inconclusive
		}
	}
	return v
}

// InputError is a bad setting or argument of an evaluation (not a failure to read data).
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Evaluator reads the exporter's metrics from Prometheus and judges them.
type Evaluator struct {
	API      Querier
	Settings Settings
	Now      func() time.Time
}

type reader struct {
	ctx context.Context
	api Querier
	at  time.Time
	rng string
}

func (r *reader) vector(q string) (model.Vector, error) {
	v, _, _, err := r.api.Query(r.ctx, q, r.at)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", q, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("query %s returned %s, expected a vector", q, v.Type())
	}
	return vec, nil
}

// scalar runs a query expected to give at most one series; no series is (0, false).
func (r *reader) scalar(q string) (float64, bool, error) {
	vec, err := r.vector(q)
	if err != nil {
		return 0, false, err
	}
	switch {
	case len(vec) == 0 || math.IsNaN(float64(vec[0].Value)):
		return 0, false, nil
	case len(vec) > 1:
		return 0, false, fmt.Errorf("query %s returned %d series, expected one", q, len(vec))
	}
	return float64(vec[0].Value), true, nil
}

func sel(metric, m, version string, extra ...string) string {
	ms := append([]string{"model=" + strconv.Quote(m), "version=" + strconv.Quote(version)}, extra...)
	return metric + "{" + strings.Join(ms, ",") + "}"
}

// increase sums a counter's increase over the range per value of label by (nil by: one sum).
func (r *reader) increase(metric, by, m, version string, extra ...string) (map[string]float64, string, error) {
	q := fmt.Sprintf("sum by (%s) (increase(%s[%s]))", by, sel(metric, m, version, extra...), r.rng)
	vec, err := r.vector(q)
	if err != nil {
		return nil, q, err
	}
	out := map[string]float64{}
	for _, s := range vec {
		if v := float64(s.Value); !math.IsNaN(v) && v > 0 {
			out[string(s.Metric[model.LabelName(by)])] += v
		}
	}
	return out, q, nil
}

// buckets reads the latency histogram of a version: the classic buckets, or when there are
// none, the native histogram (its buckets as (lower, upper] ranges; observations in one bucket
// are ties, as with classic buckets).
func (r *reader) buckets(m, version string) ([]Bucket, string, error) {
	out, q, err := r.increase("aiops_inference_duration_seconds_bucket", "le", m, version)
	if err != nil {
		return nil, q, err
	}
	if len(out) == 0 {
		return r.native(m, version, q)
	}
	bs := make([]Bucket, 0, len(out))
	for le, c := range out {
		b, err := strconv.ParseFloat(le, 64)
		if err != nil {
			return nil, q, fmt.Errorf("query %s: bucket bound le=%q is not a number", q, le)
		}
		bs = append(bs, Bucket{UpperBound: b, Count: c})
	}
	return bs, q, nil
}

func (r *reader) native(m, version, classic string) ([]Bucket, string, error) {
	q := fmt.Sprintf("sum(increase(%s[%s]))", sel("aiops_inference_duration_seconds", m, version), r.rng)
	vec, err := r.vector(q)
	if err != nil {
		return nil, q, err
	}
	if len(vec) == 0 || vec[0].Histogram == nil {
		return nil, classic, nil // neither: no data
	}
	hb := append(model.HistogramBuckets(nil), vec[0].Histogram.Buckets...)
	sort.Slice(hb, func(i, j int) bool { return hb[i].Upper < hb[j].Upper })
	bs := make([]Bucket, 0, len(hb))
	cum := 0.0
	for _, b := range hb {
		if c := float64(b.Count); c > 0 && !math.IsNaN(c) {
			cum += c
		}
		bs = append(bs, Bucket{UpperBound: float64(b.Upper), Count: cum})
	}
	return bs, q, nil
}

// estimated adds the CBPE accuracy estimates of both versions to an accuracy criterion that
// lacks labels, when the exporter has them.
func (r *reader) estimated(c *Criterion, t Target) error {
	var v [2]float64
	for i, version := range []string{t.Candidate, t.Baseline} {
		q := fmt.Sprintf("avg(avg_over_time(%s[%s]))", sel("aiops_model_estimated_accuracy", t.Model, version), r.rng)
		x, ok, err := r.scalar(q)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		c.Queries = append(c.Queries, q)
		v[i] = x
	}
	c.Estimated = &Estimated{Candidate: v[0], Baseline: v[1], Difference: v[0] - v[1]}
	c.Detail += fmt.Sprintf("; estimated before labels (CBPE, not judged): candidate %s, baseline %s", spec4(v[0]), spec4(v[1]))
	return nil
}

// Evaluate reads the metrics of the target and judges every criterion.
func (e *Evaluator) Evaluate(ctx context.Context, cr Criteria, t Target) (*Report, error) {
	s := e.Settings
	if err := s.Validate(); err != nil {
		return nil, &InputError{err}
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	at := now()
	rng := cr.Window
	rep := &Report{Model: t.Model, Candidate: t.Candidate, Baseline: t.Baseline, Alpha: s.Alpha, Method: s.Method, EvaluatedAt: at.UTC()}
	if !cr.Since.IsZero() {
		if !cr.Since.Before(at) {
			return nil, &InputError{fmt.Errorf("since: %s is not before the evaluation time %s", cr.Since.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))}
		}
		rng = at.Sub(cr.Since).Round(time.Second)
		if rng < time.Second {
			rng = time.Second
		}
		since := cr.Since.UTC()
		rep.Since = &since
	}
	if rng <= 0 {
		return nil, &InputError{fmt.Errorf("window: expected a duration > 0, got %s", rng)}
	}
	rep.Range = model.Duration(rng).String()
	r := &reader{ctx: ctx, api: e.API, at: at, rng: rep.Range}
	k := cr.statistical()
	alpha := s.Alpha
	if k > 0 {
		alpha = s.Alpha / float64(k)
	}
	add := func(c Criterion) { rep.Criteria = append(rep.Criteria, Finite(c)) }

	proportion := func(name, metric, by, good string, extra []string, higher bool, margin float64, total func(version string) (float64, string, error)) error {
		var counts [2]Count
		var queries []string
		for i, v := range []string{t.Candidate, t.Baseline} {
			m, q, err := r.increase(metric, by, t.Model, v, extra...)
			if err != nil {
				return err
			}
			queries = append(queries, q)
			counts[i].X = m[good]
			if total != nil {
				n, q, err := total(v)
				if err != nil {
					return err
				}
				queries = append(queries, q)
				counts[i].N = n
			} else {
				for _, c := range m {
					counts[i].N += c
				}
			}
			// increase() extrapolates to the range's edges; never let it report more
			// events of one kind than in all.
			counts[i].X = math.Min(counts[i].X, counts[i].N)
		}
		c := s.JudgeProportion(ProportionInput{Name: name, Candidate: counts[0], Baseline: counts[1], HigherBetter: higher, Margin: margin}, alpha)
		c.Queries = queries
		if name == "accuracy" && math.Min(counts[0].N, counts[1].N) < s.MinSamples {
			if err := r.estimated(&c, t); err != nil {
				return err
			}
		}
		add(c)
		return nil
	}
	if cr.AccuracyMargin != nil {
		// Regression outcomes have no right or wrong; only classifier outcomes count.
		if err := proportion("accuracy", "aiops_predictions_labeled_total", "outcome", "correct", []string{`outcome=~"correct|incorrect"`}, true, *cr.AccuracyMargin, nil); err != nil {
			return nil, err
		}
	}
	if cr.ErrorRateMargin != nil {
		if err := proportion("error_rate", "aiops_inference_errors_total", "model", t.Model, nil, false, *cr.ErrorRateMargin, func(v string) (float64, string, error) {
			m, q, err := r.increase("aiops_events_total", "model", t.Model, v)
			return m[t.Model], q, err
		}); err != nil {
			return nil, err
		}
	}
	if cr.CompletionMargin != nil {
		if err := proportion("task_completion", "aiops_task_outcomes_total", "outcome", "completed", nil, true, *cr.CompletionMargin, nil); err != nil {
			return nil, err
		}
	}
	if cr.LatencyLimit != nil {
		cb, qc, err := r.buckets(t.Model, t.Candidate)
		if err != nil {
			return nil, err
		}
		c := s.JudgeExceedance(ExceedanceInput{Name: "p95_latency", Buckets: cb, Quantile: cr.LatencyQuantile, Limit: *cr.LatencyLimit}, alpha)
		c.Queries = []string{qc}
		add(c)
		if cr.LatencyMargin != nil {
			bb, qb, err := r.buckets(t.Model, t.Baseline)
			if err != nil {
				return nil, err
			}
			c := s.JudgeShift(ShiftInput{Name: "latency_vs_baseline", Candidate: cb, Baseline: bb, Margin: *cr.LatencyMargin}, alpha)
			c.Queries = []string{qc, qb}
			add(c)
		}
	}
	if len(cr.NoFiringTiers) > 0 {
		q := fmt.Sprintf(`count(ALERTS{alertstate="firing",model=%s,tier=~"%s"})`, strconv.Quote(t.Model), strings.Join(cr.NoFiringTiers, "|"))
		n, _, err := r.scalar(q)
		if err != nil {
			return nil, err
		}
		c := Criterion{Name: "no_firing_alerts", Kind: "hard", Estimate: ptr(n), Limit: ptr(0), Verdict: Pass, Queries: []string{q},
			Detail: fmt.Sprintf("%s %s alert(s) firing for %s", fmtN(n), strings.Join(cr.NoFiringTiers, "/"), t.Model)}
		if n > 0 {
			c.Verdict = Fail
		}
		add(c)
	}
	if cr.DriftedShare != nil {
		q := fmt.Sprintf("max(max_over_time(%s[%s]))", sel("aiops_drifted_features_ratio", t.Model, t.Candidate), rep.Range)
		v, ok, err := r.scalar(q)
		if err != nil {
			return nil, err
		}
		c := Criterion{Name: "drifted_share", Kind: "hard", Limit: cr.DriftedShare, Queries: []string{q}}
		switch {
		case !ok:
			c.Verdict = Inconclusive
			c.Detail = "no drift data for the candidate over " + rep.Range
		case v <= *cr.DriftedShare:
			c.Verdict, c.Estimate = Pass, ptr(v)
			c.Detail = fmt.Sprintf("at most %s of features drifted (limit %s)", fmtP(v), fmtP(*cr.DriftedShare))
		default:
			c.Verdict, c.Estimate = Fail, ptr(v)
			c.Detail = fmt.Sprintf("%s of features drifted (limit %s)", fmtP(v), fmtP(*cr.DriftedShare))
		}
		add(c)
	}
	if cr.CostPerRequest != nil {
		cost, qc, err := r.increase("aiops_cost_total", "model", t.Model, t.Candidate)
		if err != nil {
			return nil, err
		}
		ev, qe, err := r.increase("aiops_events_total", "model", t.Model, t.Candidate)
		if err != nil {
			return nil, err
		}
		n := ev[t.Model]
		c := Criterion{Name: "cost_per_request", Kind: "bound", Limit: cr.CostPerRequest, Queries: []string{qc, qe}, Candidate: &Arm{N: n}}
		if n > 0 {
			c.Estimate = ptr(cost[t.Model] / n)
		}
		switch {
		case n < s.MinSamples:
			c.Verdict = Inconclusive
			c.SampleNeeded = math.Ceil(s.MinSamples - n)
			c.Detail = fmt.Sprintf("%s requests, below the minimum of %s", fmtN(n), fmtN(s.MinSamples))
		case *c.Estimate <= *cr.CostPerRequest:
			c.Verdict = Pass
		default:
			c.Verdict = Fail
		}
		if c.Verdict != Inconclusive {
			// The counters hold total spend only, no per-request spread, so this is a point
			// comparison once the minimum sample is reached (see README).
			c.Detail = fmt.Sprintf("%s per request (limit %s), a point estimate", spec4(*c.Estimate), spec4(*cr.CostPerRequest))
		}
		add(c)
	}
	rep.Verdict = overall(rep.Criteria)
	return rep, nil
}

// Finite keeps NaN and infinities out of a criterion, which JSON cannot carry.
func Finite(c Criterion) Criterion {
	if math.IsInf(c.SampleNeeded, 0) || math.IsNaN(c.SampleNeeded) {
		c.SampleNeeded = 0
		c.Detail += "; no sample size decides at the current estimate"
	}
	for _, p := range []**float64{&c.Estimate, &c.PValue} {
		if *p != nil && (math.IsNaN(**p) || math.IsInf(**p, 0)) {
			*p = nil
		}
	}
	for _, a := range []*Arm{c.Candidate, c.Baseline} {
		if a != nil && a.Value != nil && (math.IsNaN(*a.Value) || math.IsInf(*a.Value, 0)) {
			a.Value = nil
		}
	}
	if c.Interval != nil && (math.IsNaN(c.Interval.Lower) || math.IsNaN(c.Interval.Upper)) {
		c.Interval = nil
	}
	return c
}
