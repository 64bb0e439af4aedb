package plugin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"
)

func TestCheckHealth(t *testing.T) {
	fake := newFake(fixture())
	fake.tokens["nodelegate"] = fakeToken{role: "responder"}
	srv := fake.start(t)

	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/-/healthy" {
			_, _ = w.Write([]byte("ok"))
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>grafana</html>"))
	}))
	t.Cleanup(html.Close)
	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	for _, tc := range []struct {
		name, url, token string
		status           backend.HealthStatus
		msg              string
	}{
		{"ok", srv.URL, "plugin", backend.HealthStatusOk, "Connected to incidentd at " + srv.URL},
		{"ok with /api/v1 in the URL", srv.URL + "/api/v1/", "plugin", backend.HealthStatusOk, "Connected"},
		{"unreachable", closed.URL, "plugin", backend.HealthStatusError, "Cannot reach incidentd at " + closed.URL},
		{"not incidentd", notFound.URL, "plugin", backend.HealthStatusError, "answered 404 for /-/healthy: this does not look like incidentd"},
		{"html", html.URL, "plugin", backend.HealthStatusError, "not with incidentd's JSON"},
		{"wrong token", srv.URL, "nope", backend.HealthStatusError, "incidentd rejected the API token (401)"},
		{"no token", srv.URL, "", backend.HealthStatusError, "incidentd requires an API token"},
		{"token cannot delegate", srv.URL, "nodelegate", backend.HealthStatusOk, "Set delegate: true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDS(t, tc.url, nil, tc.token)
			res, err := d.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
			require.NoError(t, err)
			require.Equal(t, tc.status, res.Status, res.Message)
			require.Contains(t, res.Message, tc.msg)
		})
	}

	// The token needs a role: a token without viewer rights is told so.
	fake.tokens["norole"] = fakeToken{role: "none"}
	d := newTestDS(t, srv.URL, nil, "norole")
	res, err := d.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
	require.NoError(t, err)
	require.Equal(t, backend.HealthStatusError, res.Status)
	require.Contains(t, res.Message, "incidentd refused the token (403)")
}

func TestSettingsErrorsReachTheUser(t *testing.T) {
	_, err := New(instanceSettings("ftp://x", nil, ""), Options{})
	require.ErrorContains(t, err, `URL: expected an http(s) address such as http://incidentd:9478, got "ftp://x"`)
	require.True(t, backend.IsDownstreamError(err))
}
