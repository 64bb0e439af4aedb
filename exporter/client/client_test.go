package client_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/client"
	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/ingest"
	"github.com/opscentre/opscentre/exporter/internal/labelapi"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// exporterServer runs the exporter's real ingest handler; wrap can interpose failures.
func exporterServer(t *testing.T, wrap func(http.Handler) http.Handler) (*httptest.Server, *state.State) {
	t.Helper()
	st := state.New(config.Default(), state.Options{})
	var h http.Handler = ingest.New(st, slog.New(slog.DiscardHandler))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, st
}

func events(st *state.State) uint64 {
	var n uint64
	for _, v := range st.Versions() {
		n += v.Read(time.Now()).Counters.Events
	}
	return n
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestBatchesAndFlush(t *testing.T) {
	for _, gz := range []bool{false, true} {
		srv, st := exporterServer(t, nil)
		c, err := client.New(client.Options{URL: srv.URL, BatchSize: 64, FlushInterval: time.Hour, Gzip: gz})
		require.NoError(t, err)
		lat := 0.25
		for i := range 1000 {
			require.True(t, c.Send(client.Event{Model: "m", Version: "v1", LatencySeconds: &lat,
				Features: map[string]any{"x": i, "c": "a"}, Tokens: &client.Tokens{Input: 10, Output: 2}}))
		}
		require.NoError(t, c.Flush(ctx(t)))
		require.Equal(t, uint64(1000), events(st))
		require.Equal(t, client.Stats{Sent: 1000}, c.Stats())

		// Invalid events are counted as rejected, not retried.
		bad := -1.0
		c.Send(client.Event{Model: "m", LatencySeconds: &bad})
		require.NoError(t, c.Close(ctx(t)))
		require.Equal(t, uint64(1), c.Stats().Rejected)
		require.False(t, c.Send(client.Event{Model: "m"}), "Send after Close drops")
		require.Equal(t, uint64(1), c.Stats().Dropped)
	}
}

func TestRetriesTransientFailures(t *testing.T) {
	var calls atomic.Int32
	srv, st := exporterServer(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) <= 2 {
				http.Error(w, "restarting", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	c, err := client.New(client.Options{URL: srv.URL, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	require.NoError(t, err)
	for range 10 {
		c.Send(client.Event{Model: "m"})
	}
	require.NoError(t, c.Close(ctx(t)))
	require.Equal(t, uint64(10), events(st))
	s := c.Stats()
	require.Equal(t, uint64(2), s.Retries)
	require.Equal(t, uint64(10), s.Sent)
}

func TestGivesUpAfterRetriesAndOnClientErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer srv.Close()
	c, err := client.New(client.Options{URL: srv.URL, MaxRetries: 3, MinBackoff: time.Millisecond})
	require.NoError(t, err)
	c.Send(client.Event{Model: "m"})
	require.NoError(t, c.Flush(ctx(t)))
	require.Equal(t, client.Stats{Failed: 1, Retries: 3}, c.Stats())
	require.NoError(t, c.Close(ctx(t)))

	// A single event over the exporter's body limit cannot be split: it fails, no retry.
	tooBig := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error":"too big"}`, http.StatusRequestEntityTooLarge)
	}))
	defer tooBig.Close()
	c, err = client.New(client.Options{URL: tooBig.URL})
	require.NoError(t, err)
	c.Send(client.Event{Model: "m"})
	require.NoError(t, c.Close(ctx(t)))
	require.Equal(t, client.Stats{Failed: 1}, c.Stats())
}

// A stuck exporter must never block the application: Send returns at once and drops once
// the queue is full.
func TestSendNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"accepted":0,"rejected":[]}`))
	}))
	defer srv.Close()
	defer close(release)
	c, err := client.New(client.Options{URL: srv.URL, QueueSize: 100, BatchSize: 10})
	require.NoError(t, err)
	accepted := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 10_000 {
			if c.Send(client.Event{Model: "m"}) {
				accepted++
			}
		}
	}()
	// 10,000 sends that never block take milliseconds; a blocking Send would never finish
	// while the exporter is stuck.
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Send blocked while the exporter was stuck")
	}
	// At most the queue plus the batch being assembled and the one in flight get in.
	require.LessOrEqual(t, accepted, 100+2*10)
	require.Equal(t, uint64(10_000-accepted), c.Stats().Dropped)
}

func TestNeedsURL(t *testing.T) {
	_, err := client.New(client.Options{})
	require.ErrorContains(t, err, "Options.URL is required")
}

// A batch over the exporter's limits.max_body_bytes is split until the halves fit.
func TestSplitsBatchesTooLarge(t *testing.T) {
	cfg := config.Default()
	cfg.Limits.MaxBodyBytes = 2048
	st := state.New(cfg, state.Options{})
	srv := httptest.NewServer(ingest.New(st, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	c, err := client.New(client.Options{URL: srv.URL, BatchSize: 200, FlushInterval: time.Hour})
	require.NoError(t, err)
	for i := range 200 {
		c.Send(client.Event{Model: "m", ID: fmt.Sprintf("request-%04d", i)}) // ~40 bytes each
	}
	require.NoError(t, c.Close(ctx(t)))
	require.Equal(t, uint64(200), events(st))
	require.Equal(t, client.Stats{Sent: 200}, c.Stats())
}

// PostEvents and PostLabels send one batch at once to the exporter's real ingest and label
// handlers and return its verdict on the batch; rejected items are counted apart.
func TestPostEventsAndLabels(t *testing.T) {
	st := state.New(config.Default(), state.Options{})
	mux := http.NewServeMux()
	mux.Handle("/api/v1/events", ingest.New(st, slog.New(slog.DiscardHandler)))
	mux.Handle("/api/v1/labels", labelapi.New(st, slog.New(slog.DiscardHandler)))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := client.New(client.Options{URL: srv.URL + "/"})
	require.NoError(t, err)

	require.NoError(t, c.PostEvents(ctx(t), []client.Event{
		{Model: "fraud", Version: "v1", ID: "tx-1", Prediction: "legit"},
		{Model: "fraud", Version: "v1", ID: "tx-2", Prediction: "fraud"},
	}))
	require.EqualValues(t, 2, events(st), "posted at once, no Flush")
	require.NoError(t, c.PostLabels(ctx(t), []client.Label{
		{Model: "fraud", ID: "tx-1", Label: "legit", Timestamp: new(time.Now())},
		{Model: "fraud", ID: "tx-2"}, // neither label nor value
	}))
	s := c.Stats()
	require.Equal(t, client.Stats{Sent: 2, LabelsSent: 1, LabelsRejected: 1}, s)

	// A failed batch is the caller's error, naming the endpoint and the status, and is not
	// retried (the caller keeps its own account).
	var calls atomic.Int64
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	c, err = client.New(client.Options{URL: down.URL})
	require.NoError(t, err)
	require.EqualError(t, c.PostEvents(ctx(t), []client.Event{{Model: "m"}}), "posting to /api/v1/events: exporter answered 503 Service Unavailable")
	require.EqualError(t, c.PostLabels(ctx(t), []client.Label{{Model: "m", ID: "1", Label: "x"}}), "posting to /api/v1/labels: exporter answered 503 Service Unavailable")
	require.EqualValues(t, 2, calls.Load())
}
