// Package promtest runs a real Prometheus server for tests: it scrapes the
// given targets every second from a throwaway data directory and answers
// queries through its HTTP API.
package promtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a running Prometheus.
type Server struct {
	URL string
}

// Start runs the Prometheus binary bin scraping targets (host:port) as job
// "aiops" every second, and stops it when the test ends.
//
// Prometheus cannot report a port it picked itself, so Start reserves a free
// port, releases it and hands it to Prometheus; if another process grabs it in
// between, Prometheus exits and Start tries again with a new port.
func Start(tb testing.TB, bin string, targets ...string) *Server {
	tb.Helper()
	dir := tb.TempDir()
	quoted := make([]string, len(targets))
	for i, t := range targets {
		quoted[i] = strconv.Quote(t)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: aiops
    static_configs:
      - targets: [%s]
`, strings.Join(quoted, ", "))
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		addr, err := freeAddr()
		if err != nil {
			tb.Fatal(err)
		}
		cmd := exec.Command(bin,
			"--config.file="+cfgPath,
			"--storage.tsdb.path="+filepath.Join(dir, fmt.Sprintf("data%d", attempt)),
			"--web.listen-address="+addr,
		)
		logPath := filepath.Join(dir, fmt.Sprintf("prometheus%d.log", attempt))
		logFile, err := os.Create(logPath)
		if err != nil {
			tb.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			tb.Fatalf("start prometheus: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		s := &Server{URL: "http://" + addr}
		if err := s.waitReady(exited); err != nil {
			_ = cmd.Process.Kill()
			<-exited
			logFile.Close()
			log, _ := os.ReadFile(logPath)
			lastErr = fmt.Errorf("%w; log:\n%s", err, log)
			continue
		}
		tb.Cleanup(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
			logFile.Close()
		})
		return s
	}
	tb.Fatalf("prometheus did not start: %v", lastErr)
	return nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (s *Server) waitReady(exited <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("prometheus exited: %v", err)
		default:
		}
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("prometheus not ready after 30s")
}

// Sample is one series of a query result: its labels and its values.
type Sample struct {
	Metric map[string]string
	Values []Point
}

// Point is a timestamped value.
type Point struct {
	T time.Time
	V float64
}

type apiResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	} `json:"data"`
}

// Query evaluates an instant query at t.
func (s *Server) Query(ctx context.Context, expr string, t time.Time) ([]Sample, error) {
	v := url.Values{"query": {expr}, "time": {formatTime(t)}}
	return s.get(ctx, "/api/v1/query", v)
}

// QueryRange evaluates a range query.
func (s *Server) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]Sample, error) {
	v := url.Values{"query": {expr}, "start": {formatTime(start)}, "end": {formatTime(end)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
	return s.get(ctx, "/api/v1/query_range", v)
}

func (s *Server) get(ctx context.Context, path string, v url.Values) ([]Sample, error) {
	return QueryAPI(ctx, http.DefaultClient, s.URL, path, v)
}

// QueryAPI calls a Prometheus query endpoint at base+path and decodes vector
// and matrix results.
func QueryAPI(ctx context.Context, c *http.Client, base, path string, v url.Values) ([]Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(v.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", path, err)
	}
	defer resp.Body.Close()
	var r apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("query %s: decode response (HTTP %d): %w", path, resp.StatusCode, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s: %s", path, r.ErrorType, r.Error)
	}
	out := make([]Sample, 0, len(r.Data.Result))
	for _, raw := range r.Data.Result {
		var item struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
			Values [][]any           `json:"values"`
		}
		if err := json.Unmarshal(raw, &item); err != nil {
			return nil, fmt.Errorf("query %s: decode series: %w", path, err)
		}
		smp := Sample{Metric: item.Metric}
		pairs := item.Values
		if item.Value != nil {
			pairs = [][]any{item.Value}
		}
		for _, p := range pairs {
			pt, err := point(p)
			if err != nil {
				return nil, fmt.Errorf("query %s: %w", path, err)
			}
			smp.Values = append(smp.Values, pt)
		}
		out = append(out, smp)
	}
	return out, nil
}

func point(p []any) (Point, error) {
	if len(p) != 2 {
		return Point{}, fmt.Errorf("sample has %d fields, want 2", len(p))
	}
	ts, ok := p[0].(float64)
	if !ok {
		return Point{}, fmt.Errorf("sample time %v is not a number", p[0])
	}
	vs, ok := p[1].(string)
	if !ok {
		return Point{}, fmt.Errorf("sample value %v is not a string (native histograms are not plotted)", p[1])
	}
	v, err := strconv.ParseFloat(vs, 64)
	if err != nil {
		return Point{}, fmt.Errorf("sample value: %w", err)
	}
	sec := int64(ts)
	return Point{T: time.Unix(sec, int64((ts-float64(sec))*1e9)), V: v}, nil
}

func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', 3, 64)
}
