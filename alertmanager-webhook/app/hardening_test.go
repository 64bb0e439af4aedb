package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/sqlite"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/storetest"
)

// A search text past SQLite's LIKE pattern limit (50,000 bytes) used to reach the database
// and come back as a 503 carrying the raw SQL error; it is a 400 naming q, on every
// endpoint that searches text.
func TestLongSearchTextIsABadRequest(t *testing.T) {
	h := start(t)
	// LIKE runs only over rows: an empty database answered such a search with nothing.
	code, out := h.do("POST", "/api/v1/alertmanager", "s3cret", capture(t, "firing-group.json"))
	require.Equal(t, http.StatusOK, code, string(out))
	code, out = h.do("POST", "/api/v1/changes", "alice-token", `{"kind":"deploy","service":"fraud","title":"v3 rollout","at":"2026-11-30T19:00:00Z"}`)
	require.Equal(t, http.StatusCreated, code, string(out))
	long := url.QueryEscape(strings.Repeat("ab%_", 15000))
	for _, path := range []string{"/api/v1/incidents?q=" + long, "/api/v1/incidents?view=table&q=" + long, "/api/v1/changes?q=" + long} {
		code, out := h.do("GET", path, "view-token", nil)
		require.Equal(t, http.StatusBadRequest, code, "%s: %s", path[:24], out)
		require.Contains(t, string(out), "q: at most 1024 bytes")
		require.NotContains(t, string(out), "LIKE")
	}
	code, out = h.do("GET", "/api/v1/incidents?q="+url.QueryEscape(strings.Repeat("é", 512)), "view-token", nil)
	require.Equal(t, http.StatusOK, code, string(out))
}

// A Slack endpoint answering 404 with the path it was asked for: the secret parts of the
// URL reach neither the delivery's last_error (GET …/notifications, any viewer), nor the
// log, nor the database file.
func TestFailingChannelSecretsStayHidden(t *testing.T) {
	const team, bot, tok = "T0TEAMSECRET", "B0BOTSECRET", "xoxSecretToken123"
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "no_service: "+r.URL.Path)
	}))
	defer slack.Close()
	var logs syncBuffer
	h := start(t, func(o *Options) {
		o.EscalationInterval = 20 * time.Millisecond
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	cfg := testConfig(fmt.Sprintf(`channels:
- {name: risk-slack, slack: {url: "%s/services/%s/%s/%s"}}
escalation_policies:
- {name: p, steps: [{targets: [{channel: risk-slack}]}]}
routing:
  default: {escalation_policy: p}
`, slack.URL, team, bot, tok))
	require.NoError(t, os.WriteFile(filepath.Join(h.dir, "incidentd.yml"), []byte(cfg), 0o600))
	code, out := h.do("POST", "/-/reload", "admin-token", nil)
	require.Equal(t, http.StatusOK, code, string(out))

	starts := h.clock.Now().Add(-time.Minute).Format(time.RFC3339)
	code, out = h.do("POST", "/api/v1/alertmanager", "s3cret", `{"version":"4","status":"firing","groupKey":"g","alerts":[{"status":"firing","labels":{"alertname":"Down","tier":"P1"},"startsAt":"`+starts+`"}]}`)
	require.Equal(t, http.StatusOK, code, string(out))
	var res struct{ Incidents []int64 }
	require.NoError(t, json.Unmarshal(out, &res))
	path := fmt.Sprintf("/api/v1/incidents/%d/notifications", res.Incidents[0])
	var body string
	require.Eventually(t, func() bool {
		code, out := h.do("GET", path, "view-token", nil)
		body = string(out)
		return code == http.StatusOK && strings.Contains(body, `"status":"failed"`)
	}, 10*time.Second, 20*time.Millisecond)
	require.Contains(t, body, "404", "the failure is still explained")
	h.cancel()
	require.NoError(t, <-h.done)
	h.done <- nil // for the cleanup
	var files []byte
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(filepath.Join(h.dir, "data", "incidentd.db"+suffix))
		if err == nil {
			files = append(files, b...)
		}
	}
	require.Contains(t, string(files), "server answered 404", "the delivery error is in the database")
	for _, s := range []string{team, bot, tok} {
		require.NotContains(t, body, s, "API")
		require.NotContains(t, logs.String(), s, "log")
		require.NotContains(t, string(files), s, "database")
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Held connections — half-sent headers and idle keep-alives, three times the limit — hold
// their places at most a timeout each: /metrics is answered once the waves ahead of it have
// timed out, not never (20,000 such connections used to make incidentd unreachable: no
// limit, and file descriptors ran out). That it waits at all shows the limit at work.
func TestHeldConnectionsDelayButDoNotStopMetrics(t *testing.T) {
	const limit, timeout = 4, 300 * time.Millisecond
	h := start(t, func(o *Options) {
		o.MaxConnections, o.ReadHeaderTimeout, o.IdleTimeout = limit, timeout, timeout
	})
	addr := strings.TrimPrefix(h.url, "http://")
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := range 3 * limit {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		held = append(held, c)
		if i%2 == 0 {
			_, err = io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n") // never finished
		} else {
			_, err = io.WriteString(c, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n") // then idle
		}
		require.NoError(t, err)
	}
	client := &http.Client{Timeout: 20 * time.Second}
	begin := time.Now()
	resp, err := client.Get(h.url + "/metrics")
	require.NoError(t, err, "/metrics must be answered once the held connections time out")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	waited := time.Since(begin)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(b), "incidentd_store_up 1")
	// Three waves of `limit` connections ahead of it, each let go after the timeout.
	require.GreaterOrEqual(t, waited, 2*timeout, "served before the held connections timed out: no connection limit")
	t.Logf("/metrics answered after %v behind %d held connections (limit %d, timeouts %v)", waited, len(held), limit, timeout)
	// The server closed every held connection.
	for i, c := range held {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
		_, err := io.Copy(io.Discard, c)
		require.NoError(t, err, "connection %d: closed by the server (EOF), not left open", i)
	}
}

// seedFile writes a SQLite database of n incidents at path, checkpointed into the file.
func seedFile(t *testing.T, path string, n int) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o750))
	s, err := sqlite.Open(ctx, sqlite.Options{Path: path, Config: store.DefaultConfig()}) // creates and migrates
	require.NoError(t, err)
	require.NoError(t, s.Close())
	raw, err := sqlite.OpenDB(path)
	require.NoError(t, err)
	defer raw.Close()
	require.NoError(t, storetest.Seed(ctx, raw, sqlite.Dialect, n))
	_, err = raw.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	require.NoError(t, err)
}

// runBriefly runs incidentd on the database at path and returns what Run returned, or
// fails if it was still serving after a few seconds.
func runBriefly(t *testing.T, path string) error {
	t.Helper()
	o := DefaultOptions()
	o.StoragePath = path
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	o.Listener = l
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		cancel()
		<-done
		t.Fatalf("incidentd started and served on %s", path)
		return nil
	}
}

// A database with pages overwritten mid-file used to be opened and written into, and a
// zero-byte file silently became a new, empty database: incidentd now refuses both at
// start, saying what to do, and leaves the files as they were.
func TestDamagedOrEmptyDatabaseRefusedAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "incidentd.db")
	seedFile(t, path, 3000)
	storetest.Damage(t, path)
	err := runBriefly(t, path)
	require.ErrorContains(t, err, "is damaged")
	require.ErrorContains(t, err, "restore the latest backup")

	empty := filepath.Join(t.TempDir(), "incidentd.db")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	require.ErrorContains(t, runBriefly(t, empty), "zero-byte")
	fi, err := os.Stat(empty)
	require.NoError(t, err)
	require.Zero(t, fi.Size(), "not turned into a new database")
}

// Damage found while serving: /-/ready fails, the webhook answers 503 (Alertmanager
// retries, elsewhere or later) instead of writing into the damaged file, and
// incidentd_store_up is 0.
func TestDamageWhileServingStopsIngest(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "incidentd.db")
	seedFile(t, path, 3000)
	h := start(t, func(o *Options) { o.StoragePath = path })
	code, out := h.do("GET", "/-/ready", "", nil)
	require.Equal(t, http.StatusOK, code, string(out))
	storetest.Damage(t, path)
	// Reads run into the damaged pages: the incident metrics scan the whole table.
	for range 8 {
		h.do("GET", "/metrics", "", nil)
		h.do("GET", "/api/v1/stats?from=2026-08-01T00:00:00Z&to=2026-12-31T00:00:00Z", "view-token", nil)
	}
	code, out = h.do("GET", "/-/ready", "", nil)
	require.Equal(t, http.StatusServiceUnavailable, code, string(out))
	require.Contains(t, string(out), "damaged")
	starts := h.clock.Now().Add(-time.Minute).Format(time.RFC3339)
	code, out = h.do("POST", "/api/v1/alertmanager", "s3cret", `{"version":"4","status":"firing","groupKey":"g","alerts":[{"status":"firing","labels":{"alertname":"Down"},"startsAt":"`+starts+`"}]}`)
	require.Equal(t, http.StatusServiceUnavailable, code, string(out))
	_, out = h.do("GET", "/metrics", "", nil)
	require.Contains(t, string(out), "incidentd_store_up 0")
}
