package gate_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/opscentre/opscentre/rulegen/gate"
)

// The documented operating point (rulegen/README.md, "Sample size and power"): baseline
// accuracy 0.90, margin 0.02, alpha 0.05, 60 looks (one a minute for an hour) with 100 more
// labelled predictions per version at each look, so 9,000 per version at the last look.
const (
	mcBase    = 0.90
	mcMargin  = 0.02
	mcLooks   = 60
	mcPerLook = 150
	mcReps    = 1000
)

type rollout struct {
	firstPass, firstFail int // look of the first pass/fail verdict, 0 when none
	everFail, everPass   bool
	covered              bool // the interval held the true difference at every look
}

// simulate runs one rollout: at each look both versions get mcPerLook more labelled
// predictions, and the gate is asked again on the cumulative counts.
func simulate(s gate.Settings, pc, pb float64, rng *rand.Rand) rollout {
	bc := distuv.Binomial{N: mcPerLook, P: pc, Src: rng}
	bb := distuv.Binomial{N: mcPerLook, P: pb, Src: rng}
	var c, b gate.Count
	r := rollout{covered: true}
	for look := 1; look <= mcLooks; look++ {
		c.X += bc.Rand()
		b.X += bb.Rand()
		c.N += mcPerLook
		b.N += mcPerLook
		cr := s.JudgeProportion(gate.ProportionInput{Name: "accuracy", Candidate: c, Baseline: b, HigherBetter: true, Margin: mcMargin}, s.Alpha)
		switch cr.Verdict {
		case gate.Pass:
			r.everPass = true
			if r.firstPass == 0 {
				r.firstPass = look
			}
		case gate.Fail:
			r.everFail = true
			if r.firstFail == 0 {
				r.firstFail = look
			}
		}
		if cr.Interval != nil && (pc-pb < cr.Interval.Lower || pc-pb > cr.Interval.Upper) {
			r.covered = false
		}
	}
	return r
}

type rates struct{ everFail, everPass, failByEnd, passFirst, covered float64 }

func monteCarlo(s gate.Settings, pc, pb float64, seed uint64) rates {
	rng := rand.New(rand.NewPCG(seed, 0x9a7e))
	var out rates
	for i := 0; i < mcReps; i++ {
		r := simulate(s, pc, pb, rng)
		if r.everFail {
			out.everFail++
		}
		if r.everPass {
			out.everPass++
		}
		if r.firstFail != 0 && (r.firstPass == 0 || r.firstFail < r.firstPass) {
			out.failByEnd++
		}
		if r.firstPass != 0 && (r.firstFail == 0 || r.firstPass < r.firstFail) {
			out.passFirst++
		}
		if r.covered {
			out.covered++
		}
	}
	for _, p := range []*float64{&out.everFail, &out.everPass, &out.failByEnd, &out.passFirst, &out.covered} {
		*p /= mcReps
	}
	return out
}

func mcSettings(method string) gate.Settings {
	s := gate.DefaultSettings()
	s.Method = method
	return s
}

// With equal versions the sequential gate fails at most alpha of rollouts even when asked at
// every one of 60 looks, and its interval covers the true difference at all looks at once.
func TestMonteCarloEqualVersionsSequential(t *testing.T) {
	s := mcSettings(gate.MethodSequential)
	r := monteCarlo(s, mcBase, mcBase, 1)
	t.Logf("equal: ever fail %.3f, pass first %.3f, coverage %.3f", r.everFail, r.passFirst, r.covered)
	require.LessOrEqual(t, r.everFail, s.Alpha, "false-fail rate over 60 looks")
	require.GreaterOrEqual(t, r.covered, 1-s.Alpha, "simultaneous coverage over 60 looks")
	require.GreaterOrEqual(t, r.passFirst, 0.90, "equal versions pass by 9,000 per version")
}

// The same rollouts judged with a fixed-sample interval at every look fail equal versions far
// more often than alpha: the reason the sequential method is the default. This also shows
// the Monte Carlo can see the inflation it guards against.
func TestMonteCarloFixedIntervalPeekingInflates(t *testing.T) {
	s := mcSettings(gate.MethodFixed)
	r := monteCarlo(s, mcBase, mcBase, 1)
	t.Logf("fixed with peeking: ever fail %.3f, coverage %.3f", r.everFail, r.covered)
	require.Greater(t, r.everFail, s.Alpha/2*1.5, "peeking at a fixed-sample interval should inflate its one-sided error")
	require.Less(t, r.covered, 1-s.Alpha, "a fixed-sample interval does not cover at all 60 looks at once")
}

// A candidate worse by exactly the margin passes at most alpha of rollouts and fails (before
// any pass) in at least the documented 85% by 9,000 labelled predictions per version.
func TestMonteCarloWorseByMargin(t *testing.T) {
	s := mcSettings(gate.MethodSequential)
	r := monteCarlo(s, mcBase-mcMargin, mcBase, 2)
	t.Logf("worse by margin: ever pass %.3f, fail first %.3f, coverage %.3f", r.everPass, r.failByEnd, r.covered)
	require.LessOrEqual(t, r.everPass, s.Alpha, "false-pass rate over 60 looks")
	require.GreaterOrEqual(t, r.failByEnd, 0.85, "documented power at 9,000 per version")
	require.GreaterOrEqual(t, r.covered, 1-s.Alpha)
}

// A better candidate passes and almost never fails.
func TestMonteCarloBetterCandidate(t *testing.T) {
	s := mcSettings(gate.MethodSequential)
	r := monteCarlo(s, mcBase+0.01, mcBase, 3)
	t.Logf("better: pass first %.3f, ever fail %.3f", r.passFirst, r.everFail)
	require.GreaterOrEqual(t, r.passFirst, 0.99)
	require.LessOrEqual(t, r.everFail, 0.01)
}

// The Mann-Whitney latency criterion keeps its false-fail rate under repeated looks too, and
// fails a candidate that is a bucket slower.
func TestMonteCarloLatencyShift(t *testing.T) {
	s := mcSettings(gate.MethodSequential)
	bounds := []float64{0.1, 0.2, 0.5, 1, 2, 5, math.Inf(1)}
	draw := func(rng *rand.Rand, shift float64, n int, cum []float64) {
		for i := 0; i < n; i++ {
			x := math.Exp(rng.NormFloat64()*0.6-0.7) * shift
			for j, b := range bounds {
				if x <= b {
					for k := j; k < len(bounds); k++ {
						cum[k]++
					}
					break
				}
			}
		}
	}
	run := func(shift float64, seed uint64) (everFail, failFirst float64) {
		rng := rand.New(rand.NewPCG(seed, 7))
		const reps = 300
		for i := 0; i < reps; i++ {
			cc, cb := make([]float64, len(bounds)), make([]float64, len(bounds))
			fail, decided := false, false
			for look := 1; look <= mcLooks; look++ {
				draw(rng, shift, 50, cc)
				draw(rng, 1, 50, cb)
				var bc, bb []gate.Bucket
				for j, b := range bounds {
					bc = append(bc, gate.Bucket{UpperBound: b, Count: cc[j]})
					bb = append(bb, gate.Bucket{UpperBound: b, Count: cb[j]})
				}
				v := s.JudgeShift(gate.ShiftInput{Name: "latency", Candidate: bc, Baseline: bb, Margin: 0.05}, s.Alpha).Verdict
				if v == gate.Fail {
					fail = true
					if !decided {
						failFirst++
					}
				}
				if v != gate.Inconclusive {
					decided = true
				}
			}
			if fail {
				everFail++
			}
		}
		return everFail / reps, failFirst / reps
	}
	eq, _ := run(1, 11)
	t.Logf("latency equal: ever fail %.3f", eq)
	require.LessOrEqual(t, eq, s.Alpha)
	_, slow := run(1.5, 12)
	t.Logf("latency 1.5x slower: fail first %.3f", slow)
	require.GreaterOrEqual(t, slow, 0.95)
}

// The p95 bound keeps its error rates under repeated looks: with 3 % of requests over the
// limit it (almost) never fails, with 8 % it (almost) never passes, it decides both, and
// exactly at 5 % both errors stay below alpha.
func TestMonteCarloLatencyBound(t *testing.T) {
	s := mcSettings(gate.MethodSequential)
	run := func(share float64, seed uint64) (everFail, everPass, decided float64) {
		rng := rand.New(rand.NewPCG(seed, 3))
		slow := distuv.Binomial{N: mcPerLook, P: share, Src: rng}
		for i := 0; i < mcReps; i++ {
			var n, above float64
			var f, p, d bool
			for look := 1; look <= mcLooks; look++ {
				above += slow.Rand()
				n += mcPerLook
				b := []gate.Bucket{{UpperBound: 1, Count: n - above}, {UpperBound: math.Inf(1), Count: n}}
				switch s.JudgeExceedance(gate.ExceedanceInput{Name: "p95_latency", Buckets: b, Quantile: 0.95, Limit: 1}, s.Alpha).Verdict {
				case gate.Fail:
					f, d = true, true
				case gate.Pass:
					p, d = true, true
				}
			}
			for _, x := range []struct {
				b bool
				r *float64
			}{{f, &everFail}, {p, &everPass}, {d, &decided}} {
				if x.b {
					*x.r++
				}
			}
		}
		return everFail / mcReps, everPass / mcReps, decided / mcReps
	}
	f, _, d := run(0.03, 21)
	t.Logf("3%% slow: ever fail %.3f, decided %.3f", f, d)
	require.LessOrEqual(t, f, s.Alpha)
	require.GreaterOrEqual(t, d, 0.95)
	_, p, d := run(0.08, 22)
	t.Logf("8%% slow: ever pass %.3f, decided %.3f", p, d)
	require.LessOrEqual(t, p, s.Alpha)
	require.GreaterOrEqual(t, d, 0.95)
	// Exactly at the bound, either answer is an error, and each stays below alpha.
	f, p, _ = run(0.05, 23)
	t.Logf("5%% slow: ever fail %.3f, ever pass %.3f", f, p)
	require.LessOrEqual(t, f, s.Alpha)
	require.LessOrEqual(t, p, s.Alpha)
}
