package ingest

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// maxCached bounds the decoder's resolution cache.
const maxCached = 4096

// maxNameLen bounds model and version names; longer ones are not names but payload.
const maxNameLen = 256

// decoder decodes and validates events. It is not safe for concurrent use; the Ingester
// pools them so buffers and the parser's memory are reused across requests.
type decoder struct {
	st     *state.State
	parser fastjson.Parser
	ev     state.Event
	seen   []uint64 // per feature index: the event number that last set it
	idBuf  []byte   // the text of a numeric id
	evNum  uint64
	// versions caches resolved model versions (model → version → state). Versions are never
	// removed from the state, so an entry stays valid; unresolved names are not cached.
	// Names folded into __other__ are unbounded, so the cache is dropped when it grows past
	// maxCached entries.
	versions map[string]map[string]*state.Version
	cached   int

	// The current event's fields that are checked after read: its texts, and its features
	// objects (fastjson's, valid until the next parse).
	output, reference []byte
	featureObjects    []*fastjson.Object
	// resolveFn is resolveFeatures, bound once (a method value allocates).
	resolveFn func(state.Schema) bool
	// scored, when set (by tests), is called after an event's texts are scored.
	scored func()

	// Set by the current event's validation; the first error wins.
	verdict
}

// verdict is the first error of an event.
type verdict struct {
	bad    bool
	field  string
	reason string
	msg    string
}

// init readies a decoder in place (resolveFn binds its address).
func (d *decoder) init(st *state.State, scored func()) {
	d.st, d.scored = st, scored
	d.resolveFn = d.resolveFeatures
}

func (d *decoder) fail(field, reason, format string, args ...any) {
	if d.bad {
		return
	}
	d.verdict = verdict{true, field, reason, fmt.Sprintf(format, args...)}
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
	d.bad = false
	d.ev.Reset()
	d.evNum++
	// Everything that does not depend on the version's schema is read, checked and scored
	// here, before the version's lock is taken: a long answer's ROUGE-L is quadratic, and
	// under the lock it would hold up every other event of the version.
	d.read(o)
	if !d.bad && d.reference != nil {
		d.scoreText(d.output, d.reference, d.st.Config().Limits.MaxTextTokens)
		if d.scored != nil && d.ev.HasText {
			d.scored()
		}
	}
	if !d.bad || len(d.featureObjects) > 0 {
		// A features object read before the first error is checked first (under the lock,
		// against the schema): of several errors, the one earliest in the event is reported.
		ver.Apply(&d.ev, d.resolveFn)
	}
	if d.bad {
		d.st.Reject(ver.Model(), ver.Name, d.reason)
		res.Rejected = append(res.Rejected, Rejection{Index: i, Field: d.field, Reason: d.reason, Message: d.msg})
		return
	}
	res.Accepted++
}

// resolveFeatures is Apply's resolve function: it checks the features read by read against
// the version's schema, then the required features. A features error comes before any
// error read found (features are read and checked in the order of the event's fields only
// up to the first error, so features seen at all came before it); then that error, then
// a missing required feature.
func (d *decoder) resolveFeatures(s state.Schema) bool {
	if d.bad {
		earlier := d.verdict
		d.bad = false
		if d.features(s); !d.bad {
			d.verdict = earlier
		}
		return false
	}
	if d.features(s); d.bad {
		return false
	}
	s.Required(func(f *state.Feature) {
		if f.Index >= len(d.seen) || d.seen[f.Index] != d.evNum {
			d.fail("features."+f.Name, ReasonMissingRequired, "feature %q is required", f.Name)
		}
	})
	return !d.bad
}

// resolve is state.Resolve behind the decoder's cache, sparing the state's locks per event.
func (d *decoder) resolve(model, version []byte) (*state.Version, state.Resolution) {
	if ver := d.versions[string(model)][string(version)]; ver != nil {
		// Folding counts every event, not only the first that created the cache entry.
		if ver.Model() == state.Other {
			d.st.Fold(state.LabelModel)
		}
		if ver.Name == state.Other {
			d.st.Fold(state.LabelVersion)
		}
		return ver, state.Resolved
	}
	ver, res := d.st.Resolve(model, version)
	if res == state.Resolved {
		if d.cached >= maxCached {
			d.versions, d.cached = nil, 0
		}
		d.cached++
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
	if !utf8.Valid(b) {
		return nil, key, ReasonInvalidValue, key + " is not valid UTF-8"
	}
	return b, "", "", ""
}

// read reads o into d.ev: every field but the features' checks against the version's
// schema, which resolveFeatures makes under the version's lock.
func (d *decoder) read(o *fastjson.Object) {
	now := d.st.Now()
	d.ev.Time, d.ev.Now = now, now
	d.output, d.reference, d.featureObjects = nil, nil, d.featureObjects[:0]
	limits := d.st.Config().Limits
	o.Visit(func(key []byte, v *fastjson.Value) {
		if d.bad {
			return
		}
		switch string(key) {
		case "model", "version":
		case "id":
			d.id(v)
		case "timestamp":
			d.timestamp(v, now, limits)
		case "features":
			d.readFeatures(v)
		case "prediction":
			d.prediction(v)
		case "scores":
			d.scores(v)
		case "embedding":
			d.embedding(v)
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
		case "containment":
			d.containment(v)
		case "feedback":
			d.feedback(v)
		case "input_text_length":
			d.ev.InputLen, d.ev.HasInputLen = d.number("input_text_length", v, true)
		case "business":
			d.business(v)
		case "queue_depth":
			d.ev.QueueDepth, d.ev.HasQueue = d.number("queue_depth", v, true)
		case "output_text":
			d.output = d.text("output_text", v)
		case "reference_answer":
			d.reference = d.text("reference_answer", v)
		default:
			d.fail(string(key), ReasonUnknownField, "unknown field %q; see the event schema in exporter/README.md", truncate(key))
		}
	})
}

// maxIDLen bounds an event id, as the store of predictions awaiting a label does.
const maxIDLen = 256

// id reads the inference id: a string, or a number kept as written.
func (d *decoder) id(v *fastjson.Value) {
	var b []byte
	switch t := v.Type(); t {
	case fastjson.TypeNull:
		return
	case fastjson.TypeString:
		b, _ = v.StringBytes()
	case fastjson.TypeNumber:
		b = v.MarshalTo(d.idBuf[:0])
		d.idBuf = b
	default:
		d.fail("id", ReasonTypeMismatch, "id must be a string or a number, got %s", t)
		return
	}
	if len(b) > maxIDLen || !utf8.Valid(b) {
		d.fail("id", ReasonInvalidValue, "id must be valid UTF-8 of at most %d bytes, got %d bytes", maxIDLen, len(b))
		return
	}
	if len(b) > 0 {
		d.ev.ID = b
	}
}

// prediction reads the model output: a class (string or boolean) or a value (number).
func (d *decoder) prediction(v *fastjson.Value) {
	p := &d.ev.Prediction
	switch t := v.Type(); t {
	case fastjson.TypeNull:
	case fastjson.TypeNumber:
		if x, ok := d.number("prediction", v, false); ok {
			*p = state.PredictionValue{Present: true, Type: config.Numeric, Num: x}
		}
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		if !utf8.Valid(b) || len(b) > maxNameLen {
			// A predicted class becomes a label value of the performance metrics.
			d.fail("prediction", ReasonInvalidValue, "a class prediction must be valid UTF-8 of at most %d bytes", maxNameLen)
			return
		}
		*p = state.PredictionValue{Present: true, Type: config.Categorical, Str: b}
	case fastjson.TypeTrue, fastjson.TypeFalse:
		*p = state.PredictionValue{Present: true, Type: config.Boolean}
		if t == fastjson.TypeTrue {
			p.Num = 1
		}
	default:
		d.fail("prediction", ReasonTypeMismatch, "prediction must be a number, string or boolean, got %s", t)
	}
}
