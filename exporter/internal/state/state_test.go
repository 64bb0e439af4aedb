package state

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/config"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newState(t *testing.T, cfgText string, c *clock) *State {
	t.Helper()
	cfg, err := config.Parse([]byte(cfgText))
	require.NoError(t, err)
	return New(cfg, Options{Now: c.now})
}

func resolve(t *testing.T, s *State, model, version string) *Version {
	t.Helper()
	v, res := s.Resolve([]byte(model), []byte(version))
	require.Equal(t, Resolved, res)
	return v
}

// apply applies an event with the given numeric features (NaN-free) at the clock's time.
func apply(v *Version, at time.Time, feats map[string]any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e := Event{Time: at, Outcome: -1, Feedback: -1}
	for name, val := range feats {
		fv := FeatureValue{Feature: v.features[name], Name: []byte(name)}
		switch x := val.(type) {
		case float64:
			fv.Type, fv.Num = config.Numeric, x
		case string:
			fv.Type, fv.Str = config.Categorical, []byte(x)
		case nil:
		}
		e.Features = append(e.Features, fv)
	}
	v.apply(&e)
}

func TestWindowQualityRatios(t *testing.T) {
	c := &clock{t0}
	s := newState(t, `
window: {sub_windows: 3, sub_window_duration: 1m}
models:
  m:
    features:
      x: {type: numeric, expected_min: 0, expected_max: 10}
`, c)
	v := resolve(t, s, "m", "")
	require.Equal(t, DefaultVersion, v.Name)
	apply(v, c.t, map[string]any{"x": 5.0})
	apply(v, c.t, map[string]any{"x": 50.0})
	apply(v, c.t, map[string]any{"x": nil})
	apply(v, c.t, map[string]any{})
	r := v.Read(c.t)
	require.Equal(t, uint64(4), r.WindowEvents)
	require.Equal(t, FeatureReading{Name: "x", Numeric: true, Present: 2, Outliers: 1}, r.Features[0])

	// Two minutes later the first sub-window is still in; at three it has slid out.
	c.t = t0.Add(2 * time.Minute)
	apply(v, c.t, map[string]any{"x": -1.0})
	r = v.Read(c.t)
	require.Equal(t, uint64(5), r.WindowEvents)
	require.Equal(t, uint64(2), r.Features[0].Outliers)
	c.t = t0.Add(3 * time.Minute)
	r = v.Read(c.t)
	require.Equal(t, uint64(1), r.WindowEvents)
	require.Equal(t, FeatureReading{Name: "x", Numeric: true, Present: 1, Outliers: 1}, r.Features[0])
	// The cumulative counter does not slide.
	require.Equal(t, uint64(5), r.Counters.Events)
}

func TestCategoricalCardinalityIsBounded(t *testing.T) {
	c := &clock{t0}
	s := newState(t, "limits: {max_categories_per_feature: 50}\n", c)
	v := resolve(t, s, "m", "v1")
	const n = 1_000_000
	for i := range n {
		apply(v, c.t, map[string]any{"city": fmt.Sprintf("city-%d", i)})
	}
	require.Len(t, v.features["city"].categories, 50)
	require.Equal(t, uint64(n-50), s.Folded()[LabelBin])
	require.Equal(t, uint64(n), v.Read(c.t).Counters.Events)
}

func TestLabelCardinalityIsBounded(t *testing.T) {
	c := &clock{t0}
	s := newState(t, "limits: {max_models: 3, max_versions_per_model: 2, max_features_per_model: 4, max_label_values: 5}\n", c)
	for i := range 1000 {
		resolve(t, s, fmt.Sprintf("model-%d", i), "")
	}
	var names []string
	for _, v := range s.Versions() {
		names = append(names, v.Model())
	}
	require.Equal(t, []string{"__other__", "model-0", "model-1", "model-2"}, names)
	require.Equal(t, uint64(997), s.Folded()[LabelModel])

	for i := range 10 {
		resolve(t, s, "model-0", fmt.Sprintf("v%d", i))
	}
	require.Equal(t, uint64(10-1), s.Folded()[LabelVersion]) // "default" and v0 took the two slots

	v := resolve(t, s, "model-1", "")
	for i := range 100 {
		apply(v, c.t, map[string]any{fmt.Sprintf("f%d", i): 1.0})
	}
	r := v.Read(c.t)
	require.Len(t, r.Features, 5) // f0..f3 and __other__
	require.Equal(t, Other, r.Features[4].Name)
	require.Equal(t, uint64(96), r.Features[4].Present)
	require.Equal(t, uint64(96), s.Folded()[LabelFeature])

	for i := range 100 {
		v.Apply(&Event{Time: c.t, Outcome: -1, Feedback: -1, ErrorType: []byte(fmt.Sprintf("err-%d", i)),
			Business: []Business{{Name: []byte(fmt.Sprintf("b-%d", i)), Value: 1}}}, nil)
	}
	r = v.Read(c.t)
	require.Len(t, r.Counters.Errors, 6)
	require.Equal(t, uint64(95), r.Counters.Errors[Other])
	require.Len(t, r.Counters.Business, 6)
	require.Equal(t, 95.0, r.Counters.Business[Other].Value)
}

func TestUnknownPolicies(t *testing.T) {
	s := newState(t, `
unknown_models: reject
models:
  known:
    versions: {v1: {}}
  open: {}
`, &clock{t0})
	_, res := s.Resolve([]byte("other"), nil)
	require.Equal(t, UnknownModel, res)
	_, res = s.Resolve([]byte("known"), []byte("v2"))
	require.Equal(t, UnknownVersion, res)
	resolve(t, s, "known", "v1")
	resolve(t, s, "open", "anything") // a model without a version list takes any version
}

func TestDerivedCost(t *testing.T) {
	s := newState(t, `
default_currency: EUR
models:
  gpt:
    price_per_million_tokens: {currency: USD, input: 3, output: 15, cached_input: 0.3}
  flat:
    price_per_million_tokens: {input: 2, output: 2}
`, &clock{t0})
	cost := func(model string, in, out, cached uint64, own *float64) map[string]float64 {
		v := resolve(t, s, model, "")
		e := Event{Time: t0, Outcome: -1, Feedback: -1, HasTokens: true, Tokens: [3]uint64{in, out, cached}}
		if own != nil {
			e.HasCost, e.Cost = true, *own
		}
		v.Apply(&e, nil)
		return v.Read(t0).Counters.Cost
	}
	// 1M input of which 200k cached, 100k output: 0.8·3 + 0.2·0.3 + 0.1·15 = 3.96 USD.
	require.InDelta(t, 3.96, cost("gpt", 1_000_000, 100_000, 200_000, nil)["USD"], 1e-9)
	// The event's own cost wins over the table.
	own := 1.0
	require.InDelta(t, 4.96, cost("gpt", 5, 5, 0, &own)["USD"], 1e-9)
	// Without a currency in the table, the default currency applies.
	require.InDelta(t, 0.004, cost("flat", 1000, 1000, 0, nil)["EUR"], 1e-12)
	// No table and no cost: nothing.
	require.Empty(t, cost("learnt", 1000, 1000, 0, nil))
}

func TestSnapshotRestore(t *testing.T) {
	c := &clock{t0}
	cfgText := "window: {sub_windows: 4, sub_window_duration: 1m}\nlimits: {max_models: 1}\n"
	s := newState(t, cfgText, c)
	v := resolve(t, s, "m", "v1")
	apply(v, c.t, map[string]any{"x": 1.0, "c": "red"})
	apply(v, c.t.Add(-time.Minute), map[string]any{"x": nil, "c": "blue"})
	v.Apply(&Event{Time: t0, Outcome: 1, Feedback: 0, HasLatency: true, Latency: 0.3, ErrorType: []byte("timeout")}, nil)
	resolve(t, s, "overflow", "") // folded into __other__
	s.Reject(Unknown, Unknown, "invalid_json")

	snap, err := s.Snapshot()
	require.NoError(t, err)
	data, err := json.Marshal(snap)
	require.NoError(t, err)
	var back Snapshot
	require.NoError(t, json.Unmarshal(data, &back))

	s2 := newState(t, cfgText, c)
	require.NoError(t, s2.Restore(&back))
	require.Equal(t, s.Folded(), s2.Folded())
	require.Equal(t, s.Rejected(), s2.Rejected())
	v2 := resolve(t, s2, "m", "v1")
	require.Equal(t, v.Read(c.t), v2.Read(c.t))
	require.Equal(t, []string{"__other__", "m"}, []string{s2.Versions()[0].Model(), s2.Versions()[1].Model()})
	// Learnt types and categories came back: a string for x is now a type the decoder rejects,
	// and new events keep counting on top of the restored ones.
	require.Equal(t, config.Numeric, v2.features["x"].Schema.Type)
	require.Len(t, v2.features["c"].categories, 2)
	apply(v2, c.t, map[string]any{"x": 2.0})
	require.Equal(t, uint64(4), v2.Read(c.t).Counters.Events)
	require.Equal(t, uint64(4), v2.Read(c.t).WindowEvents)
	// Labels learnt before the restart still count toward the limit.
	resolve(t, s2, "another", "")
	require.Equal(t, s.Folded()[LabelModel]+1, s2.Folded()[LabelModel])
}

func TestReloadUpdatesSchemaKeepsLearnt(t *testing.T) {
	c := &clock{t0}
	s := newState(t, "models:\n  m:\n    features:\n      x: {type: numeric, required: true}\n", c)
	v := resolve(t, s, "m", "")
	apply(v, c.t, map[string]any{"x": 1.0, "y": "a"})
	require.True(t, v.features["x"].Schema.Required)

	cfg, err := config.Parse([]byte("models:\n  m:\n    features:\n      z: {type: boolean, required: true}\n"))
	require.NoError(t, err)
	s.SetConfig(cfg)
	require.False(t, v.features["x"].Schema.Required)
	require.Equal(t, config.Numeric, v.features["x"].Schema.Type)
	require.True(t, v.features["z"].Schema.Required)
	require.NotNil(t, v.features["y"])
}
