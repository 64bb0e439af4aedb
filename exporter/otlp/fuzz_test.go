package otlp

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/ingest"
	"github.com/opscentre/opscentre/exporter/state"
)

// FuzzTraces feeds arbitrary bodies to /v1/traces as protobuf and as JSON (seeds in
// testdata/fuzz/FuzzTraces). Whatever the input: no panic, a 200 or a 400 with an OTLP
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
