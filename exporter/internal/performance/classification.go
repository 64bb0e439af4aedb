// Package performance measures a model against ground truth as mergeable window accumulators
// (classification confusion counts, regression error sums, log-loss and Brier sums), and
// estimates classification performance before the truth arrives from calibrated probabilities
// (confidence-based performance estimation, as NannyML's CBPE does).
//
// Every accumulator is plain data (encoding/json) with Add, Merge and Reset, so a ring of window
// slots can hold one per slot and the store can keep them.
package performance

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// OtherClass collects classes beyond the class limit, so a model that emits free-form labels
// cannot blow up the number of series.
const OtherClass = "__other__"

// DefaultMaxClasses bounds the classes of a Classification.
const DefaultMaxClasses = 20

// Classification is a confusion matrix over at most MaxClasses named classes (OtherClass
// included, once it is needed).
type Classification struct {
	MaxClasses int      `json:"max_classes"`
	Classes    []string `json:"classes"`
	// Confusion is row-major: Confusion[a*len(Classes)+p] counts actual class a predicted as p.
	Confusion []float64 `json:"confusion"`

	index map[string]int
}

// NewClassification returns an empty matrix; maxClasses ≤ 0 means DefaultMaxClasses, and at
// least 2 are kept (a class and OtherClass).
func NewClassification(maxClasses int) *Classification {
	if maxClasses <= 0 {
		maxClasses = DefaultMaxClasses
	}
	return &Classification{MaxClasses: max(maxClasses, 2)}
}

func (c *Classification) classIndex(name string) int {
	if c.index == nil || len(c.index) != len(c.Classes) {
		c.index = make(map[string]int, len(c.Classes))
		for i, n := range c.Classes {
			c.index[n] = i
		}
	}
	if i, ok := c.index[name]; ok {
		return i
	}
	// Keep one slot for OtherClass so the bound holds.
	if name != OtherClass && len(c.Classes) >= c.MaxClasses-1 {
		if i, ok := c.index[OtherClass]; ok {
			return i
		}
		if len(c.Classes) >= c.MaxClasses {
			return -1 // unreachable: OtherClass is added before the limit
		}
		name = OtherClass
	}
	k := len(c.Classes)
	grown := make([]float64, (k+1)*(k+1))
	for a := 0; a < k; a++ {
		copy(grown[a*(k+1):a*(k+1)+k], c.Confusion[a*k:a*k+k])
	}
	c.Classes = append(c.Classes, name)
	c.Confusion = grown
	c.index[name] = k
	return k
}

// Add records one labelled prediction.
func (c *Classification) Add(actual, predicted string) error {
	return c.AddN(actual, predicted, 1)
}

// AddN records n identical labelled predictions.
func (c *Classification) AddN(actual, predicted string, n float64) error {
	if actual == "" || predicted == "" {
		return errors.New("classification: label and prediction must be non-empty class names")
	}
	if !utf8.ValidString(actual) || !utf8.ValidString(predicted) {
		return errors.New("classification: class names must be valid UTF-8")
	}
	if n < 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return fmt.Errorf("classification: count must be finite and non-negative, got %v", n)
	}
	if c.MaxClasses < 2 {
		c.MaxClasses = DefaultMaxClasses
	}
	a := c.classIndex(actual)
	p := c.classIndex(predicted)
	c.Confusion[a*len(c.Classes)+p] += n
	return nil
}

// Merge adds o into c, matching classes by name.
func (c *Classification) Merge(o *Classification) error {
	k := len(o.Classes)
	if len(o.Confusion) != k*k {
		return fmt.Errorf("classification merge: %d classes but %d cells", k, len(o.Confusion))
	}
	for a := 0; a < k; a++ {
		for p := 0; p < k; p++ {
			if v := o.Confusion[a*k+p]; v != 0 {
				if err := c.AddN(o.Classes[a], o.Classes[p], v); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Reset zeroes the counts and keeps the classes (so exported series stay stable).
func (c *Classification) Reset() { clear(c.Confusion) }

// Count returns how often actual was predicted as predicted.
func (c *Classification) Count(actual, predicted string) float64 {
	k := len(c.Classes)
	var a, p = -1, -1
	for i, n := range c.Classes {
		if n == actual {
			a = i
		}
		if n == predicted {
			p = i
		}
	}
	if a < 0 || p < 0 {
		return 0
	}
	return c.Confusion[a*k+p]
}

// ClassMetrics are one class's one-vs-rest metrics.
type ClassMetrics struct {
	Class                 string
	Precision, Recall, F1 float64
	Support               float64 // labelled rows of this class
	Predicted             float64 // rows predicted as this class
}

// ClassificationMetrics are the usual summary of a confusion matrix.
type ClassificationMetrics struct {
	N, Correct, Accuracy                 float64
	Classes                              []ClassMetrics
	MacroPrecision, MacroRecall, MacroF1 float64
}

// Metrics computes accuracy, per-class precision, recall and F1 and their unweighted (macro)
// means, as scikit-learn does with zero_division=0: a ratio with an empty denominator is 0, and
// the macro mean runs over classes that were labelled or predicted at least once. With no rows
// every value is NaN.
func (c *Classification) Metrics() ClassificationMetrics {
	k := len(c.Classes)
	m := ClassificationMetrics{}
	for a := 0; a < k; a++ {
		for p := 0; p < k; p++ {
			v := c.Confusion[a*k+p]
			m.N += v
			if a == p {
				m.Correct += v
			}
		}
	}
	if m.N == 0 {
		nan := math.NaN()
		return ClassificationMetrics{Accuracy: nan, MacroPrecision: nan, MacroRecall: nan, MacroF1: nan}
	}
	m.Accuracy = m.Correct / m.N
	var present float64
	for i := 0; i < k; i++ {
		cm := ClassMetrics{Class: c.Classes[i]}
		tp := c.Confusion[i*k+i]
		for j := 0; j < k; j++ {
			cm.Support += c.Confusion[i*k+j]
			cm.Predicted += c.Confusion[j*k+i]
		}
		cm.Precision = ratio(tp, cm.Predicted)
		cm.Recall = ratio(tp, cm.Support)
		cm.F1 = ratio(2*tp, cm.Support+cm.Predicted)
		m.Classes = append(m.Classes, cm)
		if cm.Support+cm.Predicted > 0 {
			present++
			m.MacroPrecision += cm.Precision
			m.MacroRecall += cm.Recall
			m.MacroF1 += cm.F1
		}
	}
	m.MacroPrecision /= present
	m.MacroRecall /= present
	m.MacroF1 /= present
	return m
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
