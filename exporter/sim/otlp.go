package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
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
func (o *OTLPSink) SendEvents(ctx context.Context, events []Event) error {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "aiops-sim")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	var rest []Event
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
		end := e.Timestamp
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(end.Add(-time.Duration(e.LatencySeconds * float64(time.Second)))))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
		a := sp.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.request.model", e.Model)
		if e.Version != "" {
			a.PutStr("gen_ai.response.model", e.Version)
		}
		a.PutInt("gen_ai.usage.input_tokens", int64(e.Tokens.Input))
		a.PutInt("gen_ai.usage.output_tokens", int64(e.Tokens.Output))
		if e.Tokens.Cached > 0 {
			a.PutInt("gen_ai.usage.cache_read.input_tokens", int64(e.Tokens.Cached))
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
		if err := o.post(ctx, "/v1/traces", "application/x-protobuf", bytes.NewReader(body)); err != nil {
			return err
		}
	}
	if len(rest) > 0 {
		return o.HTTPSink.SendEvents(ctx, rest)
	}
	return nil
}
