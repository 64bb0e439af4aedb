package app_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/opscentre/opscentre/alertmanager-webhook/containment"
	"github.com/opscentre/opscentre/exporter/client"
	"github.com/opscentre/opscentre/exporter/sim"
)

// sdkTracer returns a tracer of the stock OpenTelemetry Go SDK exporting OTLP/HTTP protobuf
// to the exporter at url, and a function that flushes and stops it.
func sdkTracer(t *testing.T, url string, gzip bool) (trace.Tracer, func()) {
	t.Helper()
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(url + "/v1/traces")}
	if gzip {
		opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	}
	exp, err := otlptracehttp.New(context.Background(), opts...)
	require.NoError(t, err)
	res := resource.NewSchemaless(attribute.String("service.name", "support-bot"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithMaxExportBatchSize(512)), sdktrace.WithResource(res))
	return tp.Tracer("opscentre-test"), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, tp.ForceFlush(ctx))
		require.NoError(t, tp.Shutdown(ctx))
	}
}

// llmCall records one GenAI client span as an instrumentation would.
func llmCall(ctx context.Context, tr trace.Tracer, model, response string, in, out int64, reason string, errType string) {
	start := time.Now().Add(-2 * time.Second)
	_, sp := tr.Start(ctx, "chat "+model, trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(start),
		trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.provider.name", "openai"),
			attribute.String("gen_ai.request.model", model),
		))
	if errType != "" {
		sp.SetAttributes(attribute.String("error.type", errType))
		sp.SetStatus(codes.Error, "provider returned "+errType)
	} else {
		sp.SetAttributes(
			attribute.String("gen_ai.response.model", response),
			attribute.Int64("gen_ai.usage.input_tokens", in),
			attribute.Int64("gen_ai.usage.output_tokens", out),
			attribute.StringSlice("gen_ai.response.finish_reasons", []string{reason}),
		)
	}
	sp.End(trace.WithTimestamp(start.Add(1500 * time.Millisecond)))
}

func TestOTLPGoSDKFillsTheLLMAndAgentFamilies(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.yml", exporterConfig)
	e := startExporter(t, "--config.file="+cfg, "--storage.path="+dir+"/data")

	tr, flush := sdkTracer(t, e.url, true)
	ctx := context.Background()
	// 40 successful calls on two snapshots behind the alias, 3 failures, 1 HTTP span.
	for i := 0; i < 40; i++ {
		resp, reason := "gpt-4o-2024-08-06", "stop"
		if i%4 == 0 {
			resp, reason = "gpt-4o-2024-11-20", "length"
		}
		llmCall(ctx, tr, "assistant", resp, 100, 25, reason, "")
	}
	for i := 0; i < 3; i++ {
		llmCall(ctx, tr, "assistant", "", 0, 0, "", "500")
	}
	_, httpSpan := tr.Start(ctx, "GET /health", trace.WithAttributes(attribute.String("http.request.method", "GET")))
	httpSpan.End()

	// An agent run: two LLM calls and two tool calls, one tool failing; the task completes.
	actx, agent := tr.Start(ctx, "invoke_agent triage", trace.WithAttributes(
		attribute.String("gen_ai.operation.name", "invoke_agent"),
		attribute.String("gen_ai.agent.name", "triage"),
	))
	llmCall(actx, tr, "assistant", "gpt-4o-2024-08-06", 10, 5, "tool_calls", "")
	for _, tool := range []string{"lookup_order", "issue_refund"} {
		_, ts := tr.Start(actx, "execute_tool "+tool, trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "execute_tool"),
			attribute.String("gen_ai.tool.name", tool),
		))
		if tool == "issue_refund" {
			ts.SetAttributes(attribute.String("error.type", "PermissionDenied"))
			ts.SetStatus(codes.Error, "not allowed")
		}
		ts.End()
	}
	llmCall(actx, tr, "assistant", "gpt-4o-2024-08-06", 10, 5, "stop", "")
	agent.SetStatus(codes.Ok, "")
	agent.End()
	flush()

	_, fams := e.scrape(t)
	a1 := map[string]string{"model": "assistant", "version": "gpt-4o-2024-08-06"}
	a2 := map[string]string{"model": "assistant", "version": "gpt-4o-2024-11-20"}
	with := func(base map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for a, b := range base {
			out[a] = b
		}
		return out
	}
	require.Equal(t, 32.0, value(t, fams, "aiops_events_total", a1))
	require.Equal(t, 10.0, value(t, fams, "aiops_events_total", a2))
	require.Equal(t, 3.0, value(t, fams, "aiops_events_total", map[string]string{"model": "assistant", "version": "default"}))
	require.Equal(t, 3.0, value(t, fams, "aiops_inference_errors_total", map[string]string{"model": "assistant", "version": "default", "type": "500"}))
	require.Equal(t, 30*100.0+20, value(t, fams, "aiops_tokens_total", with(a1, "type", "input")))
	require.Equal(t, 30*25.0+10, value(t, fams, "aiops_tokens_total", with(a1, "type", "output")))
	require.Equal(t, 10*100.0, value(t, fams, "aiops_tokens_total", with(a2, "type", "input")))
	// Price table of "assistant": 2 USD / M input, 10 USD / M output.
	require.InDelta(t, (3020*2+760*10)/1e6, value(t, fams, "aiops_cost_total", with(a1, "currency", "USD")), 1e-12)
	require.Equal(t, 31.0, value(t, fams, "aiops_llm_finish_reasons_total", with(a1, "reason", "stop")))
	require.Equal(t, 1.0, value(t, fams, "aiops_llm_finish_reasons_total", with(a1, "reason", "tool_calls")))
	require.Equal(t, 10.0, value(t, fams, "aiops_llm_finish_reasons_total", with(a2, "reason", "length")))
	h := histogram(t, fams, "aiops_inference_duration_seconds", a2)
	require.Equal(t, uint64(10), h.GetSampleCount())
	require.InDelta(t, 15.0, h.GetSampleSum(), 1e-6)

	triage := map[string]string{"model": "triage", "version": "default"}
	require.Equal(t, 1.0, value(t, fams, "aiops_task_outcomes_total", with(triage, "outcome", "completed")))
	require.Equal(t, 1.0, value(t, fams, "aiops_agent_tool_calls_total", with(triage, "tool", "issue_refund")))
	require.Equal(t, 1.0, value(t, fams, "aiops_agent_tool_errors_total", with(triage, "tool", "issue_refund")))
	require.Equal(t, 0.0, value(t, fams, "aiops_agent_tool_errors_total", with(triage, "tool", "lookup_order")))
	steps := histogram(t, fams, "aiops_agent_task_steps", triage)
	require.Equal(t, uint64(1), steps.GetSampleCount())
	require.Equal(t, 4.0, steps.GetSampleSum())
	require.Equal(t, 1.0, value(t, fams, "aiops_otlp_ignored_total", map[string]string{"signal": "traces", "reason": "not_genai"}))
	e.stop(t)
}

// The exporter answers bad OTLP requests with the OTLP status codes and keeps serving.
func TestOTLPBadRequestsLeaveTheExporterUp(t *testing.T) {
	dir := t.TempDir()
	e := startExporter(t, "--config.file="+writeFile(t, dir, "config.yml", exporterConfig), "--storage.path="+dir+"/data")
	post := func(body []byte, ctype, encoding string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, e.url+"/v1/traces", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", ctype)
		if encoding != "" {
			req.Header.Set("Content-Encoding", encoding)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := post([]byte{0x0a, 0xff, 0xff}, "application/x-protobuf", "")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "not an OTLP protobuf")
	code, _ = post([]byte("{}"), "text/xml", "")
	require.Equal(t, http.StatusUnsupportedMediaType, code)
	code, body = post([]byte{0x1f, 0x8b, 0x08, 0x00}, "application/json", "gzip")
	require.Equal(t, http.StatusBadRequest, code)
	require.True(t, strings.Contains(body, "EOF"), body)
	code, _ = post(nil, "application/x-protobuf", "")
	require.Equal(t, http.StatusOK, code)

	// And still takes good data.
	tr, flush := sdkTracer(t, e.url, false)
	llmCall(context.Background(), tr, "assistant", "v", 1, 2, "stop", "")
	flush()
	_, fams := e.scrape(t)
	require.Equal(t, 1.0, value(t, fams, "aiops_events_total", map[string]string{"model": "assistant", "version": "v"}))
	require.Equal(t, 3.0, value(t, fams, "aiops_otlp_requests_failed_total", map[string]string{"signal": "traces"}))
	e.stop(t)
}

// OTLP/gRPC gives the same events as OTLP/HTTP, from the stock Go SDK's gRPC exporter.
func TestOTLPGRPC(t *testing.T) {
	dir := t.TempDir()
	grpcAddr := freePort(t)
	e := startExporter(t, "--config.file="+writeFile(t, dir, "config.yml", exporterConfig), "--storage.path="+dir+"/data", "--otlp.grpc-listen-address="+grpcAddr)
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", grpcAddr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 50*time.Millisecond)
	exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure())
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	tr := tp.Tracer("grpc-test")
	for i := 0; i < 5; i++ {
		llmCall(context.Background(), tr, "assistant", "gpt-4o-2024-08-06", 100, 10, "stop", "")
	}
	bad := "x"
	_, sp := tr.Start(context.Background(), "chat", trace.WithAttributes(attribute.String("gen_ai.operation.name", "chat"), attribute.Int("gen_ai.request.model", len(bad))))
	sp.End()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, tp.Shutdown(ctx))

	_, fams := e.scrape(t)
	a1 := map[string]string{"model": "assistant", "version": "gpt-4o-2024-08-06"}
	require.Equal(t, 5.0, value(t, fams, "aiops_events_total", a1))
	require.Equal(t, 5.0, value(t, fams, "aiops_llm_finish_reasons_total", map[string]string{"model": "assistant", "version": "gpt-4o-2024-08-06", "reason": "stop"}))
	require.Equal(t, 1.0, value(t, fams, "aiops_events_rejected_total", map[string]string{"reason": "type_mismatch"}))
	e.stop(t)
}

// An application sending both spans and the GenAI metrics of the same calls: the per-call
// families count each call once (from its span), the server histograms come from metrics,
// and a cumulative metric exported twice is counted once.
func TestOTLPSpansAndMetricsFromOneAppCountOnce(t *testing.T) {
	dir := t.TempDir()
	e := startExporter(t, "--config.file="+writeFile(t, dir, "config.yml", exporterConfig), "--storage.path="+dir+"/data")
	ctx := context.Background()
	tr, flush := sdkTracer(t, e.url, false)
	mexp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(e.url+"/v1/metrics"))
	require.NoError(t, err)
	reader := sdkmetric.NewPeriodicReader(mexp, sdkmetric.WithInterval(time.Hour))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	meter := mp.Meter("genai")
	tokens, err := meter.Int64Histogram("gen_ai.client.token.usage")
	require.NoError(t, err)
	duration, err := meter.Float64Histogram("gen_ai.client.operation.duration")
	require.NoError(t, err)
	ttft, err := meter.Float64Histogram("gen_ai.server.time_to_first_token", metric.WithExplicitBucketBoundaries(0.05, 0.1, 0.5, 1))
	require.NoError(t, err)
	attrs := metric.WithAttributes(attribute.String("gen_ai.request.model", "assistant"), attribute.String("gen_ai.response.model", "gpt-4o-2024-08-06"), attribute.String("gen_ai.operation.name", "chat"))
	for i := 0; i < 6; i++ {
		llmCall(ctx, tr, "assistant", "gpt-4o-2024-08-06", 100, 25, "stop", "")
		tokens.Record(ctx, 100, metric.WithAttributes(attribute.String("gen_ai.token.type", "input"), attribute.String("gen_ai.request.model", "assistant")))
		duration.Record(ctx, 1.5, attrs)
		ttft.Record(ctx, 0.08, attrs)
	}
	require.NoError(t, mp.ForceFlush(ctx))
	require.NoError(t, mp.ForceFlush(ctx)) // the same cumulative totals again
	ttft.Record(ctx, 0.3, attrs)
	require.NoError(t, mp.Shutdown(ctx))
	flush()

	_, fams := e.scrape(t)
	a1 := map[string]string{"model": "assistant", "version": "gpt-4o-2024-08-06"}
	require.Equal(t, 6.0, value(t, fams, "aiops_events_total", a1))
	require.Equal(t, 600.0, value(t, fams, "aiops_tokens_total", map[string]string{"model": "assistant", "version": "gpt-4o-2024-08-06", "type": "input"}))
	require.Equal(t, 6.0, value(t, fams, "gen_ai_client_operation_duration_seconds", a1))
	h := histogram(t, fams, "aiops_llm_time_to_first_token_seconds", a1)
	require.Equal(t, uint64(7), h.GetSampleCount())
	require.InDelta(t, 6*0.08+0.3, h.GetSampleSum(), 1e-9)
	require.Equal(t, 6.0, value(t, fams, "aiops_otlp_ignored_total", map[string]string{"signal": "metrics", "reason": "from_spans"}))
	e.stop(t)
}

// aiops-sim's --otlp sink and its plain event sink, playing the same seeded scenario into
// two exporters, give the LLM model the same events, tokens, errors, cost and latencies —
// and the same contained traffic, the application routing version b to its fallback a.
func TestOTLPSimulatorMatchesEvents(t *testing.T) {
	sc, err := sim.ParseScenario("otlp", []byte(`
seed: 7
duration: 2m
models: [{name: assistant, kind: llm, rate: 5, versions: [{name: a, weight: 1}, {name: b, weight: 1}]}, {name: fraud, kind: classifier, rate: 2}]
faults: [{name: errors, kind: errors, model: assistant, ratio: 0.3, at: 30s, for: 30s}]`))
	require.NoError(t, err)
	start := time.Now().Add(-3 * time.Minute)
	fallback := []containment.Containment{{ID: 9, Model: "assistant", Version: "b", Action: containment.Fallback, FallbackVersion: "a"}}
	decide := func(model, version string, features map[string]any) client.Decision {
		return containment.Decide(fallback, model, version, features)
	}
	var fams [2]map[string]*dto.MetricFamily
	for i, otlp := range []bool{false, true} {
		dir := t.TempDir()
		e := startExporter(t, "--config.file="+writeFile(t, dir, "config.yml", exporterConfig), "--storage.path="+dir+"/data")
		var sink sim.Sink = &sim.HTTPSink{URL: e.url}
		if otlp {
			sink = &sim.OTLPSink{HTTPSink: sim.HTTPSink{URL: e.url}}
		}
		st, err := sim.Run(context.Background(), sim.Options{Scenario: sc, Sink: sink, NoPacing: true, Start: start, Decide: decide})
		require.NoError(t, err)
		require.Zero(t, st.SendErrors, "%v", st.LastError)
		_, fams[i] = e.scrape(t)
		e.stop(t)
	}
	events, spans := fams[0], fams[1]
	require.NotZero(t, value(t, spans, "aiops_contained_events_total", map[string]string{"model": "assistant", "version": "a", "action": "fallback"}))
	for _, name := range []string{"aiops_events_total", "aiops_tokens_total", "aiops_inference_errors_total", "aiops_cost_total", "aiops_contained_events_total"} {
		want := map[string]float64{}
		for _, m := range events[name].GetMetric() {
			want[labelString(m)] = m.GetCounter().GetValue()
		}
		got := map[string]float64{}
		for _, m := range spans[name].GetMetric() {
			got[labelString(m)] = m.GetCounter().GetValue()
		}
		require.NotEmpty(t, want, name)
		for k, v := range want {
			require.InDelta(t, v, got[k], 1e-9*(1+v), "%s%s", name, k)
		}
		require.Len(t, got, len(want), name)
	}
	a := map[string]string{"model": "assistant"}
	hw, hs := histogram(t, events, "aiops_inference_duration_seconds", a), histogram(t, spans, "aiops_inference_duration_seconds", a)
	require.Equal(t, hw.GetSampleCount(), hs.GetSampleCount())
	require.InDelta(t, hw.GetSampleSum(), hs.GetSampleSum(), 1e-6*float64(hw.GetSampleCount()))
	require.NotZero(t, value(t, spans, "aiops_llm_finish_reasons_total", map[string]string{"model": "assistant", "reason": "stop"}))
}

func labelString(m *dto.Metric) string {
	var b strings.Builder
	for _, lp := range m.GetLabel() {
		b.WriteString(lp.GetName() + "=" + lp.GetValue() + ",")
	}
	return b.String()
}
