// Package otlp receives OpenTelemetry traces and metrics over OTLP/HTTP (/v1/traces,
// /v1/metrics; protobuf or JSON, plain or gzip) and OTLP/gRPC (traces) and turns GenAI spans — the gen_ai.* semantic conventions that the
// OpenAI, OpenLIT, OpenLLMetry and OpenInference instrumentations emit — into inference
// events. Each span is written as one line of the /api/v1/events schema and handed to the
// same ingest code, so validation, limits, label folding and every metric family are
// exactly those of events sent as JSON. What the event schema has no field for (finish
// reasons, tool calls, steps per agent task) is counted here, labelled with the model and
// version the state gave the span's event.
//
// Spans that are not GenAI (HTTP, database, runtime) are counted as ignored, never
// rejected: users point a Collector's whole pipeline at the exporter.
package otlp

import (
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/inflight"
	"github.com/opscentre/opscentre/exporter/internal/ingest"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// PathTraces is where OTLP/HTTP exporters send traces.
const PathTraces = "/v1/traces"

// maxMessages bounds the rejection messages joined into one partial_success message.
const maxMessages = 5

// Receiver serves OTLP/HTTP. It is safe for concurrent use.
type Receiver struct {
	st      *state.State
	ingest  *ingest.Ingester
	logger  *slog.Logger
	counts  *counts
	metrics *serverMetrics
	evals   *evaluations
	parsed  atomic.Pointer[parsedTemplate]
	workers sync.Pool // *worker
	bodies  sync.Pool // *inflight.Body
}

type worker struct {
	lines    []byte
	models   []pcommon.Value // the model of each line's span
	versions []pcommon.Value
	spans    []ptrace.Span // the span of each line
	kinds    []spanKind
}

// New returns a receiver applying spans to st.
func New(st *state.State, logger *slog.Logger) *Receiver {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Receiver{st: st, ingest: ingest.New(st, logger), logger: logger, counts: newCounts(st), metrics: newServerMetrics(st.Now()), evals: newEvaluations()}
	r.workers.New = func() any { return &worker{} }
	r.bodies.New = func() any { return &inflight.Body{} }
	return r
}

// Register adds the OTLP paths to mux.
func (r *Receiver) Register(mux *http.ServeMux) {
	mux.HandleFunc(PathTraces, r.serveTraces)
	mux.HandleFunc(PathMetrics, r.serveMetrics)
	mux.HandleFunc(PathLogs, r.serveLogs)
}

// encoding is how a request (and so its response) is encoded.
type encoding int

const (
	encProto encoding = iota
	encJSON
)

// httpError is an OTLP/HTTP failure: the status code and the google.rpc.Status message.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func (r *Receiver) serveTraces(rw http.ResponseWriter, req *http.Request) {
	r.serveOTLP(rw, req, signalTraces, func(body []byte, enc encoding) ([]byte, error) {
		in := ptraceotlp.NewExportRequest()
		if err := decode(in, body, enc, "ExportTraceServiceRequest"); err != nil {
			return nil, err
		}
		w := r.workers.Get().(*worker)
		defer r.workers.Put(w)
		rejected, msg := r.consumeTraces(w, in.Traces())
		resp := ptraceotlp.NewExportResponse()
		if rejected > 0 {
			resp.PartialSuccess().SetRejectedSpans(int64(rejected))
			resp.PartialSuccess().SetErrorMessage(msg)
		}
		return encode(resp, enc)
	})
}

// exportMessage is what the pdata Export requests and responses of every signal share.
type exportMessage interface {
	UnmarshalJSON([]byte) error
	UnmarshalProto([]byte) error
	MarshalJSON() ([]byte, error)
	MarshalProto() ([]byte, error)
}

// decode reads an Export request in the body's encoding; a body that is not one is a 400
// naming the message expected.
func decode(in exportMessage, body []byte, enc encoding, message string) error {
	var err error
	if enc == encJSON {
		err = in.UnmarshalJSON(body)
	} else {
		err = in.UnmarshalProto(body)
	}
	if err != nil {
		return &httpError{http.StatusBadRequest, fmt.Sprintf("body is not an OTLP %s %s: %v", encName(enc), message, err)}
	}
	return nil
}

// encode writes an Export response in the request's encoding.
func encode(resp exportMessage, enc encoding) ([]byte, error) {
	if enc == encJSON {
		return resp.MarshalJSON()
	}
	return resp.MarshalProto()
}

func encName(enc encoding) string {
	if enc == encJSON {
		return "JSON"
	}
	return "protobuf"
}

// serveOTLP is what every OTLP/HTTP path shares: method, content type and encoding, the
// size bound, and the status codes. consume decodes and applies the body and returns the
// encoded response, or an *httpError.
func (r *Receiver) serveOTLP(rw http.ResponseWriter, req *http.Request, signal string, consume func([]byte, encoding) ([]byte, error)) {
	if req.Method != http.MethodPost {
		rw.Header().Set("Allow", http.MethodPost)
		writeStatus(rw, encJSON, &httpError{http.StatusMethodNotAllowed, "OTLP/HTTP takes POST"})
		return
	}
	if !r.st.Config().OTLP.Enabled(signal) {
		// Read per request, so a reload turns signals on and off.
		writeStatus(rw, encJSON, &httpError{http.StatusNotFound, fmt.Sprintf("OTLP %s are turned off (otlp.signals in the exporter's configuration)", signal)})
		return
	}
	enc, err := contentEncoding(req.Header.Get("Content-Type"))
	if err != nil {
		r.counts.requestFailed(signal)
		writeStatus(rw, encJSON, err.(*httpError))
		return
	}
	b := r.bodies.Get().(*inflight.Body)
	defer r.bodies.Put(b)
	body, herr := r.readBody(b, req)
	if herr != nil {
		r.counts.requestFailed(signal)
		writeStatus(rw, enc, herr)
		return
	}
	out, err := consume(body, enc)
	if err != nil {
		r.counts.requestFailed(signal)
		herr, ok := err.(*httpError)
		if !ok {
			herr = &httpError{http.StatusInternalServerError, err.Error()}
		}
		writeStatus(rw, enc, herr)
		return
	}
	if enc == encJSON {
		rw.Header().Set("Content-Type", "application/json")
	} else {
		rw.Header().Set("Content-Type", "application/x-protobuf")
	}
	rw.WriteHeader(http.StatusOK)
	_, _ = rw.Write(out)
}

func contentEncoding(contentType string) (encoding, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return 0, &httpError{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: %v; use application/x-protobuf or application/json", contentType, err)}
	}
	switch mt {
	case "application/x-protobuf", "application/protobuf":
		return encProto, nil
	case "application/json":
		return encJSON, nil
	}
	return 0, &httpError{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q is not supported; OTLP/HTTP uses application/x-protobuf or application/json", mt)}
}

// readBody reads the body, gunzipping it, bounded by limits.max_body_bytes decoded.
func (r *Receiver) readBody(w *inflight.Body, req *http.Request) ([]byte, *httpError) {
	limit := int64(r.st.Config().Limits.MaxBodyBytes)
	n, _, err := w.Read(req, limit)
	switch {
	case err == nil:
		return w.Buf.Bytes(), nil
	case errors.Is(err, inflight.ErrTooLarge):
		return nil, &httpError{http.StatusRequestEntityTooLarge, err.Error() + "; lower the exporter's batch size (OTEL_BSP_MAX_EXPORT_BATCH_SIZE, or send_batch_max_size in a Collector)"}
	case inflight.Status(err) != http.StatusBadRequest || errors.Is(err, inflight.ErrNotGzip):
		// 415 for an unknown coding; 503 when the exporter sheds load, which OTLP clients
		// retry after the Retry-After that the budget's handler sets.
		return nil, &httpError{inflight.Status(err), err.Error()}
	}
	// A protobuf message cut short cannot be read in part: nothing is kept.
	return nil, &httpError{http.StatusBadRequest, fmt.Sprintf("reading body (%d bytes decoded): %v", n, err)}
}

// writeStatus writes an OTLP error response: a google.rpc.Status in the request's encoding.
func writeStatus(rw http.ResponseWriter, enc encoding, e *httpError) {
	st := &spb.Status{Code: grpcCode(e.code), Message: e.msg}
	var out []byte
	if enc == encJSON {
		out, _ = protojson.Marshal(st)
		rw.Header().Set("Content-Type", "application/json")
	} else {
		out, _ = proto.Marshal(st)
		rw.Header().Set("Content-Type", "application/x-protobuf")
	}
	rw.WriteHeader(e.code)
	_, _ = rw.Write(out)
}

// grpcCode maps an HTTP status to the gRPC code of the Status message.
func grpcCode(httpCode int) int32 {
	switch httpCode {
	case http.StatusBadRequest:
		return 3 // INVALID_ARGUMENT
	case http.StatusRequestEntityTooLarge:
		return 8 // RESOURCE_EXHAUSTED
	case http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType, http.StatusNotFound:
		return 12 // UNIMPLEMENTED
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return 14 // UNAVAILABLE
	}
	return 2 // UNKNOWN
}

// consumeTraces applies every GenAI span of td; it returns the number of spans rejected
// and a message naming the first few and why.
func (r *Receiver) consumeTraces(w *worker, td ptrace.Traces) (int, string) {
	w.lines, w.spans, w.kinds = w.lines[:0], w.spans[:0], w.kinds[:0]
	w.models, w.versions = w.models[:0], w.versions[:0]
	template := r.template()
	var ignored [2]int
	var tools, withEvents []ptrace.Span
	hasAgents := false
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		resource := rss.At(i).Resource().Attributes()
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				if span.Events().Len() > 0 {
					withEvents = append(withEvents, span)
				}
				kind, reason := operationKind(span.Attributes())
				switch kind {
				case kindIgnored:
					if reason == ignoredNotGenAI {
						ignored[0]++
					} else {
						ignored[1]++
					}
					continue
				case kindTool:
					tools = append(tools, span)
					continue
				case kindAgent:
					hasAgents = true
				}
				model, version := modelOf(kind, span.Attributes())
				if template != nil && kind == kindInference {
					model = templateModel(template, span.Attributes(), resource, model)
				}
				w.lines = appendEvent(w.lines, kind, span, model, version)
				w.spans = append(w.spans, span)
				w.kinds = append(w.kinds, kind)
				w.models = append(w.models, model)
				w.versions = append(w.versions, version)
			}
		}
	}
	r.counts.ignore(signalTraces, ignoredNotGenAI, ignored[0])
	r.counts.ignore(signalTraces, ignoredOperation, ignored[1])

	var msgs []string
	rejected := 0
	isRejected := make([]bool, len(w.spans))
	if len(w.lines) > 0 {
		// The lines are ours and always JSON, so Ingest fails only per line.
		res, err := r.ingest.Ingest(w.lines, true)
		if err != nil {
			r.logger.Error("OTLP spans as events: unexpected batch failure", "err", err)
		}
		for _, rej := range res.Rejected {
			if rej.Index < 0 || rej.Index >= len(w.spans) {
				continue
			}
			isRejected[rej.Index] = true
			rejected++
			if len(msgs) < maxMessages {
				msgs = append(msgs, rejectionMessage(w.spans[rej.Index], w.kinds[rej.Index], rej))
			}
		}
		for i, span := range w.spans {
			if !isRejected[i] && w.kinds[i] == kindInference {
				r.counts.finishReasons(span, w.models[i], w.versions[i])
				r.evals.remember(span.SpanID(), w.models[i], w.versions[i])
			}
		}
	}
	// Older instrumentations send evaluation results as events of the evaluated span.
	for _, span := range withEvents {
		evs := span.Events()
		for i := 0; i < evs.Len(); i++ {
			if evs.At(i).Name() != eventEvaluation {
				continue
			}
			if err := r.evaluation(evs.At(i).Attributes(), span.SpanID()); err != nil && len(msgs) < maxMessages {
				msgs = append(msgs, fmt.Sprintf("%s: event %s: %v", describe(span), eventEvaluation, err))
			}
		}
	}
	if hasAgents || len(tools) > 0 {
		tr, tmsgs := r.agents(w, td, tools, isRejected)
		rejected += tr
		for _, m := range tmsgs {
			if len(msgs) < maxMessages {
				msgs = append(msgs, m)
			}
		}
	}
	return rejected, joinMessages(msgs, rejected)
}

// template is the parsed otlp.model_template in force, nil for none. The configuration
// was validated, so it parses; the parse is cached per template string.
func (r *Receiver) template() []config.TemplatePart {
	t := r.st.Config().OTLP.ModelTemplate
	if t == "" {
		return nil
	}
	if c := r.parsed.Load(); c != nil && c.text == t {
		return c.parts
	}
	parts, err := config.ParseModelTemplate(t)
	if err != nil {
		return nil
	}
	r.parsed.Store(&parsedTemplate{text: t, parts: parts})
	return parts
}

type parsedTemplate struct {
	text  string
	parts []config.TemplatePart
}

// joinMessages is the partial_success message: the first few reasons and how many more.
func joinMessages(msgs []string, rejected int) string {
	msg := strings.Join(msgs, "; ")
	if rejected > len(msgs) {
		msg += fmt.Sprintf("; and %d more", rejected-len(msgs))
	}
	return msg
}
