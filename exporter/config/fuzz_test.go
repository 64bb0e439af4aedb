package config

import (
	"testing"
)

// FuzzParseConfig: any document either fails with an error or gives a configuration that
// passes its own validation, with every limit usable; never a panic.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(full))
	f.Add([]byte("limits: {max_body_bytes: 1KiB}\nwindow: {sub_windows: 1, sub_window_duration: 1s}\n"))
	f.Add([]byte("models:\n  m:\n    features:\n      f: {type: numeric, min: 1, max: 0}\n"))
	f.Add([]byte("models: {m: {versions: {v: {features: {x: {type: text, max_length: 3}}}}}}\n"))
	f.Add([]byte("unknown_models: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if err := c.validate(); err != nil {
			t.Fatalf("Parse accepted a configuration its validation rejects: %v", err)
		}
		if c.Window.Length() <= 0 || c.Limits.MaxBodyBytes <= 0 || c.Limits.MaxModels <= 0 {
			t.Fatalf("unusable limits: %+v %+v", c.Window, c.Limits)
		}
		for _, m := range c.Models {
			for v := range m.Versions {
				_ = m.VersionFeatures(v)
			}
		}
	})
}
