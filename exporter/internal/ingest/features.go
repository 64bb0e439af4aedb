package ingest

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// readFeatures keeps the features object for features, which checks it against the
// version's schema under the version's lock (a repeated features key keeps each object).
func (d *decoder) readFeatures(v *fastjson.Value) {
	if v.Type() == fastjson.TypeNull {
		return
	}
	o, err := v.Object()
	if err != nil {
		d.fail("features", ReasonTypeMismatch, "features must be an object, got %s", v.Type())
		return
	}
	d.featureObjects = append(d.featureObjects, o)
}

// features validates the features objects kept by readFeatures against the version schema:
// the configured type and bounds, or for a learnt feature the type of its first value.
func (d *decoder) features(s state.Schema) {
	if len(d.featureObjects) == 0 {
		return
	}
	policy := s.LearnPolicy()
	for _, o := range d.featureObjects {
		if d.bad {
			return
		}
		d.featureObject(o, s, policy)
	}
}

func (d *decoder) featureObject(o *fastjson.Object, s state.Schema, policy config.Policy) {
	pos := -1
	o.Visit(func(key []byte, v *fastjson.Value) {
		pos++
		if d.bad {
			return
		}
		f := s.FeatureAt(pos, key)
		if f == nil && policy == config.PolicyReject {
			d.fail("features."+string(key), ReasonUnknownFeature, "feature %q is not configured for this model and unknown_features is reject", truncate(key))
			return
		}
		if f == nil && (len(key) == 0 || len(key) > maxNameLen || !utf8.Valid(key)) {
			// A learnt feature name becomes a label value.
			d.fail("features", ReasonInvalidValue, "feature names must be valid UTF-8, 1..%d bytes long", maxNameLen)
			return
		}
		fv := state.FeatureValue{Feature: f, Name: key}
		if f != nil {
			for len(d.seen) <= f.Index {
				d.seen = append(d.seen, 0)
			}
		}
		t := v.Type()
		if t == fastjson.TypeNull {
			if f != nil && f.Schema.Required {
				d.fail("features."+f.Name, ReasonMissingRequired, "feature %q is required and must not be null", f.Name)
				return
			}
			if f != nil {
				d.seen[f.Index] = d.evNum
			}
			d.ev.Features = append(d.ev.Features, fv)
			return
		}
		var want config.FeatureType
		switch {
		case f != nil && !f.Any && f.Schema.Type != "":
			want = f.Schema.Type
		case t == fastjson.TypeNumber:
			want = config.Numeric
		case t == fastjson.TypeString:
			want = config.Categorical
		case t == fastjson.TypeTrue || t == fastjson.TypeFalse:
			want = config.Boolean
		default:
			d.fail("features."+string(key), ReasonTypeMismatch, "feature %q must be a number, string or boolean, got %s", truncate(key), t)
			return
		}
		if !d.featureValue(&fv, f, want, t, v) {
			return
		}
		if f != nil {
			d.seen[f.Index] = d.evNum
		}
		d.ev.Features = append(d.ev.Features, fv)
	})
}

func (d *decoder) featFail(fv *state.FeatureValue, reason, format string, args ...any) {
	d.fail("features."+string(fv.Name), reason, "feature %q: "+format, append([]any{truncate(fv.Name)}, args...)...)
}

// featureValue checks one non-null feature value against the type it must have.
func (d *decoder) featureValue(fv *state.FeatureValue, f *state.Feature, want config.FeatureType, t fastjson.Type, v *fastjson.Value) bool {
	fv.Type = want
	switch want {
	case config.Numeric:
		if t != fastjson.TypeNumber {
			d.featFail(fv, ReasonTypeMismatch, "expected a number, got %s", t)
			return false
		}
		x, err := v.Float64()
		if err != nil {
			d.featFail(fv, ReasonTypeMismatch, "not a valid number: %v", err)
			return false
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			d.featFail(fv, ReasonNonFinite, "must be finite, got %v", x)
			return false
		}
		if f != nil {
			if s := f.Schema; (s.Min != nil && x < *s.Min) || (s.Max != nil && x > *s.Max) {
				d.featFail(fv, ReasonOutOfRange, "%v is outside the configured range [%s, %s]", x, bound(s.Min, "-inf"), bound(s.Max, "+inf"))
				return false
			}
		}
		fv.Num = x
	case config.Categorical, config.Text:
		if t != fastjson.TypeString {
			d.featFail(fv, ReasonTypeMismatch, "expected a string (%s), got %s", want, t)
			return false
		}
		b, _ := v.StringBytes()
		if want == config.Categorical && !utf8.Valid(b) {
			// Categories become bin label values of the drift metrics.
			d.featFail(fv, ReasonInvalidValue, "categorical value is not valid UTF-8")
			return false
		}
		if want == config.Categorical && f != nil && !f.Allowed(b) {
			d.featFail(fv, ReasonUnknownCategory, "%q is not one of the allowed values", truncate(b))
			return false
		}
		if want == config.Text && f != nil && f.Schema.MaxLength > 0 && len(b) > f.Schema.MaxLength {
			d.featFail(fv, ReasonOutOfRange, "text is %d bytes long; max_length is %d", len(b), f.Schema.MaxLength)
			return false
		}
		fv.Str = b
	case config.Boolean:
		switch t {
		case fastjson.TypeTrue:
			fv.Num = 1
		case fastjson.TypeFalse:
			fv.Num = 0
		default:
			d.featFail(fv, ReasonTypeMismatch, "expected true or false, got %s", t)
			return false
		}
	}
	return true
}

func bound(p *float64, none string) string {
	if p == nil {
		return none
	}
	return strconv.FormatFloat(*p, 'g', -1, 64)
}
