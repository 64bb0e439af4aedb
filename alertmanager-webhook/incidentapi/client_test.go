package incidentapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBoundedBody: an answer larger than MaxBody (a wrong URL pointing at a huge file) is
// an error, announced or streamed, and is never read whole into memory.
func TestBoundedBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("announce") == "true" {
			w.Header().Set("Content-Length", strconv.Itoa(MaxBody+1))
			w.WriteHeader(http.StatusOK)
			return
		}
		// Chunked: no length announced, the client's limit must stop it.
		w.WriteHeader(http.StatusOK)
		chunk := []byte("[" + strings.Repeat(" ", 1<<20-1))
		for i := 0; i < MaxBody/len(chunk)+2; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	c := New(srv.URL, Options{})
	for _, q := range []string{"true", "false"} {
		_, _, err := c.Raw(context.Background(), http.MethodGet, "t", "/", map[string][]string{"announce": {q}}, "", nil)
		require.ErrorContains(t, err, "larger than", "announce=%s", q)
	}
}

// TestErrorMessage: incidentd's {"error": …} becomes Error.Message; a 404 that is not
// incidentd's JSON is ErrNotIncidentd, so a wrong URL says so.
func TestErrorMessage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/incidents/7" {
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"error":"cannot move from resolved to triaged"}`)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "<html>not here</html>")
	}))
	defer srv.Close()
	c := New(srv.URL, Options{})
	_, err := c.Get(context.Background(), 7)
	require.EqualError(t, err, "incidentd answered 409 for /api/v1/incidents/7: cannot move from resolved to triaged")
	_, err = c.Get(context.Background(), 8)
	require.ErrorIs(t, err, ErrNotIncidentd)
	require.Equal(t, http.StatusNotFound, StatusOf(err))
}
