// Package loadgen is a loopback load generator for aiops_exporter: several workers post
// NDJSON batches of realistic events (N features each) for a fixed time, and it reports
// accepted events per second and, given the exporter's pid, events per CPU-second the
// exporter spent (the per-core figure).
package loadgen

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a run.
type Options struct {
	URL         string
	Duration    time.Duration
	Workers     int
	BatchSize   int
	Features    int
	Models      int
	Gzip        bool
	ExporterPID int // when set, CPU time of the exporter is measured from /proc
}

// Result is what a run measured.
type Result struct {
	Events      uint64
	Rejected    uint64
	Requests    uint64
	Elapsed     time.Duration
	ExporterCPU time.Duration // 0 when not measured
}

// EventsPerSecond is accepted events per wall-clock second.
func (r Result) EventsPerSecond() float64 { return float64(r.Events) / r.Elapsed.Seconds() }

// EventsPerCPUSecond is accepted events per CPU-second of the exporter (0 if unmeasured).
func (r Result) EventsPerCPUSecond() float64 {
	if r.ExporterCPU <= 0 {
		return 0
	}
	return float64(r.Events) / r.ExporterCPU.Seconds()
}

// Batches builds k distinct NDJSON batches, made before the clock starts so generating
// them does not count.
func Batches(o Options, k int) [][]byte {
	out := make([][]byte, k)
	i := 0
	for b := range out {
		var buf bytes.Buffer
		for range o.BatchSize {
			fmt.Fprintf(&buf, `{"model":"load-%d","version":"v1","id":"r%d","latency_seconds":%.4f,"prediction":%d,"features":{`, i%o.Models, i, float64(i%250)/1000, i%2)
			for f := range o.Features {
				if f > 0 {
					buf.WriteByte(',')
				}
				if f%4 == 3 {
					fmt.Fprintf(&buf, `"f%02d":"c%d"`, f, (i+f)%12)
				} else {
					fmt.Fprintf(&buf, `"f%02d":%.3f`, f, float64((i*31+f*17)%1000)/7)
				}
			}
			buf.WriteString("}}\n")
			i++
		}
		out[b] = buf.Bytes()
		if o.Gzip {
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			_, _ = w.Write(out[b])
			_ = w.Close()
			out[b] = z.Bytes()
		}
	}
	return out
}

// Load posts batches until the duration ends or ctx is cancelled.
func Load(ctx context.Context, o Options) (Result, error) {
	if o.Workers <= 0 || o.BatchSize <= 0 || o.Features < 0 || o.Models <= 0 || o.Duration <= 0 {
		return Result{}, errors.New("loadgen: workers, batch, models and duration must be positive")
	}
	batches := Batches(o, 16)
	url := strings.TrimSuffix(o.URL, "/") + "/api/v1/events"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.Workers}}
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()

	cpu0, err := cpuTime(o.ExporterPID)
	if err != nil {
		return Result{}, err
	}
	var (
		res      Result
		events   atomic.Uint64
		rejected atomic.Uint64
		requests atomic.Uint64
		firstErr atomic.Value
		wg       sync.WaitGroup
	)
	start := time.Now()
	for w := range o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := w; ctx.Err() == nil; n++ {
				acc, rej, err := post(ctx, client, url, batches[n%len(batches)], o.Gzip)
				if err != nil {
					if ctx.Err() == nil {
						firstErr.CompareAndSwap(nil, err)
						cancel()
					}
					return
				}
				events.Add(acc)
				rejected.Add(rej)
				requests.Add(1)
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	cpu1, err := cpuTime(o.ExporterPID)
	if err != nil {
		return Result{}, err
	}
	res.ExporterCPU = cpu1 - cpu0
	res.Events, res.Rejected, res.Requests = events.Load(), rejected.Load(), requests.Load()
	if e, ok := firstErr.Load().(error); ok {
		return res, e
	}
	return res, nil
}

func post(ctx context.Context, c *http.Client, url string, body []byte, gz bool) (accepted, rejected uint64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("exporter answered %s: %s", resp.Status, bytes.TrimSpace(data))
	}
	var r struct {
		Accepted uint64            `json:"accepted"`
		Rejected []json.RawMessage `json:"rejected"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return 0, 0, fmt.Errorf("reading answer: %w", err)
	}
	return r.Accepted, uint64(len(r.Rejected)), nil
}

// cpuTime reads a process's user+system CPU time from /proc (in USER_HZ = 100 ticks/s).
func cpuTime(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, nil
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("loadgen: reading exporter CPU time: %w", err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("loadgen: unexpected /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseUint(fields[11], 10, 64)
	stime, err2 := strconv.ParseUint(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("loadgen: parsing /proc/%d/stat: %w", pid, err)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// Run is the aiops-loadgen command line.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("aiops-loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := Options{}
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:9477", "exporter base URL")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long to send")
	fs.IntVar(&o.Workers, "workers", 4, "concurrent requests")
	fs.IntVar(&o.BatchSize, "batch", 1000, "events per request")
	fs.IntVar(&o.Features, "features", 20, "features per event")
	fs.IntVar(&o.Models, "models", 4, "distinct models")
	fs.BoolVar(&o.Gzip, "gzip", false, "gzip request bodies")
	fs.IntVar(&o.ExporterPID, "exporter-pid", 0, "pid of the exporter, to report events per exporter CPU-second")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r, err := Load(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sent %d events (%d rejected) in %d requests over %.1fs: %.0f events/s",
		r.Events, r.Rejected, r.Requests, r.Elapsed.Seconds(), r.EventsPerSecond())
	if r.ExporterCPU > 0 {
		fmt.Fprintf(stdout, "; exporter CPU %.2fs: %.0f events per exporter CPU-second", r.ExporterCPU.Seconds(), r.EventsPerCPUSecond())
	}
	fmt.Fprintln(stdout)
	return nil
}
