package reference

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/drift"
)

// Categories past the limit fold into the unseen bin: the most frequent stay in their
// order, and the reference's total and its unseen share are unchanged but for the fold.
func TestBoundFoldsCategories(t *testing.T) {
	p := &drift.Profile{Features: []*drift.FeatureProfile{{
		Name: "country", Kind: drift.Categorical, Rows: 100, Distinct: 6,
		Categories: []string{"a", "b", "c", "d", "\xff", "e"},
		RefCells:   []float64{5, 30, 10, 20, 25, 8, 2},
	}}}
	require.NoError(t, p.Validate())
	folded, err := Bound(p, Limits{MaxFeatures: 10, MaxCategories: 3})
	require.NoError(t, err)
	require.Equal(t, 3, folded)
	f := p.Features[0]
	require.Equal(t, []string{"b", "c", "d"}, f.Categories, "the three most frequent valid ones, in order")
	require.Equal(t, []float64{30, 10, 20, 2 + 5 + 25 + 8}, f.RefCells)
	require.Equal(t, []string{"b", "c", "d", drift.UnseenBin}, f.BinLabels())

	// Under the limit and valid: untouched.
	folded, err = Bound(p, Limits{MaxFeatures: 10, MaxCategories: 3})
	require.NoError(t, err)
	require.Zero(t, folded)
}

func TestBoundRefuses(t *testing.T) {
	boolean := func(name string) *drift.FeatureProfile {
		return &drift.FeatureProfile{Name: name, Kind: drift.Boolean, Rows: 2, Distinct: 2, RefCells: []float64{1, 1}}
	}
	p := &drift.Profile{Features: []*drift.FeatureProfile{boolean("a"), boolean("b"), boolean(PredictionFeature)}}
	_, err := Bound(p, Limits{MaxFeatures: 2, MaxCategories: 5})
	require.NoError(t, err, "the prediction is not counted as an input feature")
	_, err = Bound(p, Limits{MaxFeatures: 1, MaxCategories: 5})
	require.ErrorIs(t, err, ErrLimit)
	require.ErrorContains(t, err, "limits.max_features_per_model (1)")

	for _, name := range []string{"a\x00b", "\xff", strings.Repeat("x", MaxNameBytes+1)} {
		_, err = Bound(&drift.Profile{Features: []*drift.FeatureProfile{boolean(name)}}, Limits{MaxFeatures: 5})
		require.True(t, errors.Is(err, ErrLimit), "%q: %v", name, err)
	}

	edges := make([]float64, 40)
	cells, sums := make([]float64, 81), make([]float64, 81)
	for i := range edges {
		edges[i], cells[2*i+1] = float64(i), 1
	}
	num := &drift.FeatureProfile{Name: "n", Kind: drift.Numeric, Rows: 40, Distinct: 40, PerValue: true, Edges: edges, RefCells: cells, RefSums: sums}
	p = &drift.Profile{Features: []*drift.FeatureProfile{num}}
	require.NoError(t, p.Validate())
	_, err = Bound(p, Limits{MaxFeatures: 5, MaxCategories: 10})
	require.ErrorContains(t, err, `feature "n": 41 bins, more than 21`)
	_, err = Bound(p, Limits{MaxFeatures: 5, MaxCategories: 40})
	require.NoError(t, err, "41 bins within max_categories_per_feature + 1")
}
