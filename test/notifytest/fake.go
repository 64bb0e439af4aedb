package notifytest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Request is one request a fake server received.
type Request struct {
	Path   string
	Header http.Header
	Body   []byte
}

// Server is an httptest server that records requests and answers with a scripted status
// (200 when the script runs out).
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	requests []Request
	statuses []int
}

// NewServer starts a recording server answering the given statuses in turn.
func NewServer(t testing.TB, statuses ...int) *Server {
	s := &Server{statuses: statuses}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.requests = append(s.requests, Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: b})
		code := http.StatusOK
		if len(s.statuses) > 0 {
			code, s.statuses = s.statuses[0], s.statuses[1:]
		}
		s.mu.Unlock()
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"status":"answer"}`))
	}))
	t.Cleanup(s.Close)
	return s
}

// Requests returns what was received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}
