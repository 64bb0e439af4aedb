package state

import (
	"sync"
	"time"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/drift"
	"github.com/opscentre/opscentre/exporter/histogram"
	"github.com/opscentre/opscentre/exporter/textquality"
	"github.com/opscentre/opscentre/exporter/window"
)

// Bucket bounds of the histograms (classic buckets; native buckets come on top).
var (
	// LatencyBounds cover fast classifiers to slow LLM calls.
	LatencyBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	// GenAIDurationBounds are the OpenTelemetry GenAI advice for gen_ai.client.operation.duration.
	GenAIDurationBounds = histogram.ExponentialBuckets(0.01, 2, 14) // 0.01 … 81.92
	// GenAITokenBounds are the OpenTelemetry GenAI advice for gen_ai.client.token.usage.
	GenAITokenBounds = histogram.ExponentialBuckets(1, 4, 14) // 1 … 67108864
	// InputLengthBounds bucket input_text_length (characters or tokens, as the app reports).
	InputLengthBounds = histogram.ExponentialBuckets(1, 4, 11) // 1 … 1048576
	// TextScoreBounds bucket ROUGE-L and BLEU, which lie in [0, 1].
	TextScoreBounds = []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1}
)

// Token types, task outcomes and feedback ratings: closed sets, used as label values.
var (
	TokenTypes = [3]string{"input", "output", "cached"}
	Outcomes   = [4]string{"completed", "failed", "escalated", "abandoned"}
	// ContainmentActions are the actions of incidentd containments an event may carry
	// (aiops_contained_events_total{action}).
	ContainmentActions = [3]string{"fallback", "disable", "block_inputs"}
	Ratings            = [7]string{"positive", "negative", "1", "2", "3", "4", "5"}
)

// Counters are the cumulative (never windowed) numbers of a version.
type Counters struct {
	Events   uint64             `json:"events"`
	Errors   map[string]uint64  `json:"errors,omitempty"`
	Tokens   [3]uint64          `json:"tokens"`
	Cost     map[string]float64 `json:"cost,omitempty"`
	Outcomes [4]uint64          `json:"outcomes"`
	// Contained counts events produced under a containment, by ContainmentActions.
	Contained   [3]uint64                 `json:"contained,omitzero"`
	Feedback    [7]uint64                 `json:"feedback"`
	Business    map[string]*BusinessCount `json:"business,omitempty"`
	QueueDepth  *float64                  `json:"queue_depth,omitempty"`
	Latency     histogram.Histogram       `json:"latency"`
	Duration    histogram.Histogram       `json:"genai_duration"` // LLM calls only
	TokenUsage  [2]histogram.Histogram    `json:"genai_tokens"`   // input, output
	InputLength histogram.Histogram       `json:"input_length"`
	Text        TextCounters              `json:"text"`
	Perf        PerfCounters              `json:"perf"`
	// DriftUnbinned counts values whose type did not fit the reference, per feature.
	DriftUnbinned map[string]uint64 `json:"drift_unbinned,omitempty"`
}

// TextCounters score generated answers against reference answers.
type TextCounters struct {
	RougeL histogram.Histogram `json:"rouge_l"` // per-answer ROUGE-L F1
	BLEU   histogram.Histogram `json:"bleu"`    // per-answer BLEU+1 (smoothed)
	// Corpus sums the answers' clipped n-gram counts and lengths: corpus BLEU over any
	// range and across replicas, computed in PromQL from the counters.
	Corpus textquality.BLEU `json:"corpus"`
}

// BusinessCount is one business event name's count and summed value.
type BusinessCount struct {
	Events uint64  `json:"events"`
	Value  float64 `json:"value"`
}

// Slot is one sub-window of a version.
type Slot struct {
	Events   uint64        `json:"events"`
	Features []FeatureSlot `json:"features"` // by Feature.Index
	// Drift counts the sub-window's values in the reference's bins (nil until a reference
	// exists); Perf the predictions labelled in it, by label time.
	Drift *drift.Window `json:"drift,omitempty"`
	Perf  *PerfSlot     `json:"perf,omitempty"`
	// Recon sums the sub-window's reconstruction errors (multivariate drift).
	Recon *drift.ReconstructionWindow `json:"recon,omitempty"`
	// Embed sums the sub-window's embeddings (embedding drift).
	Embed *drift.EmbeddingWindow `json:"embed,omitempty"`
}

// FeatureSlot is one feature's counts in one sub-window.
type FeatureSlot struct {
	Present  uint64               `json:"present"` // non-null values
	Outliers uint64               `json:"outliers"`
	Extra    []window.Accumulator `json:"-"`
}

func resetSlot(s *Slot) {
	s.Events = 0
	if s.Drift != nil {
		s.Drift.Reset()
	}
	if s.Perf != nil {
		s.Perf.reset()
	}
	if s.Recon != nil {
		s.Recon.Reset()
	}
	if s.Embed != nil {
		s.Embed.Reset()
	}
	for i := range s.Features {
		f := &s.Features[i]
		f.Present, f.Outliers = 0, 0
		for _, a := range f.Extra {
			a.Reset()
		}
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
	ring     *window.Ring[Slot]
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

// ModelConfig is the model's configuration (zero when learnt).
func (v *Version) ModelConfig() config.Model {
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
