package reference

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/opscentre/opscentre/exporter/drift"
)

// Limits are the exporter's cardinality limits as they apply to a reference: every feature
// name becomes a `feature` label value and every bin a `bin` label value of
// aiops_feature_values_total and aiops_feature_reference_ratio, so a reference obeys the
// same bounds as events, whatever format it came in.
type Limits struct {
	// MaxFeatures bounds the input features (limits.max_features_per_model); the prediction
	// is one more. A reference with more is refused: features cannot be merged.
	MaxFeatures int
	// MaxCategories bounds the categories kept per categorical feature
	// (limits.max_categories_per_feature): the most frequent stay, the rest fold into
	// drift.UnseenBin, as later unseen values do.
	MaxCategories int
}

// MaxNameBytes bounds a feature name, like the exporter's other names.
const MaxNameBytes = 256

// MinNumericBins is the most bins the builder gives a numeric feature (20 per-value bins and
// the unseen bin): a limit below it never refuses what this package builds.
const MinNumericBins = 21

// MaxEdges bounds the fine cell edges of a numeric feature, which every window slot holds
// (16 bytes per cell); the builder makes at most 257.
const MaxEdges = 1024

// NumericBins is the most coarse bins a numeric feature may have under l.
func (l Limits) NumericBins() int { return max(l.MaxCategories+1, MinNumericBins) }

// ErrLimit marks a reference refused by a cardinality limit.
var ErrLimit = errors.New("over a cardinality limit")

// Bound makes p obey l: categories past the limit (or not valid UTF-8) fold into the unseen
// bin, and it returns how many folded. Too many features, a feature name that cannot be a
// label value, or a numeric feature with more bins or edges than allowed refuse the whole
// reference with an error naming the feature and the limit. p is changed in place and
// validated again.
func Bound(p *drift.Profile, l Limits) (folded int, err error) {
	inputs := 0
	for _, f := range p.Features {
		if f.Name != PredictionFeature {
			inputs++
		}
		if len(f.Name) > MaxNameBytes || !utf8.ValidString(f.Name) || containsNUL(f.Name) {
			return 0, fmt.Errorf("feature %.64q: a name must be valid UTF-8 without NUL, at most %d bytes: %w", f.Name, MaxNameBytes, ErrLimit)
		}
	}
	if l.MaxFeatures > 0 && inputs > l.MaxFeatures {
		return 0, fmt.Errorf("%d features, more than limits.max_features_per_model (%d): %w", inputs, l.MaxFeatures, ErrLimit)
	}
	for _, f := range p.Features {
		switch f.Kind {
		case drift.Numeric:
			if len(f.Edges) > MaxEdges {
				return 0, fmt.Errorf("feature %q: %d edges, more than %d: %w", f.Name, len(f.Edges), MaxEdges, ErrLimit)
			}
			if n := f.NumBins(); l.MaxCategories > 0 && n > l.NumericBins() {
				return 0, fmt.Errorf("feature %q: %d bins, more than %d (limits.max_categories_per_feature + 1, at least %d): %w", f.Name, n, l.NumericBins(), MinNumericBins, ErrLimit)
			}
		case drift.Categorical:
			folded += foldCategories(f, l.MaxCategories)
		}
	}
	if folded > 0 {
		if err := p.Validate(); err != nil {
			return 0, err
		}
	}
	return folded, nil
}

// foldCategories keeps the max most frequent valid categories of f (in their order) and adds
// the others' counts to the unseen bin, the last cell.
func foldCategories(f *drift.FeatureProfile, limit int) int {
	valid := func(c string) bool {
		return utf8.ValidString(c) && !containsNUL(c) && c != drift.UnseenBin && c != drift.NullBin
	}
	bad := 0
	for _, c := range f.Categories {
		if !valid(c) {
			bad++
		}
	}
	if (limit <= 0 || len(f.Categories) <= limit) && bad == 0 {
		return 0
	}
	order := make([]int, 0, len(f.Categories))
	for i, c := range f.Categories {
		if valid(c) {
			order = append(order, i)
		}
	}
	// Most frequent first; ties keep the profile's order.
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(f.RefCells[b], f.RefCells[a]) })
	if limit > 0 && len(order) > limit {
		order = order[:limit]
	}
	slices.Sort(order)
	keep := make([]string, 0, len(order))
	cells := make([]float64, 0, len(order)+1)
	unseen := f.RefCells[len(f.RefCells)-1]
	kept := make(map[int]bool, len(order))
	for _, i := range order {
		kept[i] = true
		keep = append(keep, f.Categories[i])
		cells = append(cells, f.RefCells[i])
	}
	for i := range f.Categories {
		if !kept[i] {
			unseen += f.RefCells[i]
		}
	}
	n := len(f.Categories) - len(keep)
	f.Categories, f.RefCells = keep, append(cells, unseen)
	return n
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}
