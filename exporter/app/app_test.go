package app

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

func newApp(t *testing.T, cfg string) (*App, *httptest.Server) {
	t.Helper()
	dir := t.TempDir()
	opts := DefaultOptions()
	opts.StoragePath = filepath.Join(dir, "data")
	if cfg != "" {
		opts.ConfigFile = filepath.Join(dir, "exporter.yml")
		require.NoError(t, os.WriteFile(opts.ConfigFile, []byte(cfg), 0o600))
	}
	opts.Registry = prometheus.NewRegistry()
	opts.EnableLifecycle = true
	a, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { a.store.Close() })
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return a, srv
}

// Ingest, scrapes, snapshots and reloads at the same time (run with -race).
func TestConcurrentUse(t *testing.T) {
	a, srv := newApp(t, "models:\n  m0:\n    features:\n      x: {type: numeric, expected_max: 5}\n")
	var wg sync.WaitGroup
	const posters, batches, perBatch = 4, 20, 50
	for p := range posters {
		wg.Go(func() {
			for b := range batches {
				var body bytes.Buffer
				for i := range perBatch {
					fmt.Fprintf(&body, `{"model":"m%d","features":{"x":%d,"c%d":"v"},"error":"e%d","tokens":{"input":3,"output":1}}`+"\n", p%2, i%10, b%3, i%3)
				}
				resp, err := http.Post(srv.URL+"/api/v1/events", "application/x-ndjson", &body)
				require.NoError(t, err)
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				require.Equal(t, http.StatusOK, resp.StatusCode)
			}
		})
	}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := http.Get(srv.URL + "/metrics")
			require.NoError(t, err)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			require.NoError(t, a.Snapshot())
			resp, err = http.Post(srv.URL+"/-/reload", "", nil)
			require.NoError(t, err)
			resp.Body.Close()
			time.Sleep(time.Millisecond)
		}
	})
	wg.Wait()
	close(stop)
	bg.Wait()
	var total uint64
	for _, v := range a.state.Versions() {
		total += v.Read(time.Now()).Counters.Events
	}
	require.Equal(t, uint64(posters*batches*perBatch), total)
}

func TestBadOptions(t *testing.T) {
	opts := DefaultOptions()
	opts.StoragePath = t.TempDir()
	opts.SnapshotInterval = 0
	_, err := New(opts)
	require.ErrorContains(t, err, "--storage.snapshot-interval must be positive")

	opts = DefaultOptions()
	opts.StoragePath = t.TempDir()
	opts.ConfigFile = filepath.Join(t.TempDir(), "missing.yml")
	_, err = New(opts)
	require.ErrorContains(t, err, "reading configuration")

	// Two exporters on one storage directory: the second fails clearly.
	dir := t.TempDir()
	opts = DefaultOptions()
	opts.StoragePath = dir
	a, err := New(opts)
	require.NoError(t, err)
	defer a.store.Close()
	opts.Registry = prometheus.NewRegistry()
	_, err = New(opts)
	require.ErrorContains(t, err, "is another exporter using it?")
}
