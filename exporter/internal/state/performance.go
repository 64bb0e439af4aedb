package state

// The performance pillar: predictions waiting for their ground-truth label, the labelled
// ones counted cumulatively (confusion, regression errors, log loss, label delay, ROC) and in
// the sub-window of their label time, and the CBPE estimate of unlabelled ones in the
// sub-window of their prediction time (calibration.go). Apply adds a prediction with
// awaitPrediction, labels.go joins a label with join; ReadPerf reads it; snapshotPerf and
// restorePerf save it.

import (
	"fmt"
	"maps"
	"time"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/drift"
	"github.com/opscentre/opscentre/exporter/internal/histogram"
	"github.com/opscentre/opscentre/exporter/internal/labels"
	"github.com/opscentre/opscentre/exporter/internal/performance"
)

// LabelDelayBounds bucket aiops_label_delay_seconds: a minute to a month.
var LabelDelayBounds = []float64{60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400, 14 * 86400, 30 * 86400}

// Outcomes of a labelled prediction (aiops_predictions_labeled_total{outcome}).
const (
	OutcomeCorrect   = "correct"
	OutcomeIncorrect = "incorrect"
	OutcomeValue     = "regression" // a regression label: no right or wrong, see the error sums
)

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
func (v *Version) awaitPrediction(e *Event, slot *subWindow, now time.Time) {
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

func (v *Version) perfSlot(s *subWindow) *PerfSlot {
	if s.Perf == nil {
		s.Perf = &PerfSlot{}
	}
	return s.Perf
}

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
	v.ring.Each(now, func(s *subWindow) {
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

// snapshotPerf adds the performance pillar's state to a version's snapshot: the evictions
// so far, the predictions awaiting a label and the CBPE calibration; v is locked.
func (v *Version) snapshotPerf(vs *VersionSnapshot) {
	if ev := v.evicted(); ev["capacity"]+ev["age"]+ev["memory"] > 0 {
		vs.Counters.Perf.Evicted = ev
	}
	v.perf.awaiting.Each(func(e labels.Entry) bool {
		vs.Awaiting = append(vs.Awaiting, e)
		return true
	})
	if v.perf.calib.rows() > 0 {
		vs.Calibration = v.perf.calib.clone()
	}
	vs.CBPE = v.perf.cbpe
	if v.perf.bcalib.rows() > 0 {
		vs.BinaryCalibration = v.perf.bcalib.clone()
	}
	vs.BinaryCBPE = v.perf.binary
}

// restorePerf restores what snapshotPerf saved; v is unpublished.
func (v *Version) restorePerf(x *VersionExtra) error {
	for _, e := range x.Awaiting {
		if _, err := v.perf.awaiting.Restore(e); err != nil {
			return fmt.Errorf("awaiting prediction %q: %w", e.ID, err)
		}
	}
	if x.Calibration != nil {
		if err := x.Calibration.validate(); err != nil {
			return fmt.Errorf("calibration: %w", err)
		}
		v.perf.calib = *x.Calibration
		v.perf.calib.foldLegacy(v.perf.maxClasses)
	}
	v.perf.cbpe = x.CBPE
	if x.BinaryCalibration != nil {
		if x.BinaryCalibration.Bins != nil {
			if err := x.BinaryCalibration.Bins.Validate(); err != nil {
				return fmt.Errorf("binary calibration: %w", err)
			}
		}
		v.perf.bcalib = *x.BinaryCalibration
		v.perf.bcalib.foldLegacy()
	}
	v.perf.binary = x.BinaryCBPE
	return nil
}
