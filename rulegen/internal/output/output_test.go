package output

import (
	"regexp"
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

// TestPlainMatchesPattern: the hand-written plain check accepts exactly
// ^[A-Za-z_][A-Za-z0-9_./-]*$.
func TestPlainMatchesPattern(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_./-]*$`)
	for _, s := range []string{"", "a", "_", "A9", "9a", "a.b/c-d_e", "-a", ".a", "a b", "a:b", "é", "a\n", "Ab_0./-", "a{b}"} {
		require.Equal(t, re.MatchString(s), plain(s), "%q", s)
	}
}
