package pagerduty

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify"
	"github.com/opscentre/opscentre/test/notifytest"
)

const key = "R0UT1NGKEY0123456789abcdefABCDEF"

func TestEventsV2(t *testing.T) {
	srv := notifytest.NewServer(t, http.StatusAccepted, http.StatusAccepted, http.StatusAccepted)
	n := New(Config{RoutingKey: key, URL: srv.URL + "/v2/enqueue"}, nil)
	m := notify.Message{Kind: notify.KindTrigger, IncidentID: 7, IncidentKey: `{}:{alertname="A"}`, Title: "Accuracy drop", Tier: "P1", Team: "risk",
		Model: "fraud", IncidentURL: "https://grafana/i/7", At: time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)}
	for _, kind := range []string{notify.KindTrigger, notify.KindAck, notify.KindResolve} {
		m.Kind = kind
		_, err := n.Notify(context.Background(), m)
		require.NoError(t, err)
	}
	reqs := srv.Requests()
	require.Len(t, reqs, 3)
	var evs []map[string]any
	for _, r := range reqs {
		var ev map[string]any
		require.NoError(t, json.Unmarshal(r.Body, &ev))
		require.Equal(t, "/v2/enqueue", r.Path)
		require.Equal(t, key, ev["routing_key"])
		require.Equal(t, `{}:{alertname="A"}`, ev["dedup_key"], "one PagerDuty alert per incident")
		evs = append(evs, ev)
	}
	require.Equal(t, "trigger", evs[0]["event_action"])
	p := evs[0]["payload"].(map[string]any)
	require.Equal(t, "[P1] Accuracy drop", p["summary"])
	require.Equal(t, "critical", p["severity"])
	require.Equal(t, "incidentd", p["source"])
	require.Equal(t, "2026-11-29T03:00:00Z", p["timestamp"])
	require.Equal(t, "acknowledge", evs[1]["event_action"])
	require.Equal(t, "resolve", evs[2]["event_action"])
	require.NotContains(t, evs[2], "payload")

	long := strings.Repeat("k", 300)
	require.Len(t, DedupKey(long), 64)
	require.NotEqual(t, DedupKey(long), DedupKey(long+"x"))
}

func TestRetryAndSecret(t *testing.T) {
	srv := notifytest.NewServer(t, http.StatusBadRequest, http.StatusTooManyRequests, http.StatusBadGateway)
	cfg := Config{RoutingKey: key, URL: srv.URL}
	n := New(cfg, nil)
	logger, logs := notifytest.Logger()
	for _, want := range []bool{false, true, true} {
		retry, err := n.Notify(context.Background(), notify.Message{IncidentKey: "k", Tier: "P1", Title: "x"})
		require.Error(t, err)
		require.Equal(t, want, retry)
		logger.Warn("pagerduty", "err", err, "cfg", cfg)
		notifytest.NoSecret(t, []string{key}, err, logs, cfg)
	}
	require.ErrorContains(t, Config{RoutingKey: "short"}.Validate(), "pagerduty.routing_key")
}
