package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/auth"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/maintenance"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

type memMaintenance struct{}

func (memMaintenance) Add(_ context.Context, w maintenance.Window) (*maintenance.Window, error) {
	return &w, nil
}
func (memMaintenance) Active(context.Context, time.Time) ([]maintenance.Window, error) {
	return []maintenance.Window{}, nil
}

// FuzzResponseInputs sends arbitrary bodies and queries to the change log, post-mortem,
// action item, maintenance and on-call endpoints: a deliberate 2xx/4xx with an error
// message, never a 5xx or a panic.
func FuzzResponseInputs(f *testing.F) {
	for _, seed := range []struct{ route, body string }{
		{"POST /api/v1/changes", `{"kind":"deploy","model":"m","title":"t","at":"2026-11-29T10:00:00Z"}`},
		{"POST /api/v1/changes", `{"kind":"config","team":"t","description":"d","labels":{"a":"b"},"link":"https://x"}`},
		{"GET /api/v1/changes?from=2026-01-01T00:00:00Z&kind=deploy&limit=5", ``},
		{"PUT /api/v1/incidents/1/postmortem", "# Post-mortem\n"},
		{"POST /api/v1/incidents/1/action_items", `{"text":"x","owner":"o","due":"2026-12-01"}`},
		{"POST /api/v1/action_items/1/status", `{"status":"done"}`},
		{"GET /api/v1/action_items?status=open&incident=1", ``},
		{"POST /api/v1/maintenance", `{"matchers":{"team":"a"},"ends_at":"2026-11-29T13:00:00Z","reason":"r"}`},
		{"GET /api/v1/oncall?team=x&at=2026-11-29T10:00:00Z", ``},
		{"GET /api/v1/incidents/1/postmortem?draft=true", ``},
	} {
		f.Add(seed.route, seed.body)
	}
	a, err := auth.New([]auth.Token{{Subject: "fuzzer", Role: auth.Admin, SHA256: auth.Hash("t")}}, nil, nil)
	require.NoError(f, err)
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	h := New(Options{Store: &memStore{inc: store.Incident{Incident: incidentapi.Incident{ID: 1, State: incident.Detected, DetectedAt: now}}}, Auth: func() *auth.Authenticator { return a },
		Maintenance: memMaintenance{}, Now: func() time.Time { return now }})
	f.Fuzz(func(t *testing.T, route, body string) {
		method, target, ok := strings.Cut(route, " ")
		if !ok || (method != "GET" && method != "POST" && method != "PUT") || !strings.HasPrefix(target, "/api/v1/") || strings.ContainsAny(target, " \r\n\x00#") {
			return
		}
		var req *http.Request
		func() {
			defer func() { _ = recover() }() // httptest.NewRequest panics on unparsable targets
			req = httptest.NewRequest(method, target, strings.NewReader(body))
		}()
		if req == nil {
			return
		}
		req.Header.Set("Authorization", "Bearer t")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: %d %s", route, body, rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 && rec.Code != 404 && rec.Code != 405 && !strings.Contains(rec.Body.String(), `"error"`) {
			t.Fatalf("%s %q: %d without an error message", route, body, rec.Code)
		}
	})
}
