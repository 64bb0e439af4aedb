package output

import (
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestQuoteRoundTrips checks that every scalar written by hand reads back unchanged.
func TestQuoteRoundTrips(t *testing.T) {
	for _, s := range []string{"plain", "true", "No", "null", "a: b", "x{a=\"b\"}", "0+1x3 _x2", "5", "1e3", "- item", "#c", "multi\nline", "{{ $labels.model }}", "tab\there", "", "é ünïcode —", "'single'", "@at", "`tick`"} {
		var got map[string]string
		require.NoError(t, yaml.Unmarshal([]byte("k: "+quote(s)+"\n"), &got), s)
		require.Equal(t, s, got["k"], "quote(%q) = %s", s, quote(s))
	}
}
