// Package labelapi receives ground-truth labels over HTTP (POST /api/v1/labels): a JSON
// object, a JSON array or NDJSON of {model, id, label | value, timestamp, version?,
// prediction?}. Each label is joined to the prediction waiting under its id; a bad label is
// rejected on its own with the field and the reason, like the events endpoint does.
package labelapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/ingest"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// maxNameLen bounds model, version, id and class names, as the events endpoint does.
const maxNameLen = 256

// Item is one decoded, valid label.
type Item struct {
	Index          int
	Model, Version string
	Label          state.Label
}

// Limits are the checks on label timestamps.
type Limits struct {
	Now          time.Time
	MaxClockSkew time.Duration
}

// Decode splits a body into labels and validates each. It returns an error only when the body
// as a whole is not a JSON array, a JSON object or NDJSON.
func Decode(body []byte, ndjson bool, lim Limits) ([]Item, []ingest.Rejection, error) {
	var raws []json.RawMessage
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return nil, nil, fmt.Errorf("body is empty; send a label object, an array of them or NDJSON")
	case !ndjson && trimmed[0] == '[':
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return nil, nil, fmt.Errorf("body is not a valid JSON array: %w", err)
		}
	case !ndjson && json.Valid(trimmed):
		raws = []json.RawMessage{trimmed}
	default:
		for line := range bytes.SplitSeq(trimmed, []byte("\n")) {
			if line = bytes.TrimSpace(line); len(line) > 0 {
				raws = append(raws, json.RawMessage(line))
			}
		}
	}
	var items []Item
	var rejected []ingest.Rejection
	for i, raw := range raws {
		it, rej := decodeOne(raw, lim)
		if rej != nil {
			rej.Index = i
			rejected = append(rejected, *rej)
			continue
		}
		it.Index = i
		items = append(items, it)
	}
	return items, rejected, nil
}

func reject(field, reason, format string, args ...any) *ingest.Rejection {
	return &ingest.Rejection{Field: field, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// jsonType names the JSON type of a raw value for messages.
func jsonType(raw json.RawMessage) string {
	switch b := bytes.TrimSpace(raw); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '"':
		return "string"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	case b[0] == 't' || b[0] == 'f':
		return "boolean"
	case b[0] == 'n':
		return "null"
	default:
		return "number"
	}
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// name reads a string field: a model, version or class.
func name(field string, raw json.RawMessage) (string, *ingest.Rejection) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", reject(field, ingest.ReasonTypeMismatch, "%s must be a string, got %s", field, jsonType(raw))
	}
	if len(s) > maxNameLen || !utf8.ValidString(s) {
		return "", reject(field, ingest.ReasonInvalidValue, "%s must be valid UTF-8 of at most %d bytes", field, maxNameLen)
	}
	return s, nil
}

// number reads a finite number.
func number(field string, raw json.RawMessage) (float64, *ingest.Rejection) {
	if jsonType(raw) != "number" {
		return 0, reject(field, ingest.ReasonTypeMismatch, "%s must be a number, got %s", field, jsonType(raw))
	}
	x, err := strconv.ParseFloat(string(bytes.TrimSpace(raw)), 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, reject(field, ingest.ReasonNonFinite, "%s must be a finite number, got %s", field, bytes.TrimSpace(raw))
	}
	return x, nil
}

// class reads a class: a string, a boolean, or a number named as the reference names it.
func class(field string, raw json.RawMessage) (state.PredictionValue, *ingest.Rejection) {
	switch jsonType(raw) {
	case "string":
		s, rej := name(field, raw)
		if rej != nil {
			return state.PredictionValue{}, rej
		}
		if s == "" {
			return state.PredictionValue{}, reject(field, ingest.ReasonInvalidValue, "%s must not be empty", field)
		}
		return state.PredictionValue{Present: true, Type: config.Categorical, Str: []byte(s)}, nil
	case "boolean":
		v := state.PredictionValue{Present: true, Type: config.Boolean}
		if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("t")) {
			v.Num = 1
		}
		return v, nil
	case "number":
		x, rej := number(field, raw)
		return state.PredictionValue{Present: true, Type: config.Numeric, Num: x}, rej
	}
	return state.PredictionValue{}, reject(field, ingest.ReasonTypeMismatch, "%s must be a string, boolean or number, got %s", field, jsonType(raw))
}

func decodeOne(raw json.RawMessage, lim Limits) (Item, *ingest.Rejection) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		if jsonType(raw) != "object" {
			return Item{}, reject("", ingest.ReasonInvalidJSON, "a label must be a JSON object, got %s", jsonType(raw))
		}
		return Item{}, reject("", ingest.ReasonInvalidJSON, "label is not valid JSON: %v", err)
	}
	var it Item
	for _, k := range sortedKeys(obj) {
		switch k {
		case "model", "version", "id", "label", "value", "timestamp", "prediction":
		default:
			return Item{}, reject(k, ingest.ReasonUnknownField, "unknown field %q; a label has model, id, label or value, timestamp, version and prediction", truncate(k))
		}
	}
	m, ok := obj["model"]
	if !ok || isNull(m) {
		return Item{}, reject("model", ingest.ReasonMissingModel, "every label needs a model")
	}
	var rej *ingest.Rejection
	if it.Model, rej = name("model", m); rej != nil {
		return Item{}, rej
	}
	if it.Model == "" {
		return Item{}, reject("model", ingest.ReasonMissingModel, "model must not be empty")
	}
	if v, ok := obj["version"]; ok && !isNull(v) {
		if it.Version, rej = name("version", v); rej != nil {
			return Item{}, rej
		}
	}
	id, ok := obj["id"]
	if !ok || isNull(id) {
		return Item{}, reject("id", ingest.ReasonMissingRequired, "every label needs the id of its prediction")
	}
	switch jsonType(id) {
	case "string":
		if it.Label.ID, rej = name("id", id); rej != nil {
			return Item{}, rej
		}
	case "number":
		// Kept as written, as the events endpoint keeps a numeric id.
		if _, rej = number("id", id); rej != nil {
			return Item{}, rej
		}
		it.Label.ID = string(bytes.TrimSpace(id))
	default:
		return Item{}, reject("id", ingest.ReasonTypeMismatch, "id must be a string or a number, got %s", jsonType(id))
	}
	if it.Label.ID == "" {
		return Item{}, reject("id", ingest.ReasonMissingRequired, "id must not be empty")
	}
	lab, hasLabel := obj["label"]
	val, hasValue := obj["value"]
	hasLabel = hasLabel && !isNull(lab)
	hasValue = hasValue && !isNull(val)
	switch {
	case hasLabel && hasValue:
		return Item{}, reject("value", ingest.ReasonInvalidValue, "send label (the true class) or value (the true number), not both")
	case hasLabel:
		c, rej := class("label", lab)
		if rej != nil {
			return Item{}, rej
		}
		it.Label.IsClass = true
		switch c.Type {
		case config.Categorical:
			it.Label.Class = string(c.Str)
		case config.Boolean:
			it.Label.Class = strconv.FormatBool(c.Num == 1)
		default:
			it.Label.Class = strconv.FormatFloat(c.Num, 'g', -1, 64)
		}
	case hasValue:
		if it.Label.Value, rej = number("value", val); rej != nil {
			return Item{}, rej
		}
	default:
		return Item{}, reject("label", ingest.ReasonMissingRequired, "a label needs label (the true class) or value (the true number)")
	}
	it.Label.Time = lim.Now
	if ts, ok := obj["timestamp"]; ok && !isNull(ts) {
		t, rej := timestamp(ts)
		if rej != nil {
			return Item{}, rej
		}
		if t.Sub(lim.Now) > lim.MaxClockSkew {
			return Item{}, reject("timestamp", ingest.ReasonTimestampOutOfRange, "timestamp %s is more than limits.max_clock_skew (%s) ahead of the exporter's clock", t.Format(time.RFC3339), lim.MaxClockSkew)
		}
		it.Label.Time = t
	}
	if p, ok := obj["prediction"]; ok && !isNull(p) {
		pv, rej := class("prediction", p)
		if rej != nil {
			return Item{}, rej
		}
		if !it.Label.IsClass && pv.Type != config.Numeric {
			return Item{}, reject("prediction", ingest.ReasonTypeMismatch, "a value label needs a numeric prediction, got %s", jsonType(p))
		}
		it.Label.Prediction = &pv
	}
	return it, nil
}

// timestamp reads RFC 3339 or Unix seconds, as the events endpoint does.
func timestamp(raw json.RawMessage) (time.Time, *ingest.Rejection) {
	switch jsonType(raw) {
	case "string":
		var s string
		_ = json.Unmarshal(raw, &s)
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, reject("timestamp", ingest.ReasonTypeMismatch, "timestamp must be RFC 3339 or Unix seconds: %v", err)
		}
		return t, nil
	case "number":
		x, rej := number("timestamp", raw)
		if rej != nil {
			return time.Time{}, rej
		}
		if x < 0 || x > 1e11 {
			return time.Time{}, reject("timestamp", ingest.ReasonTimestampOutOfRange, "timestamp %v is not Unix seconds (milliseconds are not accepted)", x)
		}
		sec, frac := math.Modf(x)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	return time.Time{}, reject("timestamp", ingest.ReasonTypeMismatch, "timestamp must be RFC 3339 or Unix seconds, got %s", jsonType(raw))
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Deterministic: the first unknown field reported is the same on every run.
	slices.Sort(keys)
	return keys
}

func truncate(s string) string {
	if len(s) > 64 {
		return strings.ToValidUTF8(s[:64], "") + "…"
	}
	return s
}
