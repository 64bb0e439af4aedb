package performance

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The example of scikit-learn's precision_recall_fscore_support documentation:
// y_true = [0,1,2,0,1,2], y_pred = [0,2,1,0,0,1] gives macro precision 0.22, recall 0.33,
// F1 0.267.
func TestClassificationScikitLearnExample(t *testing.T) {
	c := NewClassification(0)
	yTrue := []string{"0", "1", "2", "0", "1", "2"}
	yPred := []string{"0", "2", "1", "0", "0", "1"}
	for i := range yTrue {
		require.NoError(t, c.Add(yTrue[i], yPred[i]))
	}
	m := c.Metrics()
	require.InDelta(t, 2.0/6, m.Accuracy, 1e-12)
	require.InDelta(t, 2.0/9, m.MacroPrecision, 1e-12)
	require.InDelta(t, 1.0/3, m.MacroRecall, 1e-12)
	require.InDelta(t, 0.8/3, m.MacroF1, 1e-12)
	require.Equal(t, "0", m.Classes[0].Class)
	require.InDelta(t, 2.0/3, m.Classes[0].Precision, 1e-12)
	require.InDelta(t, 1.0, m.Classes[0].Recall, 1e-12)
	require.InDelta(t, 0.8, m.Classes[0].F1, 1e-12)
	require.Equal(t, 1.0, c.Count("1", "2"))
}

// TestClassificationAgainstLoops compares the confusion-matrix metrics with a direct
// row-by-row count, after splitting the rows over slots that travel as JSON and merge.
func TestClassificationAgainstLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	classes := []string{"cat", "dog", "bird", "fish"}
	var yTrue, yPred []string
	slots := []*Classification{NewClassification(0), NewClassification(0), NewClassification(0)}
	for i := 0; i < 3000; i++ {
		a := classes[rng.IntN(4)]
		p := a
		if rng.Float64() < 0.3 {
			p = classes[rng.IntN(3)] // never predicts fish unless right
		}
		yTrue, yPred = append(yTrue, a), append(yPred, p)
		require.NoError(t, slots[i%3].Add(a, p))
	}
	total := NewClassification(0)
	for _, s := range slots {
		b, err := json.Marshal(s)
		require.NoError(t, err)
		var back Classification
		require.NoError(t, json.Unmarshal(b, &back))
		require.NoError(t, total.Merge(&back))
	}
	m := total.Metrics()
	var correct float64
	for i := range yTrue {
		if yTrue[i] == yPred[i] {
			correct++
		}
	}
	require.InDelta(t, correct/3000, m.Accuracy, 1e-12)
	var macroF1 float64
	for _, cm := range m.Classes {
		var tp, fp, fn float64
		for i := range yTrue {
			switch {
			case yTrue[i] == cm.Class && yPred[i] == cm.Class:
				tp++
			case yPred[i] == cm.Class:
				fp++
			case yTrue[i] == cm.Class:
				fn++
			}
		}
		require.InDelta(t, tp/(tp+fp), cm.Precision, 1e-12, cm.Class)
		require.InDelta(t, tp/(tp+fn), cm.Recall, 1e-12, cm.Class)
		p, r := tp/(tp+fp), tp/(tp+fn)
		require.InDelta(t, 2*p*r/(p+r), cm.F1, 1e-12, cm.Class)
		macroF1 += 2 * p * r / (p + r)
	}
	require.InDelta(t, macroF1/4, m.MacroF1, 1e-12)
	total.Reset()
	require.True(t, math.IsNaN(total.Metrics().Accuracy))
	require.Len(t, total.Classes, 4, "reset keeps the class list")
}

func TestClassificationBoundsClasses(t *testing.T) {
	c := NewClassification(5)
	for i := 0; i < 100; i++ {
		require.NoError(t, c.Add(fmt.Sprint("label-", i), fmt.Sprint("label-", i)))
	}
	require.Len(t, c.Classes, 5)
	require.Equal(t, OtherClass, c.Classes[4])
	require.Equal(t, 96.0, c.Count(OtherClass, OtherClass))
	require.Equal(t, 1.0, c.Metrics().Accuracy)
	require.Error(t, c.Add("", "x"))
	require.Error(t, c.AddN("a", "b", math.NaN()))
}

func TestRegression(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var a, b Regression
	var se, ae, e float64
	for i := 0; i < 1000; i++ {
		y := rng.NormFloat64() * 10
		p := y + rng.NormFloat64()*2 + 0.5
		d := p - y
		se, ae, e = se+d*d, ae+math.Abs(d), e+d
		if i%2 == 0 {
			require.NoError(t, a.Add(p, y))
		} else {
			require.NoError(t, b.Add(p, y))
		}
	}
	a.Merge(&b)
	require.InDelta(t, math.Sqrt(se/1000), a.RMSE(), 1e-9)
	require.InDelta(t, ae/1000, a.MAE(), 1e-9)
	require.InDelta(t, e/1000, a.MeanError(), 1e-9)
	var c Regression
	for _, y := range []float64{1, 5, -3} {
		require.NoError(t, c.Add(y+2, y))
	}
	require.Equal(t, 2.0, c.RMSE())
	require.Equal(t, 2.0, c.MAE())
	require.ErrorContains(t, c.Add(math.NaN(), 1), "prediction must be a finite number")
	require.ErrorContains(t, c.Add(1, math.Inf(1)), "label value must be a finite number")
	c.Reset()
	require.True(t, math.IsNaN(c.RMSE()))
}

// Examples from scikit-learn's documentation: log_loss(["spam","ham","ham","spam"],
// [[.1,.9],[.9,.1],[.8,.2],[.35,.65]]) = 0.21616 and
// brier_score_loss([0,1,1,0], [0.1,0.9,0.8,0.3]) = 0.0375.
func TestProbabilisticScikitLearnExamples(t *testing.T) {
	var ll Probabilistic
	labels := []string{"spam", "ham", "ham", "spam"}
	probs := [][2]float64{{.1, .9}, {.9, .1}, {.8, .2}, {.35, .65}}
	for i, l := range labels {
		require.NoError(t, ll.AddMulticlass(map[string]float64{"ham": probs[i][0], "spam": probs[i][1]}, l))
	}
	require.InDelta(t, 0.21616187468057912, ll.LogLoss(), 1e-12)

	var br Probabilistic
	for i, p := range []float64{0.1, 0.9, 0.8, 0.3} {
		require.NoError(t, br.AddBinary(p, []bool{false, true, true, false}[i]))
	}
	require.InDelta(t, 0.0375, br.Brier(), 1e-12)
	// The binary log-loss of the same rows equals the two-class form.
	var two Probabilistic
	for i, p := range []float64{0.1, 0.9, 0.8, 0.3} {
		y := []string{"n", "y", "y", "n"}[i]
		require.NoError(t, two.AddMulticlass(map[string]float64{"y": p, "n": 1 - p}, y))
	}
	require.InDelta(t, two.LogLoss(), br.LogLoss(), 1e-12)
	require.InDelta(t, 2*br.Brier(), two.Brier(), 1e-12, "multiclass Brier counts both classes")

	require.ErrorContains(t, br.AddBinary(1.5, true), "score must be a probability")
	require.ErrorContains(t, br.AddMulticlass(map[string]float64{"a": -1}, "a"), `scores["a"]`)
	require.Error(t, br.AddMulticlass(map[string]float64{"a": 0}, "a"))
	var certain Probabilistic
	require.NoError(t, certain.AddBinary(0, true))
	require.InDelta(t, -math.Log(LogLossEpsilon), certain.LogLoss(), 1e-9, "clipped, finite")
}

// naiveIsotonic is a second, differently written PAV: it repeatedly merges the first adjacent
// pair of groups that decreases, until none does, then evaluates by linear interpolation over
// every distinct score.
func naiveIsotonic(scores []float64, outcomes []bool) func(float64) float64 {
	type grp struct {
		xs       []float64
		sum, cnt float64
	}
	byX := map[float64]*grp{}
	for i, s := range scores {
		g, ok := byX[s]
		if !ok {
			g = &grp{xs: []float64{s}}
			byX[s] = g
		}
		if outcomes[i] {
			g.sum++
		}
		g.cnt++
	}
	var gs []*grp
	for _, g := range byX {
		gs = append(gs, g)
	}
	for i := 0; i < len(gs); i++ { // selection sort by x: small inputs only
		for j := i + 1; j < len(gs); j++ {
			if gs[j].xs[0] < gs[i].xs[0] {
				gs[i], gs[j] = gs[j], gs[i]
			}
		}
	}
	for {
		merged := false
		for i := 0; i+1 < len(gs); i++ {
			if gs[i].sum/gs[i].cnt > gs[i+1].sum/gs[i+1].cnt {
				gs[i] = &grp{xs: append(gs[i].xs, gs[i+1].xs...), sum: gs[i].sum + gs[i+1].sum, cnt: gs[i].cnt + gs[i+1].cnt}
				gs = append(gs[:i+1], gs[i+2:]...)
				merged = true
				break
			}
		}
		if !merged {
			break
		}
	}
	var xs, ys []float64
	for _, g := range gs {
		for _, x := range g.xs {
			xs = append(xs, x)
			ys = append(ys, g.sum/g.cnt)
		}
	}
	return func(x float64) float64 {
		if x <= xs[0] {
			return ys[0]
		}
		for i := 1; i < len(xs); i++ {
			if x <= xs[i] {
				return ys[i-1] + (x-xs[i-1])/(xs[i]-xs[i-1])*(ys[i]-ys[i-1])
			}
		}
		return ys[len(ys)-1]
	}
}

func TestIsotonic(t *testing.T) {
	c, err := FitIsotonic([]float64{1, 2, 3, 4}, []bool{true, false, true, true})
	require.NoError(t, err)
	require.Equal(t, []float64{1, 2, 3, 4}, c.X)
	require.Equal(t, []float64{0.5, 0.5, 1, 1}, c.Y)
	require.Equal(t, 0.75, c.Predict(2.5))
	require.Equal(t, 0.5, c.Predict(-10))
	require.Equal(t, 1.0, c.Predict(10))
	require.NoError(t, c.Validate())

	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 30; trial++ {
		n := 5 + rng.IntN(80)
		s := make([]float64, n)
		o := make([]bool, n)
		for i := range s {
			s[i] = float64(rng.IntN(20)) / 20 // many ties
			o[i] = rng.Float64() < s[i]*s[i]
		}
		c, err := FitIsotonic(s, o)
		require.NoError(t, err)
		require.NoError(t, c.Validate())
		want := naiveIsotonic(s, o)
		for x := -0.1; x <= 1.1; x += 0.013 {
			require.InDelta(t, want(x), c.Predict(x), 1e-12, "trial %d x=%v", trial, x)
		}
	}
	_, err = FitIsotonic(nil, nil)
	require.Error(t, err)
	_, err = FitIsotonic([]float64{math.NaN()}, []bool{true})
	require.ErrorContains(t, err, "row 1")
}

// TestBinaryCBPE calibrates on a model whose scores are miscalibrated (P(y=1|s) = s²), then
// estimates performance on a shifted population (s ~ Beta(2,1), density 2s) and checks the
// estimates against the values integrated analytically:
// accuracy 0.6875, precision 0.625, recall 0.9375, F1 0.75. Raw scores would claim 0.75
// accuracy.
func TestBinaryCBPE(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var refS []float64
	var refY []bool
	for i := 0; i < 50000; i++ {
		s := rng.Float64()
		refS = append(refS, s)
		refY = append(refY, rng.Float64() < s*s)
	}
	m, err := FitBinaryCBPE(refS, refY, 0.5)
	require.NoError(t, err)
	var est Estimate
	realised := NewClassification(2)
	for i := 0; i < 40000; i++ {
		s := math.Sqrt(rng.Float64()) // Beta(2,1)
		require.NoError(t, m.Add(&est, s))
		y := rng.Float64() < s*s
		pred := "neg"
		if s >= 0.5 {
			pred = "pos"
		}
		actual := "neg"
		if y {
			actual = "pos"
		}
		require.NoError(t, realised.Add(actual, pred))
	}
	require.InDelta(t, 0.6875, est.Accuracy(), 0.01)
	require.InDelta(t, 0.625, est.Precision(), 0.01)
	require.InDelta(t, 0.9375, est.Recall(), 0.01)
	require.InDelta(t, 0.75, est.F1(), 0.01)
	r := realised.Metrics()
	require.InDelta(t, r.Accuracy, est.Accuracy(), 0.015, "estimate vs realised once labels arrive")

	// The same rows through the multiclass (confidence) estimator give the same accuracy. The
	// confidence max(s, 1−s) means P = c² for "pos" but 1−(1−c)² for "neg": calibrating both
	// classes together would be biased under this shift, per class it is not.
	conf := make([]float64, len(refS))
	correct := make([]bool, len(refS))
	predicted := make([]string, len(refS))
	label := func(s float64) string {
		if s >= 0.5 {
			return "pos"
		}
		return "neg"
	}
	for i, s := range refS {
		conf[i] = math.Max(s, 1-s)
		correct[i] = (s >= 0.5) == refY[i]
		predicted[i] = label(s)
	}
	am, err := FitAccuracyCBPE(predicted, conf, correct)
	require.NoError(t, err)
	var acc Estimate
	for i := 0; i < 40000; i++ {
		s := math.Sqrt(rng.Float64())
		require.NoError(t, am.Add(&acc, label(s), math.Max(s, 1-s)))
	}
	require.InDelta(t, 0.6875, acc.Accuracy(), 0.01)
	raw, err := json.Marshal(am)
	require.NoError(t, err)
	var back AccuracyCBPE
	require.NoError(t, json.Unmarshal(raw, &back))
	var acc2 Estimate
	require.NoError(t, back.Add(&acc2, "unknown-class", 0.9))
	require.InDelta(t, am.Pooled.Predict(0.9), acc2.Accuracy(), 1e-12)

	_, err = FitBinaryCBPE(refS, refY, 0)
	require.Error(t, err)
	require.Error(t, m.Add(&est, 2))
}

func BenchmarkClassificationAdd(b *testing.B) {
	c := NewClassification(0)
	classes := []string{"cat", "dog", "bird", "fish", "ant"}
	i := 0
	for b.Loop() {
		_ = c.Add(classes[i%5], classes[(i/5)%5])
		i++
	}
}
