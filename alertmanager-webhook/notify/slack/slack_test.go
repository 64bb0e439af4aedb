package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/notify"
	"github.com/opscentre/opscentre/alertmanager-webhook/notify/notifytest"
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
