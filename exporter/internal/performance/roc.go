package performance

import (
	"fmt"
	"math"
	"strconv"
)

// DefaultROCBins is the number of equal-width score bins on [0, 1] a ROC accumulator keeps.
const DefaultROCBins = 200

// ROC accumulates a binary classifier's scores per equal-width score bin, split by class, and
// gives the area under the ROC curve. The classes may be counted (realised AUC, from labels) or
// expected (CBPE's estimated AUC: each unlabelled prediction adds its calibrated probability p
// to the positives and 1 − p to the negatives of its score's bin). It merges by adding.
//
// Binning treats scores in one bin as tied, and a tie counts one half, as in scikit-learn's
// roc_auc_score. So the result differs from the AUC of the raw scores only through pairs of a
// positive and a negative in the same bin, by at most TieBound.
type ROC struct {
	Pos []float64 `json:"pos"`
	Neg []float64 `json:"neg"`
}

// NewROC returns an empty accumulator with the given number of bins (DefaultROCBins when ≤ 0).
func NewROC(bins int) *ROC {
	if bins <= 0 {
		bins = DefaultROCBins
	}
	return &ROC{Pos: make([]float64, bins), Neg: make([]float64, bins)}
}

func (r *ROC) bin(score float64) int { return scoreBin(score, len(r.Pos)) }

// binSlack moves a score within this much below a bin edge into the bin above: a score that
// went through 1 − (1 − s) (a boolean model's confidence and back) can land one ulp short of
// the edge it was sent on.
const binSlack = 1e-9

// scoreBin is the equal-width bin of a score in [0, 1].
func scoreBin(score float64, bins int) int {
	return min(int(score*float64(bins)+binSlack), bins-1)
}

// AddLabelled records one labelled prediction: the score of the positive class and the truth.
func (r *ROC) AddLabelled(score float64, positive bool) error {
	if positive {
		return r.AddExpected(score, 1)
	}
	return r.AddExpected(score, 0)
}

// AddExpected records one unlabelled prediction whose probability of being positive is p.
func (r *ROC) AddExpected(score, p float64) error {
	if err := checkProb("score", score); err != nil {
		return err
	}
	if err := checkProb("probability", p); err != nil {
		return err
	}
	b := r.bin(score)
	r.Pos[b] += p
	r.Neg[b] += 1 - p
	return nil
}

// Merge adds o into r; both must have the same bins.
func (r *ROC) Merge(o *ROC) error {
	if len(o.Pos) != len(r.Pos) || len(o.Neg) != len(r.Neg) {
		return fmt.Errorf("roc merge: %d bins against %d", len(o.Pos), len(r.Pos))
	}
	for i := range r.Pos {
		r.Pos[i] += o.Pos[i]
		r.Neg[i] += o.Neg[i]
	}
	return nil
}

// Reset zeroes the counts.
func (r *ROC) Reset() {
	clear(r.Pos)
	clear(r.Neg)
}

// Clone returns a deep copy.
func (r *ROC) Clone() *ROC {
	return &ROC{Pos: append([]float64(nil), r.Pos...), Neg: append([]float64(nil), r.Neg...)}
}

// Validate checks an accumulator loaded from storage.
func (r *ROC) Validate() error {
	if len(r.Pos) == 0 || len(r.Pos) != len(r.Neg) || len(r.Pos) > 100000 {
		return fmt.Errorf("roc: pos and neg must hold the same number of bins (1..100000), got %d and %d", len(r.Pos), len(r.Neg))
	}
	for i := range r.Pos {
		if !(r.Pos[i] >= 0) || !(r.Neg[i] >= 0) || math.IsInf(r.Pos[i]+r.Neg[i], 0) {
			return fmt.Errorf("roc: bin %d must hold finite non-negative counts, got %v and %v", i, r.Pos[i], r.Neg[i])
		}
	}
	return nil
}

// n is the number of bins both slices hold (they differ only in corrupt data).
func (r *ROC) n() int { return min(len(r.Pos), len(r.Neg)) }

// Totals returns the (expected) positives and negatives.
func (r *ROC) Totals() (pos, neg float64) {
	for i := range r.n() {
		pos += r.Pos[i]
		neg += r.Neg[i]
	}
	return pos, neg
}

// AUC is P(score of a positive > score of a negative) + ½ P(same bin): the area under the ROC
// curve through the bins' thresholds (the trapezoidal rule, as scikit-learn and NannyML
// integrate it). NaN when either class is empty.
func (r *ROC) AUC() float64 {
	pos, neg := r.Totals()
	if pos <= 0 || neg <= 0 {
		return math.NaN()
	}
	// Σ over bins of negatives × (positives in lower bins + ½ positives in the bin) counts the
	// pairs ranked wrongly; the AUC is the rest.
	var below, wrong float64
	for i := range r.n() {
		wrong += r.Neg[i] * (below + r.Pos[i]/2)
		below += r.Pos[i]
	}
	return 1 - wrong/(pos*neg)
}

// TieBound is ½ Σ_b pos_b·neg_b / (pos·neg): the largest difference binning can make to the
// AUC, reached only if every positive ranked above (or below) every negative of its bin.
func (r *ROC) TieBound() float64 {
	pos, neg := r.Totals()
	if pos <= 0 || neg <= 0 {
		return math.NaN()
	}
	var ties float64
	for i := range r.n() {
		ties += r.Pos[i] * r.Neg[i]
	}
	return ties / (2 * pos * neg)
}

// Coarse returns the accumulator merged into k bins (k must divide the bins): the form exported
// as counters, where each bin is a series.
func (r *ROC) Coarse(k int) (*ROC, error) {
	n := r.n()
	if k <= 0 || n%k != 0 {
		return nil, fmt.Errorf("roc: %d bins cannot be merged into %d", n, k)
	}
	out := NewROC(k)
	w := n / k
	for i := range r.n() {
		out.Pos[i/w] += r.Pos[i]
		out.Neg[i/w] += r.Neg[i]
	}
	return out, nil
}

// BinLabel names bin i of k by its lower edge, as the exported `bin` label does.
func BinLabel(i, k int) string {
	return strconv.FormatFloat(float64(i)/float64(k), 'f', -1, 64)
}

// EstimatedROC adds CBPE's expected classes to an ROC accumulator: the prediction's positive-
// class score ranks it, and its calibrated probability splits it between the classes.
func (m *BinaryCBPE) EstimatedROC(r *ROC, score float64) error {
	if err := checkProb("score", score); err != nil {
		return err
	}
	return r.AddExpected(score, m.Calibrator.Predict(score))
}

// PromQLROCAUC is the realised ROC AUC per model version from the exported score-bin counters:
// 1 − Σ_b neg_b·(pos below b + ½ pos_b) / (pos·neg), summed over replicas. window "" reads the
// lifetime counters; a range such as "1d" reads their increase over it.
func PromQLROCAUC(window string) string {
	sel := func(family, actual string) string {
		s := family + `{actual="` + actual + `"}`
		if window != "" {
			s = "increase(" + s + "[" + window + "])"
		}
		return s
	}
	byBin := func(family, actual string) string {
		return "sum by (model, version, bin) (" + sel(family, actual) + ")"
	}
	total := func(actual string) string {
		return "sum by (model, version) (" + sel("aiops_model_score_bin_total", actual) + ")"
	}
	return "1 - (\n  sum by (model, version) (\n    " + byBin("aiops_model_score_bin_total", "false") +
		"\n    * on (model, version, bin) (\n      " + byBin("aiops_model_score_below_total", "true") +
		"\n      + 0.5 * " + byBin("aiops_model_score_bin_total", "true") +
		"\n    )\n  )\n  / (" + total("true") + " * " + total("false") + ")\n)"
}
