package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

type ingestFunc func(ctx context.Context, m *Message) (Outcome, error)

func (f ingestFunc) Ingest(ctx context.Context, m *Message) (Outcome, error) { return f(ctx, m) }

// TestHandlerStatuses checks the status codes Alertmanager's retry logic depends on; the
// store here is a function because the point is the mapping, the real store is tested in
// the app and e2e tests.
func TestHandlerStatuses(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "firing-group.json"))
	require.NoError(t, err)
	var storeErr error
	h := NewHandler(HandlerOptions{Ingester: ingestFunc(func(context.Context, *Message) (Outcome, error) {
		return Outcome{NewTransitions: 2}, storeErr
	}), MaxBodyBytes: 2048, Registerer: prometheus.NewRegistry()})
	post := func(b string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/alertmanager", strings.NewReader(b)))
		return rec
	}
	require.Equal(t, http.StatusOK, post(string(body)).Code)
	storeErr = errors.New("database is locked")
	rec := post(string(body))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code, "transient store failures are retried by Alertmanager")
	require.Contains(t, rec.Body.String(), "retry later")
	require.NotContains(t, rec.Body.String(), "database is locked", "the database's own words stay in the log")
	require.Equal(t, http.StatusBadRequest, post(`{"status":"firing"`).Code)
	require.Equal(t, http.StatusRequestEntityTooLarge, post(`{"receiver":"`+strings.Repeat("x", 4096)+`"}`).Code)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/alertmanager", nil))
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
}
