// Package promtest runs a real Prometheus server for tests: it scrapes the
// given targets every second from a throwaway data directory and answers
// queries through its HTTP API.
package promtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/opscentre/opscentre/dashboards/promapi"
)

// Server is a running Prometheus.
type Server struct {
	URL string
	// API is its HTTP API (client_golang), for queries and everything else.
	API v1.API
}

// Start runs the Prometheus binary bin scraping targets (host:port) as job
// "aiops" every second, and stops it when the test ends.
func Start(tb testing.TB, bin string, targets ...string) *Server {
	tb.Helper()
	return StartWith(tb, Config{Binary: bin, Targets: targets})
}

// Config describes a test Prometheus.
type Config struct {
	Binary  string
	Targets []string
	// Flags are extra command-line flags, e.g. --enable-feature=native-histograms.
	Flags []string
	// Global is extra YAML for the global: section, each line indented by two spaces.
	Global string
	// RuleFiles are loaded as rule_files (evaluated every second).
	RuleFiles []string
	// DataDir, when set, is the TSDB to serve, for example blocks backfilled with
	// promtool tsdb create-blocks-from; else each start gets an empty one.
	DataDir string
}

// StartWith runs Prometheus as configured and stops it when the test ends.
//
// Prometheus cannot report a port it picked itself, so Start reserves a free
// port, releases it and hands it to Prometheus; if another process grabs it in
// between, Prometheus exits and Start tries again with a new port.
func StartWith(tb testing.TB, c Config) *Server {
	tb.Helper()
	dir := tb.TempDir()
	quoted := make([]string, len(c.Targets))
	for i, t := range c.Targets {
		quoted[i] = strconv.Quote(t)
	}
	rules := make([]string, len(c.RuleFiles))
	for i, f := range c.RuleFiles {
		abs, err := filepath.Abs(f)
		if err != nil {
			tb.Fatal(err)
		}
		rules[i] = strconv.Quote(abs)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
%s
rule_files: [%s]
scrape_configs:
  - job_name: aiops
    static_configs:
      - targets: [%s]
`, c.Global, strings.Join(rules, ", "), strings.Join(quoted, ", "))
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
		data := c.DataDir
		if data == "" {
			data = filepath.Join(dir, fmt.Sprintf("data%d", attempt))
		}
		args := append([]string{
			"--config.file=" + cfgPath,
			"--storage.tsdb.path=" + data,
			"--web.listen-address=" + addr,
		}, c.Flags...)
		cmd := exec.Command(c.Binary, args...)
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
		api, err := promapi.New("http://"+addr, nil)
		if err != nil {
			tb.Fatal(err)
		}
		s := &Server{URL: "http://" + addr, API: api}
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

// Query evaluates an instant query at t.
func (s *Server) Query(ctx context.Context, expr string, t time.Time) ([]promapi.Sample, error) {
	return promapi.Query(ctx, s.API, expr, t)
}
