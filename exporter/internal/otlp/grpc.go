package otlp

import (
	"context"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// grpcTraces serves the OTLP/gRPC TraceService with the same mapping as /v1/traces.
type grpcTraces struct {
	ptraceotlp.UnimplementedGRPCServer
	r *Receiver
}

// Export implements ptraceotlp.GRPCServer. Rejected spans are a partial success, as over
// HTTP; a request gRPC could not decode never reaches it.
func (g *grpcTraces) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	if !g.r.st.Config().OTLP.Enabled(signalTraces) {
		return ptraceotlp.NewExportResponse(), status.Error(codes.Unimplemented, "OTLP traces are turned off (otlp.signals in the exporter's configuration)")
	}
	w := g.r.workers.Get().(*worker)
	defer g.r.workers.Put(w)
	rejected, msg := g.r.consumeTraces(w, req.Traces())
	resp := ptraceotlp.NewExportResponse()
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(int64(rejected))
		resp.PartialSuccess().SetErrorMessage(msg)
	}
	return resp, nil
}

// NewGRPCServer returns a gRPC server with the OTLP TraceService registered. Messages are
// bounded by limits.max_body_bytes as HTTP bodies are (read once, at start).
func (r *Receiver) NewGRPCServer() *grpc.Server {
	s := grpc.NewServer(grpc.MaxRecvMsgSize(int(r.st.Config().Limits.MaxBodyBytes)))
	ptraceotlp.RegisterGRPCServer(s, &grpcTraces{r: r})
	return s
}
