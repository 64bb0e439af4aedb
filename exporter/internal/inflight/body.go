package inflight

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Errors of Body.Read besides ErrBusy and the body's own read error. Each write endpoint words
// its answer for its own clients; the statuses are the same everywhere.
var (
	// ErrTooLarge: the decoded body exceeds the limit (413).
	ErrTooLarge = errors.New("body is larger than limits.max_body_bytes")
	// ErrNotGzip: Content-Encoding says gzip but the body is not (400).
	ErrNotGzip = errors.New("body is not gzip")
	// ErrEncoding: a Content-Encoding other than gzip or none (415).
	ErrEncoding = errors.New("unsupported content coding")
)

// Body reads request bodies for a write endpoint: plain or gzip, at most a limit of decoded
// bytes, the decoded bytes counted against the request's in-flight ticket. Keep one per
// worker (it reuses its buffer and gzip reader); it is not safe for concurrent use.
type Body struct {
	Buf bytes.Buffer
	gz  *gzip.Reader
}

// Read reads r's body into b.Buf. It returns the decoded bytes read and whether the body was
// gzipped; on error b.Buf holds what was decoded before it (a truncated gzip stream's
// complete lines may still be used). Errors wrap ErrEncoding, ErrNotGzip, ErrTooLarge or
// ErrBusy, or are the read error itself.
func (b *Body) Read(r *http.Request, limit int64) (n int64, gzipped bool, err error) {
	var body io.Reader = r.Body
	// Content codings are case-insensitive (RFC 9110 §8.4.1).
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		gzipped = true
		if b.gz == nil {
			b.gz, err = gzip.NewReader(r.Body)
		} else {
			err = b.gz.Reset(r.Body)
		}
		if err != nil {
			return 0, true, fmt.Errorf("%w: %w", ErrNotGzip, err)
		}
		// Decoded bytes count against the budget too: they are what is held.
		body = FromContext(r.Context()).Wrap(b.gz)
	default:
		return 0, false, fmt.Errorf("%w: Content-Encoding %q is not supported; use gzip or none", ErrEncoding, enc)
	}
	// The limit applies to the decoded size, so a small gzip bomb cannot exhaust memory.
	b.Buf.Reset()
	n, err = b.Buf.ReadFrom(io.LimitReader(body, limit+1))
	if n > limit {
		return n, gzipped, fmt.Errorf("%w (%d bytes decoded)", ErrTooLarge, limit)
	}
	return n, gzipped, err
}

// Status is the HTTP status of an error of Body.Read: 415 for an unsupported coding, 413 for
// a body over the limit, 503 when the budget is spent, else 400.
func Status(err error) int {
	switch {
	case errors.Is(err, ErrEncoding):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrBusy):
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}
