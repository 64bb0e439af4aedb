package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A search text past SQLite's LIKE pattern limit (50,000 bytes) used to reach the database
// and come back as a 503 carrying the raw SQL error; it is a 400 naming q, on every
// endpoint that searches text.
func TestLongSearchTextIsABadRequest(t *testing.T) {
	h := start(t)
	// LIKE runs only over rows: an empty database answered such a search with nothing.
	code, out := h.do("POST", "/api/v1/alertmanager", "s3cret", capture(t, "firing-group.json"))
	require.Equal(t, http.StatusOK, code, string(out))
	code, out = h.do("POST", "/api/v1/changes", "alice-token", `{"kind":"deploy","service":"fraud","title":"v3 rollout","at":"2026-11-30T19:00:00Z"}`)
	require.Equal(t, http.StatusCreated, code, string(out))
	long := url.QueryEscape(strings.Repeat("ab%_", 15000))
	for _, path := range []string{"/api/v1/incidents?q=" + long, "/api/v1/incidents?view=table&q=" + long, "/api/v1/changes?q=" + long} {
		code, out := h.do("GET", path, "view-token", nil)
		require.Equal(t, http.StatusBadRequest, code, "%s: %s", path[:24], out)
		require.Contains(t, string(out), "q: at most 1024 bytes")
		require.NotContains(t, string(out), "LIKE")
	}
	code, out = h.do("GET", "/api/v1/incidents?q="+url.QueryEscape(strings.Repeat("é", 512)), "view-token", nil)
	require.Equal(t, http.StatusOK, code, string(out))
}
