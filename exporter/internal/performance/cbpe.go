package performance

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Calibrator maps a model score to the probability that it is right, learnt on labelled
// reference data by isotonic regression (pool adjacent violators). It predicts like
// scikit-learn's IsotonicRegression(out_of_bounds="clip"), which NannyML's CBPE uses: linear
// between knots, flat beyond the first and last.
type Calibrator struct {
	X []float64 `json:"x"`
	Y []float64 `json:"y"`
}

// FitIsotonic fits a non-decreasing step function to (score, outcome) pairs.
func FitIsotonic(scores []float64, outcomes []bool) (Calibrator, error) {
	if len(scores) != len(outcomes) {
		return Calibrator{}, fmt.Errorf("calibration: %d scores but %d labels", len(scores), len(outcomes))
	}
	if len(scores) == 0 {
		return Calibrator{}, errors.New("calibration: no labelled reference rows")
	}
	idx := make([]int, len(scores))
	for i, s := range scores {
		if math.IsNaN(s) || math.IsInf(s, 0) {
			return Calibrator{}, fmt.Errorf("calibration: score of row %d is %v, want a finite number", i+1, s)
		}
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	// One point per distinct score (its outcome sum and weight) first — merging before all
	// ties of a score are in would pool the wrong neighbours — then pool adjacent violators.
	var x, sum, w []float64
	for _, i := range idx {
		y := 0.0
		if outcomes[i] {
			y = 1
		}
		if n := len(x); n > 0 && x[n-1] == scores[i] {
			sum[n-1] += y
			w[n-1]++
			continue
		}
		x, sum, w = append(x, scores[i]), append(sum, y), append(w, 1)
	}
	return poolAdjacent(x, sum, w), nil
}

// Predict returns the calibrated probability of a score.
func (c Calibrator) Predict(x float64) float64 {
	n := len(c.X)
	switch {
	case n == 0 || math.IsNaN(x):
		return math.NaN()
	case x <= c.X[0]:
		return c.Y[0]
	case x >= c.X[n-1]:
		return c.Y[n-1]
	}
	i := sort.SearchFloat64s(c.X, x) // c.X[i-1] < x ≤ c.X[i]
	if c.X[i] == x {
		return c.Y[i]
	}
	t := (x - c.X[i-1]) / (c.X[i] - c.X[i-1])
	return c.Y[i-1] + t*(c.Y[i]-c.Y[i-1])
}

// Validate checks a calibrator loaded from storage.
func (c Calibrator) Validate() error {
	if len(c.X) == 0 || len(c.X) != len(c.Y) {
		return fmt.Errorf("calibrator: want matching non-empty x and y, got %d and %d", len(c.X), len(c.Y))
	}
	for i := range c.X {
		if math.IsNaN(c.X[i]) || math.IsInf(c.X[i], 0) || (i > 0 && c.X[i] < c.X[i-1]) {
			return fmt.Errorf("calibrator: x[%d] must be finite and non-decreasing", i)
		}
		if !(c.Y[i] >= 0 && c.Y[i] <= 1) || (i > 0 && c.Y[i] < c.Y[i-1]) {
			return fmt.Errorf("calibrator: y[%d] must be a non-decreasing probability", i)
		}
	}
	return nil
}

// BinaryCBPE estimates a binary classifier's confusion matrix from the probability it gives the
// positive class. Calibrated on labelled reference rows, each unlabelled prediction with
// calibrated probability p counts p as a true positive and 1−p as a false positive when it was
// predicted positive (score ≥ Threshold), and p as a false negative and 1−p as a true negative
// otherwise. The expectation is unbiased as long as the calibration still holds, i.e. under
// covariate shift but not under concept drift.
type BinaryCBPE struct {
	Threshold  float64    `json:"threshold"`
	Calibrator Calibrator `json:"calibrator"`
	// Calibrated is false when the fit judged the raw scores at least as good as calibrated
	// ones on held-out reference rows and kept them (Reliability.Fit).
	Calibrated bool `json:"calibrated,omitempty"`
}

// FitBinaryCBPE calibrates on labelled reference rows: the model's positive-class scores and
// the labels.
func FitBinaryCBPE(scores []float64, positive []bool, threshold float64) (*BinaryCBPE, error) {
	if !(threshold > 0 && threshold <= 1) {
		return nil, fmt.Errorf("cbpe: threshold must be in (0, 1], got %v", threshold)
	}
	c, err := FitIsotonic(scores, positive)
	if err != nil {
		return nil, fmt.Errorf("cbpe: %w", err)
	}
	return &BinaryCBPE{Threshold: threshold, Calibrator: c}, nil
}

// Estimate accumulates expected confusion counts; it merges by adding.
type Estimate struct {
	N  float64 `json:"n"`
	TP float64 `json:"tp"`
	FP float64 `json:"fp"`
	FN float64 `json:"fn"`
	TN float64 `json:"tn"`
}

// Add records one unlabelled prediction's positive-class score.
func (m *BinaryCBPE) Add(e *Estimate, score float64) error {
	if err := checkProb("score", score); err != nil {
		return err
	}
	p := m.Calibrator.Predict(score)
	e.N++
	if score >= m.Threshold {
		e.TP += p
		e.FP += 1 - p
	} else {
		e.FN += p
		e.TN += 1 - p
	}
	return nil
}

// Merge adds o into e.
func (e *Estimate) Merge(o *Estimate) {
	e.N += o.N
	e.TP += o.TP
	e.FP += o.FP
	e.FN += o.FN
	e.TN += o.TN
}

// Reset zeroes the estimate.
func (e *Estimate) Reset() { *e = Estimate{} }

// Accuracy is the expected share of correct predictions.
func (e *Estimate) Accuracy() float64 { return (e.TP + e.TN) / e.N }

// Precision is expected TP/(TP+FP), 0 when nothing was predicted positive.
func (e *Estimate) Precision() float64 { return ratio(e.TP, e.TP+e.FP) }

// Recall is expected TP/(TP+FN).
func (e *Estimate) Recall() float64 { return ratio(e.TP, e.TP+e.FN) }

// F1 is 2TP/(2TP+FP+FN) of the expected counts.
func (e *Estimate) F1() float64 { return ratio(2*e.TP, 2*e.TP+e.FP+e.FN) }

// AccuracyCBPE estimates any classifier's accuracy from the score of the class it predicted
// (its confidence), calibrated on labelled reference rows to P(prediction is right) separately
// for each predicted class: the same confidence can mean different odds for different classes,
// and a shift in the class mix would otherwise bias the estimate. This is the multiclass case;
// for binary models BinaryCBPE also gives precision, recall and F1.
type AccuracyCBPE struct {
	PerClass map[string]Calibrator `json:"per_class"`
	// Pooled serves predicted classes the reference never predicted.
	Pooled Calibrator `json:"pooled"`
}

// FitAccuracyCBPE calibrates on labelled reference rows: the predicted class, its confidence
// and whether the prediction was right.
func FitAccuracyCBPE(predicted []string, confidence []float64, correct []bool) (*AccuracyCBPE, error) {
	if len(predicted) != len(confidence) {
		return nil, fmt.Errorf("cbpe: %d predicted classes but %d confidences", len(predicted), len(confidence))
	}
	pooled, err := FitIsotonic(confidence, correct)
	if err != nil {
		return nil, fmt.Errorf("cbpe: %w", err)
	}
	m := &AccuracyCBPE{PerClass: map[string]Calibrator{}, Pooled: pooled}
	byClass := map[string][]int{}
	for i, c := range predicted {
		byClass[c] = append(byClass[c], i)
	}
	for c, rows := range byClass {
		conf := make([]float64, len(rows))
		ok := make([]bool, len(rows))
		for j, i := range rows {
			conf[j], ok[j] = confidence[i], correct[i]
		}
		cal, err := FitIsotonic(conf, ok)
		if err != nil {
			return nil, fmt.Errorf("cbpe: class %q: %w", c, err)
		}
		m.PerClass[c] = cal
	}
	return m, nil
}

// Add records one unlabelled prediction (its class and confidence) into e: TP counts expected
// correct rows, FP expected wrong ones, and e.Accuracy() is the estimate.
func (m *AccuracyCBPE) Add(e *Estimate, predicted string, confidence float64) error {
	if err := checkProb("confidence", confidence); err != nil {
		return err
	}
	cal, ok := m.PerClass[predicted]
	if !ok {
		cal = m.Pooled
	}
	p := cal.Predict(confidence)
	e.N++
	e.TP += p
	e.FP += 1 - p
	return nil
}
