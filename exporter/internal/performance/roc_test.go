package performance

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestROCAgainstScikitLearn checks the realised and CBPE-estimated AUC against scikit-learn's
// roc_auc_score (testdata/make_roc_vectors.py wrote the vectors). Scores at bin centres lose
// nothing to binning and must match to 1e-12; continuous scores must lie within TieBound.
func TestROCAgainstScikitLearn(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "roc-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Cases []struct {
			Name          string    `json:"name"`
			Kind          string    `json:"kind"`
			Scores        []float64 `json:"scores"`
			Labels        []bool    `json:"labels"`
			Probabilities []float64 `json:"probabilities"`
			AUC           float64   `json:"auc"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) < 8 {
		t.Fatalf("want 8 cases, got %d", len(v.Cases))
	}
	for _, c := range v.Cases {
		r := NewROC(0)
		for i, s := range c.Scores {
			var err error
			if c.Kind == "realised" {
				err = r.AddLabelled(s, c.Labels[i])
			} else {
				err = r.AddExpected(s, c.Probabilities[i])
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if c.Name == "quantized-20" {
			// Scores at the centres of 20 bins: the exported 20-bin form is exact for them.
			coarse, err := r.Coarse(20)
			if err != nil {
				t.Fatal(err)
			}
			if d := math.Abs(coarse.AUC() - c.AUC); d > 1e-12 {
				t.Errorf("%s: 20-bin AUC %v, scikit-learn %v", c.Name, coarse.AUC(), c.AUC)
			}
		}
		coarse, err := r.Coarse(20)
		if err != nil {
			t.Fatal(err)
		}
		if d, cb := math.Abs(coarse.AUC()-c.AUC), coarse.TieBound(); d > cb {
			t.Errorf("%s: 20-bin AUC %v is %g from scikit-learn's %v, beyond its tie bound %g", c.Name, coarse.AUC(), d, c.AUC, cb)
		} else {
			t.Logf("%-26s 20 bins: difference %.1e, tie bound %.1e", c.Name, d, cb)
		}
		got, bound := r.AUC(), r.TieBound()
		d := math.Abs(got - c.AUC)
		t.Logf("%-26s AUC %.6f, scikit-learn %.6f, difference %.1e, tie bound %.1e", c.Name, got, c.AUC, d, bound)
		limit := 1e-12
		if !strings.Contains(c.Name, "quantized") {
			limit = bound
		}
		if d > limit {
			t.Errorf("%s: AUC %v, scikit-learn %v: difference %g exceeds %g", c.Name, got, c.AUC, d, limit)
		}
	}
}

// TestROCMergeCoarseValidate: slots merge to the whole; the coarse form keeps totals; corrupt
// accumulators are refused.
func TestROCMergeCoarseValidate(t *testing.T) {
	a, b, whole := NewROC(0), NewROC(0), NewROC(0)
	for i := 0; i < 1000; i++ {
		s := float64(i%97) / 97
		y := i%3 == 0
		_ = whole.AddLabelled(s, y)
		if i < 400 {
			_ = a.AddLabelled(s, y)
		} else {
			_ = b.AddLabelled(s, y)
		}
	}
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if a.AUC() != whole.AUC() {
		t.Fatalf("merged AUC %v, whole %v", a.AUC(), whole.AUC())
	}
	c, err := whole.Coarse(20)
	if err != nil {
		t.Fatal(err)
	}
	p1, n1 := whole.Totals()
	p2, n2 := c.Totals()
	if p1 != p2 || n1 != n2 {
		t.Fatal("coarse bins lost counts")
	}
	if _, err := whole.Coarse(30); err == nil {
		t.Error("200 bins cannot merge into 30")
	}
	if err := a.Merge(NewROC(10)); err == nil {
		t.Error("merging different bins must fail")
	}
	if err := (&ROC{Pos: []float64{1}, Neg: []float64{-1}}).Validate(); err == nil {
		t.Error("negative counts must be refused")
	}
	if !math.IsNaN(NewROC(0).AUC()) {
		t.Error("an empty accumulator has no AUC")
	}
	if err := NewROC(0).AddExpected(0.5, 1.2); err == nil {
		t.Error("a probability above 1 must be refused")
	}
	if BinLabel(3, 20) != "0.15" || BinLabel(0, 20) != "0" {
		t.Errorf("bin labels %q %q", BinLabel(3, 20), BinLabel(0, 20))
	}
}
