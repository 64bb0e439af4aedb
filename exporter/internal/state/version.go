package state

import (
	"maps"
	"sync"
	"time"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/window"
)

// Counters are the cumulative (never windowed) numbers of a version: each pillar's, whose
// fields are promoted (and saved flat, as one JSON object), and the performance pillar's.
type Counters struct {
	Events uint64 `json:"events"`
	InfraCounters
	LLMCounters
	BusinessCounters
	Perf PerfCounters `json:"perf"`
	// DriftUnbinned counts values whose type did not fit the reference, per feature.
	DriftUnbinned map[string]uint64 `json:"drift_unbinned,omitempty"`
}

func (c *Counters) clone() Counters {
	return Counters{
		Events:           c.Events,
		InfraCounters:    c.InfraCounters.clone(),
		LLMCounters:      c.LLMCounters.clone(),
		BusinessCounters: c.BusinessCounters.clone(),
		Perf:             c.Perf.clone(),
		DriftUnbinned:    maps.Clone(c.DriftUnbinned),
	}
}

// subWindow is one sub-window of a version: its event count and the share of each windowed
// pillar (data quality, drift, performance), saved flat as one JSON object. The ring resets
// a slot for reuse with Version.resetSlot.
type subWindow struct {
	Events uint64 `json:"events"`
	qualitySlot
	driftSlot
	// Perf holds the predictions labelled in the sub-window, by label time.
	Perf *PerfSlot `json:"perf,omitempty"`
}

func (s *subWindow) reset() {
	s.Events = 0
	s.qualitySlot.reset()
	s.driftSlot.reset()
	if s.Perf != nil {
		s.Perf.reset()
	}
}

// Feature is one feature of a version, configured or learnt.
type Feature struct {
	Name  string
	Index int
	// Schema is the configured schema, or for a learnt feature the type of its first value.
	Schema     config.Feature
	Configured bool
	// Any is set on the Other feature, which takes values of any type.
	Any bool

	allowed    map[string]struct{}
	categories map[string]struct{} // learnt categories, bounded
}

// Allowed reports whether a categorical value is in the configured allowed list (true
// when there is no list).
func (f *Feature) Allowed(v []byte) bool {
	if f.allowed == nil {
		return true
	}
	_, ok := f.allowed[string(v)]
	return ok
}

// Version is the state of one model version. Its lock is its own: Apply takes it to resolve
// an event's features against the schema and apply the event in one step, so everything an
// event needs that does not depend on the version (decoding, text scores) is computed by
// the caller before, outside the lock.
type Version struct {
	Name  string
	model *Model
	state *State

	mu       sync.Mutex
	features map[string]*Feature
	list     []*Feature
	order    []*Feature // Schema.FeatureAt's hint: the feature last seen at each position
	ring     *window.Ring[subWindow]
	c        Counters

	ref     *refState
	pending pendingDrift
	capture *capture
	perf    perfState
}

// Model is the version's model name.
func (v *Version) Model() string { return v.model.Name }

// Schema is a version's features as Apply's resolve function sees them, under the version's
// lock. It is valid only during that call.
type Schema struct{ v *Version }

// FeatureAt returns the known feature named name, or nil, for the feature at position pos of
// an event's features object. Applications send features in the same order every time, so
// the feature found at pos in the previous event is tried before the map: a string
// comparison instead of a hash lookup on the hot path.
func (s Schema) FeatureAt(pos int, name []byte) *Feature {
	v := s.v
	if pos < len(v.order) {
		if f := v.order[pos]; f != nil && f.Name == string(name) {
			return f
		}
	}
	f := v.features[string(name)]
	if f != nil && pos < maxOrderHint {
		for len(v.order) <= pos {
			v.order = append(v.order, nil)
		}
		v.order[pos] = f
	}
	return f
}

// maxOrderHint bounds the position hints, whatever the events look like.
const maxOrderHint = 1024

// LearnPolicy is the unknown-feature policy for this version.
func (s Schema) LearnPolicy() config.Policy {
	v := s.v
	if mc, ok := v.model.Config(); ok {
		return v.state.Config().FeaturePolicy(mc)
	}
	return config.PolicyLearn
}

// Required calls fn with each required feature (for checking absent ones).
func (s Schema) Required(fn func(*Feature)) {
	for _, f := range s.v.list {
		if f.Schema.Required {
			fn(f)
		}
	}
}

// modelConfig is the model's configuration (zero when learnt).
func (v *Version) modelConfig() config.Model {
	mc, _ := v.model.Config()
	return mc
}

func (s *State) newVersion(m *Model, name string, cfg *config.Config, saved []FeatureSnapshot) *Version {
	w := cfg.Window
	v := &Version{
		Name:     name,
		model:    m,
		state:    s,
		features: make(map[string]*Feature),
	}
	v.ring = window.New(w.SubWindows, time.Duration(w.SubWindowDuration), v.resetSlot)
	v.perf.init(s, cfg)
	for _, f := range saved {
		nf := v.addFeature(f.Name, config.Feature{Type: config.FeatureType(f.Type)})
		nf.Any = f.Name == Other
		for _, c := range f.Categories {
			nf.categories[c] = struct{}{}
		}
	}
	v.applySchema(cfg, m)
	v.startCapture()
	return v
}

func (v *Version) addFeature(name string, schema config.Feature) *Feature {
	f := &Feature{Name: name, Index: len(v.list), categories: make(map[string]struct{})}
	f.setSchema(schema, false)
	v.features[name] = f
	v.list = append(v.list, f)
	return f
}

func (f *Feature) setSchema(schema config.Feature, configured bool) {
	f.Schema, f.Configured = schema, configured
	f.allowed = nil
	if len(schema.Allowed) > 0 {
		f.allowed = make(map[string]struct{}, len(schema.Allowed))
		for _, a := range schema.Allowed {
			f.allowed[a] = struct{}{}
		}
	}
}

// applySchema (re)applies the configured features; v.mu must be held or v unpublished.
func (v *Version) applySchema(cfg *config.Config, m *Model) {
	for _, f := range v.list {
		if f.Configured {
			// A feature dropped from the configuration stays as a learnt one.
			f.setSchema(config.Feature{Type: f.Schema.Type}, false)
		}
	}
	mc, configured := m.Config()
	if !configured {
		return
	}
	for name, schema := range mc.VersionFeatures(v.Name) {
		f := v.features[name]
		if f == nil {
			f = v.addFeature(name, schema)
		}
		f.setSchema(schema, true)
	}
}

// learn adds a feature seen in an accepted event, or folds it into Other past the limit.
func (v *Version) learn(name []byte, typ config.FeatureType) *Feature {
	if f := v.features[string(name)]; f != nil {
		return f // learnt earlier in the same event
	}
	limit := v.state.Config().Limits.MaxFeaturesPerModel
	if len(v.list) >= limit || string(name) == Other {
		v.state.fold(LabelFeature)
		if f := v.features[Other]; f != nil {
			return f
		}
		f := v.addFeature(Other, config.Feature{})
		f.Any = true
		return f
	}
	return v.addFeature(string(name), config.Feature{Type: typ})
}

// resetSlot empties a slot for reuse, keeping its drift counts in the cumulative total.
func (v *Version) resetSlot(s *subWindow) {
	v.flushDrift() // the pending values may be this slot's
	if s.Drift != nil && v.ref != nil {
		if err := v.ref.total.Merge(s.Drift); err != nil {
			s.Drift = nil // shaped for an older reference
		}
	}
	s.reset()
}
