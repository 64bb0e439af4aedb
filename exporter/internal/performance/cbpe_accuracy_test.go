package performance

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// cbpeWorld is a binary model whose scores s are miscalibrated, P(y = 1 | s) = s², with
// reference scores uniform on [0, 1] and production scores shifted to Beta(2, 1) (density 2s):
// covariate shift, the calibration itself unchanged. The true production metrics integrate to
// accuracy 0.6875, precision 0.625, recall 0.9375, F1 0.75 at threshold 0.5 (README).
var cbpeTruth = struct{ acc, prec, rec, f1 float64 }{0.6875, 0.625, 0.9375, 0.75}

// productionScores is a deterministic stratified sample of Beta(2, 1) (s = √u), so the estimate's
// error is the calibration's alone.
func productionScores(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.Sqrt((float64(i) + 0.5) / float64(n))
	}
	return out
}

func estimateWith(t *testing.T, m *BinaryCBPE, scores []float64) *Estimate {
	t.Helper()
	var e Estimate
	for _, s := range scores {
		if err := m.Add(&e, s); err != nil {
			t.Fatal(err)
		}
	}
	return &e
}

type errStats struct{ sum, sumSq, n float64 }

func (s *errStats) add(d float64) { s.sum += d; s.sumSq += d * d; s.n++ }
func (s *errStats) bias() float64 { return s.sum / s.n }
func (s *errStats) rmse() float64 { return math.Sqrt(s.sumSq / s.n) }
func metricErr(e *Estimate) [4]float64 {
	return [4]float64{e.Accuracy() - cbpeTruth.acc, e.Precision() - cbpeTruth.prec, e.Recall() - cbpeTruth.rec, e.F1() - cbpeTruth.f1}
}

// TestCBPEBiasAndRMSEUnderCovariateShift measures the estimate against the true metrics over
// many seeded reference sets: calibrated on the first 1000 labelled rows (the old rule), on
// every row by isotonic regression on raw rows, and on every row through the fixed-size
// Reliability bins. Using the whole reference must cut the RMSE several-fold, and the bins must
// cost nothing measurable against raw rows.
func TestCBPEBiasAndRMSEUnderCovariateShift(t *testing.T) {
	sets, nRef := 40, 20000
	if testing.Short() {
		sets = 15
	}
	prod := productionScores(10000)
	var first1000, rawAll, binned [4]errStats
	var auc errStats
	names := [4]string{"accuracy", "precision", "recall", "F1"}
	for seed := 0; seed < sets; seed++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 99))
		scores := make([]float64, nRef)
		labels := make([]bool, nRef)
		rel := NewReliability(0)
		for i := range scores {
			s := rng.Float64()
			scores[i], labels[i] = s, rng.Float64() < s*s
			if err := rel.Add(s, labels[i]); err != nil {
				t.Fatal(err)
			}
		}
		old, err := FitBinaryCBPE(scores[:1000], labels[:1000], 0.5)
		if err != nil {
			t.Fatal(err)
		}
		all, err := FitBinaryCBPE(scores, labels, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		bin, err := FitBinaryCBPEReliability(rel, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		if !bin.Calibrated {
			t.Fatalf("seed %d: scores with P(y|s) = s² judged calibrated already", seed)
		}
		for k, d := range metricErr(estimateWith(t, old, prod)) {
			first1000[k].add(d)
		}
		for k, d := range metricErr(estimateWith(t, all, prod)) {
			rawAll[k].add(d)
		}
		for k, d := range metricErr(estimateWith(t, bin, prod)) {
			binned[k].add(d)
		}
		roc := NewROC(0)
		for _, s := range prod {
			if err := bin.EstimatedROC(roc, s); err != nil {
				t.Fatal(err)
			}
		}
		// Positives have density 4s³ and negatives 4s(1−s²) in production:
		// AUC = ∫ 4a³ (2a² − a⁴) da = 4/3 − 1/2 = 5/6.
		auc.add(roc.AUC() - 5.0/6)
	}
	t.Logf("ROC AUC   bias/RMSE: all rows in %d bins %+.4f/%.4f (truth 5/6)", DefaultReliabilityBins, auc.bias(), auc.rmse())
	if auc.rmse() > 0.005 {
		t.Errorf("estimated ROC AUC: RMSE %.4f against the truth 5/6, want at most 0.005", auc.rmse())
	}
	for k, name := range names {
		t.Logf("%-9s bias/RMSE: first 1000 rows %+.4f/%.4f, all %d rows raw %+.4f/%.4f, all rows in %d bins %+.4f/%.4f",
			name, first1000[k].bias(), first1000[k].rmse(), nRef, rawAll[k].bias(), rawAll[k].rmse(),
			DefaultReliabilityBins, binned[k].bias(), binned[k].rmse())
		if binned[k].rmse()*2.5 > first1000[k].rmse() {
			t.Errorf("%s: RMSE %.4f on the whole reference, want under 1/2.5 of the %.4f of 1000 rows", name, binned[k].rmse(), first1000[k].rmse())
		}
		if binned[k].rmse() > rawAll[k].rmse()*1.25+0.001 {
			t.Errorf("%s: the bins cost accuracy: RMSE %.4f against %.4f on raw rows", name, binned[k].rmse(), rawAll[k].rmse())
		}
		if math.Abs(binned[k].bias()) > 3*binned[k].rmse()/math.Sqrt(float64(sets))+0.003 {
			t.Errorf("%s: bias %.4f is not explained by noise (RMSE %.4f over %d sets)", name, binned[k].bias(), binned[k].rmse(), sets)
		}
	}
}

// TestCalibrationDecision: scores that are already calibrated (P(y|s) = s) are kept as they
// are in most reference sets, because an isotonic fit only adds noise to them; miscalibrated
// ones (s²) are always calibrated.
func TestCalibrationDecision(t *testing.T) {
	var kept int
	const sets = 20
	for seed := 0; seed < sets; seed++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		good, bad := NewReliability(0), NewReliability(0)
		for i := 0; i < 5000; i++ {
			s := rng.Float64()
			u := rng.Float64()
			_ = good.Add(s, u < s)
			_ = bad.Add(s, u < s*s)
		}
		c, calibrated, err := good.Fit()
		if err != nil {
			t.Fatal(err)
		}
		if !calibrated {
			kept++
			if c.Predict(0.37) != 0.37 {
				t.Fatalf("kept scores must pass through unchanged, got %v for 0.37", c.Predict(0.37))
			}
		}
		if _, calibrated, _ := bad.Fit(); !calibrated {
			t.Errorf("seed %d: miscalibrated scores (P(y|s) = s²) were not calibrated", seed)
		}
	}
	t.Logf("calibrated scores kept raw in %d of %d reference sets", kept, sets)
	if kept < sets*3/4 {
		t.Errorf("calibrated scores kept raw in only %d of %d sets", kept, sets)
	}
}

// TestReliabilityMergeAndValidate: two halves merged equal the whole; corrupt data is refused
// naming the field.
func TestReliabilityMergeAndValidate(t *testing.T) {
	a, b, whole := NewReliability(10), NewReliability(10), NewReliability(10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1000; i++ {
		s, y := rng.Float64(), rng.IntN(2) == 1
		_ = whole.Add(s, y)
		if i < 500 {
			_ = a.Add(s, y)
		} else {
			_ = b.Add(s, y)
		}
	}
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	var na, nw float64
	for i := range a.N {
		na += a.N[i]
		nw += whole.N[i]
	}
	if na != nw || a.Rows != whole.Rows {
		t.Fatalf("merged %v rows, whole %v", na, nw)
	}
	if err := a.Merge(NewReliability(20)); err == nil {
		t.Error("merging different bins must fail")
	}
	bad := NewReliability(10)
	bad.Pos[3] = 5
	if err := bad.Validate(); err == nil {
		t.Error("pos > n must be refused")
	}
	bad = NewReliability(10)
	bad.SumSq = bad.SumSq[:3]
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "sum_sq") {
		t.Errorf("a short sum_sq must be refused naming it, got %v", err)
	}
	if err := NewReliability(10).Add(1.5, true); err == nil {
		t.Error("a score outside [0, 1] must be refused")
	}
}
