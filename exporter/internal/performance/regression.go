package performance

import (
	"fmt"
	"math"
)

// Regression keeps the error sums of labelled numeric predictions (error = prediction − label),
// the same sums exported as aiops_regression_error_sum{kind}, so windows and replicas merge by
// adding.
type Regression struct {
	N           float64 `json:"n"`
	SumError    float64 `json:"sum_error"`
	SumAbsError float64 `json:"sum_abs_error"`
	SumSqError  float64 `json:"sum_sq_error"`
}

// Add records one labelled prediction.
func (r *Regression) Add(prediction, label float64) error {
	if math.IsNaN(prediction) || math.IsInf(prediction, 0) {
		return fmt.Errorf("regression: prediction must be a finite number, got %v", prediction)
	}
	if math.IsNaN(label) || math.IsInf(label, 0) {
		return fmt.Errorf("regression: label value must be a finite number, got %v", label)
	}
	e := prediction - label
	if math.IsInf(e*e, 0) {
		return fmt.Errorf("regression: error %v is too large to square", e)
	}
	r.N++
	r.SumError += e
	r.SumAbsError += math.Abs(e)
	r.SumSqError += e * e
	return nil
}

// Merge adds o into r.
func (r *Regression) Merge(o *Regression) {
	r.N += o.N
	r.SumError += o.SumError
	r.SumAbsError += o.SumAbsError
	r.SumSqError += o.SumSqError
}

// Reset zeroes the sums.
func (r *Regression) Reset() { *r = Regression{} }

// RMSE is √(Σe²/n); NaN with no rows.
func (r *Regression) RMSE() float64 { return math.Sqrt(r.SumSqError / r.N) }

// MAE is Σ|e|/n; NaN with no rows.
func (r *Regression) MAE() float64 { return r.SumAbsError / r.N }

// MeanError is the bias Σe/n (positive: the model over-predicts); NaN with no rows.
func (r *Regression) MeanError() float64 { return r.SumError / r.N }
