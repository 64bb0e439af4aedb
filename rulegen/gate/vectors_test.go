package gate_test

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/rulegen/gate"
)

// bound decodes a bucket bound written as a number or "+Inf".
type bound float64

func (b *bound) UnmarshalJSON(p []byte) error {
	if string(p) == `"+Inf"` {
		*b = bound(math.Inf(1))
		return nil
	}
	var f float64
	err := json.Unmarshal(p, &f)
	*b = bound(f)
	return err
}

type vectors struct {
	Proportions []struct {
		Name            string
		Xc, Nc, Xb, Nb  float64
		Margin, Alpha   float64
		WilsonCandidate [2]float64 `json:"wilson_candidate"`
		WilsonBaseline  [2]float64 `json:"wilson_baseline"`
		Newcombe        [2]float64
		NiZ             float64 `json:"ni_z"`
		NiP             float64 `json:"ni_p"`
	}
	MannWhitney []struct {
		Name      string
		Bounds    []bound
		Candidate []float64 `json:"candidate_cumulative"`
		Baseline  []float64 `json:"baseline_cumulative"`
		U, P      float64
		Theta     float64
		DeLongVar float64 `json:"delong_var"`
	}
	Exceedance []struct {
		Name       string
		Bounds     []bound
		Cumulative []float64
		Limit      float64
		RawAbove   float64 `json:"raw_above"`
		N          float64
	}
}

func buckets(bounds []bound, cum []float64) []gate.Bucket {
	out := make([]gate.Bucket, len(bounds))
	for i := range bounds {
		out[i] = gate.Bucket{UpperBound: float64(bounds[i]), Count: cum[i]}
	}
	return out
}

// The statistics match scipy 1.10 (Debian's python3-scipy) computed from the raw samples; see
// testdata/make_vectors.py.
func TestAgainstScipyVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/scipy-vectors.json")
	require.NoError(t, err)
	var v vectors
	require.NoError(t, json.Unmarshal(raw, &v))
	require.NotEmpty(t, v.Proportions)
	require.NotEmpty(t, v.MannWhitney)
	require.NotEmpty(t, v.Exceedance)
	for _, c := range v.Proportions {
		t.Run("proportion/"+c.Name, func(t *testing.T) {
			w := gate.Wilson(c.Xc, c.Nc, c.Alpha)
			require.InDelta(t, c.WilsonCandidate[0], w.Lower, 1e-9)
			require.InDelta(t, c.WilsonCandidate[1], w.Upper, 1e-9)
			w = gate.Wilson(c.Xb, c.Nb, c.Alpha)
			require.InDelta(t, c.WilsonBaseline[0], w.Lower, 1e-9)
			require.InDelta(t, c.WilsonBaseline[1], w.Upper, 1e-9)
			n := gate.Newcombe(c.Xc, c.Nc, c.Xb, c.Nb, c.Alpha)
			require.InDelta(t, c.Newcombe[0], n.Lower, 1e-9)
			require.InDelta(t, c.Newcombe[1], n.Upper, 1e-9)
			z, p := gate.NonInferiorityZ(c.Xc, c.Nc, c.Xb, c.Nb, c.Margin)
			require.InDelta(t, c.NiZ, z, 1e-9)
			require.InEpsilon(t, c.NiP, p, 1e-7)
		})
	}
	for _, c := range v.MannWhitney {
		t.Run("mannwhitney/"+c.Name, func(t *testing.T) {
			r := gate.CompareHistograms(buckets(c.Bounds, c.Candidate), buckets(c.Bounds, c.Baseline))
			require.InDelta(t, c.U, r.U, 1e-6)
			require.InDelta(t, c.Theta, r.Theta, 1e-12)
			require.InEpsilon(t, c.P, r.P, 1e-7)
			require.InEpsilon(t, c.DeLongVar, r.Var, 1e-9)
		})
	}
	for _, c := range v.Exceedance {
		t.Run("exceedance/"+c.Name, func(t *testing.T) {
			total, upper, lower := gate.Exceedance(buckets(c.Bounds, c.Cumulative), c.Limit)
			require.Equal(t, c.N, total)
			require.LessOrEqual(t, lower, c.RawAbove)
			require.GreaterOrEqual(t, upper, c.RawAbove)
			onBound := false
			for _, b := range c.Bounds {
				onBound = onBound || float64(b) == c.Limit
			}
			if onBound {
				require.Equal(t, c.RawAbove, upper)
				require.Equal(t, c.RawAbove, lower)
			}
		})
	}
}
