package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/changes"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// The capture's alerts fire at 2026-11-29T20:58:15Z on model fraud-v3, team ml-platform.
func TestChangesAndPostmortemAPI(t *testing.T) {
	h := start(t)
	code, out := h.do("POST", "/api/v1/changes", "alice-token", `{"at":"2026-11-29T20:30:00Z","kind":"model_version","model":"fraud-v3","version":"3.1","description":"retrained on October data","link":"https://ci.example/runs/9"}`)
	require.Equal(t, http.StatusCreated, code, string(out))
	var c changes.Change
	require.NoError(t, json.Unmarshal(out, &c))
	require.Equal(t, "alice", c.Actor)
	require.Equal(t, "retrained on October data", c.Title)
	code, out = h.do("POST", "/api/v1/changes", "alice-token", `{"at":"2026-11-29T12:00:00Z","kind":"config","team":"ml-platform","title":"feature store TTL 1h","author":"erin"}`)
	require.Equal(t, http.StatusCreated, code, string(out))

	for body, field := range map[string]string{
		`{"kind":"deploy","title":"x"}`:                          "service",
		`{"kind":"deploy","model":"m"}`:                          "title",
		`{"kind":"party","model":"m","title":"x"}`:               "kind",
		`{"kind":"deploy","model":"m","title":"x","colour":"r"}`: `colour`,
		`{"kind":"deploy","model":"m","title":"x","at":"soon"}`:  "at: expected an RFC 3339",
	} {
		code, out := h.do("POST", "/api/v1/changes", "alice-token", body)
		require.Equal(t, http.StatusBadRequest, code, body)
		require.Contains(t, string(out), field, body)
	}
	code, _ = h.do("POST", "/api/v1/changes", "view-token", `{"kind":"deploy","model":"m","title":"x"}`)
	require.Equal(t, http.StatusForbidden, code)

	// The Grafana plugin's read: GET /api/v1/changes?from=&to= → {changes: [...]}.
	q := url.Values{"from": {"2026-11-29T00:00:00Z"}, "to": {"2026-11-30T00:00:00Z"}}
	code, out = h.do("GET", "/api/v1/changes?"+q.Encode(), "view-token", nil)
	require.Equal(t, http.StatusOK, code, string(out))
	var pg struct {
		Changes []map[string]any `json:"changes"`
	}
	require.NoError(t, json.Unmarshal(out, &pg))
	require.Len(t, pg.Changes, 2)
	for _, k := range []string{"id", "at", "kind", "title", "text", "model", "actor", "labels", "version"} {
		require.Contains(t, pg.Changes[0], k)
	}
	code, out = h.do("GET", "/api/v1/changes?kind=config&team=ml-platform", "view-token", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(out), "feature store TTL")
	require.NotContains(t, string(out), "retrained")
	code, out = h.do("GET", "/api/v1/changes?kind=nope", "view-token", nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(out), "kind:")

	code, _ = h.do("POST", "/api/v1/alertmanager", "s3cret", capture(t, "firing-group.json"))
	require.Equal(t, http.StatusOK, code)
	code, out = h.do("GET", "/api/v1/incidents", "view-token", nil)
	require.Equal(t, http.StatusOK, code)
	var page store.Page
	require.NoError(t, json.Unmarshal(out, &page))
	id := page.Incidents[0].ID
	path := fmt.Sprintf("/api/v1/incidents/%d", id)

	code, out = h.do("GET", path, "view-token", nil)
	require.Equal(t, http.StatusOK, code)
	var d store.Detail
	require.NoError(t, json.Unmarshal(out, &d))
	require.Len(t, d.RelatedChanges, 2, "what changed? shows both changes of the window")
	require.Equal(t, "3.1", d.RelatedChanges[0].Version, "nearest first")
	require.Equal(t, 1695.0, d.RelatedChanges[0].BeforeDetectionSeconds)

	code, out = h.do("POST", path+"/notes", "alice-token", `{"kind":"containment","containment_kind":"rollback","text":"rolled back to 3.0"}`)
	require.Equal(t, http.StatusOK, code, string(out))
	code, out = h.do("POST", path+"/transitions", "alice-token", `{"to":"resolved"}`)
	require.Equal(t, http.StatusOK, code, string(out))
	code, out = h.do("POST", path+"/transitions", "alice-token", `{"to":"reviewed"}`)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(out), "post-mortem")

	req, err := http.NewRequest("GET", h.url+path+"/postmortem", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer view-token")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "text/markdown; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Equal(t, "draft", resp.Header.Get("X-Postmortem"))
	code, out = h.do("GET", path+"/postmortem", "view-token", nil)
	require.Equal(t, http.StatusOK, code)
	draft := string(out)
	require.Contains(t, draft, "# Post-mortem: ")
	require.Contains(t, draft, "retrained on October data (version `3.1`)")
	require.Contains(t, draft, "rollback: rolled back to 3.0 (alice)")
	require.Contains(t, draft, "## Root cause")

	code, _ = h.do("PUT", path+"/postmortem", "view-token", "x", "Content-Type", "text/markdown")
	require.Equal(t, http.StatusForbidden, code)
	edited := strings.Replace(draft, "## Root cause\n\n", "## Root cause\n\nThe retraining set lacked October's fraud pattern.\n", 1)
	code, out = h.do("PUT", path+"/postmortem", "alice-token", edited, "Content-Type", "text/markdown")
	require.Equal(t, http.StatusOK, code, string(out))
	code, out = h.do("GET", path+"/postmortem", "view-token", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, edited, string(out), "the stored text is served once saved")
	code, out = h.do("PUT", path+"/postmortem", "alice-token", `{"text":""}`, "Content-Type", "application/json")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(out), "must not be empty")

	code, out = h.do("POST", path+"/action_items", "alice-token", `{"text":"add October data","owner":"carol","due":"2026-12-15"}`)
	require.Equal(t, http.StatusOK, code, string(out))
	var item store.ActionItem
	require.NoError(t, json.Unmarshal(out, &item))
	code, out = h.do("POST", path+"/action_items", "alice-token", `{"text":"x","owner":"carol","due":"next week"}`)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(out), "due:")
	code, out = h.do("POST", path+"/action_items", "alice-token", `{"text":"x"}`)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(out), "owner")
	code, out = h.do("POST", fmt.Sprintf("/api/v1/action_items/%d/status", item.ID), "alice-token", `{"status":"done"}`)
	require.Equal(t, http.StatusOK, code, string(out))
	code, out = h.do("GET", "/api/v1/action_items?owner=carol&status=done", "view-token", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(out), "add October data")
	code, out = h.do("GET", path+"/action_items?status=open", "view-token", nil)
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"action_items":[]}`, string(out))

	code, out = h.do("POST", path+"/transitions", "alice-token", `{"to":"reviewed"}`)
	require.Equal(t, http.StatusOK, code, string(out))
	require.Contains(t, string(out), `"state":"reviewed"`)
}
