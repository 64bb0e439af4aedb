package state

// Pending drift counts, part of the drift pillar: numeric values queued per feature and
// categorical ones counted per bin, binned into their sub-window a thousand at a time.

import "github.com/opscentre/opscentre/exporter/drift"

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
	slot *subWindow
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
