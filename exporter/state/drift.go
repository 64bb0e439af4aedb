package state

import (
	"fmt"
	"math"
	"time"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/drift"
	"github.com/opscentre/opscentre/exporter/reference"
)

// Reference sources, as listed by the API.
const (
	SourceUpload  = "upload"
	SourceCapture = "capture"
)

// minReferenceRows is exporter/drift's default MinReferenceRows: a smaller reference is not
// judged, so loading one logs a warning.
const minReferenceRows = 30

// The drift pillar: a version's frozen reference (uploaded, or captured from its first
// events, see capture.go) and what its events count against it: per sub-window, each
// feature's values in the reference's bins, the reconstruction errors (multivariate drift)
// and the summed embeddings; cumulatively, the bins of the sub-windows that left the ring.
// Apply counts an event with beginReference, the features pass of apply.go and
// endReference; ReadDrift reads it; referenceSnapshot and restoreReference save it.

// driftSlot is the drift pillar's share of a sub-window.
type driftSlot struct {
	// Drift counts the sub-window's values in the reference's bins (nil until a reference
	// exists).
	Drift *drift.Window `json:"drift,omitempty"`
	// Recon sums the sub-window's reconstruction errors (multivariate drift).
	Recon *drift.ReconstructionWindow `json:"recon,omitempty"`
	// Embed sums the sub-window's embeddings (embedding drift).
	Embed *drift.EmbeddingWindow `json:"embed,omitempty"`
}

func (s *driftSlot) reset() {
	if s.Drift != nil {
		s.Drift.Reset()
	}
	if s.Recon != nil {
		s.Recon.Reset()
	}
	if s.Embed != nil {
		s.Embed.Reset()
	}
}

// refState is a version's frozen reference and what has been counted against it.
type refState struct {
	profile  *drift.Profile
	source   string
	loadedAt time.Time
	// total holds the drift counts of sub-windows that have left the ring: the cumulative
	// aiops_feature_values_total is total plus every slot still in the ring, so ingest adds
	// each value once and the counter still never loses what a reset slot held.
	total *drift.Window
	// byIndex maps Feature.Index to the profile's feature (index -1: not in the reference;
	// -2: not looked up yet); pred is the index of the prediction, or -1.
	byIndex []refIndex
	pred    int
	predRef refIndex // pred's, once resolved
	// queues is the number of queues handed out to numeric features.
	queues int32
	// reconIdx maps Feature.Index to the reconstruction's feature (-1: not used); z is the
	// reused standardised event.
	reconIdx []int32
	z        []float64
}

// refIndex is a profile feature's index and, for a numeric one, the number of its queue in
// pendingDrift, for a categorical one the offset of its pending counts (-1 for other kinds):
// what Apply needs per value, kept in one small array rather than read from each
// FeatureProfile.
type refIndex struct {
	j, queue, cat int32
}

// ReferenceInfo describes a version's reference for the API.
type ReferenceInfo struct {
	Model    string    `json:"model"`
	Version  string    `json:"version"`
	Source   string    `json:"source"`
	LoadedAt time.Time `json:"loaded_at,omitzero"`
	Features int       `json:"features"`
	// Rows is the largest row count (nulls included) of its features; while capturing, the
	// events captured so far.
	Rows      float64 `json:"rows"`
	Capturing bool    `json:"capturing,omitempty"`
}

// ReferenceSnapshot is a persisted reference.
type ReferenceSnapshot struct {
	Profile  *drift.Profile `json:"profile"`
	Source   string         `json:"source"`
	LoadedAt time.Time      `json:"loaded_at"`
	Total    *drift.Window  `json:"total"`
}

func newRefState(p *drift.Profile, source string, at time.Time) *refState {
	for _, f := range p.Features {
		// Builds the profile's lazy lookups now, so concurrent scrapes only read it.
		f.ReferenceShares()
	}
	r := &refState{profile: p, source: source, loadedAt: at, total: p.NewWindow(), pred: -1, predRef: refIndex{j: -2}}
	if fp, i := p.Feature(reference.PredictionFeature); fp != nil {
		r.pred = i
	}
	return r
}

// builderMaxCategories is drift.ProfileOptions' default MaxCategories.
const builderMaxCategories = 50

// capture collects a reference from live events.
type capture struct {
	cfg config.Reference
	b   *drift.Builder
	n   int
}

// SetReference replaces the version's reference; every drift count against the old one is
// dropped (its bins mean nothing against the new one). It returns the features too small to
// be judged, for the caller to warn about.
func (v *Version) SetReference(p *drift.Profile, source string) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.setReference(newRefState(p, source, v.state.Now()))
}

func (v *Version) setReference(r *refState) []string {
	v.ref = r
	v.capture = nil
	v.pending.drop()
	v.ring.All(func(s *Slot) { s.Drift = nil })
	var small []string
	for _, f := range r.profile.Features {
		if f.Rows < minReferenceRows {
			small = append(small, f.Name)
			if l := v.state.opts.Logger; l != nil {
				l.Warn("reference too small to judge the drift of a feature", "model", v.model.Name, "version", v.Name,
					"feature", f.Name, "rows", f.Rows, "min_rows", minReferenceRows)
			}
		}
	}
	return small
}

// PersistedReference is what the store keeps of a version right after a reference upload:
// the reference and the learnt features (so a version new since the last snapshot is found
// on restart).
func (v *Version) PersistedReference() (*ReferenceSnapshot, []FeatureSnapshot) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.referenceSnapshot(), v.featureSnapshots()
}

// Reference returns the version's reference profile, or nil.
func (v *Version) Reference() *drift.Profile {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ref == nil {
		return nil
	}
	return v.ref.profile
}

// ReferenceInfo describes the reference, or the capture in progress; ok is false with neither.
func (v *Version) ReferenceInfo() (ReferenceInfo, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	info := ReferenceInfo{Model: v.model.Name, Version: v.Name}
	switch {
	case v.ref != nil:
		info.Source, info.LoadedAt, info.Features = v.ref.source, v.ref.loadedAt, len(v.ref.profile.Features)
		for _, f := range v.ref.profile.Features {
			info.Rows = max(info.Rows, f.Rows+f.Nulls)
		}
		return info, true
	case v.capture != nil && v.capture.n > 0:
		info.Source, info.Capturing, info.Rows = SourceCapture, true, float64(v.capture.n)
		return info, true
	}
	return info, false
}

// startCapture begins capturing a reference when the configuration asks for one; v is
// locked or unpublished.
func (v *Version) startCapture() {
	if v.ref != nil || v.capture != nil {
		return
	}
	rc := v.state.Config().ReferenceFor(v.modelConfig())
	if rc.CaptureFirst == 0 && rc.From == nil {
		return
	}
	// The builder keeps its default number of categories (the most frequent) unless
	// limits.max_categories_per_feature is lower: a captured reference is bounded like an
	// uploaded one.
	var po drift.ProfileOptions
	if lim := v.state.Config().Limits.MaxCategoriesPerFeat; lim < builderMaxCategories {
		po.MaxCategories = lim
	}
	v.capture = &capture{cfg: rc, b: drift.NewBuilder(po)}
}

// EmbeddingFeature names embeddings where a feature name is expected: the
// aiops_feature_drift_unbinned_total count of embeddings whose dimension differs from the
// reference's.
const EmbeddingFeature = "__embedding__"

// reconstruct adds the event's reconstruction error to the slot: its numeric values
// standardised, a missing one imputed with the reference mean (0), as the reference rows were.
// Only when the profile has a reconstruction and drift.multivariate is on.
func (v *Version) reconstruct(r *refState, e *Event, slot *Slot) {
	rc := r.profile.Reconstruction
	if len(r.reconIdx) != len(v.list) {
		// Feature.Index → position in rc.Features (-1: not used); features are only added.
		for k := len(r.reconIdx); k < len(v.list); k++ {
			r.reconIdx = append(r.reconIdx, int32(rc.Index(v.list[k].Name)))
		}
		r.reconIdx = r.reconIdx[:len(v.list)]
	}
	if cap(r.z) < len(rc.Features) {
		r.z = make([]float64, len(rc.Features))
	}
	z := r.z[:len(rc.Features)]
	clear(z)
	seen := false
	for i := range e.Features {
		fv := &e.Features[i]
		if fv.Type != config.Numeric || fv.Feature == nil || fv.Feature.Index >= len(r.reconIdx) {
			continue
		}
		if j := r.reconIdx[fv.Feature.Index]; j >= 0 && !math.IsNaN(fv.Num) {
			rc.Standardise(z, int(j), fv.Num)
			seen = true
		}
	}
	if !seen {
		return // an event without any of the features says nothing about how they relate
	}
	if slot.Recon == nil {
		slot.Recon = &drift.ReconstructionWindow{}
	}
	slot.Recon.Add(rc.Error(z))
}

// profileIndex is the reference feature of f (j -1: none), its queue and pending counts.
// Apply reads r.byIndex itself once f has been looked up.
func (r *refState) profileIndex(f *Feature, p *pendingDrift) refIndex {
	for len(r.byIndex) <= f.Index {
		r.byIndex = append(r.byIndex, refIndex{j: -2})
	}
	i := r.byIndex[f.Index]
	if i.j == -2 {
		i = refIndex{j: -1, queue: -1, cat: -1}
		if _, j := r.profile.Feature(f.Name); j >= 0 {
			i = r.resolve(j, p)
		}
		r.byIndex[f.Index] = i
	}
	return i
}

// resolve numbers profile feature j's queue or registers its pending counts.
func (r *refState) resolve(j int, p *pendingDrift) refIndex {
	i := refIndex{j: int32(j), queue: -1, cat: -1}
	switch fp := r.profile.Features[j]; fp.Kind {
	case drift.Numeric:
		i.queue = r.queues
		r.queues++
	case drift.Categorical:
		if !fp.Packed() {
			break // its values take the histogram path
		}
		i.cat = int32(len(p.counts))
		p.cats = append(p.cats, catCounts{j: int32(j), off: i.cat, bins: int32(fp.NumBins())})
		p.counts = append(p.counts, make([]float64, fp.NumBins())...)
	}
	return i
}

// addValue adds one value to a drift histogram. A value whose type differs from the
// reference's kind (a reference that calls a feature numeric while events send strings)
// cannot be binned: the error is counted by the caller in aiops_feature_drift_unbinned_total.
func addValue(fp *drift.FeatureProfile, h *drift.Histogram, typ config.FeatureType, num float64, str []byte) error {
	switch typ {
	case "":
		fp.AddNull(h)
	case config.Numeric:
		return fp.AddFloat(h, num)
	case config.Categorical:
		return fp.AddCategory(h, str)
	case config.Boolean:
		return fp.AddBool(h, num == 1)
	}
	return nil
}

// unbinned counts a value the reference could not bin.
func (v *Version) unbinned(feature string) {
	if v.c.DriftUnbinned == nil {
		v.c.DriftUnbinned = map[string]uint64{}
	}
	v.c.DriftUnbinned[feature]++
}

// pendingDrift holds numeric values counted against the reference but not yet binned into
// their slot's histograms, and counts of categorical ones. Binned as events arrive, a value
// finds its feature's grid (two float64 per cell, kilobytes per feature) and lookup table
// evicted from the cache by the other features' since the previous event; binned feature by
// feature, a thousand values at a time, each grid stays in the L1 cache while it fills. Every reader or mover of drift
// counts (ReadDrift, snapshot, the reset of a slot) bins the pending values first under the
// version's lock, so no reader sees the difference. All values pending belong to one slot;
// an event for another slot bins them first. Memory is bounded by pendingPerFeature values
// per numeric reference feature and one count per bin of a categorical one.
type pendingDrift struct {
	slot *Slot
	// Queue q holds values[q*pendingPerFeature:][:lens[q]], values of profile feature
	// features[q] (see refIndex.queue).
	values   []float64
	lens     []int
	features []int32
	// Categorical values are counted rather than queued: counts holds, for each feature in
	// cats, the pending count of each of its bins. Found by a scan of the few packed
	// categories, a value then costs one add to this small array rather than reads of the
	// slot's histogram.
	counts []float64
	cats   []catCounts
	n      int
}

// catCounts places a categorical profile feature's bins in pendingDrift.counts.
type catCounts struct {
	j, off, bins int32
}

// count counts a categorical value of the feature ri in its pending bin, when it is one of
// the few packed categories; false sends it to the histogram as before.
func (p *pendingDrift) count(fp *drift.FeatureProfile, ri refIndex, b []byte) bool {
	bin := fp.PackedBin(b)
	if bin < 0 {
		return false
	}
	p.counts[int(ri.cat)+bin]++
	p.n++
	return true
}

// pendingPerFeature is how many values of one feature wait before every pending value is
// binned. A numeric feature's grid, edges and lookup table span up to ~180 cache lines at
// the default resolution, so a flush must bin many more values than that for most of them
// to hit the cache: 128 left most of the binning missing, 1024 made it about four times
// cheaper in a CPU profile of the ingest. 8 KiB per numeric feature of a version, against
// up to 8 KiB for each sub-window's histogram of it.
const pendingPerFeature = 1024

// grow makes room for queues up to q, the queue of profile feature j. Queues are numbered
// as features are first seen, so q may pass queues whose features have sent no number yet.
func (p *pendingDrift) grow(q int, j int32) {
	for len(p.lens) <= q {
		p.lens = append(p.lens, 0)
		p.features = append(p.features, -1)
	}
	p.features[q] = j
	if need := len(p.lens) * pendingPerFeature; len(p.values) < need {
		p.values = append(p.values, make([]float64, need-len(p.values))...)
	}
}

// drop forgets the pending values and the queues' features (a new reference makes their
// bins meaningless and numbers its queues afresh).
func (p *pendingDrift) drop() {
	p.lens, p.features = p.lens[:0], p.features[:0]
	p.counts, p.cats = p.counts[:0], p.cats[:0]
	p.n, p.slot = 0, nil
}

// flushDrift bins the pending values into their slot's histograms; v is locked.
func (v *Version) flushDrift() {
	p := &v.pending
	if p.n == 0 {
		return
	}
	p.n = 0 // the slot stays: what comes next for it needs no flush first
	if v.ref == nil || p.slot == nil || p.slot.Drift == nil {
		// Not reached (a new reference drops what is pending, and a slot's histograms go
		// only with it), but values must never reach another slot's histograms.
		clear(p.lens)
		clear(p.counts)
		return
	}
	fs, hs := v.ref.profile.Features, p.slot.Drift.Histograms
	for q, n := range p.lens {
		if n == 0 {
			continue
		}
		j := p.features[q]
		for range fs[j].AddFloats(&hs[j], p.values[q*pendingPerFeature:][:n]) {
			v.unbinned(fs[j].Name) // as Apply counts addValue's errors
		}
		p.lens[q] = 0
	}
	for _, c := range p.cats {
		h := hs[c.j].Counts
		for b, n := range p.counts[c.off:][:c.bins] {
			h[b] += n
		}
		clear(p.counts[c.off:][:c.bins])
	}
}

// beginReference readies slot's drift counts for an event and returns the reference, or nil
// when there is none or the event is outside the window; Apply then counts each feature
// value and calls endReference. v is locked.
func (v *Version) beginReference(slot *Slot) *refState {
	r := v.ref
	if r == nil || slot == nil {
		return nil
	}
	if slot.Drift == nil {
		slot.Drift = r.profile.NewWindow()
	}
	if v.pending.slot != slot {
		v.flushDrift()
		v.pending.slot = slot
	}
	slot.Drift.Events++
	return r
}

// endReference ends the drift pillar's part of an event: the reconstruction error and the
// embedding, binning the pending values when a queue is full, and the prediction counted
// against the reference. v is locked.
func (v *Version) endReference(r *refState, slot *Slot, e *Event, full bool, cfg *config.Config) {
	if r.profile.Reconstruction != nil && cfg.Drift.Multivariate {
		v.reconstruct(r, e, slot)
	}
	if ep := r.profile.Embedding; ep != nil && len(e.Embedding) > 0 {
		if slot.Embed == nil {
			slot.Embed = &drift.EmbeddingWindow{}
		}
		if !slot.Embed.Add(ep, e.Embedding) {
			v.unbinned(EmbeddingFeature) // another dimension than the reference's
		}
	}
	if full {
		v.flushDrift()
	}
	if r.pred >= 0 && e.Prediction.Present {
		pv, p := &e.Prediction, &v.pending
		if r.predRef.j != int32(r.pred) {
			r.predRef = r.resolve(r.pred, p)
		}
		if r.predRef.cat >= 0 && pv.Type == config.Categorical && p.count(r.profile.Features[r.pred], r.predRef, pv.Str) {
			return
		}
		if addValue(r.profile.Features[r.pred], &slot.Drift.Histograms[r.pred], pv.Type, pv.Num, pv.Str) != nil {
			v.unbinned(reference.PredictionFeature)
		}
	}
}

func (v *Version) applyCapture(e *Event, t time.Time) {
	c := v.capture
	if c == nil {
		return
	}
	if c.cfg.From != nil {
		if !t.Before(*c.cfg.To) {
			v.finishCapture()
			return
		}
		if t.Before(*c.cfg.From) {
			return
		}
	}
	for i := range e.Features {
		fv := &e.Features[i]
		f := fv.Feature
		if f == nil || f.Any {
			continue
		}
		captureValue(c.b, f.Name, fv.Type, fv.Num, fv.Str)
	}
	if e.Prediction.Present {
		captureValue(c.b, reference.PredictionFeature, e.Prediction.Type, e.Prediction.Num, e.Prediction.Str)
	}
	if len(e.Embedding) > 0 {
		if c.b.AddEmbedding(e.Embedding) != nil {
			v.unbinned(EmbeddingFeature)
		}
	}
	c.b.EndRow() // the event's values belong together (multivariate drift)
	c.n++
	if c.cfg.CaptureFirst > 0 && c.n >= c.cfg.CaptureFirst {
		v.finishCapture()
	}
}

func captureValue(b *drift.Builder, name string, typ config.FeatureType, num float64, str []byte) {
	// A value of another kind than the feature's first is left out, as in addValue.
	switch typ {
	case "":
		_ = b.AddNull(name)
	case config.Numeric:
		_ = b.AddFloat(name, num)
	case config.Categorical:
		_ = b.AddString(name, string(str))
	case config.Boolean:
		_ = b.AddBool(name, num == 1)
	}
}

// finishCapture freezes the captured reference. A range that passed without an event ends
// the capture with no reference.
func (v *Version) finishCapture() {
	c := v.capture
	if c == nil {
		return
	}
	if c.n == 0 {
		v.capture = nil
		return
	}
	p := c.b.Profile()
	// A capture obeys the cardinality limits as an upload does. Its features are the
	// version's, already bounded, so only categories can fold.
	lim := v.state.Config().Limits
	folded, err := reference.Bound(p, reference.Limits{MaxCategories: lim.MaxCategoriesPerFeat})
	if err != nil {
		v.capture = nil
		if l := v.state.opts.Logger; l != nil {
			l.Error("captured reference refused", "model", v.model.Name, "version", v.Name, "err", err)
		}
		return
	}
	if folded > 0 {
		v.state.FoldN(LabelBin, folded)
	}
	v.setReference(newRefState(p, SourceCapture, v.state.Now()))
	if l := v.state.opts.Logger; l != nil {
		l.Info("reference captured", "model", v.model.Name, "version", v.Name, "events", c.n, "features", len(p.Features))
	}
}

// tick finishes a range capture whose range has passed; v is locked.
func (v *Version) tick(now time.Time) {
	if c := v.capture; c != nil && c.cfg.From != nil && !now.Before(*c.cfg.To) {
		v.finishCapture()
	}
}

// resetSlot empties a slot for reuse, keeping its drift counts in the cumulative total.
func (v *Version) resetSlot(s *Slot) {
	v.flushDrift() // the pending values may be this slot's
	if s.Drift != nil && v.ref != nil {
		if err := v.ref.total.Merge(s.Drift); err != nil {
			s.Drift = nil // shaped for an older reference
		}
	}
	s.reset()
}

func (v *Version) referenceSnapshot() *ReferenceSnapshot {
	if v.ref == nil {
		return nil
	}
	total := v.ref.profile.NewWindow()
	_ = total.Merge(v.ref.total)
	return &ReferenceSnapshot{Profile: v.ref.profile, Source: v.ref.source, LoadedAt: v.ref.loadedAt, Total: total}
}

func (v *Version) restoreReference(rs *ReferenceSnapshot) error {
	if rs == nil || rs.Profile == nil {
		return nil
	}
	if err := rs.Profile.Validate(); err != nil {
		return fmt.Errorf("saved reference: %w", err)
	}
	r := newRefState(rs.Profile, rs.Source, rs.LoadedAt)
	if rs.Total != nil && sameShape(r.profile, rs.Total) {
		r.total = rs.Total
	}
	v.ref, v.capture = r, nil
	v.pending.drop()
	return nil
}

// sameShape reports whether w was built from p, so a saved window can be trusted.
func sameShape(p *drift.Profile, w *drift.Window) bool {
	if len(w.Histograms) != len(p.Features) {
		return false
	}
	for i, f := range p.Features {
		n := f.NewHistogram()
		if len(w.Histograms[i].Counts) != len(n.Counts) || len(w.Histograms[i].Sums) != len(n.Sums) {
			return false
		}
	}
	return true
}

// DriftReading is a consistent copy of a version's drift counts, taken for a scrape.
type DriftReading struct {
	Model, Version string
	Profile        *drift.Profile
	// Window is the merge of the sub-windows in the sliding window; Total every value counted
	// since the reference was loaded (the aiops_feature_values_total counters).
	Window, Total *drift.Window
	// Reconstruction is the window's reconstruction errors when the profile has a
	// reconstruction and drift.multivariate is on (nil otherwise).
	Reconstruction *drift.ReconstructionWindow
	// Embedding sums the window's embeddings when the profile has an embedding reference.
	Embedding *drift.EmbeddingWindow
}

// ReadDrift copies the drift counts as of now; ok is false without a reference.
func (v *Version) ReadDrift(now time.Time) (DriftReading, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.tick(now)
	if v.ref == nil {
		return DriftReading{}, false
	}
	v.flushDrift()
	p := v.ref.profile
	r := DriftReading{Model: v.model.Name, Version: v.Name, Profile: p, Window: p.NewWindow(), Total: p.NewWindow()}
	_ = r.Total.Merge(v.ref.total)
	v.ring.Each(now, func(s *Slot) {
		if s.Drift != nil {
			_ = r.Window.Merge(s.Drift)
		}
	})
	if p.Embedding != nil {
		r.Embedding = &drift.EmbeddingWindow{}
		v.ring.Each(now, func(s *Slot) {
			if s.Embed != nil {
				r.Embedding.Merge(s.Embed)
			}
		})
	}
	if p.Reconstruction != nil && v.state.Config().Drift.Multivariate {
		r.Reconstruction = &drift.ReconstructionWindow{}
		v.ring.Each(now, func(s *Slot) {
			if s.Recon != nil {
				r.Reconstruction.Merge(s.Recon)
			}
		})
	}
	v.ring.All(func(s *Slot) {
		if s.Drift != nil {
			_ = r.Total.Merge(s.Drift)
		}
	})
	return r, true
}
