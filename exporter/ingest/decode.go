package ingest

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/valyala/fastjson"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/state"
)

// maxNameLen bounds model and version names; longer ones are not names but payload.
const maxNameLen = 256

// decoder decodes and validates events. It is not safe for concurrent use; the Ingester
// pools them so buffers and the parser's memory are reused across requests.
type decoder struct {
	st     *state.State
	parser fastjson.Parser
	ev     state.Event
	seen   []uint64 // per feature index: the event number that last set it
	evNum  uint64
	// versions caches resolved model versions (model → version → state). Versions are never
	// removed from the state, so an entry stays valid; unresolved names are not cached.
	versions map[string]map[string]*state.Version

	// Set by the current event's validation; the first error wins.
	bad    bool
	field  string
	reason string
	msg    string
}

func (d *decoder) fail(field, reason, format string, args ...any) {
	if d.bad {
		return
	}
	d.bad, d.field, d.reason, d.msg = true, field, reason, fmt.Sprintf(format, args...)
}

// ingestBody handles a whole body: a JSON array, one object, or NDJSON.
func (d *decoder) ingestBody(body []byte, ndjson bool, res *Result) error {
	if !ndjson {
		v, err := d.parser.ParseBytes(body)
		if err == nil {
			switch v.Type() {
			case fastjson.TypeArray:
				arr, _ := v.Array()
				for i, e := range arr {
					d.ingestValue(i, e, res)
				}
				return nil
			case fastjson.TypeObject:
				d.ingestValue(0, v, res)
				return nil
			}
			return fmt.Errorf("body must be a JSON array of events, one event object, or NDJSON; got a JSON %s", v.Type())
		}
		// Objects separated by newlines without the NDJSON content type: read them as NDJSON
		// so each line gets its own verdict.
		if !bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) {
			return fmt.Errorf("body is not valid JSON: %w", err)
		}
	}
	d.ingestLines(body, 0, res)
	return nil
}

// ingestLines handles NDJSON starting at event index first; it returns the next index.
func (d *decoder) ingestLines(body []byte, first int, res *Result) int {
	i := first
	for len(body) > 0 {
		line := body
		if n := bytes.IndexByte(body, '\n'); n >= 0 {
			line, body = body[:n], body[n+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		v, err := d.parser.ParseBytes(line)
		if err != nil {
			d.reject(i, "", ReasonInvalidJSON, "line is not valid JSON: "+err.Error(), res)
		} else {
			d.ingestValue(i, v, res)
		}
		i++
	}
	return i
}

func (d *decoder) reject(i int, field, reason, msg string, res *Result) {
	d.st.Reject(state.Unknown, state.Unknown, reason)
	res.Rejected = append(res.Rejected, Rejection{Index: i, Field: field, Reason: reason, Message: msg})
}

// ingestValue validates one event and applies it if valid.
func (d *decoder) ingestValue(i int, v *fastjson.Value, res *Result) {
	o, err := v.Object()
	if err != nil {
		d.reject(i, "", ReasonInvalidJSON, fmt.Sprintf("event must be a JSON object, got %s", v.Type()), res)
		return
	}
	model, field, reason, msg := nameField(o, "model", true)
	if reason != "" {
		d.reject(i, field, reason, msg, res)
		return
	}
	version, field, reason, msg := nameField(o, "version", false)
	if reason != "" {
		d.reject(i, field, reason, msg, res)
		return
	}
	ver, resolution := d.resolve(model, version)
	switch resolution {
	case state.UnknownModel:
		d.reject(i, "model", ReasonUnknownModel, fmt.Sprintf("model %q is not configured and unknown_models is reject", truncate(model)), res)
		return
	case state.UnknownVersion:
		d.reject(i, "version", ReasonUnknownVersion, fmt.Sprintf("version %q of model %q is not configured and unknown_models is reject", truncate(version), truncate(model)), res)
		return
	}
	ver.Lock()
	d.bad = false
	d.ev.Reset()
	d.evNum++
	d.event(o, ver)
	if !d.bad {
		ver.Apply(&d.ev)
	}
	ver.Unlock()
	if d.bad {
		d.st.Reject(ver.Model(), ver.Name, d.reason)
		res.Rejected = append(res.Rejected, Rejection{Index: i, Field: d.field, Reason: d.reason, Message: d.msg})
		return
	}
	res.Accepted++
}

// resolve is state.Resolve behind the decoder's cache, sparing the state's locks per event.
func (d *decoder) resolve(model, version []byte) (*state.Version, state.Resolution) {
	if ver := d.versions[string(model)][string(version)]; ver != nil {
		return ver, state.Resolved
	}
	ver, res := d.st.Resolve(model, version)
	if res == state.Resolved {
		if d.versions == nil {
			d.versions = make(map[string]map[string]*state.Version)
		}
		byVersion := d.versions[string(model)]
		if byVersion == nil {
			byVersion = make(map[string]*state.Version)
			d.versions[string(model)] = byVersion
		}
		byVersion[string(version)] = ver
	}
	return ver, res
}

func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "…"
	}
	return string(b)
}

// nameField reads a model or version name.
func nameField(o *fastjson.Object, key string, required bool) (name []byte, field, reason, msg string) {
	v := o.Get(key)
	if v == nil || v.Type() == fastjson.TypeNull {
		if required {
			return nil, key, ReasonMissingModel, "every event needs a model"
		}
		return nil, "", "", ""
	}
	b, err := v.StringBytes()
	if err != nil {
		return nil, key, ReasonTypeMismatch, fmt.Sprintf("%s must be a string, got %s", key, v.Type())
	}
	if len(b) == 0 && required {
		return nil, key, ReasonMissingModel, "model must not be empty"
	}
	if len(b) > maxNameLen {
		return nil, key, ReasonInvalidValue, fmt.Sprintf("%s is %d bytes long; at most %d allowed", key, len(b), maxNameLen)
	}
	return b, "", "", ""
}

// event validates o into d.ev; ver is locked.
func (d *decoder) event(o *fastjson.Object, ver *state.Version) {
	now := d.st.Now()
	d.ev.Time = now
	limits := d.st.Config().Limits
	o.Visit(func(key []byte, v *fastjson.Value) {
		if d.bad {
			return
		}
		switch string(key) {
		case "model", "version":
		case "id":
			if t := v.Type(); t != fastjson.TypeString && t != fastjson.TypeNumber && t != fastjson.TypeNull {
				d.fail("id", ReasonTypeMismatch, "id must be a string or a number, got %s", t)
			}
		case "timestamp":
			d.timestamp(v, now, limits)
		case "features":
			d.features(v, ver)
		case "prediction":
			switch t := v.Type(); t {
			case fastjson.TypeObject, fastjson.TypeArray:
				d.fail("prediction", ReasonTypeMismatch, "prediction must be a number, string or boolean, got %s", t)
			case fastjson.TypeNumber:
				d.number("prediction", v, false)
			}
		case "scores":
			d.scores(v)
		case "latency_seconds":
			d.ev.Latency, d.ev.HasLatency = d.number("latency_seconds", v, true)
		case "error":
			d.errorField(v)
		case "tokens":
			d.tokens(v)
		case "cost":
			d.ev.Cost, d.ev.HasCost = d.number("cost", v, true)
		case "outcome":
			d.outcome(v)
		case "feedback":
			d.feedback(v)
		case "input_text_length":
			d.ev.InputLen, d.ev.HasInputLen = d.number("input_text_length", v, true)
		case "business":
			d.business(v)
		case "queue_depth":
			d.ev.QueueDepth, d.ev.HasQueue = d.number("queue_depth", v, true)
		default:
			d.fail(string(key), ReasonUnknownField, "unknown field %q; see the event schema in exporter/README.md", truncate(key))
		}
	})
	if d.bad {
		return
	}
	ver.Required(func(f *state.Feature) {
		if f.Index >= len(d.seen) || d.seen[f.Index] != d.evNum {
			d.fail("features."+f.Name, ReasonMissingRequired, "feature %q is required", f.Name)
		}
	})
}

// number reads a finite number; null gives ok=false. nonNegative rejects values below 0.
func (d *decoder) number(field string, v *fastjson.Value, nonNegative bool) (float64, bool) {
	switch v.Type() {
	case fastjson.TypeNull:
		return 0, false
	case fastjson.TypeNumber:
	default:
		d.fail(field, ReasonTypeMismatch, "%s must be a number, got %s", field, v.Type())
		return 0, false
	}
	f, err := v.Float64()
	if err != nil {
		d.fail(field, ReasonTypeMismatch, "%s is not a valid number: %v", field, err)
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		d.fail(field, ReasonNonFinite, "%s must be finite, got %v", field, f)
		return 0, false
	}
	if nonNegative && f < 0 {
		d.fail(field, ReasonNegativeValue, "%s must not be negative, got %v", field, f)
		return 0, false
	}
	return f, true
}

func (d *decoder) timestamp(v *fastjson.Value, now time.Time, limits config.Limits) {
	var t time.Time
	switch v.Type() {
	case fastjson.TypeNull:
		return
	case fastjson.TypeNumber:
		sec, ok := d.number("timestamp", v, false)
		if !ok {
			return
		}
		if math.Abs(sec) > 1e11 { // beyond year 5138: milliseconds or garbage, not seconds
			d.fail("timestamp", ReasonTimestampOutOfRange, "timestamp %v is not Unix seconds", sec)
			return
		}
		whole, frac := math.Modf(sec)
		t = time.Unix(int64(whole), int64(frac*1e9))
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		var err error
		t, err = time.Parse(time.RFC3339Nano, string(b))
		if err != nil {
			d.fail("timestamp", ReasonTypeMismatch, "timestamp must be RFC 3339 or Unix seconds: %v", err)
			return
		}
	default:
		d.fail("timestamp", ReasonTypeMismatch, "timestamp must be RFC 3339 or Unix seconds, got %s", v.Type())
		return
	}
	if skew := time.Duration(limits.MaxClockSkew); t.After(now.Add(skew)) {
		d.fail("timestamp", ReasonTimestampOutOfRange, "timestamp %s is more than %s (limits.max_clock_skew) in the future", t.UTC().Format(time.RFC3339), skew)
		return
	}
	if age := time.Duration(limits.MaxEventAge); t.Before(now.Add(-age)) {
		d.fail("timestamp", ReasonTimestampOutOfRange, "timestamp %s is older than %s (limits.max_event_age)", t.UTC().Format(time.RFC3339), age)
		return
	}
	d.ev.Time = t
}

func (d *decoder) features(v *fastjson.Value, ver *state.Version) {
	if v.Type() == fastjson.TypeNull {
		return
	}
	o, err := v.Object()
	if err != nil {
		d.fail("features", ReasonTypeMismatch, "features must be an object, got %s", v.Type())
		return
	}
	policy := ver.LearnPolicy()
	pos := -1
	o.Visit(func(key []byte, v *fastjson.Value) {
		pos++
		if d.bad {
			return
		}
		f := ver.FeatureAt(pos, key)
		if f == nil && policy == config.PolicyReject {
			d.fail("features."+string(key), ReasonUnknownFeature, "feature %q is not configured for this model and unknown_features is reject", truncate(key))
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
		case f != nil && !f.Any:
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

func (d *decoder) scores(v *fastjson.Value) {
	if v.Type() == fastjson.TypeNull {
		return
	}
	o, err := v.Object()
	if err != nil {
		d.fail("scores", ReasonTypeMismatch, "scores must be an object of numbers, got %s", v.Type())
		return
	}
	o.Visit(func(key []byte, v *fastjson.Value) {
		if !d.bad && v.Type() != fastjson.TypeNull {
			d.number("scores."+string(key), v, false)
		}
	})
}

// errorField reads error: a short error type ("timeout"), true, or null/false for success.
func (d *decoder) errorField(v *fastjson.Value) {
	switch v.Type() {
	case fastjson.TypeNull, fastjson.TypeFalse:
	case fastjson.TypeTrue:
		d.ev.ErrorType = errorTrue
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		if len(b) == 0 {
			return
		}
		if len(b) > maxNameLen {
			d.fail("error", ReasonInvalidValue, "error must be a short error type such as \"timeout\" (at most %d bytes), got %d bytes", maxNameLen, len(b))
			return
		}
		d.ev.ErrorType = b
	default:
		d.fail("error", ReasonTypeMismatch, "error must be an error type string or a boolean, got %s", v.Type())
	}
}

var errorTrue = []byte("error")

func (d *decoder) tokens(v *fastjson.Value) {
	if v.Type() == fastjson.TypeNull {
		return
	}
	o, err := v.Object()
	if err != nil {
		d.fail("tokens", ReasonTypeMismatch, "tokens must be an object {input, output, cached}, got %s", v.Type())
		return
	}
	o.Visit(func(key []byte, v *fastjson.Value) {
		if d.bad {
			return
		}
		var i int
		switch string(key) {
		case "input":
			i = 0
		case "output":
			i = 1
		case "cached":
			i = 2
		default:
			d.fail("tokens."+string(key), ReasonInvalidValue, "unknown token type %q; expected input, output or cached", truncate(key))
			return
		}
		field := "tokens." + state.TokenTypes[i]
		x, ok := d.number(field, v, true)
		if !ok {
			return
		}
		if x != math.Trunc(x) || x > 1<<53 {
			d.fail(field, ReasonTypeMismatch, "%s must be a whole number of tokens, got %v", field, x)
			return
		}
		d.ev.Tokens[i] = uint64(x)
		d.ev.HasTokens = true
	})
	if !d.bad && d.ev.Tokens[2] > d.ev.Tokens[0] {
		d.fail("tokens.cached", ReasonInvalidValue, "cached tokens (%d) are part of input tokens (%d) and cannot exceed them", d.ev.Tokens[2], d.ev.Tokens[0])
	}
}

func (d *decoder) outcome(v *fastjson.Value) {
	if v.Type() == fastjson.TypeNull {
		return
	}
	o, err := v.Object()
	if err != nil {
		d.fail("outcome", ReasonTypeMismatch, "outcome must be an object {task, escalated}, got %s", v.Type())
		return
	}
	escalated := false
	o.Visit(func(key []byte, v *fastjson.Value) {
		if d.bad {
			return
		}
		switch string(key) {
		case "task":
			if v.Type() == fastjson.TypeNull {
				return
			}
			b, err := v.StringBytes()
			if err != nil {
				d.fail("outcome.task", ReasonTypeMismatch, "outcome.task must be a string, got %s", v.Type())
				return
			}
			d.ev.Outcome = index(state.Outcomes[:], b)
			if d.ev.Outcome < 0 {
				d.fail("outcome.task", ReasonInvalidValue, "outcome.task %q: expected completed, failed, escalated or abandoned", truncate(b))
			}
		case "escalated":
			switch v.Type() {
			case fastjson.TypeTrue:
				escalated = true
			case fastjson.TypeFalse, fastjson.TypeNull:
			default:
				d.fail("outcome.escalated", ReasonTypeMismatch, "outcome.escalated must be a boolean, got %s", v.Type())
			}
		default:
			d.fail("outcome."+string(key), ReasonUnknownField, "unknown field %q in outcome; expected task or escalated", truncate(key))
		}
	})
	// One outcome per event: an escalation is what happened to the task, whatever else it says.
	if escalated {
		d.ev.Outcome = 2
	}
}

func (d *decoder) feedback(v *fastjson.Value) {
	if v.Type() == fastjson.TypeNull {
		return
	}
	o, err := v.Object()
	if err != nil {
		d.fail("feedback", ReasonTypeMismatch, "feedback must be an object {rating}, got %s", v.Type())
		return
	}
	o.Visit(func(key []byte, v *fastjson.Value) {
		if d.bad {
			return
		}
		if string(key) != "rating" {
			d.fail("feedback."+string(key), ReasonUnknownField, "unknown field %q in feedback; expected rating", truncate(key))
			return
		}
		switch v.Type() {
		case fastjson.TypeNull:
		case fastjson.TypeString:
			b, _ := v.StringBytes()
			if d.ev.Feedback = index(state.Ratings[:], b); d.ev.Feedback < 0 {
				d.fail("feedback.rating", ReasonInvalidValue, "feedback.rating %q: expected positive, negative or 1..5", truncate(b))
			}
		case fastjson.TypeNumber:
			x, ok := d.number("feedback.rating", v, false)
			if !ok {
				return
			}
			if x != math.Trunc(x) || x < 1 || x > 5 {
				d.fail("feedback.rating", ReasonInvalidValue, "feedback.rating %v: expected a whole number from 1 to 5", x)
				return
			}
			d.ev.Feedback = int(x) + 1 // "1" is Ratings[2]
		default:
			d.fail("feedback.rating", ReasonTypeMismatch, "feedback.rating must be positive, negative or 1..5, got %s", v.Type())
		}
	})
}

func index(set []string, b []byte) int {
	for i, s := range set {
		if s == string(b) {
			return i
		}
	}
	return -1
}

func (d *decoder) business(v *fastjson.Value) {
	if v.Type() == fastjson.TypeNull {
		return
	}
	o, err := v.Object()
	if err != nil {
		d.fail("business", ReasonTypeMismatch, "business must be an object of name: value, got %s", v.Type())
		return
	}
	o.Visit(func(key []byte, v *fastjson.Value) {
		if d.bad {
			return
		}
		if len(key) == 0 || len(key) > maxNameLen {
			d.fail("business", ReasonInvalidValue, "business names must be 1..%d bytes long", maxNameLen)
			return
		}
		x, ok := d.number("business."+string(key), v, true)
		if ok {
			d.ev.Business = append(d.ev.Business, state.Business{Name: key, Value: x})
		}
	})
}
