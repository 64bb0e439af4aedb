package state

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"time"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/drift"
	"github.com/opscentre/opscentre/exporter/histogram"
	"github.com/opscentre/opscentre/exporter/labels"
	"github.com/opscentre/opscentre/exporter/performance"
)

// LabelDelayBounds bucket aiops_label_delay_seconds: a minute to a month.
var LabelDelayBounds = []float64{60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400, 14 * 86400, 30 * 86400}

// Outcomes of a labelled prediction (aiops_predictions_labeled_total{outcome}).
const (
	OutcomeCorrect   = "correct"
	OutcomeIncorrect = "incorrect"
	OutcomeValue     = "regression" // a regression label: no right or wrong, see the error sums
)

// Results of a label (aiops_labels_total{result}).
const (
	LabelJoined    = "joined"    // joined to its waiting prediction
	LabelInline    = "inline"    // carried its own prediction
	LabelPending   = "pending"   // prediction unknown yet: kept for labels.unknown_id_ttl
	LabelLate      = "late_join" // a pending label joined when its prediction arrived
	LabelDuplicate = "duplicate" // the id was already labelled: the first label wins
	LabelRejected  = "rejected"  // malformed, counted with model and version "__unknown__"
	LabelEvicted   = "evicted"   // pending, dropped by labels.max_bytes (version "__unknown__")
)

// CalibrationRows is how many labelled predictions with a confidence first calibrate the CBPE
// estimate of a version. Later labelled predictions keep joining its labelled reference (in
// fixed-size reliability bins), and the calibration is fitted again every CalibrationRows
// rows, until it holds CalibrationMaxRows.
const CalibrationRows = 1000

// CalibrationMaxRows ends a version's labelled reference: the first this many labelled
// predictions with a confidence. Keeping the reference fixed after that is what lets the
// estimate disagree with the realised accuracy when the concept drifts.
const CalibrationMaxRows = 100000

// PerfCounters are the cumulative ground-truth counters of a version.
type PerfCounters struct {
	Confusion  *performance.Classification `json:"confusion,omitempty"`
	Outcomes   map[string]uint64           `json:"outcomes,omitempty"`
	Regression performance.Regression      `json:"regression"`
	Prob       performance.Probabilistic   `json:"probabilistic"`
	LabelDelay histogram.Histogram         `json:"label_delay"`
	// Evicted counts awaiting predictions dropped, by "capacity" and "age", before the
	// current process (the live store's counts come on top).
	Evicted map[string]uint64 `json:"evicted,omitempty"`
	// ROC counts a boolean model's labelled predictions by score of true and label, for the
	// realised ROC AUC across replicas and ranges.
	ROC *performance.ROC `json:"roc,omitempty"`
}

func (p *PerfCounters) clone() PerfCounters {
	out := *p
	if p.Confusion != nil {
		out.Confusion = performance.NewClassification(p.Confusion.MaxClasses)
		_ = out.Confusion.Merge(p.Confusion)
	}
	out.Outcomes = maps.Clone(p.Outcomes)
	out.Evicted = maps.Clone(p.Evicted)
	out.LabelDelay = cloneHist(p.LabelDelay)
	if p.ROC != nil {
		out.ROC = p.ROC.Clone()
	}
	return out
}

// PerfSlot is one sub-window's model performance: labelled predictions by label time, and the
// CBPE estimate of unlabelled ones by prediction time.
type PerfSlot struct {
	Class      *performance.Classification `json:"class,omitempty"`
	Regression performance.Regression      `json:"regression"`
	Prob       performance.Probabilistic   `json:"probabilistic"`
	Estimate   performance.Estimate        `json:"estimate"`
	// Binary is the CBPE confusion estimate of boolean models (positive class true).
	Binary performance.Estimate `json:"binary_estimate"`
	// ROC holds labelled boolean predictions by label time (realised ROC AUC), EstimatedROC
	// unlabelled ones split by their calibrated probability, by prediction time (CBPE's ROC AUC).
	ROC          *performance.ROC `json:"roc,omitempty"`
	EstimatedROC *performance.ROC `json:"estimated_roc,omitempty"`
}

func (p *PerfSlot) reset() {
	if p.Class != nil {
		p.Class.Reset()
	}
	p.Regression.Reset()
	p.Prob.Reset()
	p.Estimate.Reset()
	p.Binary.Reset()
	if p.ROC != nil {
		p.ROC.Reset()
	}
	if p.EstimatedROC != nil {
		p.EstimatedROC.Reset()
	}
}

// mergeROC adds o into *dst, creating it when needed; corrupt bins are skipped.
func mergeROC(dst **performance.ROC, o *performance.ROC) {
	if o == nil {
		return
	}
	if *dst == nil {
		*dst = performance.NewROC(len(o.Pos))
	}
	_ = (*dst).Merge(o)
}

func (p *PerfSlot) merge(o *PerfSlot, maxClasses int) {
	if o.Class != nil {
		if p.Class == nil {
			p.Class = performance.NewClassification(maxClasses)
		}
		_ = p.Class.Merge(o.Class)
	}
	p.Regression.Merge(&o.Regression)
	p.Prob.Merge(&o.Prob)
	p.Estimate.Merge(&o.Estimate)
	p.Binary.Merge(&o.Binary)
	mergeROC(&p.ROC, o.ROC)
	mergeROC(&p.EstimatedROC, o.EstimatedROC)
}

// perfState is the ground-truth machinery of a version that is not a counter.
type perfState struct {
	maxClasses int
	// awaiting holds predictions waiting for their label; joined remembers recently labelled
	// ids so a second label is counted as a duplicate, not kept as pending.
	awaiting, joined *labels.Store
	// cbpe estimates accuracy from confidences once calib holds CalibrationRows rows.
	cbpe  *performance.AccuracyCBPE
	calib Calibration
	// binary estimates precision, recall and F1 of boolean models once bcalib is full.
	binary *performance.BinaryCBPE
	bcalib BinaryCalibration
	// classes interns predicted class names (bounded by maxInterned); last is the class
	// interned last, tried first, as runs of one class are the rule.
	classes map[string]string
	last    string
}

// BinaryCalibration is the labelled reference of a boolean model's CBPE: the score of true
// against whether the label was true, in fixed-size reliability bins. Score and Positive are
// raw rows saved by earlier releases; they are folded into the bins on restore.
type BinaryCalibration struct {
	Score    []float64                `json:"score,omitempty"`
	Positive []bool                   `json:"positive,omitempty"`
	Bins     *performance.Reliability `json:"bins,omitempty"`
}

// Calibration is the labelled reference of the CBPE estimate: the predicted class's confidence
// against whether it was right, in fixed-size reliability bins per predicted class (at most
// labels.max_classes of them) and pooled over all classes. Predicted, Confidence and Correct
// are raw rows saved by earlier releases; they are folded into the bins on restore.
type Calibration struct {
	Predicted  []string                            `json:"predicted,omitempty"`
	Confidence []float64                           `json:"confidence,omitempty"`
	Correct    []bool                              `json:"correct,omitempty"`
	PerClass   map[string]*performance.Reliability `json:"per_class,omitempty"`
	Pooled     *performance.Reliability            `json:"pooled,omitempty"`
}

// rows is how many labelled predictions the reference holds.
func (c *Calibration) rows() float64 {
	if c.Pooled == nil {
		return float64(len(c.Predicted))
	}
	return c.Pooled.Rows + float64(len(c.Predicted))
}

func (c *BinaryCalibration) rows() float64 {
	if c.Bins == nil {
		return float64(len(c.Score))
	}
	return c.Bins.Rows + float64(len(c.Score))
}

// refitDue reports whether a reference that just reached n rows should be fitted: every
// CalibrationRows rows up to CalibrationMaxRows. A fit costs a few pool-adjacent-violators
// passes over the bins (microseconds), so refitting this often is free, and the estimate always
// rests on nearly the whole reference.
func refitDue(n float64) bool {
	return n >= CalibrationRows && n <= CalibrationMaxRows && math.Mod(n, CalibrationRows) == 0
}

func (p *perfState) init(s *State, cfg *config.Config) {
	l := cfg.Labels
	p.maxClasses = l.MaxClasses
	p.awaiting = labels.New(labels.Options{MaxCount: l.MaxAwaiting, MaxAge: time.Duration(l.MaxAge), Now: s.opts.Now, Budget: s.labelBytes})
	p.joined = labels.New(labels.Options{MaxCount: l.MaxUnknown, MaxAge: time.Duration(l.UnknownIDTTL), Now: s.opts.Now, Budget: s.labelBytes})
}

// PredictionValue is an event's prediction.
type PredictionValue struct {
	Present bool
	Type    config.FeatureType // Numeric, Categorical (a class) or Boolean
	Num     float64
	Str     []byte
}

// maxInterned bounds the class names a version keeps to avoid allocating one per event.
const maxInterned = 1024

// intern is p.class() without allocating for a class seen before.
func (ps *perfState) intern(p *PredictionValue) string {
	if p.Type != config.Categorical {
		return p.class()
	}
	if string(p.Str) == ps.last {
		return ps.last
	}
	if c, ok := ps.classes[string(p.Str)]; ok {
		ps.last = c
		return c
	}
	c := string(p.Str)
	if ps.classes == nil {
		ps.classes = map[string]string{}
	}
	if len(ps.classes) < maxInterned {
		ps.classes[c] = c
	}
	return c
}

// class is the prediction as a class name ("" for a number: a regression value).
func (p *PredictionValue) class() string {
	switch p.Type {
	case config.Categorical:
		return string(p.Str)
	case config.Boolean:
		if p.Num == 1 {
			return "true"
		}
		return "false"
	}
	return ""
}

// noScore marks a class prediction that came without the score of its class.
const noScore = -1

// awaitPrediction keeps the prediction for its label, or joins a label that came first.
func (v *Version) awaitPrediction(e *Event, slot *Slot, now time.Time) {
	if len(e.ID) == 0 && v.perf.cbpe == nil && v.perf.binary == nil {
		return // nothing to join and nothing to estimate
	}
	p := labels.Prediction{At: e.Time, Class: v.perf.intern(&e.Prediction), Value: e.Prediction.Num}
	if p.Class != "" {
		p.Value = noScore
		for _, s := range e.Scores {
			switch {
			case s.Value < 0 || s.Value > 1:
			case string(s.Name) == p.Class:
				p.Value = s.Value
			case e.Prediction.Type == config.Boolean && p.Value == noScore && len(e.Scores) == 1:
				// A boolean model with one score: a score named for the other class gives this
				// one's as its complement; any other name (e.g. "score") is the score of true.
				if isBool(string(s.Name)) || p.Class == "false" {
					p.Value = 1 - s.Value
				} else {
					p.Value = s.Value
				}
			}
		}
		if v.perf.cbpe != nil && p.Value != noScore && slot != nil {
			v.perfSlot(slot)
			_ = v.perf.cbpe.Add(&slot.Perf.Estimate, p.Class, p.Value)
		}
		if v.perf.binary != nil && p.Value != noScore && slot != nil && e.Prediction.Type == config.Boolean {
			v.perfSlot(slot)
			_ = v.perf.binary.Add(&slot.Perf.Binary, scoreOfTrue(p.Class, p.Value))
			if slot.Perf.EstimatedROC == nil {
				slot.Perf.EstimatedROC = performance.NewROC(0)
			}
			_ = v.perf.binary.EstimatedROC(slot.Perf.EstimatedROC, scoreOfTrue(p.Class, p.Value))
		}
	}
	if len(e.ID) == 0 {
		return
	}
	// The byte forms keep the id out of a string: storing it allocates nothing, and the time
	// the event was received is the time it is added (the clock is not read again). Labels that
	// came before their prediction are rare: their store is asked only when it holds any
	// (entries that expired since still count until the next put or take updates the count).
	if v.model.earlyCount.Load() == 0 {
		_, _ = v.perf.awaiting.PutBytesAt(e.ID, p, now)
		return
	}
	if l, ok := v.model.early.TakeBytes(e.ID); ok {
		lab := Label{ID: string(e.ID), Time: l.At, Class: l.Class, Value: l.Value, IsClass: l.Class != ""}
		if err := v.join(p, &lab, e.Now); err == nil {
			v.state.countLabel(v.model.Name, v.Name, LabelLate)
			_, _ = v.perf.joined.PutBytesAt(e.ID, labels.Prediction{}, now)
			return
		}
	}
	_, _ = v.perf.awaiting.PutBytesAt(e.ID, p, now)
}

func (v *Version) perfSlot(s *Slot) *PerfSlot {
	if s.Perf == nil {
		s.Perf = &PerfSlot{}
	}
	return s.Perf
}

// Label is one ground-truth label.
type Label struct {
	ID   string
	Time time.Time
	// IsClass: Class is the true class; otherwise Value is the true value (regression).
	IsClass bool
	Class   string
	Value   float64
	// Prediction, when the label carries it, is joined directly.
	Prediction *PredictionValue
}

// ErrLabelKind is a label whose kind (class or value) does not fit its prediction.
var ErrLabelKind = errors.New("label kind does not match the prediction")

// join adds a labelled prediction to the counters and to the sub-window of its label time.
// v is locked.
func (v *Version) join(p labels.Prediction, l *Label, now time.Time) error {
	classPred := p.Class != ""
	if !l.IsClass && classPred {
		return fmt.Errorf("%w: the prediction was the class %q, so the label needs \"label\", not \"value\"", ErrLabelKind, p.Class)
	}
	c := &v.c.Perf
	if !p.At.IsZero() {
		c.LabelDelay.Observe(LabelDelayBounds, max(l.Time.Sub(p.At).Seconds(), 0))
	}
	t := l.Time
	if t.After(now) {
		t = now
	}
	var ps *PerfSlot
	if slot := v.ring.At(t); slot != nil {
		ps = v.perfSlot(slot)
	}
	if c.Outcomes == nil {
		c.Outcomes = map[string]uint64{}
	}
	if !l.IsClass {
		_ = c.Regression.Add(p.Value, l.Value)
		if ps != nil {
			_ = ps.Regression.Add(p.Value, l.Value)
		}
		c.Outcomes[OutcomeValue]++
		return nil
	}
	predicted := p.Class
	if !classPred {
		predicted = drift.FormatCategory(p.Value)
	}
	if c.Confusion == nil {
		c.Confusion = performance.NewClassification(v.perf.maxClasses)
	}
	_ = c.Confusion.Add(l.Class, predicted)
	if ps != nil {
		if ps.Class == nil {
			ps.Class = performance.NewClassification(v.perf.maxClasses)
		}
		_ = ps.Class.Add(l.Class, predicted)
	}
	correct := predicted == l.Class
	if correct {
		c.Outcomes[OutcomeCorrect]++
	} else {
		c.Outcomes[OutcomeIncorrect]++
	}
	if classPred && p.Value != noScore {
		// The confidence of the predicted class against whether it was right: the binary
		// log-loss and Brier score for two-class models.
		_ = c.Prob.AddBinary(p.Value, correct)
		if ps != nil {
			_ = ps.Prob.AddBinary(p.Value, correct)
		}
		v.calibrate(p.Class, p.Value, correct)
		if isBool(p.Class) && isBool(l.Class) {
			score, positive := scoreOfTrue(p.Class, p.Value), l.Class == "true"
			v.calibrateBinary(score, positive)
			if c.ROC == nil {
				c.ROC = performance.NewROC(0)
			}
			_ = c.ROC.AddLabelled(score, positive)
			if ps != nil {
				if ps.ROC == nil {
					ps.ROC = performance.NewROC(0)
				}
				_ = ps.ROC.AddLabelled(score, positive)
			}
		}
	}
	return nil
}

func isBool(class string) bool { return class == "true" || class == "false" }

// scoreOfTrue turns the confidence of a boolean prediction into the score of true.
func scoreOfTrue(class string, confidence float64) float64 {
	if class == "true" {
		return confidence
	}
	return 1 - confidence
}

// calibrateBinary adds to the labelled reference of a boolean model's CBPE; the decision
// threshold is 0.5, the one a boolean prediction with a score implies.
func (v *Version) calibrateBinary(score float64, positive bool) {
	cb := &v.perf.bcalib
	if cb.rows() >= CalibrationMaxRows {
		return
	}
	if cb.Bins == nil {
		cb.Bins = performance.NewReliability(0)
	}
	if cb.Bins.Add(score, positive) != nil {
		return
	}
	if n := cb.rows(); refitDue(n) {
		if m, err := performance.FitBinaryCBPEReliability(cb.Bins, 0.5); err == nil {
			v.perf.binary = m
		}
	}
}

// calibrate adds to the labelled reference of the CBPE estimate and fits it when due.
func (v *Version) calibrate(predicted string, confidence float64, correct bool) {
	cb := &v.perf.calib
	if cb.rows() >= CalibrationMaxRows {
		return
	}
	if cb.Pooled == nil {
		cb.Pooled = performance.NewReliability(0)
	}
	if cb.Pooled.Add(confidence, correct) != nil {
		return
	}
	r, ok := cb.PerClass[predicted]
	if !ok && len(cb.PerClass) < max(v.perf.maxClasses, 2) {
		if cb.PerClass == nil {
			cb.PerClass = map[string]*performance.Reliability{}
		}
		r = performance.NewReliability(0)
		cb.PerClass[predicted] = r
	}
	if r != nil {
		_ = r.Add(confidence, correct)
	}
	if n := cb.rows(); refitDue(n) {
		if m, err := performance.FitAccuracyCBPEReliability(cb.PerClass, cb.Pooled); err == nil {
			v.perf.cbpe = m
		}
	}
}

// foldLegacy moves raw calibration rows saved by an earlier release into the bins.
func (c *Calibration) foldLegacy(maxClasses int) {
	rows := len(c.Predicted)
	if rows == 0 || len(c.Confidence) != rows || len(c.Correct) != rows {
		c.Predicted, c.Confidence, c.Correct = nil, nil, nil
		return
	}
	if c.Pooled == nil {
		c.Pooled = performance.NewReliability(0)
	}
	for i, p := range c.Predicted {
		if c.Pooled.Add(c.Confidence[i], c.Correct[i]) != nil {
			continue
		}
		r, ok := c.PerClass[p]
		if !ok && len(c.PerClass) < max(maxClasses, 2) {
			if c.PerClass == nil {
				c.PerClass = map[string]*performance.Reliability{}
			}
			r = performance.NewReliability(0)
			c.PerClass[p] = r
		}
		if r != nil {
			_ = r.Add(c.Confidence[i], c.Correct[i])
		}
	}
	c.Predicted, c.Confidence, c.Correct = nil, nil, nil
}

func (c *BinaryCalibration) foldLegacy() {
	if len(c.Score) > 0 && len(c.Score) == len(c.Positive) {
		if c.Bins == nil {
			c.Bins = performance.NewReliability(0)
		}
		for i, s := range c.Score {
			_ = c.Bins.Add(s, c.Positive[i])
		}
	}
	c.Score, c.Positive = nil, nil
}

// LabelResult says what happened to one label.
type LabelResult struct {
	Result  string // one of the Label… results
	Version string // the version it joined, or the one it names
}

// ApplyLabel joins a label to its waiting prediction. Without a version, every version of the
// model is searched. A label whose prediction is unknown is kept for labels.unknown_id_ttl.
func (s *State) ApplyLabel(model, version string, l *Label) (LabelResult, Resolution, error) {
	m, res := s.model([]byte(model))
	if m == nil {
		return LabelResult{}, res, nil
	}
	var candidates []*Version
	if version != "" || l.Prediction != nil {
		v, res := s.version(m, []byte(version))
		if v == nil {
			return LabelResult{}, res, nil
		}
		candidates = []*Version{v}
	} else {
		m.mu.RLock()
		for _, v := range m.versions {
			candidates = append(candidates, v)
		}
		m.mu.RUnlock()
	}
	now := s.Now()
	if l.Prediction != nil {
		v := candidates[0]
		p := labels.Prediction{At: l.Time, Class: l.Prediction.class(), Value: l.Prediction.Num}
		if p.Class != "" {
			p.Value = noScore
		}
		v.mu.Lock()
		err := v.join(p, l, now)
		v.mu.Unlock()
		if err != nil {
			return LabelResult{}, Resolved, err
		}
		s.countLabel(m.Name, v.Name, LabelInline)
		return LabelResult{Result: LabelInline, Version: v.Name}, Resolved, nil
	}
	for _, v := range candidates {
		v.mu.Lock()
		p, ok := v.perf.awaiting.Take(l.ID)
		var err error
		if ok {
			if err = v.join(p, l, now); err != nil {
				// Not this label's kind: keep the prediction for a well-formed one.
				_, _ = v.perf.awaiting.Put(l.ID, p)
			} else {
				_, _ = v.perf.joined.Put(l.ID, labels.Prediction{})
			}
		}
		v.mu.Unlock()
		if err != nil {
			return LabelResult{}, Resolved, err
		}
		if ok {
			s.countLabel(m.Name, v.Name, LabelJoined)
			return LabelResult{Result: LabelJoined, Version: v.Name}, Resolved, nil
		}
	}
	countAs := version
	if countAs == "" {
		countAs = Unknown
	}
	for _, v := range candidates {
		// Take and Put again: the store has no lookup, and a label's arrival renews the id.
		if _, ok := v.perf.joined.Take(l.ID); ok {
			_, _ = v.perf.joined.Put(l.ID, labels.Prediction{})
			s.countLabel(m.Name, v.Name, LabelDuplicate)
			return LabelResult{Result: LabelDuplicate, Version: v.Name}, Resolved, nil
		}
	}
	class, value := l.Class, l.Value
	if !l.IsClass {
		class = ""
	}
	stored, err := m.early.Put(l.ID, labels.Prediction{At: l.Time, Class: class, Value: value})
	if err != nil {
		return LabelResult{}, Resolved, err
	}
	result := LabelPending
	if !stored {
		result = LabelDuplicate
	}
	s.countLabel(m.Name, countAs, result)
	return LabelResult{Result: result, Version: countAs}, Resolved, nil
}

// LabelKey identifies one aiops_labels_total series.
type LabelKey struct {
	Model, Version, Result string
}

// CountLabel counts a label result that the state did not see (a rejected label).
func (s *State) CountLabel(model, version, result string) { s.countLabel(model, version, result) }

func (s *State) countLabel(model, version, result string) {
	s.labelMu.Lock()
	s.labelResults[LabelKey{model, version, result}]++
	s.labelMu.Unlock()
}

// LabelResults returns the label counts.
// Pending labels dropped by labels.max_bytes are counted with result "evicted".
func (s *State) LabelResults() map[LabelKey]uint64 {
	// The models' lock is taken before labelMu elsewhere, so never inside it.
	evicted := map[string]uint64{}
	s.mu.RLock()
	for name, m := range s.models {
		if n := m.early.Stats().EvictedMemory; n > 0 {
			evicted[name] = n
		}
	}
	s.mu.RUnlock()
	s.labelMu.Lock()
	defer s.labelMu.Unlock()
	out := make(map[LabelKey]uint64, len(s.labelResults)+len(evicted))
	for k, v := range s.labelResults {
		out[k] = v
	}
	for model, n := range evicted {
		out[LabelKey{model, Unknown, LabelEvicted}] += n
	}
	return out
}

// PerfReading is a copy of a version's ground-truth numbers, taken for a scrape.
type PerfReading struct {
	Counters PerfCounters
	// Window merges the sub-windows: labelled predictions by label time, and the CBPE
	// estimate by prediction time. Nil when nothing was labelled or estimated in it.
	Window   *PerfSlot
	Awaiting int
	// Evicted adds the live store's evictions to the saved ones.
	Evicted    map[string]uint64
	Calibrated bool
}

// ReadPerf copies the version's ground-truth numbers as of now.
func (v *Version) ReadPerf(now time.Time) PerfReading {
	v.mu.Lock()
	defer v.mu.Unlock()
	r := PerfReading{Counters: v.c.Perf.clone(), Awaiting: v.perf.awaiting.Len(), Calibrated: v.perf.cbpe != nil}
	v.ring.Each(now, func(s *Slot) {
		if s.Perf == nil {
			return
		}
		if r.Window == nil {
			r.Window = &PerfSlot{}
		}
		r.Window.merge(s.Perf, v.perf.maxClasses)
	})
	r.Evicted = v.evicted()
	return r
}

// evicted adds the live store's evictions to the saved ones, by reason; v is locked.
func (v *Version) evicted() map[string]uint64 {
	st := v.perf.awaiting.Stats()
	return map[string]uint64{
		"capacity": v.c.Perf.Evicted["capacity"] + st.EvictedCapacity,
		"age":      v.c.Perf.Evicted["age"] + st.EvictedAge,
		"memory":   v.c.Perf.Evicted["memory"] + st.EvictedMemory,
	}
}

// validate checks a calibration loaded from storage.
func (c *Calibration) validate() error {
	if c.Pooled != nil {
		if err := c.Pooled.Validate(); err != nil {
			return fmt.Errorf("pooled: %w", err)
		}
	}
	for class, r := range c.PerClass {
		if r == nil {
			return fmt.Errorf("per_class[%q]: missing", class)
		}
		if err := r.Validate(); err != nil {
			return fmt.Errorf("per_class[%q]: %w", class, err)
		}
	}
	return nil
}

// clone copies the calibration deeply: the bins keep changing after a snapshot is taken.
func (c *Calibration) clone() *Calibration {
	out := &Calibration{Predicted: c.Predicted, Confidence: c.Confidence, Correct: c.Correct}
	if c.Pooled != nil {
		out.Pooled = c.Pooled.Clone()
	}
	if c.PerClass != nil {
		out.PerClass = make(map[string]*performance.Reliability, len(c.PerClass))
		for k, r := range c.PerClass {
			out.PerClass[k] = r.Clone()
		}
	}
	return out
}

func (c *BinaryCalibration) clone() *BinaryCalibration {
	out := &BinaryCalibration{Score: c.Score, Positive: c.Positive}
	if c.Bins != nil {
		out.Bins = c.Bins.Clone()
	}
	return out
}
