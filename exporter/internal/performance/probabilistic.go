package performance

import (
	"fmt"
	"math"
)

// LogLossEpsilon clips probabilities away from 0 and 1 so one confident mistake gives a large
// but finite loss (scikit-learn's historical default).
const LogLossEpsilon = 1e-15

// Probabilistic keeps the sums behind log-loss and the Brier score.
type Probabilistic struct {
	N          float64 `json:"n"`
	SumLogLoss float64 `json:"sum_log_loss"`
	SumBrier   float64 `json:"sum_brier"`
}

func checkProb(name string, p float64) error {
	if math.IsNaN(p) || p < 0 || p > 1 {
		return fmt.Errorf("probabilistic: %s must be a probability in [0, 1], got %v", name, p)
	}
	return nil
}

// AddBinary records the probability p of the positive class and whether the label was
// positive. Brier is (p − y)².
func (a *Probabilistic) AddBinary(p float64, positive bool) error {
	if err := checkProb("score", p); err != nil {
		return err
	}
	y := 0.0
	if positive {
		y = 1
	}
	pc := math.Min(math.Max(p, LogLossEpsilon), 1-LogLossEpsilon)
	a.N++
	a.SumLogLoss -= y*math.Log(pc) + (1-y)*math.Log(1-pc)
	a.SumBrier += (p - y) * (p - y)
	return nil
}

// AddMulticlass records a score per class and the labelled class. Scores are normalised to sum
// to one (as scikit-learn's log_loss does); the label's class missing from scores means it was
// given probability 0. Brier is the multiclass form Σₖ (pₖ − yₖ)², in [0, 2].
func (a *Probabilistic) AddMulticlass(scores map[string]float64, label string) error {
	var sum float64
	for k, p := range scores {
		if err := checkProb(fmt.Sprintf("scores[%q]", k), p); err != nil {
			return err
		}
		sum += p
	}
	if sum <= 0 {
		return fmt.Errorf("probabilistic: scores must have a positive sum, got %v", sum)
	}
	var brier float64
	for k, p := range scores {
		p /= sum
		if k == label {
			brier += (1 - p) * (1 - p)
		} else {
			brier += p * p
		}
	}
	pt, ok := scores[label]
	if !ok {
		brier++ // (0 − 1)² for the labelled class
	}
	pt /= sum
	a.N++
	a.SumLogLoss -= math.Log(math.Min(math.Max(pt, LogLossEpsilon), 1-LogLossEpsilon))
	a.SumBrier += brier
	return nil
}

// Merge adds o into a.
func (a *Probabilistic) Merge(o *Probabilistic) {
	a.N += o.N
	a.SumLogLoss += o.SumLogLoss
	a.SumBrier += o.SumBrier
}

// Reset zeroes the sums.
func (a *Probabilistic) Reset() { *a = Probabilistic{} }

// LogLoss is the mean negative log-likelihood; NaN with no rows.
func (a *Probabilistic) LogLoss() float64 { return a.SumLogLoss / a.N }

// Brier is the mean Brier score; NaN with no rows.
func (a *Probabilistic) Brier() float64 { return a.SumBrier / a.N }
