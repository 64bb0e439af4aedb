package drift

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/test/testbin"
)

// vectorCase is one case of /work/shared/reference/stats/vectors.json, computed by SciPy 1.10;
// a copy lives in testdata/scipy-vectors.json so the test needs nothing outside the repository.
type vectorCase struct {
	Name string `json:"name"`
	Kind string `json:"kind"`

	Reference          []float64 `json:"reference"`
	Current            []float64 `json:"current"`
	KSStatistic        float64   `json:"ks_statistic"`
	KSPValueExact      float64   `json:"ks_pvalue_exact"`
	KSPValueAsymptotic float64   `json:"ks_pvalue_asymptotic"`
	Wasserstein        float64   `json:"wasserstein"`
	WassersteinNormed  float64   `json:"wasserstein_normed"`
	ReferenceStd       float64   `json:"reference_std_population"`

	ReferenceCounts []float64 `json:"reference_counts"`
	CurrentCounts   []float64 `json:"current_counts"`
	PSI             float64   `json:"psi_evidently_fill"`
	KL              float64   `json:"kl_evidently_fill"`
	JSLn            float64   `json:"js_distance_ln"`
	JSLog2          float64   `json:"js_distance_log2"`
	Hellinger       float64   `json:"hellinger"`
	Chi2Statistic   *float64  `json:"chi2_statistic"`
	Chi2PValue      *float64  `json:"chi2_pvalue"`
	Chi2DF          int       `json:"chi2_df"`

	ReferenceN    float64 `json:"reference_n"`
	ReferenceTrue float64 `json:"reference_true"`
	CurrentN      float64 `json:"current_n"`
	CurrentTrue   float64 `json:"current_true"`
	Z             float64 `json:"z"`
	PValue        float64 `json:"pvalue"`
}

func loadVectors(t *testing.T) []vectorCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testbin.RepoRoot(t), "exporter", "drift", "testdata", "scipy-vectors.json"))
	require.NoError(t, err)
	var v struct {
		Cases []vectorCase `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(b, &v))
	require.NotEmpty(t, v.Cases)
	return v.Cases
}

func requireClose(t *testing.T, want, got, tol float64, what string) {
	t.Helper()
	if math.IsInf(want, 0) || math.IsInf(got, 0) {
		require.Equal(t, want, got, what)
		return
	}
	require.InDelta(t, want, got, tol, "%s: want %.12g got %.12g", what, want, got)
}

func TestSciPyVectors(t *testing.T) {
	for _, c := range loadVectors(t) {
		t.Run(c.Name, func(t *testing.T) {
			switch c.Kind {
			case "numeric":
				d := KSStatistic(c.Reference, c.Current)
				requireClose(t, c.KSStatistic, d, 1e-12, "ks statistic")
				p, exact := KSPValue(d, len(c.Reference), len(c.Current))
				require.True(t, exact)
				requireClose(t, c.KSPValueExact, p, 1e-6, "ks exact p")
				requireClose(t, c.KSPValueAsymptotic, KSAsymptoticPValue(d, len(c.Reference), len(c.Current)), 1e-6, "ks asymptotic p")
				requireClose(t, c.Wasserstein, Wasserstein(c.Reference, c.Current), 1e-9, "wasserstein")
				requireClose(t, c.ReferenceStd, PopulationStd(c.Reference), 1e-9, "std")
				requireClose(t, c.WassersteinNormed, WassersteinNormed(c.Reference, c.Current), 1e-9, "wasserstein normed")
			case "binned":
				requireClose(t, c.PSI, PSI(c.ReferenceCounts, c.CurrentCounts), 1e-9, "psi")
				requireClose(t, c.KL, KL(c.ReferenceCounts, c.CurrentCounts), 1e-9, "kl")
				requireClose(t, c.JSLn, JS(c.ReferenceCounts, c.CurrentCounts), 1e-12, "js")
				requireClose(t, c.JSLog2, JS(c.ReferenceCounts, c.CurrentCounts)/math.Sqrt(math.Ln2), 1e-12, "js base 2")
				requireClose(t, c.Hellinger, Hellinger(c.ReferenceCounts, c.CurrentCounts), 1e-12, "hellinger")
				stat, p, df := ChiSquare(c.ReferenceCounts, c.CurrentCounts)
				if c.Chi2Statistic == nil {
					// SciPy refuses a zero expected count; the documented answer is +Inf, p = 0.
					require.True(t, math.IsInf(stat, 1), "chi2 with an unseen category: %v", stat)
					require.Zero(t, p)
					return
				}
				require.Equal(t, c.Chi2DF, df)
				requireClose(t, *c.Chi2Statistic, stat, 1e-9, "chi2 statistic")
				requireClose(t, *c.Chi2PValue, p, 1e-9, "chi2 p")
			case "two-proportion-z":
				z, p := TwoProportionZ(c.ReferenceN, c.ReferenceTrue, c.CurrentN, c.CurrentTrue)
				requireClose(t, c.Z, z, 1e-9, "z")
				requireClose(t, c.PValue, p, 1e-9, "z p")
			default:
				t.Fatalf("unknown case kind %q", c.Kind)
			}
		})
	}
}
