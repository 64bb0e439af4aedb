// Package state holds what the exporter knows about each model version: the schema it was
// configured with or has learnt, and the numbers of each monitoring pillar, cumulative and
// over a sliding window of sub-windows (package window). Every label value it hands out is
// bounded: a value past its limit becomes "__other__" and is counted in the folded counters.
//
// One file per pillar, each with its apply, read and snapshot: quality.go (data quality:
// null and outlier counts per feature), infra.go (infrastructure and LLM: latency, errors,
// tokens, cost, GenAI histograms, text scores), business.go (task outcomes, feedback,
// business events), drift.go with capture.go and pending.go (references and drift), and
// performance.go with calibration.go and labels.go (ground truth and CBPE). apply.go,
// read.go and snapshot.go run the pillars for one event, one scrape and one save;
// version.go holds a version's schema and its lock, which Apply takes itself.
package state

import (
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/labels"
)

const (
	// Other replaces a label value past its cardinality limit.
	Other = "__other__"
	// Unknown is the model and version label of rejected events that name no usable model.
	Unknown = "__unknown__"
	// DefaultVersion is the version of events that carry none.
	DefaultVersion = "default"
)

// Open-valued labels whose values are bounded and may be folded.
const (
	LabelModel   = "model"
	LabelVersion = "version"
	LabelFeature = "feature"
	LabelBin     = "bin" // categorical feature values (the future bin label of drift metrics)
	LabelType    = "type"
	LabelName    = "name"
)

// Options configure a State.
type Options struct {
	// Now is the clock; tests pass a fake one.
	Now func() time.Time
	// Logger receives warnings about references (nil: none).
	Logger *slog.Logger
}

// State is every model's state. It is safe for concurrent use.
type State struct {
	opts Options

	cfg atomic.Pointer[config.Config]

	mu     sync.RWMutex
	models map[string]*Model

	labelMu  sync.Mutex
	labels   map[string]map[string]string // bounded global label values (type, currency, name); value → itself, so lookups return a stored string without allocating
	folded   map[string]uint64
	rejected map[RejectKey]uint64
	// labelResults counts labels by result (aiops_labels_total).
	labelResults map[LabelKey]uint64
	// labelBytes bounds every labels store together (labels.max_bytes).
	labelBytes *labels.Budget
}

// RejectKey identifies one aiops_events_rejected_total series.
type RejectKey struct {
	Model, Version, Reason string
}

// New returns an empty state using cfg.
func New(cfg *config.Config, opts Options) *State {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &State{
		opts:     opts,
		models:   make(map[string]*Model),
		labels:   make(map[string]map[string]string),
		folded:   make(map[string]uint64),
		rejected: make(map[RejectKey]uint64),

		labelResults: make(map[LabelKey]uint64),
		labelBytes:   labels.NewBudget(int64(cfg.Labels.MaxBytes)),
	}
	s.cfg.Store(cfg)
	return s
}

// LabelBytes is the memory held by waiting predictions and labels (labels.max_bytes).
func (s *State) LabelBytes() int64 { return s.labelBytes.Used() }

// Now is the state's clock.
func (s *State) Now() time.Time { return s.opts.Now() }

// Config is the configuration in force.
func (s *State) Config() *config.Config { return s.cfg.Load() }

// Model is one model and its versions.
type Model struct {
	Name string

	// settings is swapped whole on reload, so versions read it without the model's lock.
	settings atomic.Pointer[modelSettings]

	mu       sync.RWMutex
	versions map[string]*Version

	// early holds labels whose prediction has not arrived, for labels.unknown_id_ttl;
	// earlyCount is its length (labels.Options.Count), read by every prediction with an id
	// before it asks the store.
	early      *labels.Store
	earlyCount atomic.Int64
}

type modelSettings struct {
	cfg        config.Model
	configured bool
}

func (s *State) newModel(name string, cfg *config.Config) *Model {
	m := &Model{Name: name, versions: make(map[string]*Version)}
	m.early = labels.New(labels.Options{MaxCount: cfg.Labels.MaxUnknown, MaxAge: time.Duration(cfg.Labels.UnknownIDTTL), Now: s.opts.Now, Count: &m.earlyCount, Budget: s.labelBytes})
	m.configure(cfg)
	return m
}

func (m *Model) configure(cfg *config.Config) {
	mc, ok := cfg.Models[m.Name]
	m.settings.Store(&modelSettings{cfg: mc, configured: ok})
}

// Config is the model's configuration; configured is false for a learnt model.
func (m *Model) Config() (cfg config.Model, configured bool) {
	s := m.settings.Load()
	return s.cfg, s.configured
}

// Resolution is why Resolve found no version.
type Resolution int

// Resolve outcomes.
const (
	Resolved Resolution = iota
	UnknownModel
	UnknownVersion
)

// Resolve returns the version state for an event's model and version, creating it when the
// configuration allows; names past the limits resolve to Other.
func (s *State) Resolve(model, version []byte) (*Version, Resolution) {
	m, res := s.model(model)
	if m == nil {
		return nil, res
	}
	return s.version(m, version)
}

func (s *State) model(name []byte) (*Model, Resolution) {
	s.mu.RLock()
	m := s.models[string(name)]
	s.mu.RUnlock()
	if m != nil {
		return m, Resolved
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m = s.models[string(name)]; m != nil {
		return m, Resolved
	}
	n := string(name)
	cfg := s.Config()
	_, configured := cfg.Models[n]
	if !configured {
		if cfg.UnknownModels == config.PolicyReject {
			return nil, UnknownModel
		}
		if s.learntModels() >= cfg.Limits.MaxModels || n == Other {
			s.fold(LabelModel)
			if m = s.models[Other]; m != nil {
				return m, Resolved
			}
			n = Other
		}
	}
	m = s.newModel(n, cfg)
	s.models[n] = m
	return m, Resolved
}

// learntModels counts models that take a slot of limits.max_models.
func (s *State) learntModels() int {
	n := len(s.models)
	if _, ok := s.models[Other]; ok {
		n--
	}
	return n
}

func (s *State) version(m *Model, name []byte) (*Version, Resolution) {
	if len(name) == 0 {
		name = []byte(DefaultVersion)
	}
	m.mu.RLock()
	v := m.versions[string(name)]
	m.mu.RUnlock()
	if v != nil {
		return v, Resolved
	}
	cfg := s.Config()
	m.mu.Lock()
	defer m.mu.Unlock()
	if v = m.versions[string(name)]; v != nil {
		return v, Resolved
	}
	n := string(name)
	mc, _ := m.Config()
	_, listed := mc.Versions[n]
	if !listed && len(mc.Versions) > 0 && cfg.UnknownModels == config.PolicyReject {
		return nil, UnknownVersion
	}
	if !listed && (len(m.versions) >= cfg.Limits.MaxVersionsPerModel || n == Other) {
		s.fold(LabelVersion)
		if v = m.versions[Other]; v != nil {
			return v, Resolved
		}
		n = Other
	}
	v = s.newVersion(m, n, cfg, nil)
	m.versions[n] = v
	return v, Resolved
}

// Fold counts one value of label replaced by Other (for callers that cache resolutions).
func (s *State) Fold(label string) { s.fold(label) }

// FoldN counts n values of label replaced by Other (or, for a reference's categories, by
// the unseen bin).
func (s *State) FoldN(label string, n int) {
	s.labelMu.Lock()
	s.folded[label] += uint64(n)
	s.labelMu.Unlock()
}

// fold counts one value of label replaced by Other.
func (s *State) fold(label string) {
	s.labelMu.Lock()
	s.folded[label]++
	s.labelMu.Unlock()
}

// bound returns value if the global label may take it, else Other (and counts the fold).
func (s *State) bound(label string, value []byte, limit int) string {
	s.labelMu.Lock()
	defer s.labelMu.Unlock()
	set := s.labels[label]
	if set == nil {
		set = make(map[string]string)
		s.labels[label] = set
	}
	if v, ok := set[string(value)]; ok {
		return v
	}
	if len(set) >= limit || string(value) == Other {
		s.folded[label]++
		return Other
	}
	v := string(value)
	set[v] = v
	return v
}

// Reject counts a rejected event.
func (s *State) Reject(model, version, reason string) {
	s.labelMu.Lock()
	s.rejected[RejectKey{model, version, reason}]++
	s.labelMu.Unlock()
}

// SetConfig puts a reloaded configuration in force: configured models and features get
// their new schema; what was learnt is kept.
func (s *State) SetConfig(cfg *config.Config) {
	s.cfg.Store(cfg)
	s.labelBytes.SetMax(int64(cfg.Labels.MaxBytes))
	s.mu.Lock()
	models := make([]*Model, 0, len(s.models))
	for _, m := range s.models {
		models = append(models, m)
	}
	s.mu.Unlock()
	for _, m := range models {
		m.configure(cfg)
		m.mu.Lock()
		versions := make([]*Version, 0, len(m.versions))
		for _, v := range m.versions {
			versions = append(versions, v)
		}
		m.mu.Unlock()
		for _, v := range versions {
			v.mu.Lock()
			v.applySchema(cfg, m)
			v.mu.Unlock()
		}
	}
}

// Folded returns the folded counts per label.
func (s *State) Folded() map[string]uint64 {
	s.labelMu.Lock()
	defer s.labelMu.Unlock()
	out := make(map[string]uint64, len(s.folded))
	for k, v := range s.folded {
		out[k] = v
	}
	return out
}

// Rejected returns the rejected counts.
func (s *State) Rejected() map[RejectKey]uint64 {
	s.labelMu.Lock()
	defer s.labelMu.Unlock()
	out := make(map[RejectKey]uint64, len(s.rejected))
	for k, v := range s.rejected {
		out[k] = v
	}
	return out
}

// Versions returns every version, sorted by model then version.
func (s *State) Versions() []*Version {
	s.mu.RLock()
	models := make([]*Model, 0, len(s.models))
	for _, m := range s.models {
		models = append(models, m)
	}
	s.mu.RUnlock()
	var out []*Version
	for _, m := range models {
		m.mu.RLock()
		for _, v := range m.versions {
			out = append(out, v)
		}
		m.mu.RUnlock()
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].model.Name != out[j].model.Name {
			return out[i].model.Name < out[j].model.Name
		}
		return out[i].Name < out[j].Name
	})
	return out
}
