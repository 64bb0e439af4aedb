package drift

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ProfileOptions control how a reference is frozen. The zero value means the defaults.
type ProfileOptions struct {
	// Bins is the number of coarse quantile bins of a numeric feature (default 10, the
	// reference deciles Phoenix uses; Evidently's Sturges rule would give ~21 for 1M rows).
	Bins int
	// PerValueMax: a numeric feature with at most this many distinct reference values gets one
	// bin per value instead of quantile bins (default 20, Evidently's rule).
	PerValueMax int
	// Resolution is the number of fine quantile cells kept for KS and Wasserstein (default 256).
	// A reference with at most this many distinct values keeps all of them, and KS is then
	// exact. Otherwise KS is evaluated at the cell edges, which under-reports D by at most
	// the largest cell share (≈ 1/Resolution), and Wasserstein inside a cell where the CDFs
	// cross assumes values spread evenly. A window slot costs 16·(2·Resolution+3) bytes per
	// numeric feature.
	Resolution int
	// MaxCategories bounds the categories kept per categorical feature (default 50, the most
	// frequent); the rest of the reference and anything new fall in UnseenBin.
	MaxCategories int
	// MaxSample bounds the values kept per numeric feature while building (default 100000);
	// beyond it a uniform reservoir sample estimates the quantiles and cell shares. Moments,
	// minimum and maximum stay exact.
	MaxSample int
	// Seed makes the reservoir reproducible.
	Seed uint64
	// VarianceShare is the share of the reference's variance the reconstruction drift's
	// principal components keep (default DefaultVarianceShare, 0.65).
	VarianceShare float64
	// ReconstructionRows bounds the reference rows sampled to fit it (default
	// DefaultReconstructionRows). Rows exist only when the caller marks them with EndRow.
	ReconstructionRows int
}

// DefaultMaxSample is the default ProfileOptions.MaxSample.
const DefaultMaxSample = 100000

func (o ProfileOptions) withDefaults() ProfileOptions {
	if o.Bins <= 0 {
		o.Bins = 10
	}
	if o.PerValueMax <= 0 {
		o.PerValueMax = 20
	}
	if o.Resolution <= 0 {
		o.Resolution = 256
	}
	if o.Resolution < o.Bins {
		o.Resolution = o.Bins
	}
	if o.MaxCategories <= 0 {
		o.MaxCategories = 50
	}
	if o.MaxSample <= 0 {
		o.MaxSample = DefaultMaxSample
	}
	if !(o.VarianceShare > 0 && o.VarianceShare < 1) {
		o.VarianceShare = DefaultVarianceShare
	}
	if o.ReconstructionRows <= 0 {
		o.ReconstructionRows = DefaultReconstructionRows
	}
	return o
}

// maxTrackedCategories bounds the distinct strings counted while building, so an ID column
// loaded by mistake cannot exhaust memory; later new strings are counted as unseen.
const maxTrackedCategories = 100000

// Builder collects reference values feature by feature and freezes them into a Profile.
type Builder struct {
	opts     ProfileOptions
	features []*featureBuilder
	byName   map[string]int
	rng      *rand.Rand
	// pending holds nulls of features whose first value (and so kind) has not come yet.
	pending      map[string]float64
	pendingOrder []string
	// rows is a uniform reservoir of reference rows (numeric values by feature index, NaN when
	// absent) for the reconstruction drift's PCA; cur is the row being added, until EndRow.
	rows     [][]float64
	rowsSeen int
	cur      []float64
	inRow    bool
	rowRng   *rand.Rand
	// embed accumulates reference embeddings (AddEmbedding).
	embed *embeddingBuilder
}

type featureBuilder struct {
	name  string
	kind  Kind
	rows  float64
	nulls float64
	// numeric: Welford moments, extremes and a reservoir
	mean, m2, min, max float64
	sample             []float64
	// categorical and boolean
	counts   map[string]float64
	overflow float64
	bools    [2]float64
}

// NewBuilder starts an empty reference.
func NewBuilder(opts ProfileOptions) *Builder {
	opts = opts.withDefaults()
	return &Builder{opts: opts, byName: map[string]int{}, rng: rand.New(rand.NewPCG(opts.Seed, 0x5eed)), pending: map[string]float64{},
		rowRng: rand.New(rand.NewPCG(opts.Seed, 0x10e5))}
}

// Declare fixes a feature's kind; features are otherwise declared by their first Add.
// Declaring one twice with different kinds is an error.
func (b *Builder) Declare(name string, kind Kind) error {
	if _, err := b.feature(name, kind); err != nil {
		return err
	}
	return nil
}

func (b *Builder) feature(name string, kind Kind) (*featureBuilder, error) {
	if i, ok := b.byName[name]; ok {
		f := b.features[i]
		if f.kind != kind {
			return nil, fmt.Errorf("feature %q: want a %s value like the earlier rows, got a %s value", name, f.kind, kind)
		}
		return f, nil
	}
	switch kind {
	case Numeric, Categorical, Boolean:
	default:
		return nil, fmt.Errorf("feature %q: unknown kind %q", name, kind)
	}
	if name == "" || !utf8.ValidString(name) {
		return nil, fmt.Errorf("feature %q: a name must be non-empty valid UTF-8", name)
	}
	f := &featureBuilder{name: name, kind: kind, min: math.Inf(1), max: math.Inf(-1), nulls: b.pending[name]}
	delete(b.pending, name)
	if kind == Categorical {
		f.counts = map[string]float64{}
	}
	b.byName[name] = len(b.features)
	b.features = append(b.features, f)
	return f, nil
}

// Kind returns the kind of a feature seen so far, or "".
func (b *Builder) Kind(name string) Kind {
	if i, ok := b.byName[name]; ok {
		return b.features[i].kind
	}
	return ""
}

// AddFloat adds a numeric reference value; NaN and ±Inf count as null, and a magnitude above
// MaxMagnitude is an error.
func (b *Builder) AddFloat(name string, v float64) error {
	f, err := b.feature(name, Numeric)
	if err != nil {
		return err
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		f.nulls++
		return nil
	}
	if math.Abs(v) > MaxMagnitude {
		return fmt.Errorf("feature %q: %v is out of range; numeric values must lie within ±%g", name, v, MaxMagnitude)
	}
	f.rows++
	d := v - f.mean
	f.mean += d / f.rows
	f.m2 += d * (v - f.mean)
	f.min, f.max = math.Min(f.min, v), math.Max(f.max, v)
	b.note(name, v)
	if len(f.sample) < b.opts.MaxSample {
		f.sample = append(f.sample, v)
	} else if j := b.rng.Int64N(int64(f.rows)); j < int64(b.opts.MaxSample) {
		f.sample[j] = v // Algorithm R: every value so far is kept with equal probability
	}
	return nil
}

// note records a numeric value in the current row.
func (b *Builder) note(name string, v float64) {
	i := b.byName[name]
	for len(b.cur) <= i {
		b.cur = append(b.cur, math.NaN())
	}
	b.cur[i] = v
	b.inRow = true
}

// EndRow closes a reference row: the numeric values added since the last EndRow belong to one
// event, which the reconstruction drift needs (how features vary together). Readers that call
// it get a Reconstruction in the profile; values added without rows only give the marginals.
func (b *Builder) EndRow() {
	if !b.inRow {
		return
	}
	b.inRow = false
	b.rowsSeen++
	if len(b.rows) < b.opts.ReconstructionRows {
		b.rows = append(b.rows, slices.Clone(b.cur))
	} else if j := b.rowRng.IntN(b.rowsSeen); j < len(b.rows) {
		b.rows[j] = append(b.rows[j][:0], b.cur...) // Algorithm R over rows
	}
	for i := range b.cur {
		b.cur[i] = math.NaN()
	}
}

// AddString adds a categorical reference value.
func (b *Builder) AddString(name, v string) error {
	f, err := b.feature(name, Categorical)
	if err != nil {
		return err
	}
	v = validCategory(v)
	f.rows++
	if _, ok := f.counts[v]; ok || len(f.counts) < maxTrackedCategories {
		f.counts[v]++
	} else {
		f.overflow++
	}
	return nil
}

// AddBool adds a boolean reference value.
func (b *Builder) AddBool(name string, v bool) error {
	f, err := b.feature(name, Boolean)
	if err != nil {
		return err
	}
	f.rows++
	if v {
		f.bools[1]++
	} else {
		f.bools[0]++
	}
	return nil
}

// AddNull adds a missing value. Nulls that come before a feature's first value are held until
// that value decides its kind; a feature that never gets a value is frozen as numeric with no
// rows, which Compare reports as reference_empty rather than dropping it.
func (b *Builder) AddNull(name string) error {
	if i, ok := b.byName[name]; ok {
		b.features[i].nulls++
		return nil
	}
	if name == "" || !utf8.ValidString(name) {
		return fmt.Errorf("feature %q: a name must be non-empty valid UTF-8", name)
	}
	if _, ok := b.pending[name]; !ok {
		b.pendingOrder = append(b.pendingOrder, name)
	}
	b.pending[name]++
	return nil
}

// AddJSON adds a value decoded by encoding/json: a number, string, boolean or nil. A number for
// a feature already categorical is taken as a category (FormatCategory), so integer-coded
// categories work; any other change of type is an error.
func (b *Builder) AddJSON(name string, v any) error {
	switch x := v.(type) {
	case nil:
		return b.AddNull(name)
	case float64:
		if b.Kind(name) == Categorical {
			return b.AddString(name, FormatCategory(x))
		}
		return b.AddFloat(name, x)
	case string:
		return b.AddString(name, x)
	case bool:
		return b.AddBool(name, x)
	case map[string]any:
		return fmt.Errorf("feature %q: want a number, string, boolean or null, got an object", name)
	case []any:
		return fmt.Errorf("feature %q: want a number, string, boolean or null, got an array", name)
	default:
		return fmt.Errorf("feature %q: want a number, string, boolean or null, got %T", name, v)
	}
}

// Profile freezes everything added so far. The builder may keep collecting afterwards.
func (b *Builder) Profile() *Profile {
	p := &Profile{Features: make([]*FeatureProfile, 0, len(b.features))}
	for _, f := range b.features {
		fp := &FeatureProfile{Name: f.name, Kind: f.kind, Rows: f.rows, Nulls: f.nulls}
		switch f.kind {
		case Numeric:
			b.freezeNumeric(f, fp)
		case Categorical:
			b.freezeCategorical(f, fp)
		case Boolean:
			fp.RefCells = []float64{f.bools[0], f.bools[1]}
			fp.Distinct = 0
			for _, c := range f.bools {
				if c > 0 {
					fp.Distinct++
				}
			}
		}
		fp.prepare()
		p.Features = append(p.Features, fp)
	}
	for _, name := range b.pendingOrder {
		if n, ok := b.pending[name]; ok {
			fp := &FeatureProfile{Name: name, Kind: Numeric, Nulls: n}
			fp.prepare()
			p.Features = append(p.Features, fp)
		}
	}
	p.Reconstruction = b.reconstruction()
	p.Embedding = b.embed.profile()
	return p
}

// reconstruction fits the reconstruction drift on the sampled rows, over the first
// MaxReconstructionFeatures numeric features; nil when it cannot be fitted.
func (b *Builder) reconstruction() *Reconstruction {
	if len(b.rows) == 0 {
		return nil
	}
	var names []string
	var cols []int
	for i, f := range b.features {
		// Names starting with "__" are the exporter's own (the prediction is
		// "__prediction__"): the reconstruction covers the model's inputs, as NannyML's does.
		if f.kind == Numeric && !strings.HasPrefix(f.name, "__") && len(names) < MaxReconstructionFeatures {
			names = append(names, f.name)
			cols = append(cols, i)
		}
	}
	rows := make([][]float64, len(b.rows))
	for r, row := range b.rows {
		out := make([]float64, len(cols))
		for c, i := range cols {
			out[c] = math.NaN()
			if i < len(row) {
				out[c] = row[i]
			}
		}
		rows[r] = out
	}
	rc, err := fitReconstruction(names, rows, b.opts.VarianceShare)
	if err != nil {
		return nil
	}
	return rc
}

// quantile is NumPy's default (linear) quantile of sorted x.
func quantile(x []float64, q float64) float64 {
	pos := q * float64(len(x)-1)
	lo := int(math.Floor(pos))
	if lo >= len(x)-1 {
		return x[len(x)-1]
	}
	return x[lo] + (pos-float64(lo))*(x[lo+1]-x[lo])
}

func (b *Builder) freezeNumeric(f *featureBuilder, fp *FeatureProfile) {
	if f.rows == 0 {
		return
	}
	fp.Mean, fp.Min, fp.Max = f.mean, f.min, f.max
	fp.Std = math.Sqrt(math.Max(f.m2/f.rows, 0))
	sorted := slices.Clone(f.sample)
	slices.Sort(sorted)
	fp.Sampled = float64(len(sorted)) < f.rows
	if fp.Sampled {
		fp.SampleRows = float64(len(sorted))
	}
	// The true extremes are edges even when the reservoir missed them.
	distinct := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(sorted), f.min, f.max))))
	fp.Distinct = min(len(distinct), b.opts.Resolution+1)
	if len(distinct) <= b.opts.Resolution {
		fp.Edges = distinct
		fp.Exact = true
	} else {
		edges := []float64{f.min, f.max}
		for i := 1; i < b.opts.Resolution; i++ {
			edges = append(edges, quantile(sorted, float64(i)/float64(b.opts.Resolution)))
		}
		slices.Sort(edges)
		fp.Edges = slices.Compact(edges)
	}
	if len(distinct) <= b.opts.PerValueMax {
		fp.PerValue = true
	} else {
		var cuts []float64
		for i := 1; i < b.opts.Bins; i++ {
			cuts = append(cuts, quantile(sorted, float64(i)/float64(b.opts.Bins)))
		}
		slices.Sort(cuts)
		cuts = slices.Compact(cuts)
		// A cut at the maximum would leave the last bin for out-of-range values only.
		for len(cuts) > 0 && cuts[len(cuts)-1] >= f.max {
			cuts = cuts[:len(cuts)-1]
		}
		fp.Cuts = cuts
		fp.Edges = slices.Compact(slices.Sorted(slices.Values(append(fp.Edges, cuts...))))
	}
	n := 2*len(fp.Edges) + 1
	fp.RefCells = make([]float64, n)
	fp.RefSums = make([]float64, n)
	w := f.rows / float64(len(sorted))
	for _, v := range sorted {
		c := fp.cellOf(v)
		fp.RefCells[c] += w
		fp.RefSums[c] += w * v
	}
}

func (b *Builder) freezeCategorical(f *featureBuilder, fp *FeatureProfile) {
	type kv struct {
		k string
		v float64
	}
	all := make([]kv, 0, len(f.counts))
	for k, v := range f.counts {
		all = append(all, kv{k, v})
	}
	// Most frequent first; ties by name so the profile is deterministic.
	sort.Slice(all, func(i, j int) bool {
		if all[i].v != all[j].v {
			return all[i].v > all[j].v
		}
		return all[i].k < all[j].k
	})
	fp.Distinct = len(all)
	keep := min(len(all), b.opts.MaxCategories)
	fp.RefCells = make([]float64, keep+1)
	for i, c := range all {
		if i < keep {
			fp.Categories = append(fp.Categories, c.k)
			fp.RefCells[i] = c.v
		} else {
			fp.RefCells[keep] += c.v
		}
	}
	fp.RefCells[keep] += f.overflow
}

// validCategory replaces invalid UTF-8, which JSON (the profile's storage) and Prometheus
// labels would mangle anyway, so that two spellings cannot collapse into one after a reload.
func validCategory(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// FormatCategory is how a number used as a category is named (so "3" in a CSV file and 3 in
// JSON fall in the same bin).
func FormatCategory(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
