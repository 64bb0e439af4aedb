package slack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify"
	"github.com/opscentre/opscentre/test/notifytest"
)

func TestBlocks(t *testing.T) {
	srv := notifytest.NewServer(t)
	n := New(Config{URL: notify.Secret(srv.URL + "/services/T000/B000/XXXX")}, nil)
	m := notify.Message{Kind: notify.KindTrigger, IncidentID: 7, Title: "Accuracy drop", Summary: "accuracy <0.7 & falling", Tier: "P1", Team: "risk",
		Model: "fraud", Recipient: "alice", RunbookURL: "https://runbooks/acc", IncidentURL: "https://grafana/incidents/7", At: time.Now()}
	_, err := n.Notify(context.Background(), m)
	require.NoError(t, err)
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	require.Equal(t, "/services/T000/B000/XXXX", reqs[0].Path)
	var p struct {
		Text   string           `json:"text"`
		Blocks []map[string]any `json:"blocks"`
	}
	require.NoError(t, json.Unmarshal(reqs[0].Body, &p))
	require.Equal(t, ":red_circle: Firing P1: Accuracy drop", p.Text)
	require.Equal(t, "header", p.Blocks[0]["type"])
	all := string(reqs[0].Body)
	require.Contains(t, all, `*Tier*\nP1`)
	require.Contains(t, all, `*Paged*\nalice`)
	require.Contains(t, all, `accuracy \u0026lt;0.7 \u0026amp; falling`, "user text is escaped for mrkdwn")
	require.Contains(t, all, `\u003chttps://runbooks/acc|Runbook\u003e`)
	require.Contains(t, all, `\u003chttps://grafana/incidents/7|Incident #7\u003e`)

	m.Kind = notify.KindResolve
	_, err = n.Notify(context.Background(), m)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(srv.Requests()[1].Body), `{"blocks":`))
	require.Contains(t, string(srv.Requests()[1].Body), "Resolved P1: Accuracy drop")
}

func TestURLIsASecret(t *testing.T) {
	srv := notifytest.NewServer(t, http.StatusNotFound)
	url := srv.URL + "/services/T000/B000/s3cr3tT0k3n"
	cfg := Config{URL: notify.Secret(url)}
	retry, err := New(cfg, nil).Notify(context.Background(), notify.Message{Tier: "P2", Title: "x"})
	require.Error(t, err)
	require.False(t, retry, "404: the webhook is gone, retrying will not help")
	logger, logs := notifytest.Logger()
	logger.Error("failed", "err", err, "cfg", cfg)
	notifytest.NoSecret(t, []string{"s3cr3tT0k3n"}, err, logs, cfg)

	srv.Close() // connection refused: Go's error would name the URL
	retry, err = New(cfg, nil).Notify(context.Background(), notify.Message{Tier: "P2", Title: "x"})
	require.Error(t, err)
	require.True(t, retry)
	notifytest.NoSecret(t, []string{"s3cr3tT0k3n"}, err, nil, nil)
}

// A Slack endpoint answering 404 with the path it could not find used to put the secret
// path into the delivery's last_error (shown to every viewer), the log and the database:
// every part of the URL is redacted, in the forms a server may echo it, and the body is
// kept only as a short, cleaned excerpt.
func TestSecretPathEchoedByFailingEndpoint(t *testing.T) {
	const (
		team, bot, tok = "T0TEAMSECRET", "B0BOTSECRET", "xoxSecretToken123"
		query          = "sig=QuerySecret42"
	)
	secrets := []string{team, bot, tok, "QuerySecret42"}
	echo := map[string]func(r *http.Request) string{
		"raw path":    func(r *http.Request) string { return "no_service: " + r.URL.Path },
		"request URI": func(r *http.Request) string { return `{"error":"not found","uri":"` + r.URL.RequestURI() + `"}` },
		"JSON-escaped": func(r *http.Request) string {
			b, _ := json.Marshal(map[string]string{"path": strings.ReplaceAll(r.URL.Path, "/", `\/`)})
			return string(b)
		},
		"encoded": func(r *http.Request) string {
			return "bad path " + url.PathEscape(r.URL.Path) + "?" + url.QueryEscape(r.URL.RawQuery)
		},
		"control": func(r *http.Request) string { return "\x1b[2J\r\nfake log line level=error " + r.URL.Path },
		// The token straddles the end of what is read (4,096 bytes and one to see more
		// follows), behind spaces that collapse: its head must not survive.
		"cut at the read limit": func(r *http.Request) string { return strings.Repeat(" ", 4097-6) + tok },
	}
	for name, body := range echo {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, body(r))
		}))
		cfg := Config{URL: notify.Secret(srv.URL + "/services/" + team + "/" + bot + "/" + tok + "?" + query)}
		retry, err := New(cfg, nil).Notify(context.Background(), notify.Message{Tier: "P1", Title: "x"})
		srv.Close()
		require.Error(t, err, name)
		require.False(t, retry, name)
		require.Contains(t, err.Error(), "404", name)
		logger, logs := notifytest.Logger()
		logger.Error("failed", "err", err)
		notifytest.NoSecret(t, append(secrets, tok[:6]), err, logs, cfg)
		require.NotContains(t, err.Error(), "\x1b", name)
		require.NotContains(t, err.Error(), "\n", name)
		require.LessOrEqual(t, len(err.Error()), 300, name)
	}
}
