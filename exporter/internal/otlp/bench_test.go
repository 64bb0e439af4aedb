package otlp

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

var benchNow = time.Unix(1_800_000_000, 0)

// benchRequest is an OTLP protobuf request of n GenAI chat spans shaped like those of the
// OpenAI instrumentations: 12 attributes, 4 models, 2 snapshots each.
func benchRequest(n int) []byte {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "bench")
	rs.Resource().Attributes().PutStr("telemetry.sdk.language", "go")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("opentelemetry-instrumentation-openai")
	for i := range n {
		sp := ss.Spans().AppendEmpty()
		sp.SetName("chat gpt-4o")
		sp.SetTraceID(pcommon.TraceID{byte(i), byte(i >> 8), 1})
		sp.SetSpanID(pcommon.SpanID{byte(i), byte(i >> 8), 2})
		sp.SetKind(ptrace.SpanKindClient)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(benchNow.Add(-time.Duration(i%900+100) * time.Millisecond)))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(benchNow))
		a := sp.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.provider.name", "openai")
		a.PutStr("gen_ai.request.model", fmt.Sprintf("model-%d", i%4))
		a.PutStr("gen_ai.response.model", fmt.Sprintf("model-%d-2026-0%d", i%4, i%2+1))
		a.PutStr("gen_ai.response.id", fmt.Sprintf("chatcmpl-%08d", i))
		a.PutInt("gen_ai.usage.input_tokens", int64(100+i%500))
		a.PutInt("gen_ai.usage.output_tokens", int64(10+i%200))
		a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
		a.PutStr("server.address", "api.openai.com")
		a.PutInt("server.port", 443)
		a.PutDouble("gen_ai.request.temperature", 0.2)
		a.PutInt("gen_ai.request.max_tokens", 1024)
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		panic(err)
	}
	return b
}

func benchReceiver() *Receiver {
	return New(state.New(config.Default(), state.Options{Now: func() time.Time { return benchNow }}), nil)
}

// BenchmarkTracesVsUnmarshal measures, in the same loop over the same 512-span protobuf
// request: pdata unmarshalling it alone, and the whole /v1/traces handler (read, unmarshal,
// map, validate, apply, answer) on one goroutine — one core. It reports spans/s of the
// handler and its cost ratio to the unmarshal ("x-unmarshal"; the target is at most 2).
func BenchmarkTracesVsUnmarshal(b *testing.B) {
	const n = 512
	body := benchRequest(n)
	r := benchReceiver()
	unmarshal := func() {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			b.Fatal(err)
		}
	}
	handle := func() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, PathTraces, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-protobuf")
		r.serveTraces(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	unmarshal()
	handle()
	var tUnmarshal, tHandle time.Duration
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		unmarshal()
		t1 := time.Now()
		handle()
		t2 := time.Now()
		tUnmarshal += t1.Sub(t0)
		tHandle += t2.Sub(t1)
	}
	spans := float64(b.N) * n
	b.ReportMetric(float64(tUnmarshal.Nanoseconds())/spans, "ns-unmarshal/span")
	b.ReportMetric(float64(tHandle.Nanoseconds())/spans, "ns-handle/span")
	b.ReportMetric(float64(tHandle)/float64(tUnmarshal), "x-unmarshal")
	b.ReportMetric(spans/tHandle.Seconds(), "spans/s/core")
}

// BenchmarkTracesHTTP posts 512-span protobuf requests through a real HTTP server and
// client on loopback, one at a time (server work plus the client, on the same machine).
func BenchmarkTracesHTTP(b *testing.B) {
	const n = 512
	body := benchRequest(n)
	mux := http.NewServeMux()
	benchReceiver().Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := srv.Client()
	post := func() {
		resp, err := client.Post(srv.URL+PathTraces, "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	post()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		post()
	}
	b.ReportMetric(float64(b.N)*n/time.Since(start).Seconds(), "spans/s")
}
