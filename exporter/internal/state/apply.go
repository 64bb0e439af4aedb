package state

import (
	"time"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/textquality"
)

// Event is a validated event, ready to apply. Byte slices may alias the request buffer and
// are copied only when a new name or value has to be remembered.
type Event struct {
	Time time.Time
	// Now is when the event was received (zero: the state's clock is read).
	Now time.Time

	HasLatency bool
	Latency    float64
	ErrorType  []byte // nil: no error

	HasTokens bool
	Tokens    [3]uint64 // input (cached included), output, cached
	HasCost   bool
	Cost      float64

	Outcome int // index into Outcomes, -1 when absent
	// Contained is the index into ContainmentActions of the containment the event was
	// produced under, -1 when none.
	Contained   int
	Feedback    int // index into Ratings, -1 when absent
	HasInputLen bool
	InputLen    float64
	HasQueue    bool
	QueueDepth  float64

	// HasText: the event carried output_text and reference_answer, scored by the decoder.
	HasText bool
	RougeL  float64          // ROUGE-L F1
	BLEU    textquality.BLEU // the answer's clipped n-gram counts

	Business []Business
	Features []FeatureValue

	// ID joins the prediction to its label later; nil when the event has none.
	ID         []byte
	Prediction PredictionValue
	Scores     []Score
	// Embedding is the event's embedding (LLM or retrieval input), nil when it has none.
	Embedding []float64
}

// Score is one entry of the event's scores object.
type Score struct {
	Name  []byte
	Value float64
}

// Business is one entry of the event's business object.
type Business struct {
	Name  []byte
	Value float64
}

// FeatureValue is one feature of the event. Feature is nil for a feature to learn.
type FeatureValue struct {
	Feature *Feature
	Name    []byte
	Type    config.FeatureType // of the value; "" for null
	Num     float64
	Str     []byte
}

// Reset empties e for reuse, keeping its slices' capacity.
func (e *Event) Reset() {
	*e = Event{Outcome: -1, Feedback: -1, Business: e.Business[:0], Features: e.Features[:0], Scores: e.Scores[:0], Embedding: e.Embedding[:0]}
}

// Apply adds an event to the version under the version's lock. resolve, when not nil, runs
// first under the same lock: it resolves and checks the event's features against the
// version's schema (appending them to e.Features), so the schema it validated against is the
// one the event is applied with. When resolve returns false nothing is applied and Apply
// returns false. Work that does not need the schema belongs before Apply: the lock
// serialises every event of the version.
func (v *Version) Apply(e *Event, resolve func(Schema) bool) bool {
	v.mu.Lock()
	if resolve != nil && !resolve(Schema{v}) {
		v.mu.Unlock()
		return false
	}
	v.apply(e)
	v.mu.Unlock()
	return true
}

// apply adds a validated event to the version; v is locked. Each pillar takes its part:
// the cumulative counters (infrastructure and LLM, business), then, in one pass over the
// features, data quality and drift in the event's sub-window, then performance.
func (v *Version) apply(e *Event) {
	cfg := v.state.Config()
	c := &v.c
	c.Events++
	c.InfraCounters.apply(v, e, cfg)
	c.LLMCounters.apply(v, e, cfg)
	c.BusinessCounters.apply(v, e, cfg)

	// The window: events in the future (within the allowed skew) count as now.
	now := e.Now
	if now.IsZero() {
		now = v.state.Now()
	}
	t := e.Time
	if t.After(now) {
		t = now
	}
	slot := v.ring.At(t)
	if slot != nil {
		slot.Events++
	}
	// The drift counts against the reference are taken in the same pass over the features
	// as the data-quality counts (a second pass cost a few percent of the ingest): r is nil
	// without a reference or a slot.
	r := v.beginReference(slot)
	p := &v.pending
	full := false
	for i := range e.Features {
		fv := &e.Features[i]
		f := fv.Feature
		if f == nil {
			f = v.learn(fv.Name, fv.Type)
			fv.Feature = f // for the capture below
		}
		if f.Schema.Type == "" && !f.Any && fv.Type != "" {
			// Learnt while null: the first value gives the type.
			f.Schema.Type = fv.Type
		}
		if fv.Type == config.Categorical && f.allowed == nil && !f.Any {
			v.remember(f, fv.Str, cfg.Limits.MaxCategoriesPerFeat)
		}
		if r != nil && !f.Any {
			// Drift: counted against the reference, nulls too. This runs per value: the
			// lookup and the queueing are written out here, as calls they would not be
			// inlined.
			var ri refIndex
			if k := f.Index; k < len(r.byIndex) && r.byIndex[k].j != -2 {
				ri = r.byIndex[k]
			} else {
				ri = r.profileIndex(f, p)
			}
			switch {
			case ri.j < 0:
			case ri.queue >= 0 && fv.Type == config.Numeric:
				// Queue the value (see pendingDrift).
				q := int(ri.queue)
				if q >= len(p.lens) || p.features[q] != ri.j {
					p.grow(q, ri.j)
				}
				n := p.lens[q]
				p.values[q*pendingPerFeature+n] = fv.Num
				p.lens[q] = n + 1
				p.n++
				full = full || n+1 == pendingPerFeature
			case ri.cat >= 0 && fv.Type == config.Categorical && p.count(r.profile.Features[ri.j], ri, fv.Str):
			default:
				if addValue(r.profile.Features[ri.j], &slot.Drift.Histograms[ri.j], fv.Type, fv.Num, fv.Str) != nil {
					v.unbinned(f.Name)
				}
			}
		}
		if slot != nil && fv.Type != "" {
			slot.qualitySlot.add(f, fv)
		}
	}
	if r != nil {
		v.endReference(r, slot, e, full, cfg)
	} else if v.ref == nil {
		v.applyCapture(e, t)
	}
	if e.Prediction.Present {
		v.awaitPrediction(e, slot, now)
	}
}
