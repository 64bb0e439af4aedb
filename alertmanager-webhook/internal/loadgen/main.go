// Command loadgen posts Alertmanager webhook notifications to incidentd over loopback and
// prints the rate and latency percentiles; scripts/load/incidentd.sh runs it.
//
// Each notification is a new alert group of -alerts firing alerts, so every request is a
// real write; -dup replays the same notifications again to measure the duplicate path.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := Run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type alert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Fingerprint string            `json:"fingerprint"`
}

type message struct {
	Version      string            `json:"version"`
	GroupKey     string            `json:"groupKey"`
	Receiver     string            `json:"receiver"`
	Status       string            `json:"status"`
	Alerts       []alert           `json:"alerts"`
	GroupLabels  map[string]string `json:"groupLabels"`
	CommonLabels map[string]string `json:"commonLabels"`
	ExternalURL  string            `json:"externalURL"`
}

func body(run string, i, alerts int) []byte {
	g := fmt.Sprintf("load-%s-%d", run, i)
	common := map[string]string{"alertname": "FeatureDriftHigh", "model": g, "tier": "P3", "team": "ml-platform"}
	m := message{Version: "4", GroupKey: `{}:{alertname="FeatureDriftHigh", model="` + g + `"}`, Receiver: "hook", Status: "firing",
		GroupLabels: map[string]string{"alertname": "FeatureDriftHigh", "model": g}, CommonLabels: common, ExternalURL: "http://am:9093"}
	start := time.Now().UTC().Truncate(time.Second)
	for k := range alerts {
		l := map[string]string{"feature": fmt.Sprintf("f%d", k)}
		for a, b := range common {
			l[a] = b
		}
		m.Alerts = append(m.Alerts, alert{Status: "firing", Labels: l, Annotations: map[string]string{"summary": "drift on " + l["feature"]},
			StartsAt: start, Fingerprint: fingerprint(g, k)})
	}
	b, _ := json.Marshal(m)
	return b
}

// fingerprint is 16 hex digits of a hash, like Alertmanager's: spread over the key space,
// as the store's indexes see them in production (sequential names would flatter it).
func fingerprint(group string, k int) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", group, k)
	return fmt.Sprintf("%016x", h.Sum64())
}

// Run is the load generator as a function.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:9478/api/v1/alertmanager", "webhook URL")
	token := fs.String("token", "", "bearer token")
	n := fs.Int("n", 5000, "notifications to send")
	conc := fs.Int("c", 32, "concurrent senders")
	alerts := fs.Int("alerts", 10, "alerts per notification")
	dup := fs.Bool("dup", true, "afterwards replay every notification once (duplicate path)")
	metrics := fs.String("metrics", "", "incidentd's /metrics URL; when set, each phase also reports the server's CPU time per notification")
	if err := fs.Parse(args); err != nil {
		return err
	}
	run := fmt.Sprint(time.Now().UnixNano())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc}, Timeout: 30 * time.Second}
	// The bodies are encoded before the clock starts: in production Alertmanager runs
	// elsewhere, so encoding them must not compete with the server for this machine's CPU.
	bodies := make([][]byte, *n+1)
	for i := 1; i <= *n; i++ {
		bodies[i] = body(run, i, *alerts)
	}
	phase := func(name string) error {
		cpu0, err := serverCPU(ctx, client, *metrics)
		if err != nil {
			return err
		}
		var next atomic.Int64
		var mu sync.Mutex
		var lat []time.Duration
		var firstErr error
		var wg sync.WaitGroup
		start := time.Now()
		for range *conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				for ctx.Err() == nil {
					i := int(next.Add(1))
					if i > *n {
						break
					}
					req, _ := http.NewRequestWithContext(ctx, http.MethodPost, *url, bytes.NewReader(bodies[i]))
					req.Header.Set("Content-Type", "application/json")
					if *token != "" {
						req.Header.Set("Authorization", "Bearer "+*token)
					}
					t0 := time.Now()
					resp, err := client.Do(req)
					if err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							err = fmt.Errorf("status %s", resp.Status)
						}
					}
					if err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						return
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		el := time.Since(start)
		if firstErr != nil {
			return fmt.Errorf("%s: %w", name, firstErr)
		}
		cpu1, err := serverCPU(ctx, client, *metrics)
		if err != nil {
			return err
		}
		slices.Sort(lat)
		pct := func(p int) float64 { return float64(lat[len(lat)*p/100].Microseconds()) / 1000 }
		fmt.Fprintf(stdout, "%-10s %6d notifications x %d alerts, %d senders: %7.0f notifications/s  p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms",
			name, len(lat), *alerts, *conc, float64(len(lat))/el.Seconds(), pct(50), pct(99), float64(lat[len(lat)-1].Microseconds())/1000)
		if *metrics != "" {
			fmt.Fprintf(stdout, "  server CPU %4.0f µs/notification", (cpu1-cpu0)*1e6/float64(len(lat)))
		}
		fmt.Fprintln(stdout)
		return nil
	}
	if err := phase("new"); err != nil {
		return err
	}
	if *dup {
		return phase("duplicate")
	}
	return nil
}

// serverCPU reads process_cpu_seconds_total from the server's metrics (0 without a URL).
func serverCPU(ctx context.Context, client *http.Client, url string) (float64, error) {
	if url == "" {
		return 0, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "process_cpu_seconds_total "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, fmt.Errorf("metrics: process_cpu_seconds_total: %w", err)
			}
			return f, nil
		}
	}
	return 0, fmt.Errorf("metrics: %s has no process_cpu_seconds_total", url)
}
