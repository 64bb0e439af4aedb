package state

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/performance"
)

const cbpeConfig = `
window: {sub_windows: 24, sub_window_duration: 1h}
reference: {capture_first: 0}
labels: {max_awaiting: 100000, max_age: 30d, unknown_id_ttl: 1h}
models:
  fraud: {}
`

// predictBool applies a boolean prediction with one score.
func predictBool(v *Version, at time.Time, id string, pred bool, scoreName string, score float64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e := Event{Time: at, Outcome: -1, Feedback: -1, ID: []byte(id),
		Prediction: PredictionValue{Present: true, Type: config.Boolean},
		Scores:     []Score{{Name: []byte(scoreName), Value: score}}}
	if pred {
		e.Prediction.Num = 1
	}
	v.apply(&e)
}

func labelBool(t *testing.T, s *State, at time.Time, id string, truth bool) {
	t.Helper()
	res, _, err := s.ApplyLabel("fraud", "", &Label{ID: id, Time: at, IsClass: true, Class: fmt.Sprint(truth)})
	require.NoError(t, err)
	require.Equal(t, LabelJoined, res.Result, id)
}

// A boolean model that sends one score under another name than true/false ({"score": 0.8})
// sends the score of true, as exporter/README.md says: a true prediction's confidence is the
// score, a false one's its complement. Predictions of true with score 0.8 are right 80% of the
// time, predictions of false with score 0.3 are right 70%.
func TestBooleanLoneScoreIsScoreOfTrue(t *testing.T) {
	c := &clock{t: t0}
	s := newState(t, cbpeConfig, c)
	v := resolve(t, s, "fraud", "")
	for i := 0; i < CalibrationRows; i++ {
		id := fmt.Sprint("c", i)
		if i%2 == 0 {
			predictBool(v, c.t, id, true, "score", 0.8)
			labelBool(t, s, c.t, id, (i/2)%10 < 8)
		} else {
			predictBool(v, c.t, id, false, "score", 0.3)
			labelBool(t, s, c.t, id, (i/2)%10 < 3)
		}
	}
	r := v.ReadPerf(c.t)
	// Brier of the predicted class's confidence: 0.8 right 80%, 0.7 right 70%.
	require.InDelta(t, (0.8*0.04+0.2*0.64+0.7*0.09+0.3*0.49)/2, r.Counters.Prob.Brier(), 1e-9)
	require.True(t, r.Calibrated)

	c.t = c.t.Add(25 * time.Hour) // the labelled rows leave the window
	for i := 0; i < 100; i++ {
		if i%2 == 0 {
			predictBool(v, c.t, fmt.Sprint("u", i), true, "score", 0.8)
		} else {
			predictBool(v, c.t, fmt.Sprint("u", i), false, "score", 0.3)
		}
	}
	w := v.ReadPerf(c.t).Window
	require.NotNil(t, w)
	// Expected counts per 100: TP 40, FP 10, FN 15, TN 35.
	require.InDelta(t, 0.8, w.Binary.Precision(), 1e-9)
	require.InDelta(t, 40.0/55, w.Binary.Recall(), 1e-9)
	require.InDelta(t, 0.75, w.Estimate.Accuracy(), 1e-9)
}

// The CBPE estimate must rest on the whole labelled reference, not on its first 1000 rows:
// over seeded data sets with covariate shift (reference scores uniform, production Beta(2,1),
// P(true | s) = s² throughout), the RMSE of the estimated accuracy, precision and recall
// against the true values (0.6875, 0.625, 0.9375) must be small. Calibrated on 1000 rows it is
// about 0.016 for accuracy; on all 10,000 about 0.004.
func TestCBPEUsesWholeLabelledReference(t *testing.T) {
	sets := 15
	const nRef, nProd = 10000, 2000
	var sq [3]float64
	for seed := 0; seed < sets; seed++ {
		c := &clock{t: t0}
		s := newState(t, cbpeConfig, c)
		v := resolve(t, s, "fraud", "")
		rng := rand.New(rand.NewPCG(uint64(seed), 5))
		for i := 0; i < nRef; i++ {
			sc := rng.Float64()
			id := fmt.Sprint("r", i)
			predictBool(v, c.t, id, sc >= 0.5, "true", sc)
			labelBool(t, s, c.t, id, rng.Float64() < sc*sc)
		}
		c.t = c.t.Add(25 * time.Hour)
		for i := 0; i < nProd; i++ {
			sc := math.Sqrt((float64(i) + 0.5) / nProd) // stratified Beta(2, 1)
			predictBool(v, c.t, fmt.Sprint("p", i), sc >= 0.5, "true", sc)
		}
		w := v.ReadPerf(c.t).Window
		require.NotNil(t, w)
		for k, d := range [3]float64{w.Estimate.Accuracy() - 0.6875, w.Binary.Precision() - 0.625, w.Binary.Recall() - 0.9375} {
			sq[k] += d * d
		}
	}
	for k, name := range []string{"accuracy", "precision", "recall"} {
		rmse := math.Sqrt(sq[k] / float64(sets))
		t.Logf("%s: RMSE %.4f over %d data sets", name, rmse, sets)
		if limit := []float64{0.008, 0.01, 0.004}[k]; rmse > limit {
			t.Errorf("estimated %s: RMSE %.4f against the truth, want at most %.3f (calibration noise of a partial reference)", name, rmse, limit)
		}
	}
}

// A calibration saved by an earlier release holds raw rows; restored, they are folded into the
// bins, so the labelled reference is kept and fits as before.
func TestLegacyCalibrationRowsAreFolded(t *testing.T) {
	c := &Calibration{}
	b := &BinaryCalibration{}
	for i := 0; i < CalibrationRows; i++ {
		right := i%10 < 7
		c.Predicted = append(c.Predicted, []string{"yes", "no"}[i%2])
		c.Confidence = append(c.Confidence, 0.9)
		c.Correct = append(c.Correct, right)
		b.Score = append(b.Score, 0.8)
		b.Positive = append(b.Positive, right)
	}
	c.foldLegacy(20)
	b.foldLegacy()
	require.Nil(t, c.Predicted)
	require.Nil(t, b.Score)
	require.EqualValues(t, CalibrationRows, c.rows())
	require.EqualValues(t, CalibrationRows, b.rows())
	require.Len(t, c.PerClass, 2)
	m, err := performance.FitAccuracyCBPEReliability(c.PerClass, c.Pooled)
	require.NoError(t, err)
	// "yes" rows are the even ones, right for i%10 in {0, 2, 4, 6}: 80%.
	require.InDelta(t, 0.8, m.PerClass["yes"].Predict(0.9), 1e-12)
	bm, err := performance.FitBinaryCBPEReliability(b.Bins, 0.5)
	require.NoError(t, err)
	require.InDelta(t, 0.7, bm.Calibrator.Predict(0.8), 1e-12)
	// A corrupt saved structure is refused, naming the part.
	bad := &Calibration{Pooled: performance.NewReliability(4)}
	bad.Pooled.N = bad.Pooled.N[:1]
	require.ErrorContains(t, bad.validate(), "pooled")
}
