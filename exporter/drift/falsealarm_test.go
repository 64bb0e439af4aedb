package drift

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestKSFalseAlarmRateUnderNoDrift draws reference and window from the same distribution and
// counts how often the KS verdict (p ≤ 0.05) fires. Above MaxSample reference rows the cell
// shares rest on a 100,000-value reservoir, so the p-value must use that size: with the full row
// count the test is far too sure of the reference and fires in about a third of the windows.
// Each size uses several independently drawn references, so the rate is the unconditional one
// the nominal level promises, not the rate given one lucky or unlucky reference.
func TestKSFalseAlarmRateUnderNoDrift(t *testing.T) {
	// Reference and window noise weigh alike (the window is as large as the sample the
	// reference rests on), which is where a wrong reference size shows most; as the reference
	// noise is shared by a reference's windows, the trials use many references.
	refs, perRef := 20, 10
	if testing.Short() {
		refs = 10
	}
	const alpha = 0.05
	trials := refs * perRef
	se := math.Sqrt(alpha * (1 - alpha) / float64(trials))
	for _, size := range []int{5_000, 100_000, 300_000, 1_000_000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(size), 17))
			window := min(size, 100_000)
			if size <= MaxExactKS {
				window = size / 5 // the exact p-value costs O(n·m·D)
			}
			vals := make([]float64, window)
			var alarms int
			for r := 0; r < refs; r++ {
				b := NewBuilder(ProfileOptions{Seed: uint64(r + 1)})
				for i := 0; i < size; i++ {
					if err := b.AddFloat("x", rng.Float64()); err != nil {
						t.Fatal(err)
					}
				}
				p := b.Profile()
				f := p.Features[0]
				cfg := Config{Method: map[string]Method{"x": MethodKS}, Scores: []Method{}}
				for w := 0; w < perRef; w++ {
					win := p.NewWindow()
					for i := range vals {
						vals[i] = rng.Float64()
					}
					if n := f.AddFloats(&win.Histograms[0], vals); n != 0 {
						t.Fatalf("%d values not binned", n)
					}
					rep, err := Compare(p, win, cfg)
					if err != nil {
						t.Fatal(err)
					}
					fr := rep.Features[0]
					if fr.Method != MethodKS || !fr.Judged {
						t.Fatalf("judged by %s (judged %v, reason %q), want ks", fr.Method, fr.Judged, fr.Reason)
					}
					if fr.Drifted {
						alarms++
					}
				}
			}
			rate := float64(alarms) / float64(trials)
			t.Logf("reference %d rows, window %d: %d/%d false alarms (%.3f)", size, window, alarms, trials, rate)
			// The grid evaluates D at cell edges only (a lower bound), so the test may be
			// somewhat conservative, but never much above the nominal level.
			if upper := alpha + 3*se; rate > upper {
				t.Errorf("false-alarm rate %.3f under no drift, want at most %.3f (nominal %.2f + 3 standard errors)", rate, upper, alpha)
			}
			if rate < 0.005 {
				t.Errorf("false-alarm rate %.3f under no drift: the test has lost its power, want near %.2f", rate, alpha)
			}
		})
	}
}
