package state

// The CBPE calibration of the performance pillar: the labelled reference from which the
// accuracy (and, for boolean models, precision and recall) of unlabelled predictions is
// estimated, in fixed-size reliability bins, and its refits.

import (
	"fmt"
	"math"

	"github.com/opscentre/opscentre/exporter/internal/performance"
)

// CalibrationRows is how many labelled predictions with a confidence first calibrate the CBPE
// estimate of a version. Later labelled predictions keep joining its labelled reference (in
// fixed-size reliability bins), and the calibration is fitted again every CalibrationRows
// rows, until it holds calibrationMaxRows.
const CalibrationRows = 1000

// calibrationMaxRows ends a version's labelled reference: the first this many labelled
// predictions with a confidence. Keeping the reference fixed after that is what lets the
// estimate disagree with the realised accuracy when the concept drifts.
const calibrationMaxRows = 100000

// BinaryCalibration is the labelled reference of a boolean model's CBPE: the score of true
// against whether the label was true, in fixed-size reliability bins. Score and Positive are
// raw rows saved by earlier releases; they are folded into the bins on restore.
type BinaryCalibration struct {
	Score    []float64                `json:"score,omitempty"`
	Positive []bool                   `json:"positive,omitempty"`
	Bins     *performance.Reliability `json:"bins,omitempty"`
}

// Calibration is the labelled reference of the CBPE estimate: the predicted class's confidence
// against whether it was right, in fixed-size reliability bins per predicted class (at most
// labels.max_classes of them) and pooled over all classes. Predicted, Confidence and Correct
// are raw rows saved by earlier releases; they are folded into the bins on restore.
type Calibration struct {
	Predicted  []string                            `json:"predicted,omitempty"`
	Confidence []float64                           `json:"confidence,omitempty"`
	Correct    []bool                              `json:"correct,omitempty"`
	PerClass   map[string]*performance.Reliability `json:"per_class,omitempty"`
	Pooled     *performance.Reliability            `json:"pooled,omitempty"`
}

// rows is how many labelled predictions the reference holds.
func (c *Calibration) rows() float64 {
	if c.Pooled == nil {
		return float64(len(c.Predicted))
	}
	return c.Pooled.Rows + float64(len(c.Predicted))
}

func (c *BinaryCalibration) rows() float64 {
	if c.Bins == nil {
		return float64(len(c.Score))
	}
	return c.Bins.Rows + float64(len(c.Score))
}

// refitDue reports whether a reference that just reached n rows should be fitted: every
// CalibrationRows rows up to calibrationMaxRows. A fit costs a few pool-adjacent-violators
// passes over the bins (microseconds), so refitting this often is free, and the estimate always
// rests on nearly the whole reference.
func refitDue(n float64) bool {
	return n >= CalibrationRows && n <= calibrationMaxRows && math.Mod(n, CalibrationRows) == 0
}

// calibrateBinary adds to the labelled reference of a boolean model's CBPE; the decision
// threshold is 0.5, the one a boolean prediction with a score implies.
func (v *Version) calibrateBinary(score float64, positive bool) {
	cb := &v.perf.bcalib
	if cb.rows() >= calibrationMaxRows {
		return
	}
	if cb.Bins == nil {
		cb.Bins = performance.NewReliability(0)
	}
	if cb.Bins.Add(score, positive) != nil {
		return
	}
	if n := cb.rows(); refitDue(n) {
		if m, err := performance.FitBinaryCBPEReliability(cb.Bins, 0.5); err == nil {
			v.perf.binary = m
		}
	}
}

// calibrate adds to the labelled reference of the CBPE estimate and fits it when due.
func (v *Version) calibrate(predicted string, confidence float64, correct bool) {
	cb := &v.perf.calib
	if cb.rows() >= calibrationMaxRows {
		return
	}
	if cb.Pooled == nil {
		cb.Pooled = performance.NewReliability(0)
	}
	if cb.Pooled.Add(confidence, correct) != nil {
		return
	}
	r, ok := cb.PerClass[predicted]
	if !ok && len(cb.PerClass) < max(v.perf.maxClasses, 2) {
		if cb.PerClass == nil {
			cb.PerClass = map[string]*performance.Reliability{}
		}
		r = performance.NewReliability(0)
		cb.PerClass[predicted] = r
	}
	if r != nil {
		_ = r.Add(confidence, correct)
	}
	if n := cb.rows(); refitDue(n) {
		if m, err := performance.FitAccuracyCBPEReliability(cb.PerClass, cb.Pooled); err == nil {
			v.perf.cbpe = m
		}
	}
}

// foldLegacy moves raw calibration rows saved by an earlier release into the bins.
func (c *Calibration) foldLegacy(maxClasses int) {
	rows := len(c.Predicted)
	if rows == 0 || len(c.Confidence) != rows || len(c.Correct) != rows {
		c.Predicted, c.Confidence, c.Correct = nil, nil, nil
		return
	}
	if c.Pooled == nil {
		c.Pooled = performance.NewReliability(0)
	}
	for i, p := range c.Predicted {
		if c.Pooled.Add(c.Confidence[i], c.Correct[i]) != nil {
			continue
		}
		r, ok := c.PerClass[p]
		if !ok && len(c.PerClass) < max(maxClasses, 2) {
			if c.PerClass == nil {
				c.PerClass = map[string]*performance.Reliability{}
			}
			r = performance.NewReliability(0)
			c.PerClass[p] = r
		}
		if r != nil {
			_ = r.Add(c.Confidence[i], c.Correct[i])
		}
	}
	c.Predicted, c.Confidence, c.Correct = nil, nil, nil
}

func (c *BinaryCalibration) foldLegacy() {
	if len(c.Score) > 0 && len(c.Score) == len(c.Positive) {
		if c.Bins == nil {
			c.Bins = performance.NewReliability(0)
		}
		for i, s := range c.Score {
			_ = c.Bins.Add(s, c.Positive[i])
		}
	}
	c.Score, c.Positive = nil, nil
}

// validate checks a calibration loaded from storage.
func (c *Calibration) validate() error {
	if c.Pooled != nil {
		if err := c.Pooled.Validate(); err != nil {
			return fmt.Errorf("pooled: %w", err)
		}
	}
	for class, r := range c.PerClass {
		if r == nil {
			return fmt.Errorf("per_class[%q]: missing", class)
		}
		if err := r.Validate(); err != nil {
			return fmt.Errorf("per_class[%q]: %w", class, err)
		}
	}
	return nil
}

// clone copies the calibration deeply: the bins keep changing after a snapshot is taken.
func (c *Calibration) clone() *Calibration {
	out := &Calibration{Predicted: c.Predicted, Confidence: c.Confidence, Correct: c.Correct}
	if c.Pooled != nil {
		out.Pooled = c.Pooled.Clone()
	}
	if c.PerClass != nil {
		out.PerClass = make(map[string]*performance.Reliability, len(c.PerClass))
		for k, r := range c.PerClass {
			out.PerClass[k] = r.Clone()
		}
	}
	return out
}

func (c *BinaryCalibration) clone() *BinaryCalibration {
	out := &BinaryCalibration{Score: c.Score, Positive: c.Positive}
	if c.Bins != nil {
		out.Bins = c.Bins.Clone()
	}
	return out
}
