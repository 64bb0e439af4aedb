package state

import (
	"fmt"
	"math"
	"time"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/drift"
	"github.com/opscentre/opscentre/exporter/internal/reference"
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
	v.ring.All(func(s *subWindow) { s.Drift = nil })
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

// EmbeddingFeature names embeddings where a feature name is expected: the
// aiops_feature_drift_unbinned_total count of embeddings whose dimension differs from the
// reference's.
const EmbeddingFeature = "__embedding__"

// reconstruct adds the event's reconstruction error to the slot: its numeric values
// standardised, a missing one imputed with the reference mean (0), as the reference rows were.
// Only when the profile has a reconstruction and drift.multivariate is on.
func (v *Version) reconstruct(r *refState, e *Event, slot *subWindow) {
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

// beginReference readies slot's drift counts for an event and returns the reference, or nil
// when there is none or the event is outside the window; Apply then counts each feature
// value and calls endReference. v is locked.
func (v *Version) beginReference(slot *subWindow) *refState {
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
func (v *Version) endReference(r *refState, slot *subWindow, e *Event, full bool, cfg *config.Config) {
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
	v.ring.Each(now, func(s *subWindow) {
		if s.Drift != nil {
			_ = r.Window.Merge(s.Drift)
		}
	})
	if p.Embedding != nil {
		r.Embedding = &drift.EmbeddingWindow{}
		v.ring.Each(now, func(s *subWindow) {
			if s.Embed != nil {
				r.Embedding.Merge(s.Embed)
			}
		})
	}
	if p.Reconstruction != nil && v.state.Config().Drift.Multivariate {
		r.Reconstruction = &drift.ReconstructionWindow{}
		v.ring.Each(now, func(s *subWindow) {
			if s.Recon != nil {
				r.Reconstruction.Merge(s.Recon)
			}
		})
	}
	v.ring.All(func(s *subWindow) {
		if s.Drift != nil {
			_ = r.Total.Merge(s.Drift)
		}
	})
	return r, true
}
