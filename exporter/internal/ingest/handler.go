package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"sync"

	"github.com/opscentre/opscentre/exporter/internal/inflight"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// Ingester applies event batches to the state. It is safe for concurrent use.
type Ingester struct {
	st     *state.State
	logger *slog.Logger
	pool   sync.Pool // *worker
	// scored, when set by a test before the first event, is called after an event's texts
	// are scored, before its features are resolved and it is applied.
	scored func()
}

type worker struct {
	dec  decoder
	body inflight.Body
	resp bytes.Buffer
}

// New returns an Ingester writing to st.
func New(st *state.State, logger *slog.Logger) *Ingester {
	in := &Ingester{st: st, logger: logger}
	in.pool.New = func() any {
		w := &worker{}
		w.dec.init(st, in.scored)
		return w
	}
	return in
}

// Ingest applies a decoded body (no HTTP): JSON array, one object, or NDJSON. It returns
// an error only when the body as a whole cannot be read as events.
func (in *Ingester) Ingest(body []byte, ndjson bool) (Result, error) {
	w := in.pool.Get().(*worker)
	defer in.pool.Put(w)
	var res Result
	if err := w.dec.ingestBody(body, ndjson, &res); err != nil {
		in.st.Reject(state.Unknown, state.Unknown, ReasonInvalidJSON)
		return res, err
	}
	return res, nil
}

// requestError is a failure of the request as a whole, with its HTTP status.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

// ServeHTTP handles POST /api/v1/events.
func (in *Ingester) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		rw.Header().Set("Allow", http.MethodPost)
		in.writeError(rw, &requestError{http.StatusMethodNotAllowed, "use POST to send events"})
		return
	}
	w := in.pool.Get().(*worker)
	defer in.pool.Put(w)
	res, err := in.serve(w, r)
	if err != nil {
		var re *requestError
		if !errors.As(err, &re) {
			re = &requestError{http.StatusBadRequest, err.Error()}
		}
		if res.Accepted == 0 && len(res.Rejected) == 0 {
			in.writeError(rw, re)
			return
		}
		// Part of the body was read: report what was kept along with the error.
		res.Error = re.msg
		in.writeJSON(rw, w, re.status, res)
		return
	}
	in.writeJSON(rw, w, http.StatusOK, res)
}

func (in *Ingester) serve(w *worker, r *http.Request) (Result, error) {
	var res Result
	ndjson, err := isNDJSON(r.Header.Get("Content-Type"))
	if err != nil {
		return res, err
	}
	limit := int64(in.st.Config().Limits.MaxBodyBytes)
	n, gzipped, readErr := w.body.Read(r, limit)
	// A gzip stream broken part way is read up to the break (below); anything else that went
	// wrong refuses the body whole (a body over the budget gets 503 from inflight.Handler).
	brokenGzip := gzipped && readErr != nil && inflight.Status(readErr) == http.StatusBadRequest && !errors.Is(readErr, inflight.ErrNotGzip)
	if readErr != nil && !brokenGzip {
		msg := readErr.Error()
		switch {
		case errors.Is(readErr, inflight.ErrTooLarge):
			msg += "; split the batch"
		case inflight.Status(readErr) == http.StatusBadRequest && !errors.Is(readErr, inflight.ErrNotGzip):
			msg = "reading body: " + msg
		}
		return res, &requestError{inflight.Status(readErr), msg}
	}
	if readErr != nil {
		// A truncated gzip stream: the complete NDJSON lines before the break are events the
		// client sent and we can read, so they are ingested (accepted data is kept); the
		// partial last line is dropped. A JSON array cannot be split and is rejected whole.
		msg := fmt.Sprintf("gzip stream broken after %d decoded bytes: %v", n, readErr)
		if ndjson {
			data := w.body.Buf.Bytes()
			if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
				w.dec.ingestLines(data[:i+1], 0, &res)
				msg += fmt.Sprintf("; the %d complete lines before the break were processed, the rest was not", res.Accepted+len(res.Rejected))
			}
		}
		in.st.Reject(state.Unknown, state.Unknown, ReasonInvalidJSON)
		return res, &requestError{http.StatusBadRequest, msg}
	}
	if err := w.dec.ingestBody(w.body.Buf.Bytes(), ndjson, &res); err != nil {
		in.st.Reject(state.Unknown, state.Unknown, ReasonInvalidJSON)
		return res, &requestError{http.StatusBadRequest, err.Error()}
	}
	return res, nil
}

func isNDJSON(contentType string) (bool, error) {
	if contentType == "" {
		return false, nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false, &requestError{http.StatusUnsupportedMediaType, fmt.Sprintf("bad Content-Type %q: %v", contentType, err)}
	}
	switch mt {
	case "application/json", "text/plain", "application/x-www-form-urlencoded":
		// The last is curl's default for -d; reading it as JSON saves every curl user a -H.
		return false, nil
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines":
		return true, nil
	}
	return false, &requestError{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q is not supported; use application/json or application/x-ndjson", mt)}
}

type errorBody struct {
	Error string `json:"error"`
}

func (in *Ingester) writeError(rw http.ResponseWriter, re *requestError) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(re.status)
	_ = json.NewEncoder(rw).Encode(errorBody{re.msg})
}

func (in *Ingester) writeJSON(rw http.ResponseWriter, w *worker, status int, res Result) {
	if res.Rejected == nil {
		res.Rejected = []Rejection{}
	}
	w.resp.Reset()
	if err := json.NewEncoder(&w.resp).Encode(res); err != nil {
		in.logger.Error("encoding ingest response", "err", err)
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_, _ = rw.Write(w.resp.Bytes())
}
