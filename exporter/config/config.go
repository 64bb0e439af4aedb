// Package config loads and validates the aiops_exporter configuration: the models, their
// versions and features, the price tables, the cardinality and size limits, and the policy
// for models and features the configuration does not name.
//
// Defaults and validation happen while decoding (UnmarshalYAML), so a Config value that
// came out of Load is always complete and valid; errors name the field and the YAML line.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// Policy says what happens to an event naming a model, version or feature the configuration
// does not list.
type Policy string

// The unknown-name policies.
const (
	// PolicyLearn accepts the name and remembers it, bounded by the cardinality limits.
	PolicyLearn Policy = "learn"
	// PolicyReject rejects the event with reason unknown_model / unknown_version / unknown_feature.
	PolicyReject Policy = "reject"
)

// FeatureType is the declared type of a feature value.
type FeatureType string

// The feature types.
const (
	Numeric     FeatureType = "numeric"
	Categorical FeatureType = "categorical"
	Boolean     FeatureType = "boolean"
	Text        FeatureType = "text"
)

// Config is the whole configuration file.
type Config struct {
	// UnknownModels applies to models (and versions of configured models) not listed.
	UnknownModels Policy `yaml:"unknown_models"`
	// UnknownFeatures applies to features not listed for a configured model version.
	UnknownFeatures Policy `yaml:"unknown_features"`
	// DefaultCurrency labels costs of models without a price table.
	DefaultCurrency string `yaml:"default_currency"`
	Window          Window `yaml:"window"`
	Limits          Limits `yaml:"limits"`
	// Reference is how a model version without an uploaded reference captures one; a model's
	// own reference setting replaces it.
	Reference Reference `yaml:"reference"`
	// Labels bounds the ground-truth join.
	Labels Labels `yaml:"labels"`
	// OTLP configures the OpenTelemetry receiver (/v1/traces, /v1/metrics, /v1/logs).
	OTLP   OTLP             `yaml:"otlp"`
	Models map[string]Model `yaml:"models"`
	// Drift holds the drift options that apply to every model.
	Drift Drift `yaml:"drift"`
}

// Drift holds the drift options that apply to every model.
type Drift struct {
	// Multivariate turns on the data-reconstruction drift of each version's numeric features
	// (aiops_reconstruction_*), where the reference carries one. Off by default: it costs a
	// projection of every event onto the reference's principal components.
	Multivariate bool `yaml:"multivariate"`
}

// OTLPSignals are the OTLP signals the exporter reads.
var OTLPSignals = []string{"traces", "metrics", "logs"}

// OTLP configures the OpenTelemetry receiver.
type OTLP struct {
	// Signals lists the signals accepted; a signal left out answers 404, so a Collector
	// pipeline that sends it fails loudly instead of being counted as ignored.
	Signals []string `yaml:"signals"`
	// ModelTemplate names the model of a GenAI call span: {attribute} is replaced by the
	// span's attribute, else the resource's (service.name…), else "unknown";
	// {gen_ai.request.model} falls back to gen_ai.response.model. Empty: the request model.
	ModelTemplate string `yaml:"model_template"`
}

// TemplatePart is a literal (Attr empty) or an {attribute} of a model template.
type TemplatePart struct {
	Literal, Attr string
}

// ParseModelTemplate splits a model template into literals and attributes.
func ParseModelTemplate(t string) ([]TemplatePart, error) {
	var parts []TemplatePart
	for t != "" {
		i := strings.IndexAny(t, "{}")
		if i < 0 {
			parts = append(parts, TemplatePart{Literal: t})
			break
		}
		if t[i] == '}' {
			return nil, fmt.Errorf("unexpected } at %q", t[i:])
		}
		if i > 0 {
			parts = append(parts, TemplatePart{Literal: t[:i]})
		}
		j := strings.IndexByte(t[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("unclosed { at %q", t[i:])
		}
		name := t[i+1 : i+j]
		if name == "" || strings.ContainsAny(name, "{ ") {
			return nil, fmt.Errorf("bad attribute name %q", name)
		}
		parts = append(parts, TemplatePart{Attr: name})
		t = t[i+j+1:]
	}
	return parts, nil
}

// Enabled reports whether signal is accepted.
func (o OTLP) Enabled(signal string) bool { return slices.Contains(o.Signals, signal) }

func (o OTLP) validate() error {
	if o.ModelTemplate != "" {
		parts, err := ParseModelTemplate(o.ModelTemplate)
		if err != nil {
			return fmt.Errorf("otlp.model_template %q: %w; expected text with {attribute} placeholders such as {service.name}/{gen_ai.request.model}", o.ModelTemplate, err)
		}
		if !slices.ContainsFunc(parts, func(p TemplatePart) bool { return p.Attr != "" }) {
			return fmt.Errorf("otlp.model_template %q names no {attribute}: every call would be one model", o.ModelTemplate)
		}
	}
	seen := map[string]bool{}
	for _, s := range o.Signals {
		if !slices.Contains(OTLPSignals, s) {
			return fmt.Errorf("otlp.signals: %q is not a signal; expected some of %s", s, strings.Join(OTLPSignals, ", "))
		}
		if seen[s] {
			return fmt.Errorf("otlp.signals: %q listed twice", s)
		}
		seen[s] = true
	}
	return nil
}

// Reference says how a reference (baseline) is captured from live events when none was
// uploaded: the first CaptureFirst events of the version, or the events whose timestamps lie
// in [From, To). Zero CaptureFirst and no range: no capture (upload one).
type Reference struct {
	CaptureFirst int        `yaml:"capture_first"`
	From         *time.Time `yaml:"from"`
	To           *time.Time `yaml:"to"`
}

func (r Reference) validate(path string) error {
	if r.CaptureFirst < 0 {
		return fmt.Errorf("%s.capture_first: expected a number of events >= 0, got %d", path, r.CaptureFirst)
	}
	if (r.From == nil) != (r.To == nil) {
		return fmt.Errorf("%s: from and to go together (a pinned time range), got only one", path)
	}
	if r.From != nil {
		if !r.From.Before(*r.To) {
			return fmt.Errorf("%s: from (%s) must be before to (%s)", path, r.From.Format(time.RFC3339), r.To.Format(time.RFC3339))
		}
		if r.CaptureFirst > 0 {
			return fmt.Errorf("%s: use either capture_first or from/to, not both", path)
		}
	}
	return nil
}

// Labels bounds the predictions awaiting ground truth and the labels awaiting their prediction.
type Labels struct {
	// MaxAwaiting and MaxAge bound the predictions kept per model version for a label to join;
	// the oldest go first, and every eviction is counted.
	MaxAwaiting int            `yaml:"max_awaiting"`
	MaxAge      model.Duration `yaml:"max_age"`
	// UnknownIDTTL is how long a label whose prediction has not arrived is kept, per model,
	// bounded by MaxUnknown.
	UnknownIDTTL model.Duration `yaml:"unknown_id_ttl"`
	MaxUnknown   int            `yaml:"max_unknown"`
	// MaxClasses bounds the class label of the classification metrics; later classes are __other__.
	MaxClasses int `yaml:"max_classes"`
	// MaxBytes bounds the memory of every waiting prediction and label together, ids
	// included, across all models and versions: MaxAwaiting is per version and thousands
	// of versions are allowed. Past it the oldest go first (evicted reason "memory").
	MaxBytes ByteSize `yaml:"max_bytes"`
}

// Window is the sliding window: a ring of SubWindows sub-windows of SubWindowDuration each.
type Window struct {
	SubWindows        int            `yaml:"sub_windows"`
	SubWindowDuration model.Duration `yaml:"sub_window_duration"`
}

// Length is the span the window covers.
func (w Window) Length() time.Duration {
	return time.Duration(w.SubWindows) * time.Duration(w.SubWindowDuration)
}

// Limits bound memory, label cardinality and request sizes.
type Limits struct {
	MaxModels            int `yaml:"max_models"`
	MaxVersionsPerModel  int `yaml:"max_versions_per_model"`
	MaxFeaturesPerModel  int `yaml:"max_features_per_model"`
	MaxLabelValues       int `yaml:"max_label_values"`
	MaxCategoriesPerFeat int `yaml:"max_categories_per_feature"`
	// MaxTextTokens bounds output_text and reference_answer: ROUGE-L's longest common
	// subsequence costs len(output)·len(reference) steps on the ingest path.
	MaxTextTokens int            `yaml:"max_text_tokens"`
	MaxBodyBytes  ByteSize       `yaml:"max_body_bytes"`
	MaxEventAge   model.Duration `yaml:"max_event_age"`
	MaxClockSkew  model.Duration `yaml:"max_clock_skew"`
}

// ByteSize is a size in bytes, written as an integer or with a unit ("10MiB", "512KB").
type ByteSize int64

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	var i int64
	if err := n.Decode(&i); err == nil {
		if i <= 0 {
			return fmt.Errorf("line %d: size must be positive, got %d", n.Line, i)
		}
		*b = ByteSize(i)
		return nil
	}
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: expected a size such as 10MiB: %w", n.Line, err)
	}
	v, err := units.ParseBase2Bytes(s)
	if err != nil || v <= 0 {
		return fmt.Errorf("line %d: expected a positive size such as 10MiB, got %q", n.Line, s)
	}
	*b = ByteSize(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (b ByteSize) MarshalYAML() (any, error) { return int64(b), nil }

// Model is one AI model: its price table, LLM attributes and versions.
type Model struct {
	// Provider and Operation fill the OpenTelemetry GenAI labels gen_ai_provider_name and
	// gen_ai_operation_name (defaults: "unknown" and "chat").
	Provider  string `yaml:"provider"`
	Operation string `yaml:"operation"`
	Price     *Price `yaml:"price_per_million_tokens"`
	// UnknownFeatures overrides the top-level policy for this model ("" inherits).
	UnknownFeatures Policy `yaml:"unknown_features"`
	// Features apply to every version; a version's own features add to or override them.
	Features map[string]Feature `yaml:"features"`
	Versions map[string]Version `yaml:"versions"`
	// Reference replaces the top-level reference capture for this model.
	Reference *Reference `yaml:"reference"`
}

// Version is one version of a model.
type Version struct {
	Features map[string]Feature `yaml:"features"`
}

// Price is a price table in Currency per million tokens. Input counts every input token,
// cached ones included; cached input tokens are charged CachedInput instead of Input.
type Price struct {
	Currency    string   `yaml:"currency"`
	Input       float64  `yaml:"input"`
	Output      float64  `yaml:"output"`
	CachedInput *float64 `yaml:"cached_input"`
}

// Feature is the schema of one input feature.
type Feature struct {
	Type     FeatureType `yaml:"type"`
	Required bool        `yaml:"required"`
	// Min and Max bound valid numeric values; a value outside is rejected (out_of_range).
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`
	// ExpectedMin and ExpectedMax bound usual numeric values; a valid value outside counts as
	// an outlier (aiops_feature_outlier_ratio) but is accepted.
	ExpectedMin *float64 `yaml:"expected_min"`
	ExpectedMax *float64 `yaml:"expected_max"`
	// Allowed lists the valid categories; another value is rejected (unknown_category).
	Allowed []string `yaml:"allowed"`
	// MaxLength bounds text features (in bytes); longer text is rejected (out_of_range).
	MaxLength int `yaml:"max_length"`
	// Drift overrides the method judging this feature's drift and its threshold.
	Drift *FeatureDrift `yaml:"drift"`
}

// FeatureDrift overrides drift judging for one feature.
type FeatureDrift struct {
	// Method is one of psi, kl, js, hellinger, wasserstein, ks, chi2, z ("" keeps the default).
	Method string `yaml:"method"`
	// Threshold of the method: a distance at or above it, or a p-value below it, is drift.
	Threshold *float64 `yaml:"threshold"`
}

// DriftMethods are the method names FeatureDrift.Method accepts (those of exporter/drift).
var DriftMethods = []string{"psi", "kl", "js", "hellinger", "wasserstein", "ks", "chi2", "z"}

// Default returns the configuration used without a file: learn everything, sane limits.
func Default() *Config {
	c := &Config{}
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	*c = Config{
		UnknownModels:   PolicyLearn,
		UnknownFeatures: PolicyLearn,
		DefaultCurrency: "USD",
		Window:          Window{SubWindows: 12, SubWindowDuration: model.Duration(5 * time.Minute)},
		Limits: Limits{
			MaxModels:            100,
			MaxVersionsPerModel:  20,
			MaxFeaturesPerModel:  200,
			MaxLabelValues:       100,
			MaxCategoriesPerFeat: 100,
			MaxTextTokens:        1024,
			MaxBodyBytes:         10 << 20,
			MaxEventAge:          model.Duration(time.Hour),
			MaxClockSkew:         model.Duration(5 * time.Minute),
		},
		Reference: Reference{CaptureFirst: 5000},
		OTLP:      OTLP{Signals: slices.Clone(OTLPSignals)},
		Labels: Labels{
			MaxAwaiting:  1000000,
			MaxAge:       model.Duration(30 * 24 * time.Hour),
			UnknownIDTTL: model.Duration(time.Hour),
			MaxUnknown:   100000,
			MaxClasses:   20,
			MaxBytes:     256 << 20,
		},
	}
}

// UnmarshalYAML implements yaml.Unmarshaler: defaults first, then the document, then
// validation. Parse is the strict entry point: yaml.v3 forgets KnownFields inside custom
// unmarshalers, so Parse decodes the top level itself and only leaf types check their keys.
func (c *Config) UnmarshalYAML(n *yaml.Node) error {
	c.setDefaults()
	if err := n.Decode((*plainConfig)(c)); err != nil {
		return err
	}
	return c.validate()
}

// plainConfig has Config's fields without its UnmarshalYAML.
type plainConfig Config

func checkPolicy(field string, p Policy, allowEmpty bool) error {
	switch p {
	case PolicyLearn, PolicyReject:
		return nil
	case "":
		if allowEmpty {
			return nil
		}
	}
	return fmt.Errorf("%s: expected \"learn\" or \"reject\", got %q", field, p)
}

func (c *Config) validate() error {
	if err := checkPolicy("unknown_models", c.UnknownModels, false); err != nil {
		return err
	}
	if err := checkPolicy("unknown_features", c.UnknownFeatures, false); err != nil {
		return err
	}
	if c.DefaultCurrency == "" {
		return errors.New("default_currency: must not be empty")
	}
	if c.Window.SubWindows < 1 || c.Window.SubWindows > 10000 {
		return fmt.Errorf("window.sub_windows: expected 1..10000, got %d", c.Window.SubWindows)
	}
	if time.Duration(c.Window.SubWindowDuration) < time.Second {
		return fmt.Errorf("window.sub_window_duration: expected at least 1s, got %s", c.Window.SubWindowDuration)
	}
	l := c.Limits
	for _, f := range []struct {
		name string
		v    int
	}{
		{"limits.max_models", l.MaxModels},
		{"limits.max_versions_per_model", l.MaxVersionsPerModel},
		{"limits.max_features_per_model", l.MaxFeaturesPerModel},
		{"limits.max_label_values", l.MaxLabelValues},
		{"limits.max_categories_per_feature", l.MaxCategoriesPerFeat},
		{"limits.max_text_tokens", l.MaxTextTokens},
	} {
		if f.v < 1 {
			return fmt.Errorf("%s: expected a positive number, got %d", f.name, f.v)
		}
	}
	if l.MaxEventAge <= 0 || l.MaxClockSkew < 0 {
		return errors.New("limits.max_event_age must be positive and limits.max_clock_skew not negative")
	}
	if err := c.Reference.validate("reference"); err != nil {
		return err
	}
	if err := c.OTLP.validate(); err != nil {
		return err
	}
	lb := c.Labels
	if lb.MaxAwaiting < 1 || lb.MaxUnknown < 1 || lb.MaxClasses < 2 {
		return fmt.Errorf("labels: max_awaiting and max_unknown must be positive and max_classes at least 2, got %d, %d, %d", lb.MaxAwaiting, lb.MaxUnknown, lb.MaxClasses)
	}
	if lb.MaxBytes < 1<<20 {
		return fmt.Errorf("labels.max_bytes: expected at least 1MiB, got %d bytes", lb.MaxBytes)
	}
	if lb.MaxAge <= 0 || lb.UnknownIDTTL <= 0 {
		return fmt.Errorf("labels: max_age and unknown_id_ttl must be positive, got %s and %s", lb.MaxAge, lb.UnknownIDTTL)
	}
	if len(c.Models) > l.MaxModels {
		return fmt.Errorf("models: %d models configured but limits.max_models is %d", len(c.Models), l.MaxModels)
	}
	for name, m := range c.Models {
		if err := m.validate(c, "models."+name); err != nil {
			return err
		}
	}
	return nil
}

func (m Model) validate(c *Config, path string) error {
	if err := checkPolicy(path+".unknown_features", m.UnknownFeatures, true); err != nil {
		return err
	}
	if m.Price != nil {
		p := m.Price
		for _, f := range []struct {
			n string
			v float64
		}{{"input", p.Input}, {"output", p.Output}} {
			if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
				return fmt.Errorf("%s.price_per_million_tokens.%s: expected a finite price >= 0, got %v", path, f.n, f.v)
			}
		}
		if p.CachedInput != nil && (*p.CachedInput < 0 || math.IsNaN(*p.CachedInput) || math.IsInf(*p.CachedInput, 0)) {
			return fmt.Errorf("%s.price_per_million_tokens.cached_input: expected a finite price >= 0", path)
		}
	}
	if m.Reference != nil {
		if err := m.Reference.validate(path + ".reference"); err != nil {
			return err
		}
	}
	if len(m.Versions) > c.Limits.MaxVersionsPerModel {
		return fmt.Errorf("%s.versions: %d versions but limits.max_versions_per_model is %d", path, len(m.Versions), c.Limits.MaxVersionsPerModel)
	}
	if len(m.Features) > c.Limits.MaxFeaturesPerModel {
		return fmt.Errorf("%s.features: %d features but limits.max_features_per_model is %d", path, len(m.Features), c.Limits.MaxFeaturesPerModel)
	}
	for vn, v := range m.Versions {
		if n := len(m.VersionFeatures(vn)); n > c.Limits.MaxFeaturesPerModel {
			return fmt.Errorf("%s.versions.%s.features: %d features but limits.max_features_per_model is %d", path, vn, n, c.Limits.MaxFeaturesPerModel)
		}
		_ = v
	}
	return nil
}

// VersionFeatures returns the features of one version: the model's, overridden by the version's.
func (m Model) VersionFeatures(version string) map[string]Feature {
	v := m.Versions[version]
	if len(v.Features) == 0 {
		return m.Features
	}
	out := make(map[string]Feature, len(m.Features)+len(v.Features))
	for k, f := range m.Features {
		out[k] = f
	}
	for k, f := range v.Features {
		out[k] = f
	}
	return out
}

// ReferenceFor is the reference capture that applies to this model.
func (c *Config) ReferenceFor(m Model) Reference {
	if m.Reference != nil {
		return *m.Reference
	}
	return c.Reference
}

// FeaturePolicy is the unknown-feature policy that applies to this model.
func (c *Config) FeaturePolicy(m Model) Policy {
	if m.UnknownFeatures != "" {
		return m.UnknownFeatures
	}
	return c.UnknownFeatures
}

// UnmarshalYAML implements yaml.Unmarshaler, checking the feature schema with its line.
func (f *Feature) UnmarshalYAML(n *yaml.Node) error {
	type plain Feature
	*f = Feature{}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("line %d: "+format, append([]any{n.Line}, args...)...)
	}
	if err := checkKeys(n, featureKeys); err != nil {
		return err
	}
	if err := n.Decode((*plain)(f)); err != nil {
		return err
	}
	switch f.Type {
	case Numeric, Categorical, Boolean, Text:
	case "":
		return fail("feature type: missing; expected numeric, categorical, boolean or text")
	default:
		return fail("feature type: expected numeric, categorical, boolean or text, got %q", f.Type)
	}
	if f.Type != Numeric && (f.Min != nil || f.Max != nil || f.ExpectedMin != nil || f.ExpectedMax != nil) {
		return fail("min/max/expected_min/expected_max apply to numeric features only (type is %s)", f.Type)
	}
	if f.Type != Categorical && len(f.Allowed) > 0 {
		return fail("allowed applies to categorical features only (type is %s)", f.Type)
	}
	if f.Type != Text && f.MaxLength != 0 {
		return fail("max_length applies to text features only (type is %s)", f.Type)
	}
	if f.MaxLength < 0 {
		return fail("max_length: expected >= 0, got %d", f.MaxLength)
	}
	for _, p := range []struct {
		name string
		v    *float64
	}{{"min", f.Min}, {"max", f.Max}, {"expected_min", f.ExpectedMin}, {"expected_max", f.ExpectedMax}} {
		if p.v != nil && (math.IsNaN(*p.v) || math.IsInf(*p.v, 0)) {
			return fail("%s: expected a finite number", p.name)
		}
	}
	if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		return fail("min (%v) is greater than max (%v)", *f.Min, *f.Max)
	}
	if f.ExpectedMin != nil && f.ExpectedMax != nil && *f.ExpectedMin > *f.ExpectedMax {
		return fail("expected_min (%v) is greater than expected_max (%v)", *f.ExpectedMin, *f.ExpectedMax)
	}
	if d := f.Drift; d != nil {
		if d.Method != "" && !slices.Contains(DriftMethods, d.Method) {
			return fail("drift.method: expected one of %s, got %q", strings.Join(DriftMethods, ", "), d.Method)
		}
		if d.Threshold != nil && (math.IsNaN(*d.Threshold) || math.IsInf(*d.Threshold, 0) || *d.Threshold < 0) {
			return fail("drift.threshold: expected a finite number >= 0")
		}
		if f.Type == Text {
			return fail("drift applies to numeric, categorical and boolean features, not text")
		}
	}
	seen := make(map[string]bool, len(f.Allowed))
	for _, a := range f.Allowed {
		if seen[a] {
			return fail("allowed: duplicate value %q", a)
		}
		seen[a] = true
	}
	return nil
}

// Parse decodes and validates a configuration document. Unknown keys are errors.
func Parse(data []byte) (*Config, error) {
	c := Default()
	if len(bytes.TrimSpace(data)) == 0 {
		return c, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode((*plainConfig)(c)); err != nil {
		if errors.Is(err, io.EOF) {
			return Default(), nil
		}
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	return c, nil
}

// Load reads and validates the file at path; an empty path gives Default().
func Load(path string) (*Config, error) {
	if path == "" {
		return Default(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ModelNames returns the configured model names, sorted.
func (c *Config) ModelNames() []string {
	out := make([]string, 0, len(c.Models))
	for n := range c.Models {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

var featureKeys = yamlKeys(Feature{})

// yamlKeys lists the yaml keys of a struct's fields.
func yamlKeys(v any) map[string]bool {
	t := reflect.TypeOf(v)
	keys := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		keys[name] = true
	}
	return keys
}

// checkKeys rejects mapping keys that are not fields, as KnownFields(true) would.
func checkKeys(n *yaml.Node, keys map[string]bool) error {
	if n.Kind != yaml.MappingNode {
		return nil // n.Decode reports the type error with its line
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !keys[k.Value] {
			return fmt.Errorf("line %d: field %s not found in feature; expected one of type, required, min, max, expected_min, expected_max, allowed, max_length, drift", k.Line, k.Value)
		}
	}
	return nil
}

// UnmarshalYAML implements yaml.Unmarshaler: inside Feature's own unmarshaler yaml.v3 no
// longer rejects unknown keys, so they are checked here.
func (d *FeatureDrift) UnmarshalYAML(n *yaml.Node) error {
	type plain FeatureDrift
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Value != "method" && k.Value != "threshold" {
				return fmt.Errorf("line %d: field %s not found in drift; expected method or threshold", k.Line, k.Value)
			}
		}
	}
	return n.Decode((*plain)(d))
}
