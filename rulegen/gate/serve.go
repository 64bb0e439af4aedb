package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Server answers rollout tools over HTTP:
//
//   - GET /api/v1/gate?model=&candidate=&baseline=[&since=] — the JSON report, always 200 when
//     the gate could be evaluated, for Argo Rollouts' web metric provider (jsonPath
//     "{$.verdict}"; successCondition result == "pass", failureCondition result == "fail";
//     anything else is an inconclusive measurement, which pauses the rollout).
//   - POST /flagger/check — Flagger's rollout webhook: non-2xx (412) only when the gate fails,
//     so failures count towards Flagger's rollback threshold and waiting does not.
//   - POST /flagger/promote — Flagger's confirm-promotion webhook: 200 only when the gate
//     passes, 425 Too Early while inconclusive, 412 on fail; Flagger holds the promotion (and
//     keeps analysing) until it gets 200.
//
// Flagger's webhook body carries the target in metadata: {"metadata": {"model": …,
// "candidate": …, "baseline": …, "since": …}}.
type Server struct {
	Evaluator *Evaluator
	Criteria  Criteria
	// Timeout bounds one evaluation (the Prometheus queries).
	Timeout time.Duration
	// OnReport, when set, is called with every report (e.g. to post it to incidentd).
	OnReport func(context.Context, *Report)
}

// maxBody bounds a webhook request body.
const maxBody = 1 << 20

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/gate", s.argo)
	mux.HandleFunc("POST /flagger/check", func(w http.ResponseWriter, r *http.Request) { s.flagger(w, r, false) })
	mux.HandleFunc("POST /flagger/promote", func(w http.ResponseWriter, r *http.Request) { s.flagger(w, r, true) })
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "OK\n") })
	return mux
}

type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, a ...any) error {
	return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, a...)}
}

// writeError maps errors to HTTP statuses in one place: bad input 400, anything else (the
// Prometheus queries) 502, since the gate itself could not reach its data.
func writeError(w http.ResponseWriter, err error) {
	status := http.StatusBadGateway
	var he *httpError
	if errors.As(err, &he) {
		status = he.status
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"verdict": "error", "error": err.Error()})
}

// parseTarget reads and checks the target fields from a lookup (query or webhook metadata).
func parseTarget(get func(string) string, where string) (Target, time.Time, error) {
	t := Target{Model: get("model"), Candidate: get("candidate"), Baseline: get("baseline")}
	for _, f := range []struct{ name, v string }{{"model", t.Model}, {"candidate", t.Candidate}, {"baseline", t.Baseline}} {
		if f.v == "" {
			return t, time.Time{}, badRequest("%s%s: missing; expected a non-empty %s name", where, f.name, f.name)
		}
		if len(f.v) > 256 {
			return t, time.Time{}, badRequest("%s%s: %d bytes; expected at most 256", where, f.name, len(f.v))
		}
	}
	since, err := ParseSince(get("since"))
	if err != nil {
		return t, time.Time{}, badRequest("%ssince: %v", where, err)
	}
	return t, since, nil
}

// ParseSince accepts RFC 3339 or Unix seconds; empty means "use the window".
func ParseSince(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f < 1e11 {
		return time.Unix(0, int64(f*1e9)), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-12-07T18:00:00Z) nor Unix seconds", s)
}

func (s *Server) evaluate(ctx context.Context, t Target, since time.Time) (*Report, error) {
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}
	cr := s.Criteria
	if !since.IsZero() {
		cr.Since = since
	}
	rep, err := s.Evaluator.Evaluate(ctx, cr, t)
	if err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			return nil, badRequest("%v", err)
		}
		return nil, err
	}
	if s.OnReport != nil {
		s.OnReport(ctx, rep)
	}
	return rep, nil
}

func (s *Server) argo(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	t, since, err := parseTarget(q.Get, "")
	if err != nil {
		writeError(w, err)
		return
	}
	rep, err := s.evaluate(r.Context(), t, since)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = rep.WriteJSON(w)
}

// flaggerPayload is the body Flagger posts to a webhook.
type flaggerPayload struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Phase     string            `json:"phase"`
	Metadata  map[string]string `json:"metadata"`
}

func (s *Server) flagger(w http.ResponseWriter, r *http.Request, promote bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeError(w, badRequest("reading body: %v", err))
		return
	}
	if len(body) > maxBody {
		writeError(w, &httpError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("body: over %d bytes", maxBody)})
		return
	}
	var p flaggerPayload
	if err := json.Unmarshal(body, &p); err != nil {
		writeError(w, badRequest("body: expected Flagger's webhook JSON {name, namespace, phase, metadata}: %v", err))
		return
	}
	t, since, err := parseTarget(func(k string) string { return p.Metadata[k] }, "metadata.")
	if err != nil {
		writeError(w, err)
		return
	}
	rep, err := s.evaluate(r.Context(), t, since)
	if err != nil {
		writeError(w, err)
		return
	}
	status := http.StatusOK
	switch {
	case rep.Verdict == Fail:
		status = http.StatusPreconditionFailed
	case promote && rep.Verdict != Pass:
		// Not failed, not yet passed: Flagger holds the promotion and asks again.
		status = http.StatusTooEarly
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = rep.WriteJSON(w)
}
