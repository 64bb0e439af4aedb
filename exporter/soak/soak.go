// Package soak runs normal ingest against a running aiops_exporter, first alone (quiet),
// then beside hostile clients (attack): slow-body clients that send part of a large body
// and then trickle it, and idle connections that never send a request. It reports, per
// phase, the normal clients' latency percentiles and failures and the exporter's peak RSS
// and open file descriptors (read from /proc), so the server limits (timeouts,
// --web.max-connections, --web.max-inflight-body-bytes) are judged by what a normal client
// and the host see.
package soak

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a soak run.
type Options struct {
	URL   string // the exporter's base URL (loopback)
	PID   int    // the exporter's pid, for RSS and file descriptors (0: not measured)
	Phase time.Duration
	// Workers normal clients post Batch-event NDJSON batches back to back.
	Workers, Batch int
	// SlowClients each declare a SlowDeclared-byte body, send SlowPrefix bytes of it at
	// once, then one byte every 100ms; cut off or refused, they reconnect.
	SlowClients, SlowPrefix, SlowDeclared int
	// IdleConns connections are opened and never sent anything; closed, they reconnect.
	IdleConns int
}

// Phase is what one phase measured.
type Phase struct {
	Requests, Failed int
	P50, P99         time.Duration
	PeakRSS          int64 // bytes
	PeakFDs          int
}

// Result is the two phases and what the hostile clients met.
type Result struct {
	Quiet, Attack Phase
	// SlowCut counts slow-body connections the server ended (read timeout, or a 503 when
	// the in-flight budget was spent); SlowRefused those answered 503; IdleClosed the idle
	// connections it closed.
	SlowCut, SlowRefused, IdleClosed int64
}

// Run runs the quiet phase, then the attack phase.
func Run(ctx context.Context, o Options) (Result, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return Result{}, err
	}
	var res Result
	if res.Quiet, err = phase(ctx, o); err != nil {
		return res, err
	}
	attackCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range o.SlowClients {
		wg.Go(func() { slowClient(attackCtx, u.Host, o, &res) })
	}
	for range o.IdleConns {
		wg.Go(func() { idleConn(attackCtx, u.Host, &res) })
	}
	time.Sleep(min(2*time.Second, o.Phase/4)) // let the attack build up
	res.Attack, err = phase(ctx, o)
	stop()
	wg.Wait()
	return res, err
}

// phase runs the normal clients for o.Phase, sampling the exporter meanwhile.
func phase(ctx context.Context, o Options) (Phase, error) {
	var p Phase
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Workers}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, o.Phase)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failed    atomic.Int64
	)
	var wg sync.WaitGroup
	for w := range o.Workers {
		wg.Go(func() {
			var body bytes.Buffer
			for i := 0; ctx.Err() == nil; i++ {
				body.Reset()
				for j := range o.Batch {
					fmt.Fprintf(&body, `{"model":"soak","version":"w%d","latency_seconds":0.05,"features":{"x":%d,"c":"k%d"},"prediction":"yes"}`+"\n", w, (i+j)%50, j%5)
				}
				start := time.Now()
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, o.URL+"/api/v1/events", bytes.NewReader(body.Bytes()))
				req.Header.Set("Content-Type", "application/x-ndjson")
				resp, err := client.Do(req)
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
					continue
				}
				mu.Lock()
				latencies = append(latencies, time.Since(start))
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, fds, ok := sample(o.PID); ok {
				mu.Lock()
				p.PeakRSS, p.PeakFDs = max(p.PeakRSS, rss), max(p.PeakFDs, fds)
				mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	wg.Wait()
	slices.Sort(latencies)
	p.Requests, p.Failed = len(latencies), int(failed.Load())
	if len(latencies) == 0 {
		return p, fmt.Errorf("no normal request succeeded (%d failed)", p.Failed)
	}
	p.P50 = latencies[len(latencies)/2]
	p.P99 = latencies[min(len(latencies)-1, len(latencies)*99/100)]
	return p, nil
}

// slowClient sends SlowPrefix bytes of a SlowDeclared-byte body at once, then a byte every
// 100ms, until the server ends the connection; then again.
func slowClient(ctx context.Context, host string, o Options, res *Result) {
	line := []byte(`{"model":"slow","latency_seconds":0.1}` + "\n")
	prefix := bytes.Repeat(line, max(1, o.SlowPrefix/len(line)))
	for ctx.Err() == nil {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", host)
		if err != nil {
			sleep(ctx, 100*time.Millisecond)
			continue
		}
		stop := context.AfterFunc(ctx, func() { c.Close() })
		fmt.Fprintf(c, "POST /api/v1/events HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n", host, o.SlowDeclared)
		_, err = c.Write(prefix)
		answered := make(chan string, 1)
		go func() {
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				answered <- ""
				return
			}
			resp.Body.Close()
			answered <- resp.Status
		}()
		for err == nil && ctx.Err() == nil {
			select {
			case status := <-answered:
				if strings.HasPrefix(status, "503") {
					atomic.AddInt64(&res.SlowRefused, 1)
				}
				err = io.EOF
			case <-time.After(100 * time.Millisecond):
				_, err = c.Write([]byte(" "))
			}
		}
		if ctx.Err() == nil {
			atomic.AddInt64(&res.SlowCut, 1)
		}
		stop()
		c.Close()
	}
}

// idleConn holds a connection that never sends a request, and opens another when the
// server closes it.
func idleConn(ctx context.Context, host string, res *Result) {
	buf := make([]byte, 1)
	for ctx.Err() == nil {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", host)
		if err != nil {
			sleep(ctx, 100*time.Millisecond)
			continue
		}
		stop := context.AfterFunc(ctx, func() { c.Close() })
		_, _ = c.Read(buf) // returns when the server closes it, or at the end
		if ctx.Err() == nil {
			atomic.AddInt64(&res.IdleClosed, 1)
		}
		stop()
		c.Close()
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// sample reads the process's resident set size and open file descriptors.
func sample(pid int) (rss int64, fds int, ok bool) {
	if pid <= 0 {
		return 0, 0, false
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, found := strings.CutPrefix(line, "VmRSS:"); found {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			rss = kb << 10
		}
	}
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, 0, false
	}
	return rss, len(entries), true
}
