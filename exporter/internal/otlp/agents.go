package otlp

import (
	"fmt"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/opscentre/opscentre/exporter/internal/state"
)

// maxDepth bounds the walk from a span up to its agent span, so a cycle of parent ids in
// hostile input cannot loop.
const maxDepth = 64

type spanNode struct {
	parent pcommon.SpanID
	kind   spanKind
	span   ptrace.Span
}

// agents counts tool calls per agent and tool, and the steps (LLM and tool calls) of each
// accepted agent task. A step is attributed to the nearest invoke_agent ancestor among the
// spans of the same request; OpenTelemetry SDKs export a trace's spans together when the
// task ends within one batch interval. It returns the tool spans rejected and why.
func (r *Receiver) agents(w *worker, td ptrace.Traces, tools []ptrace.Span, isRejected []bool) (int, []string) {
	nodes := make(map[pcommon.SpanID]spanNode)
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				kind, _ := operationKind(span.Attributes())
				nodes[span.SpanID()] = spanNode{parent: span.ParentSpanID(), kind: kind, span: span}
			}
		}
	}
	// agentOf finds the invoke_agent ancestor of a span.
	agentOf := func(span ptrace.Span) (ptrace.Span, bool) {
		id := span.ParentSpanID()
		for d := 0; d < maxDepth && !id.IsEmpty(); d++ {
			n, ok := nodes[id]
			if !ok {
				break
			}
			if n.kind == kindAgent {
				return n.span, true
			}
			id = n.parent
		}
		return ptrace.Span{}, false
	}
	steps := make(map[pcommon.SpanID]int)
	for _, n := range nodes {
		if n.kind == kindInference || n.kind == kindTool {
			if a, ok := agentOf(n.span); ok {
				steps[a.SpanID()]++
			}
		}
	}
	for i, span := range w.spans {
		if w.kinds[i] != kindAgent || isRejected[i] {
			continue
		}
		model, version := modelOf(kindAgent, span.Attributes())
		if k, ok := r.counts.key(model, version); ok {
			r.counts.taskSteps(k, steps[span.SpanID()])
		}
	}

	rejected := 0
	var msgs []string
	for _, span := range tools {
		model, version := modelOf(kindTool, span.Attributes())
		if model.Type() == pcommon.ValueTypeEmpty {
			if a, ok := agentOf(span); ok {
				model, version = modelOf(kindAgent, a.Attributes())
			}
		}
		k, err := r.toolAgent(model, version)
		if err != nil {
			rejected++
			msgs = append(msgs, fmt.Sprintf("%s: %s: %v", describe(span), attrAgentName, err))
			continue
		}
		tool := ""
		if v, ok := span.Attributes().Get(attrToolName); ok {
			tool = v.AsString()
		}
		_, hasErrType := span.Attributes().Get(attrErrorType)
		r.counts.tool(k, tool, hasErrType || span.Status().Code() == ptrace.StatusCodeError)
	}
	return rejected, msgs
}

// toolAgent labels a tool call with its agent's model and version, as the state has them.
// A tool call whose agent is not named anywhere in the request is the __unknown__ agent's.
func (r *Receiver) toolAgent(model, version pcommon.Value) (versionKey, error) {
	if model.Type() == pcommon.ValueTypeEmpty || model.Str() == "" {
		return versionKey{state.Unknown, state.Unknown}, nil
	}
	if model.Type() != pcommon.ValueTypeStr || len(model.Str()) > maxNameLen || !utf8.ValidString(model.Str()) {
		return versionKey{}, fmt.Errorf("must be a UTF-8 string of at most %d bytes, got %s", maxNameLen, model.Type())
	}
	if version.Type() != pcommon.ValueTypeEmpty && (version.Type() != pcommon.ValueTypeStr || len(version.Str()) > maxNameLen || !utf8.ValidString(version.Str())) {
		return versionKey{}, fmt.Errorf("%s must be a UTF-8 string of at most %d bytes", attrAgentVersion, maxNameLen)
	}
	if k, ok := r.counts.key(model, version); ok {
		return k, nil
	}
	// The agent's own span has not arrived yet: the version is created as an event would.
	ver, res := r.st.Resolve([]byte(model.Str()), []byte(version.Str()))
	if res != state.Resolved {
		return versionKey{}, fmt.Errorf("agent %q is not configured and unknown_models is reject", truncate(model.Str()))
	}
	return versionKey{ver.Model(), ver.Name}, nil
}
