package ingest

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/drift"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

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
			if x, ok := d.number("scores."+string(key), v, false); ok {
				d.ev.Scores = append(d.ev.Scores, state.Score{Name: key, Value: x})
			}
		}
	})
}

// embedding reads an embedding: an array of at most drift.DefaultMaxEmbeddingDim finite numbers.
func (d *decoder) embedding(v *fastjson.Value) {
	if v.Type() == fastjson.TypeNull {
		return
	}
	a, err := v.Array()
	if err != nil {
		d.fail("embedding", ReasonTypeMismatch, "embedding must be an array of numbers, got %s", v.Type())
		return
	}
	if len(a) == 0 || len(a) > drift.DefaultMaxEmbeddingDim {
		d.fail("embedding", ReasonInvalidValue, "embedding must hold 1 to %d numbers, got %d", drift.DefaultMaxEmbeddingDim, len(a))
		return
	}
	e := d.ev.Embedding[:0]
	for i, x := range a {
		f, ok := d.number(fmt.Sprintf("embedding[%d]", i), x, false)
		if !ok {
			if !d.bad {
				d.fail(fmt.Sprintf("embedding[%d]", i), ReasonTypeMismatch, "embedding[%d] must be a number, got null", i)
			}
			return
		}
		if math.Abs(f) > drift.MaxMagnitude {
			d.fail(fmt.Sprintf("embedding[%d]", i), ReasonInvalidValue, "embedding[%d] must lie within ±%g, got %v", i, drift.MaxMagnitude, f)
			return
		}
		e = append(e, f)
	}
	d.ev.Embedding = e
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
		if !utf8.Valid(b) {
			d.fail("error", ReasonInvalidValue, "error type is not valid UTF-8")
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

// containment reads {id, action}: the incidentd containment the event was produced under.
// The id is checked (a positive integer) but not kept: only the action is a label.
func (d *decoder) containment(v *fastjson.Value) {
	if v.Type() == fastjson.TypeNull {
		return
	}
	o, err := v.Object()
	if err != nil {
		d.fail("containment", ReasonTypeMismatch, "containment must be an object {id, action}, got %s", v.Type())
		return
	}
	hasID := false
	o.Visit(func(key []byte, v *fastjson.Value) {
		if d.bad {
			return
		}
		switch string(key) {
		case "id":
			n, err := v.Int64()
			if err != nil || n <= 0 {
				d.fail("containment.id", ReasonInvalidValue, "containment.id must be a positive integer (incidentd's containment id)")
				return
			}
			hasID = true
		case "action":
			b, err := v.StringBytes()
			if err != nil {
				d.fail("containment.action", ReasonTypeMismatch, "containment.action must be a string, got %s", v.Type())
				return
			}
			i := index(state.ContainmentActions[:], b)
			if i < 0 {
				d.fail("containment.action", ReasonInvalidValue, "containment.action %q: expected fallback, disable or block_inputs", truncate(b))
				return
			}
			d.ev.Contained = i + 1
		default:
			d.fail("containment."+string(key), ReasonUnknownField, "unknown field %q in containment; expected id and action", truncate(key))
		}
	})
	if d.bad {
		return
	}
	if !hasID || d.ev.Contained == 0 {
		d.fail("containment", ReasonMissingRequired, "containment needs both id and action")
	}
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
		if len(key) == 0 || len(key) > maxNameLen || !utf8.Valid(key) {
			d.fail("business", ReasonInvalidValue, "business names must be valid UTF-8, 1..%d bytes long", maxNameLen)
			return
		}
		x, ok := d.number("business."+string(key), v, true)
		if ok {
			d.ev.Business = append(d.ev.Business, state.Business{Name: key, Value: x})
		}
	})
}
