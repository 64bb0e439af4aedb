package drift

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEvidentlyMode bins raw samples as Evidently does and checks counts, PSI, KL and JS against
// NumPy/SciPy (testdata/make_evidently_vectors.py).
func TestEvidentlyMode(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "evidently-vectors.json"))
	require.NoError(t, err)
	var v struct {
		Cases []struct {
			Name            string    `json:"name"`
			Reference       []float64 `json:"reference"`
			Current         []float64 `json:"current"`
			ReferenceCounts []float64 `json:"reference_counts"`
			CurrentCounts   []float64 `json:"current_counts"`
			PSI             float64   `json:"psi"`
			KL              float64   `json:"kl"`
			JS              float64   `json:"js"`
		} `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(raw, &v))
	require.Len(t, v.Cases, 3)
	for _, c := range v.Cases {
		t.Run(c.Name, func(t *testing.T) {
			r, cur := EvidentlyBins(c.Reference, c.Current)
			require.Equal(t, c.ReferenceCounts, r)
			require.Equal(t, c.CurrentCounts, cur)
			require.InDelta(t, c.PSI, PSI(r, cur), 1e-9)
			require.InDelta(t, c.KL, KL(r, cur), 1e-9)
			require.InDelta(t, c.JS, JS(r, cur), 1e-12)
		})
	}
	r, c := EvidentlyBins(nil, []float64{1})
	require.Nil(t, r)
	require.Nil(t, c)
}
