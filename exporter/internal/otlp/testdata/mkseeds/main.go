// Command mkseeds writes the seed corpora of FuzzTraces and FuzzMetricsAndLogs:
//
//	go run ./exporter/otlp/testdata/mkseeds exporter/otlp/testdata/fuzz
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

func main() {
	dir := filepath.Join(os.Args[1], "FuzzTraces")
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

	// Metrics and logs: a cumulative TTFT histogram, a bad one, and an evaluation.
	md := pmetric.NewMetrics()
	ms := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
	for i, name := range []string{"gen_ai.server.time_to_first_token", "gen_ai.server.time_per_output_token"} {
		m := ms.AppendEmpty()
		m.SetName(name)
		h := m.SetEmptyHistogram()
		h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		dp := h.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		dp.SetCount(3)
		dp.SetSum(0.4)
		dp.ExplicitBounds().FromRaw([]float64{0.1, 0.5})
		dp.BucketCounts().FromRaw([]uint64{1, 2, uint64(i)})
		dp.Attributes().PutStr("gen_ai.request.model", "gpt-4o")
	}
	mb, _ := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("gen_ai.evaluation.result")
	lr.SetSpanID(pcommon.SpanID{2})
	_ = lr.Attributes().FromRaw(map[string]any{"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.7, "gen_ai.evaluation.score.label": "relevant"})
	lb, _ := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	dir = filepath.Join(os.Args[1], "FuzzMetricsAndLogs")
	_ = os.MkdirAll(dir, 0o755)
	write2 := func(name string, b []byte, logs bool) {
		s := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\nbool(false)\nbool(%v)\n", strconv.Quote(string(b)), logs)
		_ = os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644)
	}
	write2("ttft_tpot_protobuf", mb, false)
	write2("evaluation_protobuf", lb, true)
	write2("ttft_truncated", mb[:len(mb)/3], false)
}
