package performance

import (
	"encoding/json"
	"math"
	"testing"
)

// FuzzStoredCalibration feeds arbitrary JSON to what the store keeps for CBPE and ROC AUC:
// whatever Validate accepts must fit, estimate and give an AUC without panicking.
func FuzzStoredCalibration(f *testing.F) {
	r := NewReliability(4)
	roc := NewROC(4)
	for i := 0; i < 40; i++ {
		s := float64(i%10) / 10
		_ = r.Add(s, i%3 == 0)
		_ = roc.AddLabelled(s, i%3 == 0)
	}
	rs, _ := json.Marshal(r)
	os, _ := json.Marshal(roc)
	f.Add(rs, os)
	f.Add([]byte(`{"bins":1,"n":[1,1],"pos":[1,0],"sum":[0.5,0.5],"sum_pos":[0.5,0],"sum_sq":[0.25,0.25],"rows":2}`), []byte(`{"pos":[1],"neg":[1]}`))
	f.Fuzz(func(t *testing.T, rel, rocJSON []byte) {
		var r Reliability
		if json.Unmarshal(rel, &r) == nil && r.Validate() == nil {
			if r.Rows > 0 {
				c, _, err := r.Fit()
				if err == nil {
					if p := c.Predict(0.3); math.IsNaN(p) || p < 0 || p > 1 {
						t.Fatalf("calibrated probability %v", p)
					}
				}
			}
			_ = r.Add(0.5, true)
		}
		var o ROC
		if json.Unmarshal(rocJSON, &o) == nil && o.Validate() == nil {
			if a := o.AUC(); !math.IsNaN(a) && (a < -1e-9 || a > 1+1e-9) {
				t.Fatalf("AUC %v", a)
			}
			_ = o.TieBound()
			_, _ = o.Coarse(1)
		}
	})
}
