package store

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMarshalStringMapMatchesEncodingJSON: stored labels must be the bytes json.Marshal
// gives, escapes included, since listings copy them out unchanged.
func TestMarshalStringMapMatchesEncodingJSON(t *testing.T) {
	for _, m := range []map[string]string{
		nil,
		{},
		{"alertname": "FeatureDriftHigh", "tier": "P1", "model": "fraud-v3", "a": ""},
		{"query": `rate(x{job="a"}[5m]) > 0.5 && y < 2`, "path": `C:\tmp`, "nl": "a\nb\tc\x00\x1f\x7f"},
		{"ünïcode": "日本語", "sep": "a\u2028b\u2029", "bad": "\xff\xfe", "emoji": "🔥"},
	} {
		want, err := json.Marshal(m)
		require.NoError(t, err)
		require.Equal(t, string(want), string(marshalStringMap(m)))
	}
}

// FuzzMarshalStringMap compares with encoding/json on arbitrary keys and values: the input
// is split at NUL bytes into alternating keys and values.
func FuzzMarshalStringMap(f *testing.F) {
	f.Add("alertname\x00Drift\x00tier\x00P1")
	f.Add("a\x00<b>&\"q\"\\\x00\xff\x00\u2028")
	f.Fuzz(func(t *testing.T, in string) {
		parts := strings.Split(in, "\x00")
		m := map[string]string{}
		for i := 0; i+1 < len(parts); i += 2 {
			m[parts[i]] = parts[i+1]
		}
		want, err := json.Marshal(m)
		require.NoError(t, err)
		require.Equal(t, string(want), string(marshalStringMap(m)))
	})
}

func BenchmarkMarshalStringMap(b *testing.B) {
	m := map[string]string{"alertname": "FeatureDriftHigh", "feature": "f3", "model": "load-1-17", "team": "ml-platform", "tier": "P3"}
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(m)
		}
	})
	b.Run("marshalStringMap", func(b *testing.B) {
		for b.Loop() {
			_ = marshalStringMap(m)
		}
	})
}
