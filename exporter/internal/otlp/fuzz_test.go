package otlp

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/ingest"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// FuzzTraces feeds arbitrary bodies to /v1/traces as protobuf and as JSON (seeds in
// testdata/fuzz/FuzzTraces); FuzzMetricsAndLogs does the same for the other two paths. Whatever the input: no panic, a 200 or a 400 with an OTLP
// answer, at most as many spans rejected as were sent, and — since the receiver writes each
// span as a line of the event schema — never an event line the event code cannot read as JSON.
func FuzzTraces(f *testing.F) {
	cfg, err := config.Parse([]byte("unknown_models: learn\nlimits: {max_models: 5, max_label_values: 5}\n"))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"chat","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.request.model","value":{"stringValue":"m\"\\\u0000"}},{"key":"gen_ai.usage.input_tokens","value":{"doubleValue":1e308}}]}]}]}]}`,
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"invoke_agent"}},{"key":"gen_ai.agent.name","value":{"arrayValue":{}}}]}]}]}]}`,
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.request.model","value":{"stringValue":"m"}},{"key":"opscentre.containment.id","value":{"stringValue":"7\""}},{"key":"opscentre.containment.action","value":{"kvlistValue":{}}}]}]}]}]}`,
		`{}`, ``, `[`,
	} {
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		st := state.New(cfg, state.Options{Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})
		r := New(st, nil)
		ctype := "application/x-protobuf"
		if asJSON {
			ctype = "application/json"
		}
		req := httptest.NewRequest(http.MethodPost, PathTraces, bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		r.serveTraces(rec, req)
		switch rec.Code {
		case http.StatusBadRequest:
			return
		case http.StatusOK:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		resp := ptraceotlp.NewExportResponse()
		if asJSON {
			err = resp.UnmarshalJSON(rec.Body.Bytes())
		} else {
			err = resp.UnmarshalProto(rec.Body.Bytes())
		}
		if err != nil {
			t.Fatalf("response is not an ExportTraceServiceResponse: %v", err)
		}
		in := ptraceotlp.NewExportRequest()
		if asJSON {
			_ = in.UnmarshalJSON(body)
		} else {
			_ = in.UnmarshalProto(body)
		}
		if n := resp.PartialSuccess().RejectedSpans(); n < 0 || n > int64(in.Traces().SpanCount()) {
			t.Fatalf("%d spans rejected of %d", n, in.Traces().SpanCount())
		}
		if n := resp.PartialSuccess().RejectedSpans(); n > 0 && resp.PartialSuccess().ErrorMessage() == "" {
			t.Fatal("spans rejected without a message")
		}
		for k := range st.Rejected() {
			if k.Reason == ingest.ReasonInvalidJSON || k.Reason == ingest.ReasonUnknownField {
				t.Fatalf("a span became an event line the event code could not read: %+v", k)
			}
		}
	})
}

// FuzzMetricsAndLogs feeds arbitrary bodies to /v1/metrics and /v1/logs: no panic, a 200
// with an OTLP response or a 400, and nothing the collector cannot expose.
func FuzzMetricsAndLogs(f *testing.F) {
	cfg, err := config.Parse([]byte("unknown_models: learn\nlimits: {max_models: 5, max_label_values: 5}\n"))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"gen_ai.server.time_to_first_token","histogram":{"aggregationTemporality":2,"dataPoints":[{"startTimeUnixNano":"9000000000000000000","count":"3","sum":0.3,"bucketCounts":["1","2"],"explicitBounds":[0.1],"attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"m"}}]}]}}]}]}]}`,
		`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"gen_ai.evaluation.result","attributes":[{"key":"gen_ai.evaluation.name","value":{"stringValue":"r"}},{"key":"gen_ai.evaluation.score.value","value":{"doubleValue":0.5}}]}]}]}]}`,
		`{}`, ``,
	} {
		f.Add([]byte(seed), true, false)
		f.Add([]byte(seed), true, true)
	}
	f.Fuzz(func(t *testing.T, body []byte, asJSON, logs bool) {
		st := state.New(cfg, state.Options{Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})
		r := New(st, nil)
		path, serve := PathMetrics, r.serveMetrics
		if logs {
			path, serve = PathLogs, r.serveLogs
		}
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", map[bool]string{true: "application/json", false: "application/x-protobuf"}[asJSON])
		rec := httptest.NewRecorder()
		serve(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		reg := prometheus.NewRegistry()
		reg.MustRegister(r.Collector())
		if _, err := reg.Gather(); err != nil {
			t.Fatalf("metrics cannot be exposed: %v", err)
		}
	})
}
