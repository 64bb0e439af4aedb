package drift

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Kind is the type of a feature, which decides how it is binned and which tests apply.
type Kind string

// The feature kinds.
const (
	Numeric     Kind = "numeric"
	Categorical Kind = "categorical"
	Boolean     Kind = "boolean"
)

// Bin labels shared by every kind; they start with "__" so they cannot be mistaken for a bin
// index, and are documented in README.md for PromQL users.
const (
	// UnseenBin holds values outside the reference's set: categories never seen (or beyond the
	// category limit) and, for a numeric feature binned per value, values between or beyond the
	// reference values.
	UnseenBin = "__unseen__"
	// NullBin is the label of null counts. Nulls are kept out of the drift bins (as Evidently
	// drops NaN) and reported as their own share.
	NullBin = "__null__"
)

// FeatureProfile is the frozen reference of one feature: enough to bin live values and compare
// them, and nothing that grows with the number of reference rows.
//
// A numeric feature has a fine grid of Edges e₀ < … < e_m (every distinct reference value when
// Exact, otherwise reference quantiles, always including the reference minimum and maximum).
// The grid makes 2m+3 cells: (−∞,e₀), {e₀}, (e₀,e₁), {e₁}, …, {e_m}, (e_m,+∞). Keeping the
// edge values in cells of their own makes the KS statistic exact on ties, and per-cell sums make
// the Wasserstein tails exact. The coarse drift bins (used by PSI, KL, JS, Hellinger, chi-square
// and exported to Prometheus) are unions of cells: right-closed intervals between reference
// quantile Cuts with open-ended first and last bins, or one bin per value when the reference has
// at most Options.PerValueMax distinct values.
type FeatureProfile struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Rows is the number of non-null reference values, Nulls the number of null ones.
	Rows  float64 `json:"rows"`
	Nulls float64 `json:"nulls"`
	// Sampled is true when the reference had more values than Options.MaxSample and the cell
	// shares were estimated from a uniform sample (the moments stay exact).
	Sampled bool `json:"sampled,omitempty"`
	// SampleRows is the size of that sample: the number of values the cell shares, and so the
	// KS statistic, rest on. A sampled profile saved before it was recorded reads as
	// DefaultMaxSample.
	SampleRows float64 `json:"sample_rows,omitempty"`

	Mean float64 `json:"mean,omitempty"`
	Std  float64 `json:"std,omitempty"` // population standard deviation (divisor n)
	Min  float64 `json:"min,omitempty"`
	Max  float64 `json:"max,omitempty"`
	// Distinct is the number of distinct reference values, capped at the grid resolution + 1
	// for numeric features ("more than this many").
	Distinct int `json:"distinct"`

	Edges    []float64 `json:"edges,omitempty"`
	Exact    bool      `json:"exact,omitempty"`
	PerValue bool      `json:"per_value,omitempty"`
	Cuts     []float64 `json:"cuts,omitempty"`
	// RefCells and RefSums are the reference count and value sum per fine cell (numeric), or
	// RefCells is the count per category followed by the unseen bin (categorical), or
	// [false, true] (boolean).
	RefCells []float64 `json:"ref_cells"`
	RefSums  []float64 `json:"ref_sums,omitempty"`

	Categories []string `json:"categories,omitempty"`

	// Derived on first use, never serialised.
	cellBin []int
	lookup  cellIndex // built for numeric features by prepare; held inline, one pointer fewer to follow
	// few is Categories when there are at most maxScanned of them, all valid UTF-8: a scan
	// of a handful of short strings is cheaper than hashing the value for the map.
	few []string
	// keys packs few into one word each (packShort) when every category is at most 7
	// bytes: comparing words in one cache line is cheaper again than comparing strings.
	keys    []uint64
	refBins []float64
	index   map[string]int
}

// Profile is the frozen reference of one model version. Builder.Profile returns it ready; one
// decoded from JSON must pass Validate first. After that it is read-only, so one profile can
// serve every goroutine that bins values into its own histograms.
type Profile struct {
	Features []*FeatureProfile `json:"features"`
	// Reconstruction is the multivariate drift of the numeric features (nil when the
	// reference had no rows, fewer than two varying numeric features or too few rows).
	Reconstruction *Reconstruction `json:"reconstruction,omitempty"`
	// Embedding is the reference of the events' embeddings (nil when they carried none).
	Embedding *EmbeddingProfile `json:"embedding,omitempty"`
}

// Feature returns the profile of the named feature and its position, or nil and -1.
func (p *Profile) Feature(name string) (*FeatureProfile, int) {
	for i, f := range p.Features {
		if f.Name == name {
			return f, i
		}
	}
	return nil, -1
}

// Validate checks a profile that came from outside (a saved profile, the store) so that
// nothing later indexes out of range. It also prepares the derived lookups.
func (p *Profile) Validate() error {
	seen := map[string]bool{}
	for i, f := range p.Features {
		if f == nil {
			return fmt.Errorf("features[%d]: missing", i)
		}
		if f.Name == "" {
			return fmt.Errorf("features[%d].name: must not be empty", i)
		}
		if seen[f.Name] {
			return fmt.Errorf("features[%d].name: duplicate feature %q", i, f.Name)
		}
		seen[f.Name] = true
		if err := f.validate(); err != nil {
			return fmt.Errorf("feature %q: %w", f.Name, err)
		}
	}
	if p.Embedding != nil {
		if err := p.Embedding.validate(); err != nil {
			return err
		}
	}
	if p.Reconstruction != nil {
		return p.Reconstruction.validate(p)
	}
	return nil
}

func finiteNonNeg(v float64) bool { return v >= 0 && !math.IsInf(v, 0) && !math.IsNaN(v) }

func (f *FeatureProfile) validate() error {
	if !finiteNonNeg(f.Rows) || !finiteNonNeg(f.Nulls) {
		return fmt.Errorf("rows and nulls: must be finite and non-negative, got %v and %v", f.Rows, f.Nulls)
	}
	if !finiteNonNeg(f.SampleRows) || f.SampleRows > f.Rows {
		return fmt.Errorf("sample_rows: must be finite, non-negative and at most rows (%v), got %v", f.Rows, f.SampleRows)
	}
	var total float64
	for i, v := range f.RefCells {
		if !finiteNonNeg(v) {
			return fmt.Errorf("ref_cells[%d]: must be finite and non-negative, got %v", i, v)
		}
		total += v
	}
	if f.Rows > 0 && total == 0 {
		return fmt.Errorf("ref_cells: all zero for a feature with %v reference rows", f.Rows)
	}
	switch f.Kind {
	case Numeric:
		for i, e := range f.Edges {
			if math.IsNaN(e) || math.IsInf(e, 0) || (i > 0 && e <= f.Edges[i-1]) {
				return fmt.Errorf("edges[%d]: must be finite and strictly increasing, got %v", i, e)
			}
		}
		if len(f.Edges) == 0 && f.Rows > 0 {
			return fmt.Errorf("edges: a numeric feature with %v reference rows needs at least one edge", f.Rows)
		}
		if want := f.cells(); len(f.RefCells) != want || len(f.RefSums) != want {
			return fmt.Errorf("ref_cells and ref_sums: want %d cells for %d edges, got %d and %d", want, len(f.Edges), len(f.RefCells), len(f.RefSums))
		}
		for i, c := range f.Cuts {
			if _, ok := slices.BinarySearch(f.Edges, c); !ok {
				return fmt.Errorf("cuts[%d]: %v is not one of the edges", i, c)
			}
			if i > 0 && c <= f.Cuts[i-1] {
				return fmt.Errorf("cuts[%d]: must be strictly increasing", i)
			}
		}
	case Categorical:
		if len(f.RefCells) != len(f.Categories)+1 {
			return fmt.Errorf("ref_cells: want %d (one per category plus unseen), got %d", len(f.Categories)+1, len(f.RefCells))
		}
		dup := map[string]bool{}
		for i, c := range f.Categories {
			if dup[c] {
				return fmt.Errorf("categories[%d]: duplicate %q", i, c)
			}
			dup[c] = true
		}
	case Boolean:
		if len(f.RefCells) != 2 {
			return fmt.Errorf("ref_cells: a boolean feature has 2 cells [false, true], got %d", len(f.RefCells))
		}
	default:
		return fmt.Errorf("kind: want numeric, categorical or boolean, got %q", f.Kind)
	}
	f.prepare()
	return nil
}

// ksRows is the reference size the KS p-value rests on: the rows, or the sample the cell shares
// were estimated from. Using the full row count for a sampled reference would treat its
// empirical distribution as far more certain than it is, and the test would fire far above its
// nominal rate under no drift.
func (f *FeatureProfile) ksRows() float64 {
	if !f.Sampled {
		return f.Rows
	}
	if f.SampleRows > 0 {
		return f.SampleRows
	}
	return min(f.Rows, DefaultMaxSample)
}

// cells is the number of fine cells (numeric) or bins (others) a window histogram holds.
func (f *FeatureProfile) cells() int {
	switch f.Kind {
	case Numeric:
		if len(f.Edges) == 0 {
			return 0
		}
		return 2*len(f.Edges) + 1
	case Categorical:
		return len(f.Categories) + 1
	default:
		return 2
	}
}

// maxScanned is the most categories AddCategory scans rather than looks up in the map.
const maxScanned = 8

// maxPacked is the longest value packShort packs.
const maxPacked = 7

// packShort packs a value of at most maxPacked bytes and its length into one word; two
// values pack alike exactly when they are equal.
func packShort(b []byte) uint64 {
	// Byte by byte, not copy into an array: a copy of a variable length calls memmove.
	k := uint64(len(b)) << (8 * maxPacked)
	for i, c := range b[:min(len(b), maxPacked)] {
		k |= uint64(c) << (8 * i)
	}
	return k
}

// prepare builds the derived lookups; safe to call again.
func (f *FeatureProfile) prepare() {
	switch f.Kind {
	case Numeric:
		n := f.cells()
		f.lookup = newCellIndex(f.Edges)
		f.cellBin = make([]int, n)
		m := len(f.Edges)
		for c := 0; c < n; c++ {
			if f.PerValue {
				if c%2 == 1 {
					f.cellBin[c] = c / 2
				} else {
					f.cellBin[c] = m // the unseen bin
				}
				continue
			}
			// Values in cell c are compared with the right-closed bins (cut_{b-1}, cut_b]:
			// their bin is the number of cuts strictly below them.
			var below int
			switch {
			case c == 0:
				below = 0
			case c%2 == 1: // {e_i}
				below = sort.SearchFloat64s(f.Cuts, f.Edges[c/2])
			case c == n-1:
				below = len(f.Cuts)
			default: // (e_i, e_{i+1}) with i = c/2-1
				e := f.Edges[c/2-1]
				below = sort.SearchFloat64s(f.Cuts, e)
				if below < len(f.Cuts) && f.Cuts[below] == e {
					below++
				}
			}
			f.cellBin[c] = below
		}
	case Categorical:
		f.index = make(map[string]int, len(f.Categories))
		f.few, f.keys = nil, nil
		valid, short := true, true
		for i, c := range f.Categories {
			f.index[c] = i
			valid = valid && utf8.ValidString(c)
			short = short && len(c) <= maxPacked
		}
		if valid && len(f.Categories) <= maxScanned {
			f.few = f.Categories
			if short {
				f.keys = make([]uint64, len(f.few))
				for i, c := range f.few {
					f.keys[i] = packShort([]byte(c))
				}
			}
		}
	}
	f.refBins = f.Bins(f.RefCells)
}

// NumBins is the number of coarse drift bins.
func (f *FeatureProfile) NumBins() int {
	switch f.Kind {
	case Numeric:
		if f.PerValue {
			return len(f.Edges) + 1
		}
		if len(f.Edges) == 0 {
			return 0
		}
		return len(f.Cuts) + 1
	case Categorical:
		return len(f.Categories) + 1
	default:
		return 2
	}
}

// BinLabels names the coarse bins, for the `bin` label of aiops_feature_values_total and
// aiops_feature_reference_ratio: the bin index for numeric quantile bins, the value for
// per-value bins and categories, "false"/"true" for booleans, and UnseenBin.
func (f *FeatureProfile) BinLabels() []string {
	out := make([]string, 0, f.NumBins())
	switch f.Kind {
	case Numeric:
		if f.PerValue {
			for _, e := range f.Edges {
				out = append(out, strconv.FormatFloat(e, 'g', -1, 64))
			}
			return append(out, UnseenBin)
		}
		for i := 0; i < f.NumBins(); i++ {
			out = append(out, strconv.Itoa(i))
		}
		return out
	case Categorical:
		return append(append(out, f.Categories...), UnseenBin)
	default:
		return []string{"false", "true"}
	}
}

// Bins sums fine cells (a histogram's or the reference's) into the coarse drift bins.
func (f *FeatureProfile) Bins(cells []float64) []float64 {
	if f.Kind != Numeric {
		return slices.Clone(cells)
	}
	if f.cellBin == nil && len(f.Edges) > 0 {
		f.prepare()
	}
	out := make([]float64, f.NumBins())
	for c, v := range cells {
		out[f.cellBin[c]] += v
	}
	return out
}

// ReferenceShares returns the reference share of each coarse bin, the value of
// aiops_feature_reference_ratio.
func (f *FeatureProfile) ReferenceShares() []float64 {
	if f.refBins == nil {
		f.prepare()
	}
	s := shares(f.refBins)
	if s == nil {
		return make([]float64, len(f.refBins))
	}
	return s
}

// cellOf returns the fine cell of a numeric value. It is the ingest hot path: once prepare has
// built the lookup, the search runs over one bucket of edges only (see cellIndex).
func (f *FeatureProfile) cellOf(v float64) int {
	e := f.Edges
	if f.lookup.ok() {
		lo, exact := f.lookup.lowerBoundExact(e, v)
		if exact {
			return 2*lo + 1
		}
		return 2 * lo
	}
	lo := searchEdges(e, v)
	if lo < len(e) && e[lo] == v {
		return 2*lo + 1
	}
	return 2 * lo
}

// searchEdges is the first index i with e[i] ≥ v (len(e) when none), by plain binary search:
// what a profile uses before prepare, and what the tests hold cellIndex to.
func searchEdges(e []float64, v float64) int {
	lo, hi := 0, len(e)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if e[mid] < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}
