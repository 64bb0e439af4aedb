package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify"
	"github.com/opscentre/opscentre/test/notifytest"
)

var msg = notify.Message{Kind: notify.KindTrigger, IncidentID: 7, IncidentKey: `{}:{alertname="A"}`, Title: "Accuracy drop", Tier: "P1", Recipient: "alice",
	At: time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)}

const secret = "0123456789abcdef-hmac"

func TestSignedJSON(t *testing.T) {
	srv := notifytest.NewServer(t)
	now := time.Unix(1_800_000_000, 0)
	n := New(Config{URL: srv.URL + "/hook", Secret: secret}, nil, func() time.Time { return now })
	retry, err := n.Notify(context.Background(), msg)
	require.NoError(t, err)
	require.False(t, retry)
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	var got notify.Message
	require.NoError(t, json.Unmarshal(reqs[0].Body, &got))
	require.Equal(t, msg, got)
	require.Equal(t, "1800000000", reqs[0].Header.Get("X-Incidentd-Timestamp"))
	// The receiver's check, written out independently: HMAC over "timestamp.body".
	ts, _ := strconv.ParseInt(reqs[0].Header.Get("X-Incidentd-Timestamp"), 10, 64)
	require.Equal(t, Sign([]byte(secret), ts, reqs[0].Body), reqs[0].Header.Get("X-Incidentd-Signature"))
	require.NotEqual(t, Sign([]byte("other-secret-0123"), ts, reqs[0].Body), reqs[0].Header.Get("X-Incidentd-Signature"))
	require.Len(t, reqs[0].Header.Get("X-Incidentd-Signature"), len("sha256=")+64)
}

func TestRetryClassificationAndSecrets(t *testing.T) {
	srv := notifytest.NewServer(t, http.StatusInternalServerError, http.StatusTooManyRequests, http.StatusBadRequest)
	cfg := Config{URL: srv.URL, Secret: secret}
	n := New(cfg, nil, nil)
	logger, logs := notifytest.Logger()
	for _, wantRetry := range []bool{true, true, false} {
		retry, err := n.Notify(context.Background(), msg)
		require.Error(t, err)
		require.Equal(t, wantRetry, retry, err.Error())
		logger.Error("delivery failed", "err", err, "config", cfg)
		notifytest.NoSecret(t, []string{secret}, err, logs, cfg)
	}
	require.Error(t, Config{URL: "ftp://x", Secret: secret}.Validate())
	require.ErrorContains(t, Config{URL: "https://x", Secret: "short"}.Validate(), "webhook.secret")
}
