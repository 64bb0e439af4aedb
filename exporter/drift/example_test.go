package drift_test

import (
	"fmt"

	"github.com/opscentre/opscentre/exporter/drift"
)

// The exporter's use in small: freeze a reference, fill window slots, merge them and judge.
// By hand: half the window moved by 40 ms on a uniform 100–149 ms reference (σ ≈ 14.43), so
// Wasserstein ≈ 20/14.43 ≈ 1.386; countries went from (¼, ¼, ½, 0) to (¼, ¼, ¼, ¼), so
// JS = √(½·½ ln(½/⅜) + ½·(¼ ln(¼/⅜) + ¼ ln(¼/⅛))) ≈ 0.328.
func Example() {
	b := drift.NewBuilder(drift.ProfileOptions{})
	for i := 0; i < 2000; i++ {
		_ = b.AddJSON("latency_ms", float64(100+i%50))
		_ = b.AddJSON("country", []string{"fr", "de", "us", "us"}[i%4])
	}
	profile := b.Profile()

	// Two slots of a window ring; the second sees slower requests and a new country.
	slots := []*drift.Window{profile.NewWindow(), profile.NewWindow()}
	for i := 0; i < 400; i++ {
		slot := slots[i%2]
		lat, _ := profile.Feature("latency_ms")
		ctry, _ := profile.Feature("country")
		shift := 0.0
		if i%2 == 1 {
			shift = 40
		}
		_ = lat.AddFloat(&slot.Histograms[0], float64(100+i%50)+shift)
		_ = ctry.AddString(&slot.Histograms[1], []string{"fr", "de", "us", "br"}[i%4])
	}
	window := profile.NewWindow()
	for _, s := range slots {
		_ = window.Merge(s)
	}
	report, _ := drift.Compare(profile, window, drift.Config{})
	for _, f := range report.Features {
		fmt.Printf("%s: %s = %.3f, drifted %v\n", f.Feature, f.Method, f.Value, f.Drifted)
	}
	fmt.Printf("dataset drifted: %v (share %.2f)\n", report.DatasetDrifted, report.Share)
	// Output:
	// latency_ms: wasserstein = 1.386, drifted true
	// country: js = 0.328, drifted true
	// dataset drifted: true (share 1.00)
}
