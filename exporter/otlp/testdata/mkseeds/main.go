// Command mkseeds writes the seed corpus of FuzzTraces:
//
//	go run ./exporter/otlp/testdata/mkseeds exporter/otlp/testdata/fuzz/FuzzTraces
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

func main() {
	dir := os.Args[1]
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	now := time.Unix(1_800_000_000, 0)
	add := func(attrs map[string]any, dur time.Duration, status ptrace.StatusCode, id, parent byte) {
		sp := ss.Spans().AppendEmpty()
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-dur)))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
		sp.Status().SetCode(status)
		sp.SetSpanID(pcommon.SpanID{id})
		if parent != 0 {
			sp.SetParentSpanID(pcommon.SpanID{parent})
		}
		_ = sp.Attributes().FromRaw(attrs)
	}
	add(map[string]any{"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 3, "gen_ai.usage.cache_read.input_tokens": 2, "gen_ai.response.finish_reasons": []any{"stop", "weird"}}, time.Second, ptrace.StatusCodeUnset, 2, 1)
	add(map[string]any{"gen_ai.operation.name": "chat", "gen_ai.request.model": 7, "error.type": "timeout", "gen_ai.usage.input_tokens": "x"}, -time.Second, ptrace.StatusCodeError, 3, 1)
	add(map[string]any{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"}, time.Second, ptrace.StatusCodeError, 4, 1)
	add(map[string]any{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "triage", "opscentre.task.outcome": "abandoned"}, time.Second, ptrace.StatusCodeOk, 1, 1)
	add(map[string]any{"http.request.method": "GET"}, time.Second, ptrace.StatusCodeOk, 5, 0)
	req := ptraceotlp.NewExportRequestFromTraces(td)
	pb, _ := req.MarshalProto()
	js, _ := req.MarshalJSON()
	write := func(name string, b []byte, asJSON bool) {
		s := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\nbool(%v)\n", strconv.Quote(string(b)), asJSON)
		_ = os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644)
	}
	write("genai_agent_protobuf", pb, false)
	write("genai_agent_json", js, true)
	write("truncated_protobuf", pb[:len(pb)/2], false)
	write("empty_protobuf", nil, false)
}
