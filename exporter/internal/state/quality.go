package state

// The data-quality pillar: per feature, how many events of the sliding window carried a
// value and how many numeric values lay outside the configured expected_min..expected_max,
// and the categories learnt for each feature (bounded). The features pass of apply.go adds
// each value with qualitySlot.add; readQuality reads the window; the window is saved with
// the ring and the categories with the learnt features (featureSnapshots).

import (
	"time"

	"github.com/opscentre/opscentre/exporter/config"
)

// qualitySlot is the data-quality pillar's share of a sub-window.
type qualitySlot struct {
	Features []featureSlot `json:"features"` // by Feature.Index
}

// featureSlot is one feature's counts in one sub-window.
type featureSlot struct {
	Present  uint64 `json:"present"` // non-null values
	Outliers uint64 `json:"outliers"`
}

func (q *qualitySlot) reset() {
	for i := range q.Features {
		q.Features[i] = featureSlot{}
	}
}

// add counts a non-null value of f.
func (q *qualitySlot) add(f *Feature, fv *FeatureValue) {
	for len(q.Features) <= f.Index {
		q.Features = append(q.Features, featureSlot{})
	}
	fs := &q.Features[f.Index]
	fs.Present++
	if fv.Type == config.Numeric && outlier(f.Schema, fv.Num) {
		fs.Outliers++
	}
}

func outlier(s config.Feature, x float64) bool {
	return (s.ExpectedMin != nil && x < *s.ExpectedMin) || (s.ExpectedMax != nil && x > *s.ExpectedMax)
}

// remember records a learnt category, bounded by limits.max_categories_per_feature.
func (v *Version) remember(f *Feature, value []byte, limit int) {
	if _, ok := f.categories[string(value)]; ok {
		return
	}
	if len(f.categories) >= limit {
		v.state.fold(LabelBin)
		return
	}
	f.categories[string(value)] = struct{}{}
}

// FeatureReading is one feature's counts over the window.
type FeatureReading struct {
	Name     string
	Numeric  bool
	Present  uint64
	Outliers uint64
}

// readQuality sums the window's events and feature counts as of now; v is locked.
func (v *Version) readQuality(now time.Time) (events uint64, features []FeatureReading) {
	features = make([]FeatureReading, len(v.list))
	for i, f := range v.list {
		features[i].Name = f.Name
		features[i].Numeric = f.Schema.Type == config.Numeric
	}
	v.ring.Each(now, func(s *subWindow) {
		events += s.Events
		for i := range s.Features {
			features[i].Present += s.Features[i].Present
			features[i].Outliers += s.Features[i].Outliers
		}
	})
	return events, features
}
