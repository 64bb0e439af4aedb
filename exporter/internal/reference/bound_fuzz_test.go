package reference

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/opscentre/opscentre/exporter/drift"
)

// Any saved profile either is refused or, once bounded, gives only label values the
// limits allow: never a panic, never more categories or bins than allowed, never a label
// value that is not valid UTF-8.
func FuzzReadProfileBound(f *testing.F) {
	f.Add([]byte(`{"features":[{"name":"c","kind":"categorical","rows":3,"distinct":3,"categories":["a","b","c"],"ref_cells":[1,1,1,0]}]}`))
	f.Add([]byte(`{"features":[{"name":"n","kind":"numeric","rows":3,"distinct":3,"per_value":true,"edges":[1,2,3],"ref_cells":[0,1,0,1,0,1,0],"ref_sums":[0,1,0,2,0,3,0]}]}`))
	f.Add([]byte(`{"features":[{"name":"b","kind":"boolean","rows":2,"distinct":2,"ref_cells":[1,1]},{"name":"__prediction__","kind":"boolean","rows":2,"distinct":2,"ref_cells":[1,1]}]}`))
	f.Add([]byte("{\"features\":[{\"name\":\"c\",\"kind\":\"categorical\",\"rows\":2,\"distinct\":2,\"categories\":[\"\\u0000\",\"\xff\"],\"ref_cells\":[1,1,0]}]}"))
	lim := Limits{MaxFeatures: 3, MaxCategories: 2}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ReadProfile(bytes.NewReader(data))
		if err != nil {
			return
		}
		if _, err := Bound(p, lim); err != nil {
			return
		}
		inputs := 0
		for _, fp := range p.Features {
			if fp.Name != PredictionFeature {
				inputs++
			}
			labels := fp.BinLabels()
			switch fp.Kind {
			case drift.Categorical:
				if len(fp.Categories) > lim.MaxCategories {
					t.Fatalf("feature %q keeps %d categories", fp.Name, len(fp.Categories))
				}
			case drift.Numeric:
				if len(labels) > lim.NumericBins() {
					t.Fatalf("feature %q has %d bins", fp.Name, len(labels))
				}
			}
			for _, l := range append(labels, fp.Name) {
				if !utf8.ValidString(l) || bytes.IndexByte([]byte(l), 0) >= 0 {
					t.Fatalf("label value %q", l)
				}
			}
		}
		if inputs > lim.MaxFeatures {
			t.Fatalf("%d features", inputs)
		}
	})
}
