package performance

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// DefaultReliabilityBins is the number of equal-width score bins of a Reliability: 100 bins of
// width 0.01. The calibration fitted on them differs from one fitted on the raw rows by at most
// how much the true calibration curve moves within one bin, which is far below the sampling
// noise of any reference this exporter sees.
const DefaultReliabilityBins = 100

// Reliability is the labelled reference of a CBPE calibration in fixed memory: per equal-width
// score bin on [0, 1], the rows, the positives (or right predictions), the sum of the scores,
// the sum of the positives' scores and the sum of squared scores. Rows are spread over two
// folds, so Fit can judge on held-out rows whether calibrating helps. It merges by adding, and
// its size does not depend on how many rows it has seen.
type Reliability struct {
	Bins int `json:"bins"`
	// Each slice holds fold 0's bins, then fold 1's: index fold·Bins + bin.
	N      []float64 `json:"n"`
	Pos    []float64 `json:"pos"`
	Sum    []float64 `json:"sum"`
	SumPos []float64 `json:"sum_pos"`
	SumSq  []float64 `json:"sum_sq"`
	// Rows counts every row added; a hash of it picks the next row's fold.
	Rows float64 `json:"rows"`
}

// NewReliability returns an empty structure with the given number of bins
// (DefaultReliabilityBins when bins ≤ 0).
func NewReliability(bins int) *Reliability {
	if bins <= 0 {
		bins = DefaultReliabilityBins
	}
	n := 2 * bins
	return &Reliability{Bins: bins, N: make([]float64, n), Pos: make([]float64, n), Sum: make([]float64, n),
		SumPos: make([]float64, n), SumSq: make([]float64, n)}
}

// Add records one labelled row: the score (a probability) and whether the row was positive.
func (r *Reliability) Add(score float64, positive bool) error {
	if err := checkProb("score", score); err != nil {
		return err
	}
	fold := foldOf(r.Rows)
	b := scoreBin(score, r.Bins)
	i := fold*r.Bins + b
	r.N[i]++
	r.Sum[i] += score
	r.SumSq[i] += score * score
	if positive {
		r.Pos[i]++
		r.SumPos[i] += score
	}
	r.Rows++
	return nil
}

// foldOf spreads rows over the two folds by a hash of their number (SplitMix64's finaliser),
// not by parity: data that alternates (true and false predictions in turn) would otherwise put
// each kind in its own fold, and each fold's fit would know nothing of the other's scores.
func foldOf(row float64) int {
	z := uint64(row) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return int((z ^ (z >> 31)) & 1)
}

// Merge adds o into r; both must have the same bins.
func (r *Reliability) Merge(o *Reliability) error {
	if o.Bins != r.Bins {
		return fmt.Errorf("reliability merge: %d bins against %d", o.Bins, r.Bins)
	}
	for i := range r.N {
		r.N[i] += o.N[i]
		r.Pos[i] += o.Pos[i]
		r.Sum[i] += o.Sum[i]
		r.SumPos[i] += o.SumPos[i]
		r.SumSq[i] += o.SumSq[i]
	}
	r.Rows += o.Rows
	return nil
}

// Validate checks a structure loaded from storage.
func (r *Reliability) Validate() error {
	if r.Bins <= 0 || r.Bins > 100000 {
		return fmt.Errorf("reliability: bins must be in 1..100000, got %d", r.Bins)
	}
	for name, s := range map[string][]float64{"n": r.N, "pos": r.Pos, "sum": r.Sum, "sum_pos": r.SumPos, "sum_sq": r.SumSq} {
		if len(s) != 2*r.Bins {
			return fmt.Errorf("reliability: %s must hold %d values (two folds of %d bins), got %d", name, 2*r.Bins, r.Bins, len(s))
		}
		for i, v := range s {
			if !(v >= 0) || math.IsInf(v, 0) {
				return fmt.Errorf("reliability: %s[%d] must be finite and non-negative, got %v", name, i, v)
			}
		}
	}
	for i := range r.N {
		if r.Pos[i] > r.N[i] {
			return fmt.Errorf("reliability: pos[%d] = %v exceeds n[%d] = %v", i, r.Pos[i], i, r.N[i])
		}
	}
	return nil
}

// points returns the non-empty bins of the given folds as weighted points (mean score, share
// positive, rows), in score order.
func (r *Reliability) points(folds ...int) (x, y, w []float64) {
	for b := 0; b < r.Bins; b++ {
		var n, pos, sum float64
		for _, f := range folds {
			i := f*r.Bins + b
			n += r.N[i]
			pos += r.Pos[i]
			sum += r.Sum[i]
		}
		if n > 0 {
			x = append(x, sum/n)
			y = append(y, pos/n)
			w = append(w, n)
		}
	}
	return x, y, w
}

// Identity is the calibrator that keeps scores as they are.
func Identity() Calibrator { return Calibrator{X: []float64{0, 1}, Y: []float64{0, 1}} }

// Fit returns the calibration of the scores and whether it calibrates at all.
//
// The rule: an isotonic fit on one fold is scored on the other fold by the Brier score, both
// ways round, and compared with the Brier score of the raw scores on the same rows. Calibration
// is used only when it lowers the held-out Brier score; otherwise the scores are already as
// well calibrated as the reference can tell, and fitting would only add its noise, so Fit
// returns Identity. The final fit uses both folds.
func (r *Reliability) Fit() (c Calibrator, calibrated bool, err error) {
	if r.Rows == 0 {
		return Calibrator{}, false, errors.New("calibration: no labelled reference rows")
	}
	var raw, cal float64
	for fit := 0; fit < 2; fit++ {
		x, y, w := r.points(fit)
		if len(x) == 0 {
			continue
		}
		fc := fitIsotonicWeighted(x, y, w)
		held := 1 - fit
		for b := 0; b < r.Bins; b++ {
			i := held*r.Bins + b
			n := r.N[i]
			if n == 0 {
				continue
			}
			// Σ(s − y)² over the bin's rows, from the sums; the fit predicts every row of a bin
			// at the bin's mean score.
			raw += r.SumSq[i] - 2*r.SumPos[i] + r.Pos[i]
			p := fc.Predict(r.Sum[i] / n)
			cal += n*p*p - 2*p*r.Pos[i] + r.Pos[i]
		}
	}
	if cal >= raw {
		return Identity(), false, nil
	}
	x, y, w := r.points(0, 1)
	return fitIsotonicWeighted(x, y, w), true, nil
}

// fitIsotonicWeighted fits a non-decreasing step function to weighted points; x must be
// distinct. The knots are the blocks' first and last x, so the calibrator predicts as
// FitIsotonic's does: linear between knots, flat beyond the ends.
func fitIsotonicWeighted(x, y, w []float64) Calibrator {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	sx, sum, sw := make([]float64, len(x)), make([]float64, len(x)), make([]float64, len(x))
	for k, i := range idx {
		sx[k], sum[k], sw[k] = x[i], y[i]*w[i], w[i]
	}
	return poolAdjacent(sx, sum, sw)
}

// poolAdjacent fits a non-decreasing step function to points sorted by distinct x, each with
// its outcome sum and weight (pool adjacent violators): adjacent blocks are merged while the
// earlier one's mean exceeds the later one's.
func poolAdjacent(x, sum, w []float64) Calibrator {
	type block struct{ x0, x1, sum, w float64 }
	bs := make([]block, 0, len(x))
	for i := range x {
		bs = append(bs, block{x[i], x[i], sum[i], w[i]})
		for len(bs) > 1 {
			a, b := bs[len(bs)-2], bs[len(bs)-1]
			if a.sum/a.w <= b.sum/b.w {
				break
			}
			bs = bs[:len(bs)-2]
			bs = append(bs, block{a.x0, b.x1, a.sum + b.sum, a.w + b.w})
		}
	}
	var c Calibrator
	for _, b := range bs {
		v := b.sum / b.w
		c.X = append(c.X, b.x0)
		c.Y = append(c.Y, v)
		if b.x1 != b.x0 {
			c.X = append(c.X, b.x1)
			c.Y = append(c.Y, v)
		}
	}
	return c
}

// FitBinaryCBPEReliability calibrates binary CBPE on a reliability structure of the
// positive-class scores and labels.
func FitBinaryCBPEReliability(r *Reliability, threshold float64) (*BinaryCBPE, error) {
	if !(threshold > 0 && threshold <= 1) {
		return nil, fmt.Errorf("cbpe: threshold must be in (0, 1], got %v", threshold)
	}
	c, calibrated, err := r.Fit()
	if err != nil {
		return nil, fmt.Errorf("cbpe: %w", err)
	}
	return &BinaryCBPE{Threshold: threshold, Calibrator: c, Calibrated: calibrated}, nil
}

// FitAccuracyCBPEReliability calibrates multiclass accuracy CBPE on reliability structures of
// the predicted class's confidence against whether it was right: one per predicted class and
// one pooled over all of them.
func FitAccuracyCBPEReliability(perClass map[string]*Reliability, pooled *Reliability) (*AccuracyCBPE, error) {
	pc, _, err := pooled.Fit()
	if err != nil {
		return nil, fmt.Errorf("cbpe: %w", err)
	}
	m := &AccuracyCBPE{PerClass: map[string]Calibrator{}, Pooled: pc}
	for class, r := range perClass {
		if r.Rows == 0 {
			continue
		}
		c, _, err := r.Fit()
		if err != nil {
			return nil, fmt.Errorf("cbpe: class %q: %w", class, err)
		}
		m.PerClass[class] = c
	}
	return m, nil
}

// Clone returns a deep copy.
func (r *Reliability) Clone() *Reliability {
	out := *r
	out.N = append([]float64(nil), r.N...)
	out.Pos = append([]float64(nil), r.Pos...)
	out.Sum = append([]float64(nil), r.Sum...)
	out.SumPos = append([]float64(nil), r.SumPos...)
	out.SumSq = append([]float64(nil), r.SumSq...)
	return &out
}
