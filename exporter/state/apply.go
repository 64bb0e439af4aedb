package state

import (
	"math"
	"time"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/drift"
	"github.com/opscentre/opscentre/exporter/textquality"
	"github.com/opscentre/opscentre/exporter/window"
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
	defer v.mu.Unlock()
	if resolve != nil && !resolve(Schema{v}) {
		return false
	}
	v.apply(e)
	return true
}

// apply adds a validated event to the version; v is locked.
func (v *Version) apply(e *Event) {
	cfg := v.state.Config()
	c := &v.c
	c.Events++
	if e.HasLatency {
		c.Latency.Observe(LatencyBounds, e.Latency)
		if e.HasTokens {
			c.Duration.Observe(GenAIDurationBounds, e.Latency)
		}
	}
	if e.ErrorType != nil {
		if c.Errors == nil {
			c.Errors = make(map[string]uint64)
		}
		c.Errors[v.state.bound(LabelType, e.ErrorType, cfg.Limits.MaxLabelValues)]++
	}
	if e.HasTokens {
		for i, n := range e.Tokens {
			c.Tokens[i] += n
		}
		c.TokenUsage[0].Observe(GenAITokenBounds, float64(e.Tokens[0]))
		c.TokenUsage[1].Observe(GenAITokenBounds, float64(e.Tokens[1]))
	}
	if cost, currency, ok := v.cost(e, cfg); ok {
		if c.Cost == nil {
			c.Cost = make(map[string]float64)
		}
		c.Cost[currency] += cost
	}
	if e.Outcome >= 0 {
		c.Outcomes[e.Outcome]++
	}
	if e.Feedback >= 0 {
		c.Feedback[e.Feedback]++
	}
	if e.Contained > 0 {
		c.Contained[e.Contained-1]++
	}
	if e.HasInputLen {
		c.InputLength.Observe(InputLengthBounds, e.InputLen)
	}
	if e.HasText {
		c.Text.RougeL.Observe(TextScoreBounds, e.RougeL)
		c.Text.BLEU.Observe(TextScoreBounds, e.BLEU.SmoothedScore())
		c.Text.Corpus.Merge(&e.BLEU)
	}
	if e.HasQueue {
		q := e.QueueDepth
		c.QueueDepth = &q
	}
	for _, b := range e.Business {
		if c.Business == nil {
			c.Business = make(map[string]*BusinessCount)
		}
		name := v.state.bound(LabelName, b.Name, cfg.Limits.MaxLabelValues)
		bc := c.Business[name]
		if bc == nil {
			bc = &BusinessCount{}
			c.Business[name] = bc
		}
		bc.Events++
		bc.Value += b.Value
	}

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
	// as the window's (a second pass cost a few percent of the ingest): r is nil without a
	// reference or a slot.
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
			// Counted against the reference, nulls too. This runs per value: the lookup
			// and the queueing are written out here, as calls they would not be inlined.
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
		if slot == nil || fv.Type == "" {
			continue
		}
		for len(slot.Features) <= f.Index {
			slot.Features = append(slot.Features, FeatureSlot{Extra: v.accumulators(v.list[len(slot.Features)])})
		}
		fs := &slot.Features[f.Index]
		fs.Present++
		if fv.Type == config.Numeric {
			if outlier(f.Schema, fv.Num) {
				fs.Outliers++
			}
			for _, a := range fs.Extra {
				a.Add(fv.Num)
			}
		}
	}
	if r != nil {
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
		v.endReference(r, slot, e, full)
	} else if v.ref == nil {
		v.applyCapture(e, t)
	}
	if e.Prediction.Present {
		v.awaitPrediction(e, slot, now)
	}
}

func (v *Version) accumulators(f *Feature) []window.Accumulator {
	if v.state.opts.NewAccumulators == nil {
		return nil
	}
	return v.state.opts.NewAccumulators(v.model.Name, v.Name, f.Name)
}

func outlier(s config.Feature, x float64) bool {
	return (s.ExpectedMin != nil && x < *s.ExpectedMin) || (s.ExpectedMax != nil && x > *s.ExpectedMax)
}

// remember records a learnt category, bounded by limits.max_categories_per_feature.
func (v *Version) remember(f *Feature, value []byte, limit int) {
	if _, ok := f.categories[string(value)]; ok {
		return
	}
	if len(f.categories) >= limit {
		v.state.fold(LabelBin)
		return
	}
	f.categories[string(value)] = struct{}{}
}

// cost is the event's own cost, or the one derived from the model's price table.
func (v *Version) cost(e *Event, cfg *config.Config) (float64, string, bool) {
	p := v.ModelConfig().Price
	currency := cfg.DefaultCurrency
	if p != nil && p.Currency != "" {
		currency = p.Currency
	}
	if e.HasCost {
		return e.Cost, currency, true
	}
	if p == nil || !e.HasTokens {
		return 0, "", false
	}
	cachedPrice := p.Input
	if p.CachedInput != nil {
		cachedPrice = *p.CachedInput
	}
	in, out, cached := float64(e.Tokens[0]), float64(e.Tokens[1]), float64(e.Tokens[2])
	cached = math.Min(cached, in)
	return ((in-cached)*p.Input + cached*cachedPrice + out*p.Output) / 1e6, currency, true
}
