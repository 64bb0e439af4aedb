package gate_test

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/rulegen/gate"
)

func TestJudgeProportionDecisions(t *testing.T) {
	s := gate.DefaultSettings()
	for _, tc := range []struct {
		name   string
		c, b   gate.Count
		higher bool
		margin float64
		want   gate.Verdict
	}{
		{"equal and large passes", gate.Count{X: 27000, N: 30000}, gate.Count{X: 27000, N: 30000}, true, 0.02, gate.Pass},
		{"ten points worse fails", gate.Count{X: 850, N: 1000}, gate.Count{X: 950, N: 1000}, true, 0.01, gate.Fail},
		{"small sample is inconclusive", gate.Count{X: 90, N: 100}, gate.Count{X: 95, N: 100}, true, 0.01, gate.Inconclusive},
		{"noisy middle is inconclusive", gate.Count{X: 895, N: 1000}, gate.Count{X: 900, N: 1000}, true, 0.02, gate.Inconclusive},
		// Error rate: lower is better. 5% vs 1% errors fails; equal passes.
		{"more errors fail", gate.Count{X: 250, N: 5000}, gate.Count{X: 50, N: 5000}, false, 0.01, gate.Fail},
		{"equal errors pass", gate.Count{X: 300, N: 30000}, gate.Count{X: 300, N: 30000}, false, 0.01, gate.Pass},
		{"fewer errors pass", gate.Count{X: 10, N: 5000}, gate.Count{X: 100, N: 5000}, false, 0.005, gate.Pass},
		// Margin 0 asks for superiority: an equal candidate can never pass.
		{"zero margin equal is inconclusive", gate.Count{X: 27000, N: 30000}, gate.Count{X: 27000, N: 30000}, true, 0, gate.Inconclusive},
		{"all correct on both sides passes", gate.Count{X: 20000, N: 20000}, gate.Count{X: 20000, N: 20000}, true, 0.01, gate.Pass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s.JudgeProportion(gate.ProportionInput{Name: "accuracy", Candidate: tc.c, Baseline: tc.b, HigherBetter: tc.higher, Margin: tc.margin}, s.Alpha)
			require.Equal(t, tc.want, c.Verdict, c.Detail)
			if tc.c.N >= s.MinSamples {
				require.NotNil(t, c.Interval)
				require.LessOrEqual(t, c.Interval.Lower, *c.Estimate)
				require.GreaterOrEqual(t, c.Interval.Upper, *c.Estimate)
			}
			if c.Verdict == gate.Inconclusive {
				require.Positive(t, c.SampleNeeded, c.Detail)
			} else {
				require.Zero(t, c.SampleNeeded)
			}
		})
	}
}

// The sample still needed is what it says: with that much more data at the same proportions
// the criterion decides, and with a tenth less it does not yet.
func TestSampleNeededDecides(t *testing.T) {
	for _, method := range []string{gate.MethodSequential, gate.MethodFixed} {
		s := gate.DefaultSettings()
		s.Method = method
		for _, pc := range []float64{0.905, 0.9, 0.885, 0.878} {
			n := 1000.0
			in := gate.ProportionInput{Name: "accuracy", Candidate: gate.Count{X: pc * n, N: n}, Baseline: gate.Count{X: 0.9 * n, N: n}, HigherBetter: true, Margin: 0.02}
			c := s.JudgeProportion(in, s.Alpha)
			require.Equal(t, gate.Inconclusive, c.Verdict)
			need := c.SampleNeeded
			require.Positive(t, need)
			at := func(m float64) gate.Verdict {
				in := in
				in.Candidate = gate.Count{X: pc * m, N: m}
				in.Baseline = gate.Count{X: 0.9 * m, N: m}
				return s.JudgeProportion(in, s.Alpha).Verdict
			}
			want := gate.Pass
			if pc-0.9 < -0.01 {
				want = gate.Fail
			}
			// The smoothed variance moves a little with n, hence the 1% slack.
			require.Equal(t, want, at((n+need)*1.01), "%s pc=%v need=%v", method, pc, need)
			require.Equal(t, gate.Inconclusive, at(n+need*0.9), "%s pc=%v need=%v", method, pc, need)
		}
	}
}

func TestJudgeExceedance(t *testing.T) {
	s := gate.DefaultSettings()
	hist := func(fast, mid, slow float64) []gate.Bucket {
		return []gate.Bucket{{UpperBound: 0.5, Count: fast}, {UpperBound: 1, Count: fast + mid}, {UpperBound: math.Inf(1), Count: fast + mid + slow}}
	}
	in := gate.ExceedanceInput{Name: "p95_latency", Quantile: 0.95, Limit: 1}
	in.Buckets = hist(9000, 900, 100) // 1% above 1 s
	require.Equal(t, gate.Pass, s.JudgeExceedance(in, s.Alpha).Verdict)
	in.Buckets = hist(8000, 1000, 1000) // 10% above 1 s
	c := s.JudgeExceedance(in, s.Alpha)
	require.Equal(t, gate.Fail, c.Verdict)
	require.InDelta(t, 0.1, *c.Estimate, 1e-12)
	require.Equal(t, 0.05, *c.Limit)
	require.Contains(t, c.Detail, "p95 above 1s")
	// A limit inside a bucket cannot be resolved: 10% are above 0.5 s and none above 1 s, so
	// a 0.7 s limit is neither shown met nor shown broken.
	in.Buckets, in.Limit = hist(9000, 1000, 0), 0.7
	require.Equal(t, gate.Inconclusive, s.JudgeExceedance(in, s.Alpha).Verdict)
	in.Buckets, in.Limit = hist(50, 0, 0), 1
	c = s.JudgeExceedance(in, s.Alpha)
	require.Equal(t, gate.Inconclusive, c.Verdict)
	require.Equal(t, s.MinSamples-50, c.SampleNeeded)
}

func TestQuantileMatchesHistogramQuantile(t *testing.T) {
	// All observations in (1, 2]: PromQL's histogram_quantile(0.95) interpolates to 1.95.
	b := []gate.Bucket{{UpperBound: 1, Count: 0}, {UpperBound: 2, Count: 100}, {UpperBound: math.Inf(1), Count: 100}}
	require.InDelta(t, 1.95, gate.Quantile(b, 0.95), 1e-12)
	// In the +Inf bucket: the largest finite bound.
	b = []gate.Bucket{{UpperBound: 1, Count: 10}, {UpperBound: math.Inf(1), Count: 100}}
	require.Equal(t, 1.0, gate.Quantile(b, 0.95))
	require.True(t, math.IsNaN(gate.Quantile(nil, 0.5)))
}

// Reports never carry NaN or infinities, so JSON encoding cannot fail.
func TestReportJSONIsFinite(t *testing.T) {
	s := gate.DefaultSettings()
	// Margin 0 and an estimate of exactly 0: no sample size decides.
	c := s.JudgeProportion(gate.ProportionInput{Name: "accuracy", Candidate: gate.Count{X: 900, N: 1000}, Baseline: gate.Count{X: 900, N: 1000}, HigherBetter: true}, s.Alpha)
	require.True(t, math.IsInf(c.SampleNeeded, 1))
	rep := &gate.Report{Verdict: gate.Inconclusive, Criteria: []gate.Criterion{c}}
	var b bytes.Buffer
	require.Error(t, json.NewEncoder(&b).Encode(rep), "the raw criterion carries +Inf")
	// Through the evaluator's path the criterion is made finite (see gate.go finite).
	rep.Criteria[0] = gate.Finite(c)
	require.NoError(t, rep.WriteJSON(&b))
	require.Contains(t, b.String(), `"verdict": "inconclusive"`)
	require.Contains(t, rep.Criteria[0].Detail, "no sample size decides")
}

func TestSettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		mut  func(*gate.Settings)
		want string
	}{
		{func(s *gate.Settings) { s.Alpha = 0 }, "alpha: expected a number in (0, 0.5), got 0"},
		{func(s *gate.Settings) { s.Alpha = math.NaN() }, "alpha: expected"},
		{func(s *gate.Settings) { s.MinSamples = 0 }, "min-samples: expected a count >= 1, got 0"},
		{func(s *gate.Settings) { s.PlanSamples = math.Inf(1) }, "plan-samples: expected a count >= 1"},
		{func(s *gate.Settings) { s.Method = "bayes" }, `method: expected "sequential" or "fixed", got "bayes"`},
	} {
		s := gate.DefaultSettings()
		tc.mut(&s)
		require.ErrorContains(t, s.Validate(), tc.want)
	}
	require.NoError(t, gate.DefaultSettings().Validate())
}

func TestJUnitAndText(t *testing.T) {
	s := gate.DefaultSettings()
	rep := &gate.Report{Model: "m", Candidate: "v2", Baseline: "v1", Verdict: gate.Fail, Alpha: 0.05, Method: "sequential", Range: "1h",
		Criteria: []gate.Criterion{
			s.JudgeProportion(gate.ProportionInput{Name: "accuracy", Candidate: gate.Count{X: 850, N: 1000}, Baseline: gate.Count{X: 950, N: 1000}, HigherBetter: true, Margin: 0.01}, 0.05),
			s.JudgeProportion(gate.ProportionInput{Name: "error_rate", Candidate: gate.Count{X: 1, N: 10}, Baseline: gate.Count{X: 1, N: 10}, Margin: 0.01}, 0.05),
		}}
	var b bytes.Buffer
	require.NoError(t, rep.WriteJUnit(&b))
	require.Contains(t, b.String(), `<testsuite name="rulegen gate m v2 vs v1" tests="2" failures="1" skipped="1"`)
	require.Contains(t, b.String(), `<failure message="worse than the baseline by`)
	require.Contains(t, b.String(), `<skipped message="inconclusive: 10 observations and 10 for the baseline, below the minimum of 200 per version">`)
	b.Reset()
	require.NoError(t, rep.WriteText(&b))
	require.Contains(t, b.String(), "gate FAIL: model m, candidate v2 vs baseline v1 over 1h (sequential, alpha 0.05): 0 pass, 1 fail, 1 inconclusive\n")
	require.Contains(t, b.String(), "[fail        ] accuracy             worse than the baseline by")
	require.Contains(t, b.String(), "needs about 190 more per version")
}
