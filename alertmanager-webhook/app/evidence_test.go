package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/evidence"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/investigate"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// hangingPrometheus answers no query until released (or the client gives up): the
// Prometheus that is slow exactly when an incident opens. It cannot be had from a real one
// on demand, hence the stand-in.
func hangingPrometheus(t *testing.T) (url string, queries *atomic.Int64, release func()) {
	queries = new(atomic.Int64)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries.Add(1)
		select {
		case <-done:
			http.Error(w, `{"status":"error","errorType":"internal","error":"down"}`, http.StatusInternalServerError)
		case <-r.Context().Done():
		}
	}))
	var once atomic.Bool
	release = func() {
		if once.CompareAndSwap(false, true) {
			close(done)
		}
	}
	t.Cleanup(func() { release(); srv.Close() })
	return srv.URL, queries, release
}

func withConfig(extra string) func(*Options) {
	return func(o *Options) {
		if err := os.WriteFile(o.ConfigFile, []byte(testConfig(extra)), 0o600); err != nil {
			panic(err)
		}
	}
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A Prometheus that hangs when an incident opens holds up neither the webhook's
// acknowledgement nor the API: the evidence arrives later, every cause unknown with the
// errors listed, and the post-mortem draft says what was known.
func TestEvidenceSlowPrometheusDelaysNothing(t *testing.T) {
	promURL, queries, release := hangingPrometheus(t)
	h := start(t, withConfig(fmt.Sprintf("prometheus: {url: %q, timeout: 2s, total_timeout: 3s, window: 1m, baseline: 10m}\n", promURL)))

	code, out := h.do("POST", "/api/v1/alertmanager", "s3cret", capture(t, "firing-group.json"))
	require.Equal(t, http.StatusOK, code, string(out))
	var outcome struct{ Incidents []int64 }
	require.NoError(t, json.Unmarshal(out, &outcome))
	id := outcome.Incidents[0]
	path := fmt.Sprintf("/api/v1/incidents/%d/evidence", id)

	// Acknowledged while Prometheus still holds the queries.
	eventually(t, "the first query", func() bool { return queries.Load() > 0 })
	code, out = h.do("GET", path, "view-token", nil)
	require.Equal(t, http.StatusNotFound, code, "not gathered yet")
	require.Contains(t, string(out), "not gathered yet")
	code, out = h.do("GET", fmt.Sprintf("/api/v1/incidents/%d", id), "view-token", nil)
	require.Equal(t, http.StatusOK, code, "the API answers meanwhile: %s", out)

	release()
	var resp investigate.Response
	eventually(t, "the evidence", func() bool {
		code, out = h.do("GET", path, "view-token", nil)
		require.Less(t, code, 500, string(out))
		return code == http.StatusOK
	})
	require.NoError(t, json.Unmarshal(out, &resp))
	require.Equal(t, "fraud-v3", resp.Model)
	require.Len(t, resp.Causes, len(evidence.Causes))
	for _, c := range resp.Causes {
		require.Equal(t, evidence.Unknown, c.Verdict, "a failing Prometheus is unknown, never not supported: %s", c.Name)
	}
	require.NotEmpty(t, resp.Errors)
	require.NotNil(t, resp.Similar)
	require.Contains(t, scrape(t, h), `incidentd_evidence_gatherings_total{result="failed"} 1`)

	code, out = h.do("GET", fmt.Sprintf("/api/v1/incidents/%d/postmortem", id), "view-token", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(out), "## What we knew at detection")
	require.Contains(t, string(out), "No cause was supported by the evidence.")

	// A responder asks again; a viewer may not.
	code, _ = h.do("POST", path, "view-token", nil)
	require.Equal(t, http.StatusForbidden, code)
	code, out = h.do("POST", path, "alice-token", nil)
	require.Equal(t, http.StatusAccepted, code, string(out))
	eventually(t, "the second gathering", func() bool {
		return strings.Contains(scrape(t, h), `incidentd_evidence_gatherings_total{result="failed"} 2`)
	})

	// The same alert again, in another group an hour later: its evidence lists the first
	// incident as the most similar, with the root cause from its post-mortem.
	code, out = h.do("PUT", fmt.Sprintf("/api/v1/incidents/%d/postmortem", id), "alice-token",
		"# PM\n\n## Root cause\n\nThe ETL switched amounts to cents.\n\n## Action items\n", "Content-Type", "text/markdown")
	require.Equal(t, http.StatusOK, code, string(out))
	second := strings.NewReplacer(`model=\"fraud-v3\"}`, `model=\"fraud-v3\", again=\"1\"}`, "2026-11-29T20:58:15Z", "2026-11-29T21:58:15Z",
		"d0e0c2b8bcbe0c2f", "d0e0c2b8bcbe0c30", "430908253a1a2f03", "430908253a1a2f04").Replace(string(capture(t, "firing-group.json")))
	code, out = h.do("POST", "/api/v1/alertmanager", "s3cret", second)
	require.Equal(t, http.StatusOK, code, string(out))
	require.NoError(t, json.Unmarshal(out, &outcome))
	require.NotEqual(t, id, outcome.Incidents[0], "a new incident")
	eventually(t, "the second incident's evidence", func() bool {
		code, out = h.do("GET", fmt.Sprintf("/api/v1/incidents/%d/evidence", outcome.Incidents[0]), "view-token", nil)
		return code == http.StatusOK
	})
	resp = investigate.Response{}
	require.NoError(t, json.Unmarshal(out, &resp))
	require.NotEmpty(t, resp.Similar, string(out))
	require.Equal(t, id, resp.Similar[0].ID)
	require.True(t, resp.Similar[0].SameAlert)
	require.Equal(t, "The ETL switched amounts to cents.", resp.Similar[0].RootCause)

	code, out = h.do("GET", "/api/v1/incidents/999/evidence", "view-token", nil)
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, string(out), "not found")
}

// Without a prometheus section nothing is gathered and the API says why.
func TestEvidenceOffWithoutPrometheus(t *testing.T) {
	h := start(t)
	code, out := h.do("POST", "/api/v1/alertmanager", "s3cret", capture(t, "firing-group.json"))
	require.Equal(t, http.StatusOK, code, string(out))
	var page store.Page
	_, out = h.do("GET", "/api/v1/incidents", "view-token", nil)
	require.NoError(t, json.Unmarshal(out, &page))
	path := fmt.Sprintf("/api/v1/incidents/%d/evidence", page.Incidents[0].ID)
	code, out = h.do("GET", path, "view-token", nil)
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, string(out), "no prometheus is configured")
	code, _ = h.do("POST", path, "alice-token", nil)
	require.Equal(t, http.StatusConflict, code)
	require.NotContains(t, scrape(t, h), "incidentd_evidence_gatherings_total")
}
