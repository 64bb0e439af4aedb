// Package sim plays AI systems in production against aiops_exporter: a fraud classifier with
// numeric and categorical features and delayed ground truth, a demand regressor, and an LLM
// support chatbot with tokens, cost, latency, task outcomes and feedback. A scenario file
// scripts faults on a timeline (a feature shifts, nulls appear, accuracy decays, latency
// spikes, token spend runs away, volume drops, a canary is worse than stable).
//
// Every event is a pure function of the seed, the model and the event's position in scenario
// time, so a run is reproducible whatever the pacing or the machine's speed.
package sim

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed default.yaml
var defaultScenario []byte

// DefaultScenario returns the embedded scenario used when no file is given.
func DefaultScenario() (*Scenario, error) {
	return ParseScenario("default.yaml", defaultScenario)
}

// Model kinds the simulator knows how to play.
const (
	KindClassifier = "classifier"
	KindRegressor  = "regressor"
	KindLLM        = "llm"
)

// Fault kinds a scenario can script.
const (
	FaultFeatureShift  = "feature_shift"  // add Shift reference std devs (numeric) or move Share of traffic to Category
	FaultNulls         = "nulls"          // Ratio of events lose Feature
	FaultAccuracyDecay = "accuracy_decay" // the model is right with probability Accuracy
	FaultLatencySpike  = "latency_spike"  // latency × Factor
	FaultTokenRunaway  = "token_runaway"  // output tokens × Factor
	FaultVolumeDrop    = "volume_drop"    // rate × Factor
	FaultErrors        = "errors"         // Ratio of inferences fail (of Version only, when set)
	FaultCanaryWorse   = "canary_worse"   // Version is right with probability Accuracy
)

var faultKinds = map[string]bool{
	FaultFeatureShift: true, FaultNulls: true, FaultAccuracyDecay: true, FaultLatencySpike: true,
	FaultTokenRunaway: true, FaultVolumeDrop: true, FaultErrors: true, FaultCanaryWorse: true,
}

// Scenario is a simulation script.
type Scenario struct {
	// Seed makes the run reproducible.
	Seed uint64 `yaml:"seed"`
	// Duration is the scenario length; zero runs until stopped.
	Duration Duration `yaml:"duration"`
	// Models played, each at its own rate.
	Models []Model `yaml:"models"`
	// Faults scripted on the timeline.
	Faults []Fault `yaml:"faults"`
}

// Model is one simulated AI system.
type Model struct {
	Name string `yaml:"name"`
	Kind string `yaml:"kind"`
	// Rate is events per second of scenario time.
	Rate float64 `yaml:"rate"`
	// Versions split the traffic by weight (A/B, canary); default one version "v1".
	Versions []Version `yaml:"versions"`
	// Accuracy is how often a healthy classifier is right (default 0.92); for a regressor,
	// the relative noise of its predictions is 1-Accuracy.
	Accuracy float64 `yaml:"accuracy"`
	// LabelDelay is how long after the prediction its ground truth arrives (classifier,
	// regressor); zero sends no labels.
	LabelDelay Duration `yaml:"label_delay"`
	// LabelShare is the share of predictions that ever get a label (default 1).
	LabelShare float64 `yaml:"label_share"`
}

// Version is a model version with its traffic weight.
type Version struct {
	Name   string  `yaml:"name"`
	Weight float64 `yaml:"weight"`
}

// Fault is a scripted degradation between At and At+For.
type Fault struct {
	Name     string   `yaml:"name"`
	Kind     string   `yaml:"kind"`
	Model    string   `yaml:"model"`
	At       Duration `yaml:"at"`
	For      Duration `yaml:"for"`
	Feature  string   `yaml:"feature"`
	Shift    float64  `yaml:"shift"`
	Category string   `yaml:"category"`
	Share    float64  `yaml:"share"`
	Ratio    float64  `yaml:"ratio"`
	Factor   float64  `yaml:"factor"`
	Accuracy float64  `yaml:"accuracy"`
	Version  string   `yaml:"version"`
	// Expect names the alert this fault must fire; `make demo DURATION=…` checks it.
	Expect string `yaml:"expect"`
}

// Active reports whether the fault is in force at scenario time t.
func (f *Fault) Active(t time.Duration) bool {
	return t >= f.At.D() && t < f.At.D()+f.For.D()
}

// Duration is a time.Duration read from YAML as "90s", "5m", "1h30m".
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (want e.g. 90s, 5m, 1h)", n.Line, s)
	}
	if v < 0 {
		return fmt.Errorf("line %d: duration %q is negative", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// LoadScenario reads and validates a scenario file.
func LoadScenario(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading scenario: %w", err)
	}
	return ParseScenario(path, b)
}

// ParseScenario decodes a scenario strictly (unknown keys are errors) and validates it.
func ParseScenario(name string, b []byte) (*Scenario, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s Scenario
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &s, nil
}

func (s *Scenario) validate() error {
	if len(s.Models) == 0 {
		return errors.New("models: at least one model is required")
	}
	seen := map[string]*Model{}
	for i := range s.Models {
		m := &s.Models[i]
		at := fmt.Sprintf("models[%d]", i)
		if m.Name == "" {
			return fmt.Errorf("%s.name: required", at)
		}
		if seen[m.Name] != nil {
			return fmt.Errorf("%s.name: duplicate model %q", at, m.Name)
		}
		seen[m.Name] = m
		switch m.Kind {
		case KindClassifier, KindRegressor, KindLLM:
		default:
			return fmt.Errorf("%s.kind: %q is not one of classifier, regressor, llm", at, m.Kind)
		}
		if m.Rate <= 0 || m.Rate > 1e6 {
			return fmt.Errorf("%s.rate: %v must be in (0, 1e6] events per second", at, m.Rate)
		}
		if m.Accuracy == 0 {
			m.Accuracy = 0.92
		}
		if m.Accuracy < 0 || m.Accuracy > 1 {
			return fmt.Errorf("%s.accuracy: %v must be in [0, 1]", at, m.Accuracy)
		}
		if m.LabelShare == 0 {
			m.LabelShare = 1
		}
		if m.LabelShare < 0 || m.LabelShare > 1 {
			return fmt.Errorf("%s.label_share: %v must be in [0, 1]", at, m.LabelShare)
		}
		if len(m.Versions) == 0 {
			m.Versions = []Version{{Name: "v1", Weight: 1}}
		}
		for j, v := range m.Versions {
			if v.Name == "" {
				return fmt.Errorf("%s.versions[%d].name: required", at, j)
			}
			if v.Weight <= 0 {
				return fmt.Errorf("%s.versions[%d].weight: %v must be > 0", at, j, v.Weight)
			}
		}
	}
	for i := range s.Faults {
		f := &s.Faults[i]
		at := fmt.Sprintf("faults[%d]", i)
		if !faultKinds[f.Kind] {
			kinds := make([]string, 0, len(faultKinds))
			for k := range faultKinds {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			return fmt.Errorf("%s.kind: %q is not one of %v", at, f.Kind, kinds)
		}
		m := seen[f.Model]
		if m == nil {
			return fmt.Errorf("%s.model: %q is not a model of this scenario", at, f.Model)
		}
		if f.For == 0 {
			return fmt.Errorf("%s.for: required (how long the fault lasts)", at)
		}
		if f.Name == "" {
			f.Name = fmt.Sprintf("%s-%s-%d", f.Model, f.Kind, i)
		}
		if err := f.validateFor(m); err != nil {
			return fmt.Errorf("%s.%w", at, err)
		}
	}
	return nil
}

func hasVersion(m *Model, v string) bool {
	for _, mv := range m.Versions {
		if mv.Name == v {
			return true
		}
	}
	return false
}

func (f *Fault) validateFor(m *Model) error {
	switch f.Kind {
	case FaultFeatureShift:
		spec, ok := featureSpec(m.Kind, f.Feature)
		if !ok {
			return fmt.Errorf("feature: %q is not a feature of %s model %q (have %v)", f.Feature, m.Kind, m.Name, featureNames(m.Kind))
		}
		if spec.categorical() {
			if f.Share <= 0 || f.Share > 1 {
				return fmt.Errorf("share: %v must be in (0, 1] for categorical feature %q", f.Share, f.Feature)
			}
			if f.Category == "" {
				return fmt.Errorf("category: required for categorical feature %q", f.Feature)
			}
		} else if f.Shift == 0 {
			return fmt.Errorf("shift: required (reference standard deviations to add to %q)", f.Feature)
		}
	case FaultNulls:
		if _, ok := featureSpec(m.Kind, f.Feature); !ok {
			return fmt.Errorf("feature: %q is not a feature of %s model %q (have %v)", f.Feature, m.Kind, m.Name, featureNames(m.Kind))
		}
		if f.Ratio <= 0 || f.Ratio > 1 {
			return fmt.Errorf("ratio: %v must be in (0, 1]", f.Ratio)
		}
	case FaultErrors:
		if f.Ratio <= 0 || f.Ratio > 1 {
			return fmt.Errorf("ratio: %v must be in (0, 1]", f.Ratio)
		}
		if f.Version != "" && !hasVersion(m, f.Version) {
			return fmt.Errorf("version: %q is not a version of model %q", f.Version, m.Name)
		}
	case FaultAccuracyDecay:
		// For an llm it is the share of golden-set questions answered faithfully.
		if f.Accuracy < 0 || f.Accuracy >= 1 {
			return fmt.Errorf("accuracy: %v must be in [0, 1)", f.Accuracy)
		}
	case FaultCanaryWorse:
		if m.Kind == KindLLM {
			return fmt.Errorf("kind: canary_worse needs a classifier or regressor, %q is an llm", m.Name)
		}
		found := false
		for _, v := range m.Versions {
			found = found || v.Name == f.Version
		}
		if !found {
			return fmt.Errorf("version: %q is not a version of model %q", f.Version, m.Name)
		}
		if f.Accuracy < 0 || f.Accuracy >= 1 {
			return fmt.Errorf("accuracy: %v must be in [0, 1)", f.Accuracy)
		}
	case FaultLatencySpike, FaultTokenRunaway:
		if f.Factor <= 1 {
			return fmt.Errorf("factor: %v must be > 1", f.Factor)
		}
	case FaultVolumeDrop:
		if f.Factor < 0 || f.Factor >= 1 {
			return fmt.Errorf("factor: %v must be in [0, 1)", f.Factor)
		}
	}
	return nil
}
