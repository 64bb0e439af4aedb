// Package inflight bounds the bytes of request bodies the exporter holds at once, across all
// requests: each write endpoint reads its body through a Budget, and a request whose bytes
// would take the total past the bound is answered 503 with Retry-After instead of making
// the process grow. Without it, many clients each sending a large body slowly hold their
// bodies in memory together, however small each one is against limits.max_body_bytes.
package inflight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
)

// ErrBusy is returned by a body's Read when the budget is spent.
var ErrBusy = errors.New("the exporter holds its maximum of request bodies in flight")

// Budget is the bound on body bytes in flight. The zero value is not usable; a nil *Budget
// bounds nothing.
type Budget struct {
	max        int64
	retryAfter int // seconds
	mu         sync.Mutex
	used       int64
	// Refused counts requests answered 503 because the budget was spent.
	refused atomic.Uint64
}

// New returns a budget of limit bytes; refused requests are told to retry after retryAfter
// seconds (at least 1).
func New(limit int64, retryAfter int) *Budget {
	return &Budget{max: limit, retryAfter: max(retryAfter, 1)}
}

// Max is the bound in bytes.
func (b *Budget) Max() int64 { return b.max }

// Used is the number of bytes in flight now.
func (b *Budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Refused is the number of requests refused so far.
func (b *Budget) Refused() uint64 { return b.refused.Load() }

func (b *Budget) acquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.max {
		return false
	}
	b.used += n
	return true
}

func (b *Budget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// Ticket is one request's share of the budget: what it has read so far. It is released
// when the request ends.
type Ticket struct {
	b    *Budget
	mu   sync.Mutex
	held int64
	busy bool
	// window, when positive, is the most a streaming reader holds: bytes read before the
	// last window bytes are given back.
	window int64
}

// Stream tells the budget that the handler consumes the body as a stream, holding at most
// window bytes of it at a time (a reference read row by row into a bounded profile): from
// now on the ticket keeps only the last window bytes charged, so a body larger than the
// whole budget can still be read while memory stays bounded. A nil t does nothing.
func (t *Ticket) Stream(window int64) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.window = window
	t.mu.Unlock()
}

// Wrap returns r reading through t: every byte read is charged to the budget until t is
// released, and a read that would exceed it fails with ErrBusy. A handler that decodes the
// body (gzip) wraps the decoded stream too, so decoded bytes count as well. A nil t wraps
// nothing.
func (t *Ticket) Wrap(r io.Reader) io.Reader {
	if t == nil {
		return r
	}
	return &reader{t: t, r: r}
}

func (t *Ticket) charge(n int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.busy {
		return false
	}
	if !t.b.acquire(int64(n)) {
		t.busy = true
		return false
	}
	t.held += int64(n)
	if t.window > 0 && t.held > t.window {
		t.b.release(t.held - t.window)
		t.held = t.window
	}
	return true
}

func (t *Ticket) release() {
	t.mu.Lock()
	held := t.held
	t.held = 0
	t.mu.Unlock()
	t.b.release(held)
}

func (t *Ticket) isBusy() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.busy
}

type reader struct {
	t *Ticket
	r io.Reader
}

// maxChunk bounds one Read, so a caller with a large buffer does not charge (or fail on)
// more than it may get.
const maxChunk = 64 << 10

func (r *reader) Read(p []byte) (int, error) {
	if len(p) > maxChunk {
		p = p[:maxChunk]
	}
	n, err := r.r.Read(p)
	if n > 0 && !r.t.charge(n) {
		return 0, ErrBusy
	}
	return n, err
}

type ctxKey struct{}

// FromContext returns the request's ticket, or nil outside Handler.
func FromContext(ctx context.Context) *Ticket {
	t, _ := ctx.Value(ctxKey{}).(*Ticket)
	return t
}

// Handler reads the request body of next through the budget. When the budget runs out
// while next reads, whatever next answers is replaced by 503 with Retry-After and a JSON
// error: next saw a failed read, so it changed nothing it would not on any broken body.
func (b *Budget) Handler(next http.Handler) http.Handler {
	if b == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := &Ticket{b: b}
		defer t.release()
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, t))
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = readCloser{t.Wrap(r.Body), r.Body}
		}
		bw := &busyWriter{ResponseWriter: w, t: t, b: b}
		next.ServeHTTP(bw, r)
		if t.isBusy() && !bw.wrote {
			bw.refuse()
		}
	})
}

type readCloser struct {
	io.Reader
	io.Closer
}

// busyWriter replaces the handler's answer with 503 once its ticket ran out of budget.
type busyWriter struct {
	http.ResponseWriter
	t       *Ticket
	b       *Budget
	wrote   bool // the answer has started
	refused bool // and it is the 503
}

func (w *busyWriter) refuse() {
	w.wrote, w.refused = true, true
	w.b.refused.Add(1)
	h := w.ResponseWriter.Header()
	h.Set("Retry-After", strconv.Itoa(w.b.retryAfter))
	h.Set("Content-Type", "application/json")
	h.Set("Connection", "close") // the rest of the body is not read
	w.ResponseWriter.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w.ResponseWriter).Encode(map[string]string{"error": fmt.Sprintf(
		"%s (%d bytes, --web.max-inflight-body-bytes); nothing of this request was applied, retry later", ErrBusy.Error(), w.b.max)})
}

func (w *busyWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	if w.t.isBusy() {
		w.refuse()
		return
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *busyWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.refused {
		return len(p), nil // the handler's own answer is dropped
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *busyWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
