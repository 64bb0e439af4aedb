package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/opscentre/opscentre/exporter/client"
)

// OTLPSink sends the LLM calls (events with tokens) as OpenTelemetry GenAI chat spans to
// the exporter's /v1/traces, as an instrumented application would, and everything else
// through the HTTPSink. A span carries what the GenAI conventions have: model, response
// model (the version), latency, error, tokens, and the containment the call was made under
// (opscentre.containment.id and .action, the exporter's own attributes); an LLM event's
// features, outcome, feedback and business values are not sent this way.
type OTLPSink struct {
	HTTPSink
}

// SendEvents posts the LLM calls as one OTLP protobuf request and the rest as NDJSON.
func (o *OTLPSink) SendEvents(ctx context.Context, events []client.Event) error {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "aiops-sim")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	var rest []client.Event
	for i := range events {
		e := &events[i]
		if e.Tokens == nil {
			rest = append(rest, *e)
			continue
		}
		sp := spans.AppendEmpty()
		sp.SetName("chat " + e.Model)
		sp.SetKind(ptrace.SpanKindClient)
		var tid pcommon.TraceID
		var sid pcommon.SpanID
		_, _ = rand.Read(tid[:])
		_, _ = rand.Read(sid[:])
		sp.SetTraceID(tid)
		sp.SetSpanID(sid)
		end := *e.Timestamp // set on every event the simulator makes, as its latency is
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(end.Add(-time.Duration(*e.LatencySeconds * float64(time.Second)))))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
		a := sp.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.request.model", e.Model)
		if e.Version != "" {
			a.PutStr("gen_ai.response.model", e.Version)
		}
		a.PutInt("gen_ai.usage.input_tokens", e.Tokens.Input)
		a.PutInt("gen_ai.usage.output_tokens", e.Tokens.Output)
		if e.Tokens.Cached > 0 {
			a.PutInt("gen_ai.usage.cache_read.input_tokens", e.Tokens.Cached)
		}
		if e.Error != "" {
			a.PutStr("error.type", e.Error)
			sp.Status().SetCode(ptrace.StatusCodeError)
		} else {
			a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
		}
		if c := e.Containment; c != nil {
			a.PutInt("opscentre.containment.id", c.ID)
			a.PutStr("opscentre.containment.action", c.Action)
		}
	}
	if spans.Len() > 0 {
		body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if err != nil {
			return fmt.Errorf("encoding OTLP spans: %w", err)
		}
		if err := o.postTraces(ctx, body); err != nil {
			return err
		}
	}
	if len(rest) > 0 {
		return o.HTTPSink.SendEvents(ctx, rest)
	}
	return nil
}

// postTraces posts one OTLP/HTTP protobuf export request to the exporter's /v1/traces (not
// the ingest API exporter/client speaks), with the sink's HTTP client and the same default
// timeout.
func (o *OTLPSink) postTraces(ctx context.Context, body []byte) error {
	hc := o.Client
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(o.URL, "/")+"/v1/traces", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building the OTLP request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("posting to /v1/traces: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("posting to /v1/traces: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
