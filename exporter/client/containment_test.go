package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/containment"
	"github.com/opscentre/opscentre/test/incidentdtest"
)

// fakeIncidentd serves a settable containment list with ETags, counting requests.
type fakeIncidentd struct {
	mu       sync.Mutex
	list     []containment.Containment
	down     bool
	requests atomic.Int64
	notMod   atomic.Int64
	token    string
}

func (f *fakeIncidentd) set(cs ...containment.Containment) { f.mu.Lock(); f.list = cs; f.mu.Unlock() }
func (f *fakeIncidentd) setDown(d bool)                    { f.mu.Lock(); f.down = d; f.mu.Unlock() }

func (f *fakeIncidentd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token || r.URL.Query().Get("active") != "true" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	var out []containment.Containment
	for _, c := range f.list {
		if m := r.URL.Query().Get("model"); m == "" || m == c.Model {
			out = append(out, c)
		}
	}
	b, _ := json.Marshal(map[string]any{"containments": out})
	sum := sha256.Sum256(b)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		f.notMod.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(b)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock(t time.Time) *clock    { return &clock{t: t} }
func refresh(t *testing.T, w *Watcher) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return w.Refresh(ctx)
}

var fb = containment.Containment{ID: 7, Model: "fraud", Version: "v2", Action: containment.Fallback, FallbackVersion: "v1", Reason: "AUC drop"}

// TestWatcherStaleCache: when incidentd stops answering, the last known containment
// stays in force for MaxStale, then Decide fails open (serves); when incidentd is back
// the containment applies again.
func TestWatcherStaleCache(t *testing.T) {
	f := &fakeIncidentd{token: "app"}
	f.set(fb)
	srv := httptest.NewServer(f)
	defer srv.Close()
	clk := newClock(time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC))
	w, err := NewWatcher(WatcherOptions{URL: srv.URL, Token: "app", Models: []string{"fraud"}, Refresh: time.Hour, MaxStale: 5 * time.Minute, Now: clk.Now})
	require.NoError(t, err)
	defer w.Close()
	require.NoError(t, refresh(t, w))
	d := w.Decide("fraud", "v2", nil)
	require.Equal(t, Decision{Action: Fallback, Version: "v1", Reason: "AUC drop", ContainmentID: 7, ContainmentAction: containment.Fallback}, d)
	require.Equal(t, &EventContainment{ID: 7, Action: "fallback"}, ContainmentOf(d))

	// ETag: an unchanged list is not sent again.
	before := f.notMod.Load()
	require.NoError(t, refresh(t, w))
	require.Equal(t, before+1, f.notMod.Load())

	f.setDown(true)
	clk.Add(4 * time.Minute)
	require.Error(t, refresh(t, w))
	require.Equal(t, Fallback, w.Decide("fraud", "v2", nil).Action, "last known state kept within MaxStale")
	require.False(t, w.Status().Stale)
	clk.Add(2 * time.Minute)
	d = w.Decide("fraud", "v2", nil)
	require.Equal(t, Serve, d.Action, "past MaxStale the watcher fails open")
	require.Contains(t, d.Reason, "MaxStale")
	require.Nil(t, ContainmentOf(d))
	require.True(t, w.Status().Stale)

	f.setDown(false)
	require.NoError(t, refresh(t, w))
	require.Equal(t, Fallback, w.Decide("fraud", "v2", nil).Action)
}

// TestWatcherIncidentdDownAtStart: an application starts before incidentd: it serves, and
// obeys once incidentd answers, without a restart.
func TestWatcherIncidentdDownAtStart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close() // nothing listens here yet
	w, err := NewWatcher(WatcherOptions{URL: "http://" + addr, Token: "app", Models: []string{"fraud"}, Refresh: 20 * time.Millisecond})
	require.NoError(t, err)
	defer w.Close()
	require.Error(t, refresh(t, w))
	d := w.Decide("fraud", "v2", nil)
	require.Equal(t, Serve, d.Action)
	require.Contains(t, d.Reason, "not reached yet")
	require.True(t, w.Status().Stale)

	f := &fakeIncidentd{token: "app"}
	f.set(fb)
	l, err = net.Listen("tcp", addr)
	require.NoError(t, err)
	srv := &http.Server{Handler: f}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	require.Eventually(t, func() bool { return w.Decide("fraud", "v2", nil).Action == Fallback }, 5*time.Second, 10*time.Millisecond,
		"the background refresh picks the containment up")
}

func TestWatcherOptions(t *testing.T) {
	_, err := NewWatcher(WatcherOptions{})
	require.ErrorContains(t, err, "URL is required")
	_, err = NewWatcher(WatcherOptions{URL: "ftp://x"})
	require.ErrorContains(t, err, "http(s)")
}

// startIncidentd runs the real incidentd in-process with a responder and an application
// token, and returns its URL.
func startIncidentd(t *testing.T) string {
	t.Helper()
	cfg := fmt.Sprintf("api:\n  tokens:\n    - {subject: alice, role: responder, token_sha256: %s}\n    - {subject: fraud-svc, role: application, token_sha256: %s}\n",
		incidentdtest.SHA("alice-token"), incidentdtest.SHA("app-token"))
	return incidentdtest.Start(t, cfg)
}

func post(t *testing.T, method, url, token, body string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewBufferString(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Less(t, resp.StatusCode, 300, string(b))
	return b
}

// TestWatcherFollowsIncidentd: against the real incidentd, a containment applied while
// the application runs reaches Decide within a refresh, and its lift does too.
func TestWatcherFollowsIncidentd(t *testing.T) {
	url := startIncidentd(t)
	// incidentd refuses a containment of a model it never heard of: record a deployment.
	post(t, "POST", url+"/api/v1/changes", "alice-token", `{"kind":"model_version","model":"fraud","version":"v2","title":"fraud v2"}`)

	const refreshEvery = 50 * time.Millisecond
	w, err := NewWatcher(WatcherOptions{URL: url, Token: "app-token", Models: []string{"fraud", "chat"}, Refresh: refreshEvery})
	require.NoError(t, err)
	defer w.Close()
	require.Eventually(t, func() bool { return !w.Status().LastSuccess.IsZero() }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, Serve, w.Decide("fraud", "v2", nil).Action)

	var c containment.Containment
	require.NoError(t, json.Unmarshal(post(t, "POST", url+"/api/v1/containments", "alice-token",
		`{"model":"fraud","version":"v2","action":"fallback","fallback_version":"v1","reason":"AUC drop"}`), &c))
	applied := time.Now()
	require.Eventually(t, func() bool { return w.Decide("fraud", "v2", nil).Action == Fallback }, 5*time.Second, 5*time.Millisecond)
	t.Logf("applied → obeyed in %s (refresh every %s)", time.Since(applied).Round(time.Millisecond), refreshEvery)
	d := w.Decide("fraud", "v2", nil)
	require.Equal(t, "v1", d.Version)
	require.Equal(t, c.ID, d.ContainmentID)
	require.Equal(t, Serve, w.Decide("fraud", "v1", nil).Action, "the fallback version itself serves")
	require.Equal(t, Serve, w.Decide("chat", "v2", nil).Action)

	post(t, "POST", fmt.Sprintf("%s/api/v1/containments/%d/lift", url, c.ID), "alice-token", `{"reason":"fixed"}`)
	require.Eventually(t, func() bool { return w.Decide("fraud", "v2", nil).Action == Serve }, 5*time.Second, 5*time.Millisecond)
}

func refreshB(w *Watcher) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return w.Refresh(ctx)
}

// TestWatcherExpiryBetweenRefreshes: a containment's expiry applies at once, without
// waiting for the next poll.
func TestWatcherExpiryBetweenRefreshes(t *testing.T) {
	clk := newClock(time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC))
	exp := fb
	exp.ExpiresAt = clk.Now().Add(time.Minute)
	f := &fakeIncidentd{token: "app"}
	f.set(exp)
	srv := httptest.NewServer(f)
	defer srv.Close()
	w, err := NewWatcher(WatcherOptions{URL: srv.URL, Token: "app", Models: []string{"fraud"}, Refresh: time.Hour, Now: clk.Now})
	require.NoError(t, err)
	defer w.Close()
	require.NoError(t, refresh(t, w))
	require.Equal(t, Fallback, w.Decide("fraud", "v2", nil).Action)
	clk.Add(time.Minute)
	require.Equal(t, Serve, w.Decide("fraud", "v2", nil).Action)
}
