package drift

import (
	"encoding/json"
	"math"
	"testing"
)

// FuzzProfileJSON feeds arbitrary JSON to the profile loader: whatever Validate accepts must
// then bin values and compare windows without panicking, and whatever it rejects is an error.
func FuzzProfileJSON(f *testing.F) {
	b := NewBuilder(ProfileOptions{Resolution: 8, Bins: 4})
	for i := 0; i < 50; i++ {
		_ = b.AddFloat("n", float64(i%13))
		_ = b.AddFloat("q", float64(i)*1.5)
		_ = b.AddString("c", []string{"a", "b"}[i%2])
		_ = b.AddBool("b", i%3 == 0)
	}
	seed, _ := json.Marshal(b.Profile())
	f.Add(seed)
	// A profile with a reconstruction (rows marked), so the fuzzer mutates one.
	rb := NewBuilder(ProfileOptions{Resolution: 8, Bins: 4})
	for i := 0; i < MinReconstructionRows; i++ {
		_ = rb.AddFloat("u", float64(i%17))
		_ = rb.AddFloat("v", float64(i%5)+float64(i%17)/2)
		_ = rb.AddFloat("w", float64((i*7)%11))
		rb.EndRow()
	}
	seed, _ = json.Marshal(rb.Profile())
	f.Add(seed)
	f.Add([]byte(`{"features":[{"name":"x","kind":"numeric","rows":3,"edges":[1,2],"ref_cells":[0,1,0,2,0],"ref_sums":[0,1,0,4,0]}]}`))
	f.Add([]byte(`{"features":[{"name":"x","kind":"categorical","rows":1,"categories":["a"],"ref_cells":[1,0]}]}`))
	f.Add([]byte(`{"features":[{"name":"x","kind":"numeric","rows":3,"edges":[1,2],"cuts":[2],"ref_cells":[0,1,0,2,0],"ref_sums":[0,1,0,4,0]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Profile
		if err := json.Unmarshal(data, &p); err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			return
		}
		w := p.NewWindow()
		for i, fp := range p.Features {
			for _, v := range []any{0.0, -1e9, 1e9, 1.5, math.NaN(), "a", "zz", true, false, nil} {
				switch x := v.(type) {
				case float64:
					_ = fp.AddFloat(&w.Histograms[i], x)
				default:
					_ = fp.AddJSON(&w.Histograms[i], x)
				}
			}
			_ = fp.BinLabels()
			_ = fp.ReferenceShares()
		}
		if _, err := Compare(&p, w, Config{Scores: Methods()}); err != nil {
			t.Fatalf("a validated profile must compare: %v", err)
		}
		if rc := p.Reconstruction; rc != nil {
			z := make([]float64, len(rc.Features))
			for j := range z {
				rc.Standardise(z, j, []float64{1e300, -1e300, math.Inf(1), math.NaN(), 3}[j%5])
			}
			if e := rc.Error(z); math.IsNaN(e) || math.IsInf(e, 0) || e < 0 {
				t.Fatalf("reconstruction error %v", e)
			}
			var rw ReconstructionWindow
			rw.Add(rc.Error(z))
			_ = rc.Judge(&rw, 0)
		}
	})
}
