package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/test/incidentdtest"
)

// startRealIncidentd runs incidentd in-process with the plugin's delegating token, an
// admin token and an open webhook; it returns its URL.
func startRealIncidentd(t *testing.T) string {
	t.Helper()
	cfg := fmt.Sprintf("api:\n  tokens:\n  - {subject: plugin, role: responder, delegate: true, token_sha256: %s}\n  - {subject: root, role: admin, token_sha256: %s}\n",
		incidentdtest.SHA("plugin"), incidentdtest.SHA("admin-token"))
	url := incidentdtest.Start(t, cfg)
	// An incident to contain, from an Alertmanager notification.
	msg := `{"version":"4","groupKey":"{}:{alertname=\"AUCDrop\"}","status":"firing","receiver":"incidentd","groupLabels":{"alertname":"AUCDrop"},
		"commonLabels":{"alertname":"AUCDrop","model":"fraud","tier":"P1"},"externalURL":"http://am","alerts":[{"status":"firing",
		"labels":{"alertname":"AUCDrop","model":"fraud","tier":"P1"},"startsAt":"` + time.Now().UTC().Add(-time.Minute).Format(time.RFC3339) + `","fingerprint":"f1"}]}`
	r, err := http.Post(url+"/api/v1/alertmanager", "application/json", bytes.NewBufferString(msg))
	require.NoError(t, err)
	r.Body.Close()
	require.Equal(t, http.StatusOK, r.StatusCode)
	return url
}

// TestContainmentActionsAsGrafanaUser: a Grafana editor contains and lifts from the plugin;
// incidentd records both in the user's name (via the plugin's token) in its audit log, a
// viewer may list but not act, and incidentd's 400 naming the field is passed through.
func TestContainmentActionsAsGrafanaUser(t *testing.T) {
	url := startRealIncidentd(t)
	d := newTestDS(t, url, nil, "plugin")
	editor := &backend.User{Login: "alice", Role: "Editor"}
	viewer := &backend.User{Login: "vic", Role: "Viewer"}

	code, m, raw := call(t, d, editor, http.MethodPost, "incidents/1/containments",
		map[string]any{"model": "fraud", "action": "disable", "reason": "toxic answers"})
	require.Equal(t, http.StatusOK, code, string(raw))
	require.Equal(t, "alice (via plugin)", m["created_by"])
	id := int64(m["id"].(float64))

	code, _, raw = call(t, d, viewer, http.MethodGet, "incidents/1/containments", nil)
	require.Equal(t, http.StatusOK, code, string(raw))
	var list []map[string]any
	require.NoError(t, json.Unmarshal(raw, &list))
	require.Len(t, list, 1)
	require.Equal(t, true, list[0]["active"])

	code, m, _ = call(t, d, viewer, http.MethodPost, fmt.Sprintf("containments/%d/lift", id), nil)
	require.Equal(t, http.StatusForbidden, code)
	require.Contains(t, m["error"], "Viewer")
	code, m, _ = call(t, d, editor, http.MethodPost, "incidents/1/containments", map[string]any{"model": "fraud", "action": "reroute", "reason": "r"})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, m["error"], "action")
	require.Equal(t, "downstream", m["source"])
	code, m, _ = call(t, d, editor, http.MethodPost, "incidents/1/containments", map[string]any{"model": "fraud", "action": "disable"})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, m["error"], "reason")

	code, m, raw = call(t, d, editor, http.MethodPost, fmt.Sprintf("containments/%d/lift", id), map[string]any{"reason": "fixed"})
	require.Equal(t, http.StatusOK, code, string(raw))
	require.Equal(t, "alice (via plugin)", m["lifted_by"])
	code, _, _ = call(t, d, editor, http.MethodPost, fmt.Sprintf("containments/%d/lift", id), nil)
	require.Equal(t, http.StatusConflict, code, "lifting twice is refused by incidentd")

	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/audit?object=containment/%d", url, id), nil)
	req.Header.Set("Authorization", "Bearer admin-token")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var au struct {
		Entries []struct{ Action, Actor string } `json:"entries"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&au))
	require.Len(t, au.Entries, 2)
	require.Equal(t, "alice (via plugin)", au.Entries[0].Actor)
	require.Equal(t, "containment.lifted", au.Entries[1].Action)
}

// TestContainIncidentFromTable drives what the incidents table's row actions send against
// the real incidentd: a contain that names only the action takes the incident's model, the
// table's containment column shows it, the row's lift lifts it as the user, a second lift
// is refused, and the incident's timeline shows both steps.
func TestContainIncidentFromTable(t *testing.T) {
	url := startRealIncidentd(t)
	d := newTestDS(t, url, nil, "plugin")
	editor := &backend.User{Login: "alice", Role: "Editor"}
	viewer := &backend.User{Login: "vic", Role: "Viewer"}
	column := func() *string {
		t.Helper()
		now := time.Now()
		r := run(t, d, nil, viewer, q{queryType: QueryIncidents, from: now.Add(-time.Hour), to: now.Add(time.Minute)}).Responses["A"]
		require.NoError(t, r.Error)
		require.Equal(t, 1, r.Frames[0].Rows())
		require.Empty(t, r.Frames[0].Meta.Notices)
		f, _ := r.Frames[0].FieldByName("containment")
		return f.At(0).(*string)
	}
	require.Nil(t, column())

	// The incident (model=fraud) has no fallback_version label: the plugin names the field.
	code, m, _ := call(t, d, editor, http.MethodPost, "incidents/1/containments", map[string]any{"action": "fallback", "reason": "errors"})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, m["error"], "fallback_version")
	code, m, raw := call(t, d, editor, http.MethodPost, "incidents/1/containments", map[string]any{"action": "disable", "reason": "toxic answers"})
	require.Equal(t, http.StatusOK, code, string(raw))
	require.Equal(t, "fraud", m["model"])
	require.Equal(t, "alice (via plugin)", m["created_by"])
	require.Equal(t, "disable", *column())

	code, _, raw = call(t, d, editor, http.MethodPost, "incidents/1/containments/lift", map[string]any{"reason": "fixed"})
	require.Equal(t, http.StatusOK, code, string(raw))
	var lifted []map[string]any
	require.NoError(t, json.Unmarshal(raw, &lifted))
	require.Len(t, lifted, 1)
	require.Equal(t, "alice (via plugin)", lifted[0]["lifted_by"])
	require.Equal(t, false, lifted[0]["active"])
	require.Nil(t, column())
	code, m, _ = call(t, d, editor, http.MethodPost, "incidents/1/containments/lift", nil)
	require.Equal(t, http.StatusConflict, code)
	require.Contains(t, m["error"], "no active containment")
	code, _, _ = call(t, d, viewer, http.MethodPost, "incidents/1/containments/lift", nil)
	require.Equal(t, http.StatusForbidden, code)

	r := run(t, d, nil, viewer, q{queryType: QueryTimeline, json: map[string]any{"incidentId": "1"}}).Responses["A"]
	require.NoError(t, r.Error)
	kinds, _ := r.Frames[0].FieldByName("kind")
	actors, _ := r.Frames[0].FieldByName("actor")
	var steps []string
	for i := range kinds.Len() {
		if k := fmt.Sprint(kinds.At(i)); strings.HasPrefix(k, "containment_") {
			steps = append(steps, k+" by "+fmt.Sprint(actors.At(i)))
		}
	}
	require.Equal(t, []string{"containment_applied by alice (via plugin)", "containment_lifted by alice (via plugin)"}, steps)
}
