package plugin

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/internal/incidentd"
)

type recorder struct{ resp *backend.CallResourceResponse }

func (r *recorder) Send(resp *backend.CallResourceResponse) error {
	if r.resp == nil {
		r.resp = resp
	} else {
		r.resp.Body = append(r.resp.Body, resp.Body...)
	}
	return nil
}

func call(t *testing.T, d *Datasource, user *backend.User, method, path string, body any) (int, map[string]any, []byte) {
	t.Helper()
	var b []byte
	if body != nil {
		var err error
		b, err = json.Marshal(body)
		require.NoError(t, err)
	}
	rec := &recorder{}
	err := d.CallResource(context.Background(), &backend.CallResourceRequest{
		PluginContext: backend.PluginContext{User: user}, Method: method, Path: path, URL: path, Body: b,
	}, rec)
	require.NoError(t, err)
	require.NotNil(t, rec.resp)
	var m map[string]any
	_ = json.Unmarshal(rec.resp.Body, &m)
	return rec.resp.Status, m, rec.resp.Body
}

func TestResourceActions(t *testing.T) {
	fake := newFake(fixture())
	srv := fake.start(t)
	d := newTestDS(t, srv.URL, nil, "plugin")
	editor := &backend.User{Login: "alice", Role: "Editor"}

	code, m, _ := call(t, d, editor, http.MethodPost, "incidents/3/ack", map[string]any{"note": "on it"})
	require.Equal(t, http.StatusOK, code, m)
	require.Equal(t, "triaged", m["state"])
	require.Equal(t, fakeAction{Action: "ack", Actor: "alice (via plugin)", Body: `{"note":"on it"}`, ID: 3}, fake.actions[0])

	code, m, _ = call(t, d, editor, http.MethodPost, "incidents/3/transition", map[string]any{"to": "contained", "note": "fallback on"})
	require.Equal(t, http.StatusOK, code, m)
	require.Equal(t, "contained", m["state"])

	code, m, _ = call(t, d, editor, http.MethodPost, "incidents/3/assign", map[string]any{"assignee": "me"})
	require.Equal(t, http.StatusOK, code, m)
	require.Equal(t, "alice", m["assignee"])

	code, _, _ = call(t, d, &backend.User{Login: "root", Role: "Admin"}, http.MethodPost, "incidents/3/notes", map[string]any{"text": "see dashboard"})
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "root (via plugin)", fake.actions[3].Actor)
	require.Len(t, fake.actions, 4)

	for _, tc := range []struct {
		name   string
		user   *backend.User
		path   string
		body   any
		code   int
		msg    string
		source string
	}{
		{"viewer", &backend.User{Login: "vic", Role: "Viewer"}, "incidents/3/ack", nil, 403, `Grafana user "vic" has role "Viewer"`, "plugin"},
		{"no user (alerting)", nil, "incidents/3/ack", nil, 403, "actions need a signed-in Grafana user", "plugin"},
		{"bad id", editor, "incidents/x/ack", nil, 400, `incident id "x": expected a positive integer`, "plugin"},
		{"bad state", editor, "incidents/3/transition", map[string]any{"to": "done"}, 400, `to: expected one of detected, triaged`, "plugin"},
		{"unknown field", editor, "incidents/3/ack", map[string]any{"nope": 1}, 400, `unknown field "nope"`, "plugin"},
		{"wrong type", editor, "incidents/3/ack", map[string]any{"note": 5}, 400, `field "note": expected string`, "plugin"},
		{"empty note", editor, "incidents/3/notes", map[string]any{"kind": "note"}, 400, "text: required for a note", "plugin"},
		{"incidentd refuses", editor, "incidents/3/transition", map[string]any{"to": "detected"}, 409, "cannot move back", "downstream"},
		{"unknown incident", editor, "incidents/404/ack", nil, 404, "incident 404 not found", "downstream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, m, raw := call(t, d, tc.user, http.MethodPost, tc.path, tc.body)
			require.Equal(t, tc.code, code, string(raw))
			require.Contains(t, m["error"], tc.msg)
			require.Equal(t, tc.source, m["source"])
		})
	}
	require.Len(t, fake.actions, 4, "refused actions change nothing")

	// A token that may not delegate: incidentd's 403 is passed through.
	fake.tokens["nodelegate"] = fakeToken{role: "responder"}
	d2 := newTestDS(t, srv.URL, nil, "nodelegate")
	code, m, _ = call(t, d2, editor, http.MethodPost, "incidents/3/ack", nil)
	require.Equal(t, http.StatusForbidden, code)
	require.Equal(t, "downstream", m["source"])
}

func TestResourceOptions(t *testing.T) {
	fake := newFake(fixture())
	fake.stats = &incidentd.Stats{ByTeam: []incidentd.Bucket{{Key: "llm"}, {Key: "data"}}, ByModel: []incidentd.Bucket{{Key: "fraud-v3"}}}
	srv := fake.start(t)
	d := newTestDS(t, srv.URL, nil, "plugin")
	viewer := &backend.User{Login: "vic", Role: "Viewer"}

	code, _, raw := call(t, d, viewer, http.MethodGet, "teams", nil)
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `["data","llm"]`, string(raw))
	code, _, raw = call(t, d, viewer, http.MethodGet, "options/models", nil)
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `["fraud-v3"]`, string(raw))
	code, m, _ := call(t, d, viewer, http.MethodGet, "options/colours", nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, m["error"], `unknown kind "colours"`)

	fake.fail = http.StatusInternalServerError
	code, m, _ = call(t, d, viewer, http.MethodGet, "teams", nil)
	require.Equal(t, http.StatusBadGateway, code)
	require.Equal(t, "downstream", m["source"])
}

// FuzzActionBody: whatever body reaches an action, the answer is a JSON error naming the
// problem or incidentd's own answer, never a plugin failure (500) or a panic.
func FuzzActionBody(f *testing.F) {
	fake := newFake(fixture())
	fake.containments = []incidentd.Containment{}
	inc3 := fixture()[2]
	inc3.Labels = map[string]string{"version": "v2", "fallback_version": "v1"}
	fake.details[3] = &incidentd.Detail{Incident: inc3}
	srv := fake.start(f)
	d := newTestDS(f, srv.URL, nil, "plugin")
	paths := []string{"incidents/3/ack", "incidents/3/transition", "incidents/3/notes", "incidents/3/assign",
		"incidents/3/containments", "incidents/3/containments/lift", "containments/1/lift"}
	f.Add(uint8(0), []byte(`{"note":"x"}`))
	f.Add(uint8(4), []byte(`{"action":"fallback","reason":"r"}`))
	f.Add(uint8(4), []byte(`{"model":"m","action":"block_inputs","match":{"input_class":"pdf"},"reason":"r","expires_at":"2030-01-01T00:00:00Z"}`))
	f.Add(uint8(5), []byte(`{"reason":"lifted"}`))
	f.Add(uint8(6), []byte(`{"reason":5}`))
	f.Add(uint8(1), []byte(`{"to":"resolved"}`))
	f.Add(uint8(2), []byte(`{"kind":"link","url":"https://x","text":"y"}`))
	f.Add(uint8(3), []byte(`{"assignee":"me"}`))
	f.Add(uint8(1), []byte(`{"to":5}`))
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		rec := &recorder{}
		err := d.CallResource(context.Background(), &backend.CallResourceRequest{
			PluginContext: backend.PluginContext{User: &backend.User{Login: "fz", Role: "Editor"}},
			Method:        http.MethodPost, Path: paths[int(which)%len(paths)], URL: paths[int(which)%len(paths)], Body: body,
		}, rec)
		if err != nil {
			t.Fatal(err)
		}
		if rec.resp.Status >= 500 {
			t.Fatalf("status %d for %q: %s", rec.resp.Status, body, rec.resp.Body)
		}
		if rec.resp.Status != http.StatusOK {
			var m map[string]string
			if json.Unmarshal(rec.resp.Body, &m) != nil || m["error"] == "" || m["source"] == "" {
				t.Fatalf("error without a JSON reason: %s", rec.resp.Body)
			}
		}
	})
}
