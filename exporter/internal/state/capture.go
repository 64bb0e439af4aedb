package state

// Reference capture, part of the drift pillar: a version without an uploaded reference
// builds one from its first events (reference.capture_first) or from the events of a time
// range (reference.from, reference.to), then counts drift against it.

import (
	"time"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/drift"
	"github.com/opscentre/opscentre/exporter/internal/reference"
)

// builderMaxCategories is drift.ProfileOptions' default MaxCategories.
const builderMaxCategories = 50

// capture collects a reference from live events.
type capture struct {
	cfg config.Reference
	b   *drift.Builder
	n   int
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
