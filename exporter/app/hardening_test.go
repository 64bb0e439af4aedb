package app

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Model and version names in the reference API are checked as events check them: each
// becomes a label value, and a NUL, invalid UTF-8 or a name longer than 256 bytes would
// make every later scrape fail.
func TestReferenceAPIValidatesNames(t *testing.T) {
	a, srv := newApp(t, "")
	long := strings.Repeat("m", 257)
	for _, path := range []string{
		"/api/v1/models/bad%00name/versions/v1/reference",
		"/api/v1/models/m/versions/v%FF/reference",
		"/api/v1/models/" + long + "/versions/v1/reference",
		"/api/v1/models/m/versions/" + long + "/reference",
	} {
		status, out := request(t, http.MethodPut, srv.URL+path, "text/csv", []byte("x\n1\n2\n"))
		require.Equal(t, http.StatusBadRequest, status, "%s: %v", path, out)
		require.Regexp(t, "^(model|version) ", out["error"], path)
	}
	require.Empty(t, a.state.Versions(), "nothing learnt from a refused name")
	_, err := a.opts.Registry.Gather()
	require.NoError(t, err, "the scrape still works")
	// A valid name still works.
	status, out := request(t, http.MethodPut, srv.URL+"/api/v1/models/m/versions/v1/reference", "text/csv", []byte("x\n1\n2\n"))
	require.Equal(t, http.StatusOK, status, "%v", out)
}
