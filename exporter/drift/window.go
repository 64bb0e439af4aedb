package drift

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// Histogram accumulates one feature's live values over one window slot against a
// FeatureProfile. It is plain data so the store can keep it (encoding/json), and it merges by
// adding, so a ring of slots can hold one per slot and a window is their sum.
type Histogram struct {
	// Counts per fine cell (numeric) or bin (categorical, boolean); see FeatureProfile.
	Counts []float64 `json:"counts"`
	// Sums of the values per fine cell (numeric only): they make the Wasserstein tails exact.
	Sums  []float64 `json:"sums,omitempty"`
	Nulls float64   `json:"nulls,omitempty"`
	// Unbinned counts values of a numeric feature whose reference held no values at all.
	Unbinned float64 `json:"unbinned,omitempty"`
}

// NewHistogram returns an empty histogram shaped for the feature.
func (f *FeatureProfile) NewHistogram() Histogram {
	h := Histogram{Counts: make([]float64, f.cells())}
	if f.Kind == Numeric {
		h.Sums = make([]float64, f.cells())
	}
	return h
}

// Rows is the number of non-null values in the histogram.
func (h *Histogram) Rows() float64 {
	s := h.Unbinned
	for _, c := range h.Counts {
		s += c
	}
	return s
}

// Merge adds o into h. Both must come from the same FeatureProfile.
func (h *Histogram) Merge(o *Histogram) error {
	if len(h.Counts) != len(o.Counts) || len(h.Sums) != len(o.Sums) {
		return fmt.Errorf("merge histograms: shapes differ (%d/%d cells vs %d/%d); were they built from the same profile?", len(h.Counts), len(h.Sums), len(o.Counts), len(o.Sums))
	}
	for i, v := range o.Counts {
		h.Counts[i] += v
	}
	for i, v := range o.Sums {
		h.Sums[i] += v
	}
	h.Nulls += o.Nulls
	h.Unbinned += o.Unbinned
	return nil
}

// Reset empties the histogram, keeping its shape and memory.
func (h *Histogram) Reset() {
	clear(h.Counts)
	clear(h.Sums)
	h.Nulls, h.Unbinned = 0, 0
}

// Window holds one histogram per feature of a profile, in the profile's order: one window slot,
// or the merge of all slots.
type Window struct {
	Events     float64     `json:"events"`
	Histograms []Histogram `json:"histograms"`
}

// NewWindow returns an empty window shaped for the profile.
func (p *Profile) NewWindow() *Window {
	w := &Window{Histograms: make([]Histogram, len(p.Features))}
	for i, f := range p.Features {
		w.Histograms[i] = f.NewHistogram()
	}
	return w
}

// Merge adds o into w.
func (w *Window) Merge(o *Window) error {
	if len(w.Histograms) != len(o.Histograms) {
		return fmt.Errorf("merge windows: %d features vs %d; were they built from the same profile?", len(w.Histograms), len(o.Histograms))
	}
	for i := range w.Histograms {
		if err := w.Histograms[i].Merge(&o.Histograms[i]); err != nil {
			return fmt.Errorf("feature %d: %w", i, err)
		}
	}
	w.Events += o.Events
	return nil
}

// Reset empties every histogram.
func (w *Window) Reset() {
	for i := range w.Histograms {
		w.Histograms[i].Reset()
	}
	w.Events = 0
}

// MaxMagnitude bounds numeric values so that sums and squares of any realistic number of them
// stay finite (and JSON-encodable): a value beyond it is rejected with an error.
const MaxMagnitude = 1e100

// AddFloat records a numeric value. NaN counts as null (Evidently turns ±Inf into NaN too; so do
// we, rather than let an infinity dominate the sums).
func (f *FeatureProfile) AddFloat(h *Histogram, v float64) error {
	// The hot path: a prepared numeric feature with edges and a finite, in-range value (NaN
	// and ±Inf fail the comparison and take the path below).
	if f.lookup.ok() && len(f.Edges) > 0 && math.Abs(v) <= MaxMagnitude {
		c := f.cellOf(v)
		h.Counts[c]++
		h.Sums[c] += v
		return nil
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		h.Nulls++
		return nil
	}
	switch f.Kind {
	case Numeric:
		if math.Abs(v) > MaxMagnitude {
			return fmt.Errorf("feature %q: %v is out of range; numeric values must lie within ±%g", f.Name, v, MaxMagnitude)
		}
		if len(f.Edges) == 0 {
			h.Unbinned++
			return nil
		}
		c := f.cellOf(v)
		h.Counts[c]++
		h.Sums[c] += v
		return nil
	case Categorical:
		// Integer-coded categories arrive as JSON numbers; name them as the reader does.
		return f.AddString(h, strconv.FormatFloat(v, 'g', -1, 64))
	default:
		return fmt.Errorf("feature %q: want a boolean, got the number %v", f.Name, v)
	}
}

// AddFloats is AddFloat for several values of one feature, in order; it returns how many
// could not be binned (each an error AddFloat would have returned). Binning a feature's values
// together keeps its grid and lookup table in the cache while they fill, where values binned
// as events arrive (feature after feature) find them evicted by the other features'.
func (f *FeatureProfile) AddFloats(h *Histogram, vs []float64) (failed int) {
	if !f.lookup.ok() || len(f.Edges) == 0 {
		for _, v := range vs {
			if f.AddFloat(h, v) != nil {
				failed++
			}
		}
		return failed
	}
	for len(vs) > 0 {
		vs = vs[f.lookup.addAll(f.Edges, vs, h.Counts, h.Sums):]
		if len(vs) > 0 { // NaN, ±Inf or out of range: AddFloat's verdict
			if f.AddFloat(h, vs[0]) != nil {
				failed++
			}
			vs = vs[1:]
		}
	}
	return failed
}

// AddString records a categorical value.
func (f *FeatureProfile) AddString(h *Histogram, s string) error {
	if f.Kind != Categorical {
		return fmt.Errorf("feature %q: want a %s value, got the string %q", f.Name, f.Kind, s)
	}
	if f.index == nil {
		f.prepare()
	}
	if i, ok := f.index[validCategory(s)]; ok {
		h.Counts[i]++
	} else {
		h.Counts[len(f.Categories)]++
	}
	return nil
}

// AddBool records a boolean value.
func (f *FeatureProfile) AddBool(h *Histogram, b bool) error {
	if f.Kind != Boolean {
		return fmt.Errorf("feature %q: want a %s value, got the boolean %v", f.Name, f.Kind, b)
	}
	if b {
		h.Counts[1]++
	} else {
		h.Counts[0]++
	}
	return nil
}

// AddNull records a missing value.
func (f *FeatureProfile) AddNull(h *Histogram) { h.Nulls++ }

// AddJSON records a value decoded by encoding/json (float64, string, bool or nil).
func (f *FeatureProfile) AddJSON(h *Histogram, v any) error {
	switch x := v.(type) {
	case nil:
		f.AddNull(h)
		return nil
	case float64:
		return f.AddFloat(h, x)
	case string:
		return f.AddString(h, x)
	case bool:
		return f.AddBool(h, x)
	default:
		return fmt.Errorf("feature %q: want a number, string, boolean or null, got %T", f.Name, v)
	}
}

// Packed reports whether PackedBin can find the feature's categories (at most 8, none longer
// than 7 bytes, in a prepared profile: see Profile).
func (f *FeatureProfile) Packed() bool { return f.keys != nil }

// PackedBin is the bin of a value equal to one of a few short categories (compared as packed
// words, as AddCategory does first), or -1: for a value that is not, or a feature whose
// categories are not packed, AddCategory decides.
func (f *FeatureProfile) PackedBin(b []byte) int {
	if f.keys == nil || len(b) > maxPacked {
		return -1
	}
	k := packShort(b)
	for i, c := range f.keys {
		if c == k {
			return i
		}
	}
	return -1
}

// AddCategory is AddString for a category held in bytes (the exporter's request buffers): valid
// UTF-8 is looked up without converting it to a string, so the ingest path does not allocate.
func (f *FeatureProfile) AddCategory(h *Histogram, b []byte) error {
	// A value equal to one of a few valid categories is that category; no need to check its
	// UTF-8 or hash it.
	if f.keys != nil {
		if len(b) <= maxPacked {
			k := packShort(b)
			for i, c := range f.keys {
				if c == k {
					h.Counts[i]++
					return nil
				}
			}
		}
	} else {
		for i, c := range f.few {
			if string(b) == c {
				h.Counts[i]++
				return nil
			}
		}
	}
	if f.Kind != Categorical || !utf8.Valid(b) {
		return f.AddString(h, string(b))
	}
	if f.index == nil {
		f.prepare()
	}
	if i, ok := f.index[string(b)]; ok {
		h.Counts[i]++
	} else {
		h.Counts[len(f.Categories)]++
	}
	return nil
}
