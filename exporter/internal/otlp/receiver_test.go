package otlp_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/collector"
	"github.com/opscentre/opscentre/exporter/internal/otlp"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

const cfgText = `
unknown_models: learn
limits: {max_body_bytes: 4MiB, max_models: 20, max_label_values: 50}
models:
  gpt-4o:
    provider: openai
    price_per_million_tokens: {currency: USD, input: 2, output: 10, cached_input: 0.5}
`

type fixture struct {
	st  *state.State
	reg *prometheus.Registry
	srv *httptest.Server
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	cfg, err := config.Parse([]byte(cfgText))
	require.NoError(t, err)
	st := state.New(cfg, state.Options{Now: func() time.Time { return t0 }})
	r := otlp.New(st, nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector.New(st), r.Collector())
	mux := http.NewServeMux()
	r.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fixture{st: st, reg: reg, srv: srv}
}

// span is a test span: attributes and timing.
type span struct {
	name    string
	attrs   map[string]any
	start   time.Time
	dur     time.Duration
	status  ptrace.StatusCode
	id, par byte
	traceID byte
}

func traces(spans ...span) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "test")
	ss := rs.ScopeSpans().AppendEmpty()
	for _, s := range spans {
		sp := ss.Spans().AppendEmpty()
		sp.SetName(s.name)
		start := s.start
		if start.IsZero() {
			start = t0.Add(-time.Minute)
		}
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(s.dur)))
		sp.Status().SetCode(s.status)
		sp.SetTraceID(pcommon.TraceID{1, s.traceID})
		sp.SetSpanID(pcommon.SpanID{s.id, 1})
		if s.par != 0 {
			sp.SetParentSpanID(pcommon.SpanID{s.par, 1})
		}
		require.NoError(nil, sp.Attributes().FromRaw(s.attrs))
	}
	return td
}

func chat(model, response string, in, out int, reasons ...any) span {
	a := map[string]any{
		"gen_ai.operation.name":     "chat",
		"gen_ai.request.model":      model,
		"gen_ai.usage.input_tokens": in, "gen_ai.usage.output_tokens": out,
	}
	if response != "" {
		a["gen_ai.response.model"] = response
	}
	if len(reasons) > 0 {
		a["gen_ai.response.finish_reasons"] = reasons
	}
	return span{name: "chat " + model, attrs: a, dur: 1500 * time.Millisecond}
}

type reply struct {
	code     int
	ctype    string
	rejected int64
	message  string
	status   *spb.Status
}

func (f *fixture) send(t testing.TB, body []byte, ctype, encoding string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/v1/traces", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", ctype)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := reply{code: resp.StatusCode, ctype: resp.Header.Get("Content-Type")}
	isJSON := strings.HasPrefix(r.ctype, "application/json")
	if resp.StatusCode == http.StatusOK {
		er := ptraceotlp.NewExportResponse()
		if isJSON {
			require.NoError(t, er.UnmarshalJSON(out))
		} else {
			require.NoError(t, er.UnmarshalProto(out))
		}
		r.rejected, r.message = er.PartialSuccess().RejectedSpans(), er.PartialSuccess().ErrorMessage()
		return r
	}
	r.status = &spb.Status{}
	if isJSON {
		require.NoError(t, protojson.Unmarshal(out, r.status), string(out))
	} else {
		require.NoError(t, proto.Unmarshal(out, r.status))
	}
	return r
}

func (f *fixture) sendTraces(t testing.TB, td ptrace.Traces, asJSON bool) reply {
	t.Helper()
	req := ptraceotlp.NewExportRequestFromTraces(td)
	if asJSON {
		b, err := req.MarshalJSON()
		require.NoError(t, err)
		return f.send(t, b, "application/json", "")
	}
	b, err := req.MarshalProto()
	require.NoError(t, err)
	return f.send(t, b, "application/x-protobuf", "")
}

func (f *fixture) metrics(t testing.TB) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := f.reg.Gather()
	require.NoError(t, err)
	out := make(map[string]*dto.MetricFamily, len(mfs))
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

func (f *fixture) text(t testing.TB) string {
	t.Helper()
	mfs, err := f.reg.Gather()
	require.NoError(t, err)
	var b bytes.Buffer
	for _, mf := range mfs {
		if mf.GetName() == "aiops_exporter_collect_duration_seconds" {
			continue // the one family that differs from scrape to scrape
		}
		_, err := expfmt.MetricFamilyToText(&b, mf)
		require.NoError(t, err)
	}
	return b.String()
}

// value is the value of the one series of name whose labels include labels; 0 if none.
func value(t testing.TB, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	var found []float64
	for _, m := range fams[name].GetMetric() {
		got := map[string]string{}
		for _, lp := range m.Label {
			got[lp.GetName()] = lp.GetValue()
		}
		ok := true
		for k, v := range labels {
			ok = ok && got[k] == v
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			found = append(found, m.Counter.GetValue())
		case m.Gauge != nil:
			found = append(found, m.Gauge.GetValue())
		case m.Histogram != nil:
			found = append(found, float64(m.Histogram.GetSampleCount()))
		}
	}
	require.LessOrEqual(t, len(found), 1, "series %s%v", name, labels)
	if len(found) == 0 {
		return 0
	}
	return found[0]
}

func genAIBatch() ptrace.Traces {
	failed := chat("gpt-4o", "", 12, 0)
	failed.status = ptrace.StatusCodeError
	failed.attrs["error.type"] = "500"
	timeout := chat("gpt-4o", "", 7, 0)
	timeout.status = ptrace.StatusCodeError
	http := span{name: "GET /", attrs: map[string]any{"http.request.method": "GET"}}
	embed := span{name: "embeddings", attrs: map[string]any{"gen_ai.operation.name": "embeddings", "gen_ai.request.model": "text-embedding-3-small", "gen_ai.usage.input_tokens": 40}, dur: 1500 * time.Millisecond}
	cached := chat("gpt-4o", "gpt-4o-2024-08-06", 1000, 200, "stop")
	cached.attrs["gen_ai.usage.cache_read.input_tokens"] = 400
	return traces(
		chat("gpt-4o", "gpt-4o-2024-08-06", 100, 20, "stop"),
		chat("gpt-4o", "gpt-4o-2024-08-06", 200, 50, "length"),
		chat("gpt-4o", "gpt-4o-2024-11-20", 300, 30, "stop", "content_filter"),
		cached, failed, timeout, http, embed,
		span{name: "create_agent", attrs: map[string]any{"gen_ai.operation.name": "create_agent"}},
	)
}

func TestGenAISpansBecomeEvents(t *testing.T) {
	f := newFixture(t)
	r := f.sendTraces(t, genAIBatch(), false)
	require.Equal(t, http.StatusOK, r.code)
	require.Equal(t, "application/x-protobuf", r.ctype)
	require.Zero(t, r.rejected, r.message)

	m := f.metrics(t)
	v1 := map[string]string{"model": "gpt-4o", "version": "gpt-4o-2024-08-06"}
	v2 := map[string]string{"model": "gpt-4o", "version": "gpt-4o-2024-11-20"}
	def := map[string]string{"model": "gpt-4o", "version": "default"}
	with := func(base map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for a, b := range base {
			out[a] = b
		}
		return out
	}
	require.Equal(t, 3.0, value(t, m, "aiops_events_total", v1))
	require.Equal(t, 1.0, value(t, m, "aiops_events_total", v2))
	require.Equal(t, 2.0, value(t, m, "aiops_events_total", def))
	require.Equal(t, 1.0, value(t, m, "aiops_events_total", map[string]string{"model": "text-embedding-3-small"}))
	require.Equal(t, 1300.0, value(t, m, "aiops_tokens_total", with(v1, "type", "input")))
	require.Equal(t, 270.0, value(t, m, "aiops_tokens_total", with(v1, "type", "output")))
	require.Equal(t, 400.0, value(t, m, "aiops_tokens_total", with(v1, "type", "cached")))
	// (900·2 + 400·0.5 + 270·10) / 1e6 USD
	require.InDelta(t, (900*2+400*0.5+270*10)/1e6, value(t, m, "aiops_cost_total", with(v1, "currency", "USD")), 1e-12)
	require.Equal(t, 1.0, value(t, m, "aiops_inference_errors_total", with(def, "type", "500")))
	require.Equal(t, 1.0, value(t, m, "aiops_inference_errors_total", with(def, "type", "error")))
	require.Equal(t, 3.0, value(t, m, "aiops_inference_duration_seconds", v1))
	require.Equal(t, 2.0, value(t, m, "aiops_llm_finish_reasons_total", with(v1, "reason", "stop")))
	require.Equal(t, 1.0, value(t, m, "aiops_llm_finish_reasons_total", with(v1, "reason", "length")))
	require.Equal(t, 1.0, value(t, m, "aiops_llm_finish_reasons_total", with(v2, "reason", "content_filter")))
	require.Equal(t, 1.0, value(t, m, "aiops_otlp_ignored_total", map[string]string{"signal": "traces", "reason": "not_genai"}))
	require.Equal(t, 1.0, value(t, m, "aiops_otlp_ignored_total", map[string]string{"signal": "traces", "reason": "unsupported_operation"}))
	// The latency is the span's duration: 1.5 s each.
	for _, mm := range m["aiops_inference_duration_seconds"].Metric {
		h := mm.GetHistogram()
		require.InDelta(t, 1.5*float64(h.GetSampleCount()), h.GetSampleSum(), 1e-9)
	}
}

func TestJSONAndProtobufGiveTheSameMetrics(t *testing.T) {
	pb, js := newFixture(t), newFixture(t)
	for i := 0; i < 3; i++ {
		require.Equal(t, http.StatusOK, pb.sendTraces(t, genAIBatch(), false).code)
		r := js.sendTraces(t, genAIBatch(), true)
		require.Equal(t, http.StatusOK, r.code)
		require.Equal(t, "application/json", r.ctype)
	}
	a, b := pb.text(t), js.text(t)
	require.Contains(t, a, `aiops_tokens_total{model="gpt-4o",type="input",version="gpt-4o-2024-08-06"} 3900`)
	if a != b {
		t.Errorf("JSON and protobuf requests gave different metrics")
		al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
		for i := 0; i < len(al) && i < len(bl); i++ {
			if al[i] != bl[i] {
				t.Fatalf("first difference: protobuf %q, JSON %q", al[i], bl[i])
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t)
	good, err := ptraceotlp.NewExportRequestFromTraces(genAIBatch()).MarshalProto()
	require.NoError(t, err)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(good)
	require.NoError(t, zw.Close())

	for _, tc := range []struct {
		name     string
		body     []byte
		ctype    string
		encoding string
		code     int
		message  string
	}{
		{"malformed protobuf", []byte{0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01}, "application/x-protobuf", "", 400, "not an OTLP protobuf"},
		{"malformed JSON", []byte(`{"resourceSpans": [`), "application/json", "", 400, "not an OTLP JSON"},
		{"wrong content type", good, "text/plain", "", 415, "application/x-protobuf or application/json"},
		{"no content type", good, "", "", 415, "Content-Type"},
		{"unknown encoding", good, "application/x-protobuf", "br", 415, `"br" is not supported`},
		{"truncated gzip", gz.Bytes()[:gz.Len()/2], "application/x-protobuf", "gzip", 400, "unexpected EOF"},
		{"not gzip", good, "application/x-protobuf", "gzip", 400, "not gzip"},
		{"too large", make([]byte, 5<<20), "application/x-protobuf", "", 413, "limits.max_body_bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.send(t, tc.body, tc.ctype, tc.encoding)
			require.Equal(t, tc.code, r.code)
			require.NotNil(t, r.status)
			require.Contains(t, r.status.GetMessage(), tc.message)
		})
	}
	// None of it reached the state.
	require.Zero(t, value(t, f.metrics(t), "aiops_events_total", nil))
	require.Equal(t, 8.0, value(t, f.metrics(t), "aiops_otlp_requests_failed_total", map[string]string{"signal": "traces"}))

	t.Run("gzip", func(t *testing.T) {
		r := f.send(t, gz.Bytes(), "application/x-protobuf", "gzip")
		require.Equal(t, http.StatusOK, r.code)
		require.Zero(t, r.rejected)
	})
	t.Run("empty request", func(t *testing.T) {
		for _, ct := range []string{"application/x-protobuf", "application/json"} {
			body := []byte{}
			if ct == "application/json" {
				body = []byte(`{}`)
			}
			r := f.send(t, body, ct, "")
			require.Equal(t, http.StatusOK, r.code)
			require.Zero(t, r.rejected)
		}
	})
}

func TestPartialSuccessNamesTheAttribute(t *testing.T) {
	f := newFixture(t)
	strTokens := chat("gpt-4o", "", 0, 5)
	strTokens.attrs["gen_ai.usage.input_tokens"] = "12"
	intModel := chat("x", "", 1, 1)
	intModel.attrs["gen_ai.request.model"] = 42
	noModel := chat("x", "", 1, 1)
	delete(noModel.attrs, "gen_ai.request.model")
	future := chat("gpt-4o", "", 1, 1)
	future.start = t0.Add(100 * 365 * 24 * time.Hour)
	ancient := chat("gpt-4o", "", 1, 1)
	ancient.start = time.Unix(1, 0)
	backwards := chat("gpt-4o", "", 1, 1)
	backwards.dur = -time.Second
	tooMuchCache := chat("gpt-4o", "", 10, 1)
	tooMuchCache.attrs["gen_ai.usage.cache_read.input_tokens"] = 20
	fraction := chat("gpt-4o", "", 1, 1)
	fraction.attrs["gen_ai.usage.output_tokens"] = 1.5
	ok := chat("gpt-4o", "", 3, 4, "stop")
	noAgent := span{name: "invoke_agent", attrs: map[string]any{"gen_ai.operation.name": "invoke_agent"}, dur: time.Second}

	r := f.sendTraces(t, traces(noAgent, strTokens, intModel, noModel, future, ancient, backwards, tooMuchCache, fraction, ok), false)
	require.Equal(t, http.StatusOK, r.code)
	require.Equal(t, int64(9), r.rejected)
	require.Contains(t, r.message, "gen_ai.agent.name: every event needs a model (missing_model)")
	require.Contains(t, r.message, "gen_ai.usage.input_tokens: tokens.input must be a number, got string (type_mismatch)")
	require.Contains(t, r.message, "gen_ai.request.model: model must be a string, got number (type_mismatch)")
	require.Contains(t, r.message, "gen_ai.request.model: every event needs a model (missing_model)")
	require.Contains(t, r.message, "end_time_unix_nano: timestamp")
	require.Contains(t, r.message, "(timestamp_out_of_range)")
	require.Contains(t, r.message, "and 4 more")

	m := f.metrics(t)
	require.Equal(t, 1.0, value(t, m, "aiops_events_total", map[string]string{"model": "gpt-4o"}))
	require.Equal(t, 1.0, value(t, m, "aiops_llm_finish_reasons_total", map[string]string{"model": "gpt-4o", "reason": "stop"}))
	rej := func(reason string) float64 {
		var n float64
		for _, mm := range m["aiops_events_rejected_total"].GetMetric() {
			for _, lp := range mm.Label {
				if lp.GetName() == "reason" && lp.GetValue() == reason {
					n += mm.GetCounter().GetValue()
				}
			}
		}
		return n
	}
	require.Equal(t, 3.0, rej("type_mismatch"))
	require.Equal(t, 2.0, rej("missing_model"))
	require.Equal(t, 2.0, rej("timestamp_out_of_range"))
	require.Equal(t, 1.0, rej("negative_value"))
	require.Equal(t, 1.0, rej("invalid_value"))
}

func TestDistinctModelNamesAreFolded(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 10⁶ spans")
	}
	f := newFixture(t)
	const total, batch = 1_000_000, 20_000
	n := 0
	for n < total {
		td := ptrace.NewTraces()
		ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
		for i := 0; i < batch; i++ {
			sp := ss.Spans().AppendEmpty()
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(t0.Add(-time.Second)))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(t0))
			a := sp.Attributes()
			a.PutStr("gen_ai.operation.name", "chat")
			a.PutStr("gen_ai.request.model", fmt.Sprintf("model-%d", n))
			a.PutStr("gen_ai.response.finish_reasons", fmt.Sprintf("reason-%d", n))
			n++
		}
		r := f.sendTraces(t, td, false)
		require.Equal(t, http.StatusOK, r.code)
		require.Zero(t, r.rejected, r.message)
	}
	m := f.metrics(t)
	require.Len(t, m["aiops_events_total"].GetMetric(), 20+1) // max_models, then __other__
	require.Equal(t, float64(total-20), value(t, m, "aiops_events_total", map[string]string{"model": "__other__"}))
	require.Equal(t, float64(total-20), value(t, m, "aiops_label_values_folded_total", map[string]string{"label": "model"}))
	require.Equal(t, float64(total), value(t, m, "aiops_label_values_folded_total", map[string]string{"label": "reason"}))
	require.Len(t, m["aiops_llm_finish_reasons_total"].GetMetric(), 20+1)
}

func TestAgentTasksToolsAndSteps(t *testing.T) {
	f := newFixture(t)
	agent := func(id byte, status ptrace.StatusCode, extra map[string]any) span {
		a := map[string]any{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 999}
		for k, v := range extra {
			a[k] = v
		}
		return span{name: "invoke_agent support", attrs: a, id: id, status: status, dur: 10 * time.Second}
	}
	tool := func(id, parent byte, name string, status ptrace.StatusCode) span {
		return span{name: "execute_tool " + name, attrs: map[string]any{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name}, id: id, par: parent, status: status, dur: time.Second}
	}
	step := func(id, parent byte) span {
		s := chat("gpt-4o", "", 10, 10, "tool_calls")
		s.id, s.par = id, parent
		return s
	}
	wrapper := span{name: "step", attrs: map[string]any{}, id: 30, par: 1} // a non-GenAI span between agent and call
	r := f.sendTraces(t, traces(
		// task 1: 2 LLM calls (one under a non-GenAI span), 2 tool calls, one failing; completed.
		step(10, 1), step(11, 30), wrapper, tool(12, 1, "search", ptrace.StatusCodeUnset), tool(13, 1, "refund", ptrace.StatusCodeError),
		agent(1, ptrace.StatusCodeOk, nil),
		// task 2: failed, one LLM call.
		step(20, 2), agent(2, ptrace.StatusCodeError, nil),
		// task 3: escalated to a human.
		agent(3, ptrace.StatusCodeUnset, map[string]any{"opscentre.task.outcome": "escalated"}),
	), false)
	require.Equal(t, http.StatusOK, r.code)
	require.Zero(t, r.rejected, r.message)
	m := f.metrics(t)
	ag := map[string]string{"model": "support", "version": "default"}
	with := func(k, v string) map[string]string { return map[string]string{"model": "support", k: v} }
	require.Equal(t, 3.0, value(t, m, "aiops_events_total", ag))
	require.Equal(t, 1.0, value(t, m, "aiops_task_outcomes_total", with("outcome", "completed")))
	require.Equal(t, 1.0, value(t, m, "aiops_task_outcomes_total", with("outcome", "failed")))
	require.Equal(t, 1.0, value(t, m, "aiops_task_outcomes_total", with("outcome", "escalated")))
	require.Equal(t, 1.0, value(t, m, "aiops_agent_tool_calls_total", with("tool", "search")))
	require.Equal(t, 0.0, value(t, m, "aiops_agent_tool_errors_total", with("tool", "search")))
	require.Equal(t, 1.0, value(t, m, "aiops_agent_tool_errors_total", with("tool", "refund")))
	// Agent spans' own usage is not counted: the calls' spans carry it.
	require.Zero(t, value(t, m, "aiops_tokens_total", with("type", "input")))
	require.Equal(t, 30.0, value(t, m, "aiops_tokens_total", map[string]string{"model": "gpt-4o", "type": "input"}))
	h := func() *dto.Histogram {
		for _, mm := range m["aiops_agent_task_steps"].GetMetric() {
			return mm.GetHistogram()
		}
		return nil
	}()
	require.NotNil(t, h)
	require.Equal(t, uint64(3), h.GetSampleCount())
	require.Equal(t, 4.0+1+0, h.GetSampleSum())
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}

// Spans made under a containment carry opscentre.containment.id and .action and are
// counted in aiops_contained_events_total{action} like events sent as JSON; one attribute
// alone or an unknown action is rejected naming the attribute.
func TestContainedSpansAreCounted(t *testing.T) {
	f := newFixture(t)
	contained := func(id, action any) span {
		s := chat("gpt-4o", "gpt-4o-mini", 10, 5, "stop")
		if id != nil {
			s.attrs["opscentre.containment.id"] = id
		}
		if action != nil {
			s.attrs["opscentre.containment.action"] = action
		}
		return s
	}
	agent := span{name: "invoke_agent", dur: time.Second, attrs: map[string]any{"gen_ai.operation.name": "invoke_agent",
		"gen_ai.agent.name": "helper", "opscentre.containment.id": 8, "opscentre.containment.action": "block_inputs"}}
	r := f.sendTraces(t, traces(contained(7, "fallback"), contained(7, "fallback"), contained(nil, nil), agent,
		contained(nil, "fallback"), contained(7, nil), contained(7, "reroute"), contained("7", "disable")), false)
	require.Equal(t, http.StatusOK, r.code)
	require.Equal(t, int64(4), r.rejected, r.message)
	require.Contains(t, r.message, "opscentre.containment.id and opscentre.containment.action: containment needs both id and action (missing_required)")
	require.Contains(t, r.message, `opscentre.containment.action: containment.action "reroute": expected fallback, disable or block_inputs (invalid_value)`)
	require.Contains(t, r.message, "opscentre.containment.id: containment.id must be a positive integer")

	m := f.metrics(t)
	v := map[string]string{"model": "gpt-4o", "version": "gpt-4o-mini"}
	require.Equal(t, 3.0, value(t, m, "aiops_events_total", v))
	require.Equal(t, 2.0, value(t, m, "aiops_contained_events_total", map[string]string{"model": "gpt-4o", "version": "gpt-4o-mini", "action": "fallback"}))
	require.Equal(t, 1.0, value(t, m, "aiops_contained_events_total", map[string]string{"model": "helper", "action": "block_inputs"}))
	for _, mm := range m["aiops_contained_events_total"].GetMetric() {
		for _, lp := range mm.GetLabel() {
			if lp.GetName() == "action" && lp.GetValue() != "fallback" && lp.GetValue() != "block_inputs" {
				require.Zero(t, mm.GetCounter().GetValue(), "rejected spans count nothing: %s", lp.GetValue())
			}
		}
	}
}
