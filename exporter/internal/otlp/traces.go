package otlp

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/ingest"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// GenAI semantic-convention attribute names read from spans.
const (
	attrOperation     = "gen_ai.operation.name"
	attrRequestModel  = "gen_ai.request.model"
	attrResponseModel = "gen_ai.response.model"
	attrInputTokens   = "gen_ai.usage.input_tokens"
	attrOutputTokens  = "gen_ai.usage.output_tokens"
	attrCachedTokens  = "gen_ai.usage.cache_read.input_tokens"
	attrFinishReasons = "gen_ai.response.finish_reasons"
	attrErrorType     = "error.type"
	attrAgentName     = "gen_ai.agent.name"
	attrAgentVersion  = "gen_ai.agent.version"
	attrToolName      = "gen_ai.tool.name"
	// attrTaskOutcome is ours, not the conventions': they have no attribute for a task a
	// human took over or a user left. An agent span may set it to completed, failed,
	// escalated or abandoned; it overrides what the span status says.
	attrTaskOutcome = "opscentre.task.outcome"
	// attrContainmentID and attrContainmentAction are ours too: an application obeying an
	// incidentd containment (exporter/client Decide) sets both on the spans of the calls it
	// made under it — the containment's id and its action (fallback, disable,
	// block_inputs) — so contained traffic sent as OTLP is counted as events sent as JSON
	// are, in aiops_contained_events_total{action}.
	attrContainmentID     = "opscentre.containment.id"
	attrContainmentAction = "opscentre.containment.action"
)

// The kinds of GenAI span, by gen_ai.operation.name.
type spanKind int

const (
	kindIgnored   spanKind = iota
	kindInference          // one call to a model
	kindAgent              // one task of an agent
	kindTool               // one tool call of an agent
)

// operationKind classifies a span; reason says why it is ignored.
func operationKind(attrs pcommon.Map) (kind spanKind, reason string) {
	v, ok := attrs.Get(attrOperation)
	if !ok {
		return kindIgnored, ignoredNotGenAI
	}
	switch v.Str() {
	case "chat", "text_completion", "generate_content", "embeddings":
		return kindInference, ""
	case "invoke_agent":
		return kindAgent, ""
	case "execute_tool":
		return kindTool, ""
	}
	return kindIgnored, ignoredOperation
}

// Reasons a span is ignored (aiops_otlp_ignored_total{reason}); a closed set.
const (
	ignoredNotGenAI  = "not_genai"             // no gen_ai.operation.name: HTTP, database, … spans
	ignoredOperation = "unsupported_operation" // create_agent and operations this version does not map
)

// fieldAttributes names, for a field of the event schema, the span attribute it came from,
// so a rejection tells the sender what to fix in its telemetry.
var fieldAttributes = map[string]string{
	"model":           attrRequestModel,
	"version":         attrResponseModel,
	"timestamp":       "end_time_unix_nano",
	"latency_seconds": "start_time_unix_nano/end_time_unix_nano",
	"error":           attrErrorType,
	"tokens.input":    attrInputTokens,
	"tokens.output":   attrOutputTokens,
	"tokens.cached":   attrCachedTokens,
	"outcome.task":    attrTaskOutcome,
	// The event code wants both or neither.
	"containment":        attrContainmentID + " and " + attrContainmentAction,
	"containment.id":     attrContainmentID,
	"containment.action": attrContainmentAction,
}

// appendEvent writes the event a GenAI span stands for as one line of the /api/v1/events
// schema, so the span is validated, limited, folded and applied by exactly the code that
// handles events sent as JSON. Attribute values are written with their OTLP type; one of
// the wrong type is rejected by that code with the field it maps to.
func appendEvent(b []byte, kind spanKind, span ptrace.Span, model, version pcommon.Value) []byte {
	attrs := span.Attributes()
	b = append(b, `{"model":`...)
	b = appendValue(b, model)
	if version.Type() != pcommon.ValueTypeEmpty {
		b = append(b, `,"version":`...)
		b = appendValue(b, version)
	}
	start, end := span.StartTimestamp(), span.EndTimestamp()
	if end != 0 {
		b = append(b, `,"timestamp":`...)
		b = strconv.AppendFloat(b, float64(end)/1e9, 'f', -1, 64)
	}
	if start != 0 && end != 0 {
		// A span ending before it started gives a negative latency, rejected as such.
		b = append(b, `,"latency_seconds":`...)
		// Subtracted as integers: float64 nanoseconds since 1970 keep only ~256 ns.
		d := float64(end-start) / 1e9
		if end < start {
			d = -float64(start-end) / 1e9
		}
		b = strconv.AppendFloat(b, d, 'g', -1, 64)
	}
	if v, ok := attrs.Get(attrErrorType); ok && !(v.Type() == pcommon.ValueTypeStr && v.Str() == "") {
		b = append(b, `,"error":`...)
		b = appendValue(b, v)
	} else if span.Status().Code() == ptrace.StatusCodeError {
		b = append(b, `,"error":true`...)
	}
	if kind == kindInference {
		// Agent spans may carry the usage of their calls summed; the calls' own spans count
		// it, so only inference spans feed tokens (and cost).
		first := true
		for _, t := range [...]struct{ key, attr string }{{"input", attrInputTokens}, {"output", attrOutputTokens}, {"cached", attrCachedTokens}} {
			v, ok := attrs.Get(t.attr)
			if !ok {
				continue
			}
			if first {
				b = append(b, `,"tokens":{`...)
				first = false
			} else {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, t.key...)
			b = append(b, `":`...)
			b = appendValue(b, v)
		}
		if !first {
			b = append(b, '}')
		}
	}
	if kind == kindAgent {
		b = append(b, `,"outcome":{"task":`...)
		if v, ok := attrs.Get(attrTaskOutcome); ok {
			b = appendValue(b, v)
		} else if span.Status().Code() == ptrace.StatusCodeError {
			b = append(b, `"failed"`...)
		} else {
			b = append(b, `"completed"`...)
		}
		b = append(b, '}')
	}
	return appendContainment(b, attrs)
}

// appendContainment writes the containment a span was produced under, if it names one,
// and closes the event. Either attribute alone is written as it is, so the event code
// rejects the span naming the one missing.
func appendContainment(b []byte, attrs pcommon.Map) []byte {
	id, hasID := attrs.Get(attrContainmentID)
	action, hasAction := attrs.Get(attrContainmentAction)
	if !hasID && !hasAction {
		return append(b, "}\n"...)
	}
	b = append(b, `,"containment":{`...)
	if hasID {
		b = append(b, `"id":`...)
		b = appendValue(b, id)
		if hasAction {
			b = append(b, ',')
		}
	}
	if hasAction {
		b = append(b, `"action":`...)
		b = appendValue(b, action)
	}
	return append(b, "}}\n"...)
}

// appendValue writes an attribute value as JSON of its own type. Values with no JSON
// counterpart are written as an empty object or array, so the message names their kind.
func appendValue(b []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendString(b, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(b, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		f := v.Double()
		switch {
		case math.IsNaN(f):
			return append(b, "NaN"...)
		case math.IsInf(f, 1):
			return append(b, "Inf"...)
		case math.IsInf(f, -1):
			return append(b, "-Inf"...)
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(b, v.Bool())
	case pcommon.ValueTypeMap:
		return append(b, "{}"...)
	case pcommon.ValueTypeSlice, pcommon.ValueTypeBytes:
		return append(b, "[]"...)
	}
	return append(b, "null"...)
}

// appendString writes s as a JSON string. Invalid UTF-8 is replaced, so the line stays
// JSON; names are then rejected as invalid by the event code only if too long.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// emptyValue stands for an absent attribute; it is only read, so it is shared.
var emptyValue = pcommon.NewValueEmpty()

// modelOf picks the model and version attributes of a span.
func modelOf(kind spanKind, attrs pcommon.Map) (model, version pcommon.Value) {
	model, version = emptyValue, emptyValue
	if kind == kindAgent || kind == kindTool {
		// An agent's tasks are the agent's: its name is the model, its version the version.
		if v, ok := attrs.Get(attrAgentName); ok {
			model = v
		}
		if v, ok := attrs.Get(attrAgentVersion); ok {
			version = v
		}
		return model, version
	}
	if v, ok := attrs.Get(attrRequestModel); ok {
		model = v
	}
	if v, ok := attrs.Get(attrResponseModel); ok {
		version = v
		if model.Type() == pcommon.ValueTypeEmpty {
			model = v
		}
	}
	return model, version
}

// describe names a span in a partial-success message.
func describe(span ptrace.Span) string {
	return fmt.Sprintf("span %s (trace %s, %q)", span.SpanID(), span.TraceID(), truncate(span.Name()))
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// rejectionMessage says why a span was rejected, naming the attribute.
func rejectionMessage(span ptrace.Span, kind spanKind, r ingest.Rejection) string {
	attr := fieldAttributes[r.Field]
	if attr == "" {
		attr = r.Field
	}
	if r.Reason == ingest.ReasonMissingModel {
		attr = attrRequestModel
	}
	if kind == kindAgent {
		// An agent's model and version are its name and version.
		switch attr {
		case attrRequestModel:
			attr = attrAgentName
		case attrResponseModel:
			attr = attrAgentVersion
		}
	}
	var sb strings.Builder
	sb.WriteString(describe(span))
	sb.WriteString(": ")
	if attr != "" {
		sb.WriteString(attr)
		sb.WriteString(": ")
	}
	sb.WriteString(r.Message)
	sb.WriteString(" (")
	sb.WriteString(r.Reason)
	sb.WriteString(")")
	return sb.String()
}

// finishReasons lists the finish reasons the conventions and the major providers use;
// any other value is counted as __other__, so the label stays bounded.
var finishReasons = map[string]string{
	"stop": "stop", "length": "length", "content_filter": "content_filter",
	"tool_calls": "tool_calls", "function_call": "function_call", "error": "error",
	"end_turn": "end_turn", "max_tokens": "max_tokens", "stop_sequence": "stop_sequence",
	"tool_use": "tool_use", "safety": "safety", "recitation": "recitation",
}

// LabelReason is the label of the finish-reason family in aiops_label_values_folded_total.
const LabelReason = "reason"

func finishReason(s string) (string, bool) {
	if r, ok := finishReasons[s]; ok {
		return r, true
	}
	return state.Other, false
}

// templateModel names a call's model by the configured template; resource holds the
// attributes of the span's resource.
func templateModel(parts []config.TemplatePart, attrs, resource pcommon.Map, requestModel pcommon.Value) pcommon.Value {
	var sb strings.Builder
	for _, p := range parts {
		if p.Attr == "" {
			sb.WriteString(p.Literal)
			continue
		}
		if p.Attr == attrRequestModel && requestModel.Type() != pcommon.ValueTypeEmpty {
			sb.WriteString(requestModel.AsString())
			continue
		}
		v, ok := attrs.Get(p.Attr)
		if !ok {
			v, ok = resource.Get(p.Attr)
		}
		if ok && v.AsString() != "" {
			sb.WriteString(v.AsString())
		} else {
			sb.WriteString("unknown")
		}
	}
	return pcommon.NewValueStr(sb.String())
}
