package lint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/dashboards/gen"
)

// committed loads every dashboard under dashboards/json.
func committed(t *testing.T) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "..", "json", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, paths, "no dashboards in dashboards/json")
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		out[filepath.Base(p)] = b
	}
	return out
}

// TestCommittedDashboardsPassEveryRule is the gate: the shipped JSON decodes
// strictly, validates, and breaks no rule.
func TestCommittedDashboardsPassEveryRule(t *testing.T) {
	for name, raw := range committed(t) {
		t.Run(name, func(t *testing.T) {
			d, err := Load(raw)
			require.NoError(t, err)
			require.NotEmpty(t, Panels(d))
			require.Empty(t, Check(d))
		})
	}
}

// TestLoadKeepsEverything re-encodes what Load decoded and compares it with the
// file: a strict decoder that silently drops panels, targets or options would
// let every rule pass on nothing.
func TestLoadKeepsEverything(t *testing.T) {
	for name, raw := range committed(t) {
		t.Run(name, func(t *testing.T) {
			d, err := Load(raw)
			require.NoError(t, err)
			again, err := gen.Marshal(d)
			require.NoError(t, err)
			var want, got any
			require.NoError(t, json.Unmarshal(raw, &want))
			require.NoError(t, json.Unmarshal(again, &got))
			require.Equal(t, want, got)
		})
	}
}
