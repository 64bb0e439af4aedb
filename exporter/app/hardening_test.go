package app

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/client"
	"github.com/opscentre/opscentre/test/stack"
)

// Model and version names in the reference API are checked as events check them: each
// becomes a label value, and a NUL, invalid UTF-8 or a name longer than 256 bytes would
// make every later scrape fail.
func TestReferenceAPIValidatesNames(t *testing.T) {
	a, srv := newApp(t, "")
	long := strings.Repeat("m", 257)
	for _, path := range []string{
		"/api/v1/models/bad%00name/versions/v1/reference",
		"/api/v1/models/m/versions/v%FF/reference",
		"/api/v1/models/" + long + "/versions/v1/reference",
		"/api/v1/models/m/versions/" + long + "/reference",
	} {
		status, out := request(t, http.MethodPut, srv.URL+path, "text/csv", []byte("x\n1\n2\n"))
		require.Equal(t, http.StatusBadRequest, status, "%s: %v", path, out)
		require.Regexp(t, "^(model|version) ", out["error"], path)
	}
	require.Empty(t, a.state.Versions(), "nothing learnt from a refused name")
	_, err := a.opts.Registry.Gather()
	require.NoError(t, err, "the scrape still works")
	// A valid name still works.
	status, out := request(t, http.MethodPut, srv.URL+"/api/v1/models/m/versions/v1/reference", "text/csv", []byte("x\n1\n2\n"))
	require.Equal(t, http.StatusOK, status, "%v", out)
}

// /-/reload is served only with --web.enable-lifecycle, as in Prometheus.
func TestReloadNeedsLifecycleFlag(t *testing.T) {
	dir := t.TempDir()
	opts := DefaultOptions()
	opts.StoragePath = filepath.Join(dir, "data")
	opts.Registry = prometheus.NewRegistry()
	a, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { a.store.Close() })
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	resp, err := http.Post(srv.URL+"/-/reload", "", nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Contains(t, string(body), "--web.enable-lifecycle")
}

// A page in a browser cannot post events or labels, upload a reference or reload for its
// visitor: cross-site requests with an unsafe method are refused, whatever their content
// type. Clients outside browsers (curl, the Go client) send no such header and pass.
func TestCrossSiteWritesRefused(t *testing.T) {
	a, srv := newApp(t, "")
	for _, c := range []struct {
		method, path, contentType, body string
	}{
		{http.MethodPost, "/api/v1/events", "text/plain", `{"model":"csrf"}`},
		{http.MethodPost, "/api/v1/events", "application/x-www-form-urlencoded", `{"model":"csrf"}`},
		{http.MethodPost, "/api/v1/labels", "text/plain", `{"model":"csrf","id":"1","label":"x"}`},
		{http.MethodPut, "/api/v1/models/csrf/versions/v1/reference", "text/csv", "x\n1\n"},
		{http.MethodPost, "/-/reload", "text/plain", ""},
	} {
		for _, h := range []map[string]string{
			{"Sec-Fetch-Site": "cross-site"},
			{"Origin": "http://attacker.example"},
		} {
			req, err := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", c.contentType)
			for k, v := range h {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s %s with %v", c.method, c.path, h)
		}
	}
	require.Empty(t, a.state.Versions(), "nothing of a cross-site request was applied")

	// The same request from the same origin, and one from curl (no browser headers), pass.
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/events", strings.NewReader(`{"model":"ok"}`))
	require.NoError(t, err)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	status, _ := request(t, http.MethodPost, srv.URL+"/api/v1/events", "application/x-www-form-urlencoded", []byte(`{"model":"ok"}`))
	require.Equal(t, http.StatusOK, status)
	// Reads stay open to any page (a dashboard may link them).
	req, err = http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// While request bodies fill --web.max-inflight-body-bytes, further writes get 503 with
// Retry-After and apply nothing, and /metrics and /-/healthy still answer at once.
func TestInflightBodiesBoundedMetricsStillAnswer(t *testing.T) {
	dir := t.TempDir()
	opts := DefaultOptions()
	opts.StoragePath = filepath.Join(dir, "data")
	opts.Registry = prometheus.NewRegistry()
	opts.Server.MaxInflightBodyBytes = 1 << 20
	a, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { a.store.Close() })
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)

	// A slow client: 900 KiB of a body, then nothing until released.
	pr, pw := io.Pipe()
	slow := make(chan int, 1)
	go func() {
		resp, err := http.Post(srv.URL+"/api/v1/events", "application/x-ndjson", pr)
		if err != nil {
			slow <- 0
			return
		}
		resp.Body.Close()
		slow <- resp.StatusCode
	}()
	line := []byte(`{"model":"slow","latency_seconds":0.1}` + "\n")
	for written := 0; written < 900<<10; written += len(line) {
		_, err := pw.Write(line)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return a.budget.Used() >= 900<<10 }, 10*time.Second, 5*time.Millisecond)

	// The next body does not fit: 503, Retry-After, nothing ingested.
	var big bytes.Buffer
	for range 200 << 10 / len(`{"model":"late"}`+"\n") {
		big.WriteString(`{"model":"late"}` + "\n")
	}
	resp, err := http.Post(srv.URL+"/api/v1/events", "application/x-ndjson", &big)
	require.NoError(t, err)
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, string(out))
	require.Equal(t, "1", resp.Header.Get("Retry-After"))
	require.Contains(t, string(out), "max-inflight-body-bytes")
	for _, v := range a.state.Versions() {
		require.NotEqual(t, "late", v.Model(), "nothing of a refused body is applied")
	}
	// OTLP/HTTP sheds load the same way: 503 with Retry-After, which OTLP exporters retry.
	resp, err = http.Post(srv.URL+"/v1/traces", "application/x-protobuf", bytes.NewReader(make([]byte, 200<<10)))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, "1", resp.Header.Get("Retry-After"))

	// Scrapes and health checks are not behind the budget.
	for _, path := range []string{"/metrics", "/-/healthy", "/-/ready"} {
		start := time.Now()
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		require.Less(t, time.Since(start), 2*time.Second, path)
		if path == "/metrics" {
			require.Contains(t, string(body), "aiops_exporter_inflight_refused_total 2")
		}
	}

	// The slow client finishes; its bytes are released and writes pass again.
	require.NoError(t, pw.Close())
	require.Equal(t, http.StatusOK, <-slow)
	require.Zero(t, a.budget.Used())
	status, _ := request(t, http.MethodPost, srv.URL+"/api/v1/events", "", []byte(`{"model":"late"}`))
	require.Equal(t, http.StatusOK, status)
}

// serveApp runs the exporter's own server (listeners, limits and timeouts) on a free
// loopback port.
func serveApp(t *testing.T, lim ServerLimits) string {
	t.Helper()
	dir := t.TempDir()
	opts := DefaultOptions()
	opts.StoragePath = filepath.Join(dir, "data")
	opts.Registry = prometheus.NewRegistry()
	opts.Server = lim
	addr, err := stack.FreeAddr()
	require.NoError(t, err)
	addrs := []string{addr}
	opts.Web.WebListenAddresses = &addrs
	a, err := New(opts)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 10*time.Millisecond)
	return addr
}

// A client trickling a body is cut off by --web.read-timeout, one that never sends a
// header by --web.read-header-timeout; --web.max-connections bounds open connections.
func TestServerTimeoutsAndConnectionLimit(t *testing.T) {
	lim := DefaultServerLimits()
	lim.ReadHeaderTimeout, lim.ReadTimeout, lim.IdleTimeout = 300*time.Millisecond, 600*time.Millisecond, 300*time.Millisecond
	lim.MaxConnections = 3
	addr := serveApp(t, lim)

	// closedWithin reports whether the server closes c within d.
	closedWithin := func(c net.Conn, d time.Duration) bool {
		_ = c.SetReadDeadline(time.Now().Add(d))
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				var ne net.Error
				return !(errors.As(err, &ne) && ne.Timeout())
			}
		}
	}

	// Slow body: headers, then a byte every 100ms of a 1 MB body.
	slow, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer slow.Close()
	_, err = fmt.Fprintf(slow, "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: 1000000\r\n\r\n")
	require.NoError(t, err)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				if _, err := slow.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	start := time.Now()
	require.True(t, closedWithin(slow, 5*time.Second), "a trickled body is cut off")
	require.Less(t, time.Since(start), 3*time.Second)

	// Silent connections fill the limit: a new request waits until the header timeout
	// frees a slot, and is then served.
	var idle []net.Conn
	for range lim.MaxConnections {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		idle = append(idle, c)
	}
	time.Sleep(50 * time.Millisecond) // let the server accept them
	client := &http.Client{Timeout: 5 * time.Second}
	start = time.Now()
	resp, err := client.Get("http://" + addr + "/-/healthy")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	// The request can only have been served once the header timeout closed a silent
	// connection and freed its slot; timing it instead would fail on a loaded machine,
	// where the silent connections may time out before the request is even sent.
	freed := 0
	for _, c := range idle {
		if closedWithin(c, time.Millisecond) {
			freed++
		}
	}
	require.Positive(t, freed, "the request waited for a connection slot (served after %s)", time.Since(start))
	for _, c := range idle {
		require.True(t, closedWithin(c, 3*time.Second), "a silent connection is closed")
	}

	// A keep-alive connection left idle is closed after --web.idle-timeout.
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = fmt.Fprintf(c, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	r := bufio.NewReader(c)
	resp, err = http.ReadResponse(r, nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, closedWithin(c, 3*time.Second), "an idle keep-alive connection is closed")
}

// The Go client still gets its events in through the cross-site check and the in-flight
// budget, gzip included.
func TestGoClientThroughWriteProtections(t *testing.T) {
	a, srv := newApp(t, "")
	for _, gz := range []bool{false, true} {
		c, err := client.New(client.Options{URL: srv.URL, Gzip: gz, FlushInterval: 10 * time.Millisecond})
		require.NoError(t, err)
		for range 10 {
			require.True(t, c.Send(client.Event{Model: "go-client"}))
		}
		require.NoError(t, c.Close(context.Background()))
		require.EqualValues(t, 10, c.Stats().Sent, "gzip %v", gz)
	}
	require.InDelta(t, 20, mustMetric(t, a, "aiops_events_total", map[string]string{"model": "go-client"}), 0)
}

// A reference upload is saved at once, on its own: the store has it after a crash right
// after the upload, and no full snapshot ran for it (which would copy and write every
// waiting prediction for each upload).
func TestReferenceUploadSavesOnlyTheReference(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	a, srv := clockApp(t, dir, "reference: {capture_first: 0}\n", clock)
	// A version known before the upload, and one the upload creates.
	status, _ := request(t, http.MethodPost, srv.URL+"/api/v1/events", "", []byte(`{"model":"m","version":"old","id":"p1","prediction":"yes"}`))
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, a.Snapshot())
	snapshotAt := mustMetric(t, a, "aiops_exporter_last_snapshot_success_timestamp_seconds", nil)
	clock.Advance(time.Minute)
	for _, v := range []string{"old", "new"} {
		status, out := request(t, http.MethodPut, srv.URL+"/api/v1/models/m/versions/"+v+"/reference", "text/csv", []byte("x\n1\n2\n3\n"))
		require.Equal(t, http.StatusOK, status, "%v", out)
	}
	require.Equal(t, snapshotAt, mustMetric(t, a, "aiops_exporter_last_snapshot_success_timestamp_seconds", nil), "no full snapshot per upload")

	// Crash: no shutdown snapshot. Both references are back, and what the last snapshot
	// held too.
	srv.Close()
	require.NoError(t, a.store.Close())
	b, srv2 := clockApp(t, dir, "reference: {capture_first: 0}\n", clock)
	defer b.store.Close()
	for _, v := range []string{"old", "new"} {
		status, _ := request(t, http.MethodGet, srv2.URL+"/api/v1/models/m/versions/"+v+"/reference", "", nil)
		require.Equal(t, http.StatusOK, status, v)
	}
	require.InDelta(t, 1, mustMetric(t, b, "aiops_predictions_awaiting_label", map[string]string{"model": "m", "version": "old"}), 0)
}

// A CSV or NDJSON reference is read as a stream into a bounded profile, so only its current
// line counts against --web.max-inflight-body-bytes and a file larger than the bound loads;
// a saved profile is decoded whole, so it counts whole.
func TestLargeStreamedReferencePassesTheBudget(t *testing.T) {
	dir := t.TempDir()
	opts := DefaultOptions()
	opts.StoragePath = filepath.Join(dir, "data")
	opts.Registry = prometheus.NewRegistry()
	opts.Server.MaxInflightBodyBytes = 4 << 20
	a, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { a.store.Close() })
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)

	var csv bytes.Buffer
	csv.WriteString("amount,country\n")
	for i := 0; csv.Len() < 12<<20; i++ {
		fmt.Fprintf(&csv, "%d.5,%s\n", i%1000, []string{"DE", "FR", "US"}[i%3])
	}
	status, out := request(t, http.MethodPut, srv.URL+"/api/v1/models/m/versions/v1/reference", "text/csv", csv.Bytes())
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Zero(t, a.budget.Used())

	// The same reference exported as a profile, padded past the bound with spaces.
	resp, err := http.Get(srv.URL + "/api/v1/models/m/versions/v1/reference")
	require.NoError(t, err)
	profile, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	padded := append(bytes.Repeat([]byte(" "), 5<<20), profile...)
	status, _ = request(t, http.MethodPut, srv.URL+"/api/v1/models/m/versions/v2/reference", "application/json", padded)
	require.Equal(t, http.StatusServiceUnavailable, status)
	status, out = request(t, http.MethodPut, srv.URL+"/api/v1/models/m/versions/v2/reference", "application/json", profile)
	require.Equal(t, http.StatusOK, status, "%v", out)
}
