package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

const full = `
unknown_models: reject
unknown_features: learn
default_currency: EUR
window:
  sub_windows: 6
  sub_window_duration: 10m
limits:
  max_models: 5
  max_body_bytes: 1MiB
models:
  fraud:
    unknown_features: reject
    features:
      amount: {type: numeric, required: true, min: 0, max: 1000, expected_max: 500}
      country: {type: categorical, allowed: [US, DE]}
    versions:
      v1: {}
      v2:
        features:
          is_new: {type: boolean}
  chat:
    provider: openai
    price_per_million_tokens: {currency: USD, input: 3, output: 15, cached_input: 0.3}
`

func TestParseFull(t *testing.T) {
	c, err := Parse([]byte(full))
	require.NoError(t, err)
	require.Equal(t, PolicyReject, c.UnknownModels)
	require.Equal(t, "EUR", c.DefaultCurrency)
	require.Equal(t, time.Hour, c.Window.Length())
	require.Equal(t, ByteSize(1<<20), c.Limits.MaxBodyBytes)
	// Unset limits keep their defaults.
	require.Equal(t, 200, c.Limits.MaxFeaturesPerModel)
	fraud := c.Models["fraud"]
	require.Equal(t, PolicyReject, c.FeaturePolicy(fraud))
	require.Equal(t, PolicyLearn, c.FeaturePolicy(c.Models["chat"]))
	require.Len(t, fraud.VersionFeatures("v1"), 2)
	require.Len(t, fraud.VersionFeatures("v2"), 3)
	require.Equal(t, 500.0, *fraud.Features["amount"].ExpectedMax)
	require.Equal(t, 0.3, *c.Models["chat"].Price.CachedInput)
	require.Equal(t, []string{"chat", "fraud"}, c.ModelNames())
}

func TestParseEmptyIsDefault(t *testing.T) {
	for _, in := range []string{"", "\n  \n", "# only a comment\n"} {
		c, err := Parse([]byte(in))
		require.NoError(t, err)
		require.Equal(t, Default(), c)
	}
}

func TestParseErrors(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"unknown key":        {"unknown_modles: learn\n", "field unknown_modles not found"},
		"bad policy":         {"unknown_models: maybe\n", `unknown_models: expected "learn" or "reject", got "maybe"`},
		"bad type":           {"models:\n  m:\n    features:\n      f: {type: number}\n", `line 4: feature type: expected numeric, categorical, boolean or text, got "number"`},
		"missing type":       {"models:\n  m:\n    features:\n      f: {required: true}\n", "line 4: feature type: missing"},
		"min over max":       {"models:\n  m:\n    features:\n      f: {type: numeric, min: 3, max: 1}\n", "line 4: min (3) is greater than max (1)"},
		"allowed on numeric": {"models:\n  m:\n    features:\n      f: {type: numeric, allowed: [a]}\n", "allowed applies to categorical features only"},
		"dup allowed":        {"models:\n  m:\n    features:\n      f: {type: categorical, allowed: [a, a]}\n", `duplicate value "a"`},
		"negative price":     {"models:\n  m:\n    price_per_million_tokens: {input: -1}\n", "models.m.price_per_million_tokens.input: expected a finite price >= 0"},
		"bad size":           {"limits:\n  max_body_bytes: lots\n", `line 2: expected a positive size such as 10MiB, got "lots"`},
		"zero subwindows":    {"window:\n  sub_windows: 0\n", "window.sub_windows: expected 1..10000, got 0"},
		"short subwindow":    {"window:\n  sub_window_duration: 10ms\n", "window.sub_window_duration: expected at least 1s"},
		"too many models":    {"limits: {max_models: 1}\nmodels: {a: {}, b: {}}\n", "models: 2 models configured but limits.max_models is 1"},
		"zero limit":         {"limits: {max_label_values: 0}\n", "limits.max_label_values: expected a positive number, got 0"},
		"not yaml":           {"models: [\n", "invalid configuration"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestHolderReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yml")
	require.NoError(t, os.WriteFile(path, []byte("unknown_models: reject\n"), 0o600))
	reg := prometheus.NewRegistry()
	now := time.Unix(1700000000, 0)
	h, err := NewHolder(path, reg, func() time.Time { return now })
	require.NoError(t, err)
	require.Equal(t, PolicyReject, h.Get().UnknownModels)
	require.Equal(t, 1.0, testutil.ToFloat64(h.success))
	require.Equal(t, 1700000000.0, testutil.ToFloat64(h.stamp))

	// A broken file keeps the previous configuration and reports failure.
	require.NoError(t, os.WriteFile(path, []byte("unknown_models: bogus\n"), 0o600))
	require.Error(t, h.Reload())
	require.Equal(t, PolicyReject, h.Get().UnknownModels)
	require.Equal(t, 0.0, testutil.ToFloat64(h.success))

	require.NoError(t, os.WriteFile(path, []byte("unknown_models: learn\n"), 0o600))
	now = now.Add(time.Minute)
	require.NoError(t, h.Reload())
	require.Equal(t, PolicyLearn, h.Get().UnknownModels)
	require.Equal(t, 1.0, testutil.ToFloat64(h.success))
	require.Equal(t, 1700000060.0, testutil.ToFloat64(h.stamp))
}

func TestNoFileRunsOnDefaults(t *testing.T) {
	h, err := NewHolder("", prometheus.NewRegistry(), time.Now)
	require.NoError(t, err)
	require.Equal(t, PolicyLearn, h.Get().UnknownModels)
	_, err = NewHolder(filepath.Join(t.TempDir(), "missing.yml"), prometheus.NewRegistry(), time.Now)
	require.ErrorContains(t, err, "reading configuration")
}

func TestUnknownFeatureKey(t *testing.T) {
	_, err := Parse([]byte("models:\n  m:\n    features:\n      f: {type: numeric, maximum: 3}\n"))
	require.ErrorContains(t, err, "line 4: field maximum not found in feature")
	_, err = Parse([]byte("models:\n  m:\n    price_per_million_tokens: {inptu: 3}\n"))
	require.ErrorContains(t, err, "field inptu not found")
}

func TestDriftReferenceAndLabelsSettings(t *testing.T) {
	c, err := Parse([]byte(`
reference: {capture_first: 200}
labels: {max_awaiting: 10, max_age: 2d, unknown_id_ttl: 10m, max_unknown: 5, max_classes: 3}
models:
  m:
    reference: {from: 2026-11-01T00:00:00Z, to: 2026-11-02T00:00:00Z}
    features:
      amount: {type: numeric, drift: {method: psi, threshold: 0.2}}
  n: {}
`))
	require.NoError(t, err)
	require.Equal(t, 200, c.ReferenceFor(c.Models["n"]).CaptureFirst)
	r := c.ReferenceFor(c.Models["m"])
	require.Equal(t, 0, r.CaptureFirst)
	require.Equal(t, 24*time.Hour, r.To.Sub(*r.From))
	require.Equal(t, "psi", c.Models["m"].Features["amount"].Drift.Method)
	require.InDelta(t, 0.2, *c.Models["m"].Features["amount"].Drift.Threshold, 0)
	require.Equal(t, 10, c.Labels.MaxAwaiting)

	for doc, want := range map[string]string{
		"models: {m: {features: {a: {type: numeric, drift: {method: psy}}}}}":                                "drift.method: expected one of",
		"models: {m: {features: {a: {type: numeric, drift: {metod: psi}}}}}":                                 "field metod not found in drift",
		"models: {m: {features: {a: {type: text, drift: {method: psi}}}}}":                                   "not text",
		"reference: {capture_first: -1}":                                                                     "reference.capture_first",
		"models: {m: {reference: {from: 2026-11-02T00:00:00Z, to: 2026-11-01T00:00:00Z}}}":                   "must be before",
		"models: {m: {reference: {from: 2026-11-01T00:00:00Z}}}":                                             "go together",
		"labels: {max_classes: 1}":                                                                           "max_classes at least 2",
		"labels: {unknown_id_ttl: 0s}":                                                                       "unknown_id_ttl must be positive",
		"models: {m: {reference: {capture_first: 5, from: 2026-11-01T00:00:00Z, to: 2026-11-02T00:00:00Z}}}": "not both",
	} {
		_, err := Parse([]byte(doc))
		require.ErrorContains(t, err, want, doc)
	}
}

func TestOTLPSignals(t *testing.T) {
	c, err := Parse([]byte("otlp: {signals: [traces]}\n"))
	require.NoError(t, err)
	require.True(t, c.OTLP.Enabled("traces"))
	require.False(t, c.OTLP.Enabled("metrics"))
	require.True(t, Default().OTLP.Enabled("logs"))
	_, err = Parse([]byte("otlp: {signals: [traces, spans]}\n"))
	require.ErrorContains(t, err, `otlp.signals: "spans" is not a signal`)
	_, err = Parse([]byte("otlp: {signal: [traces]}\n"))
	require.Error(t, err)
}
