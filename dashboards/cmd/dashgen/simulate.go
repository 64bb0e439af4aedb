package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/opscentre/opscentre/exporter/sim"
	"github.com/opscentre/opscentre/test/stack"
)

// simulation is what `dashgen snapshot -simulate` needs to run the loop on loopback.
type simulation struct {
	Duration       time.Duration
	Scenario       string // aiops-sim scenario file
	ExporterConfig string // aiops_exporter --config.file
	BinDir         string // the project's binaries (make build)
	Prometheus     string // Prometheus 3 binary
	Alertmanager   string
	Root           string // repository root (deploy/demo's rules and Alertmanager config)
}

// simulate starts aiops_exporter, incidentd, Prometheus 3 and Alertmanager with test/stack
// (the processes `make demo` and the end-to-end tests run), plays the scenario into the
// exporter in real time for s.Duration, and returns the Prometheus URL and a stop function.
// Prometheus scrapes every second and is switched to native histograms with the classic
// buckets kept, as deploy/prometheus.yml does, so both latency panels have data.
func simulate(ctx context.Context, s simulation, progress io.Writer) (string, func(), error) {
	// The stack runs each process in its own directory: hand it absolute paths.
	for _, p := range []*string{&s.Root, &s.Scenario, &s.ExporterConfig, &s.BinDir} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return "", nil, fmt.Errorf("snapshot -simulate: %w", err)
		}
		*p = abs
	}
	bins := stack.Binaries{
		Exporter:     filepath.Join(s.BinDir, "aiops_exporter"),
		Incidentd:    filepath.Join(s.BinDir, "incidentd"),
		Prometheus:   s.Prometheus,
		Alertmanager: s.Alertmanager,
	}
	for _, p := range []string{bins.Exporter, bins.Incidentd} {
		if _, err := os.Stat(p); err != nil {
			return "", nil, fmt.Errorf("snapshot -simulate: %s not found in %s; run make build", filepath.Base(p), s.BinDir)
		}
	}
	demo, err := stack.LoadDemo(s.Root)
	if err != nil {
		return "", nil, err
	}
	sc, err := sim.LoadScenario(s.Scenario)
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "dashgen-snapshot-")
	if err != nil {
		return "", nil, fmt.Errorf("snapshot -simulate: %w", err)
	}
	st, err := stack.Start(ctx, stack.Options{
		Dir:                dir,
		Bin:                bins,
		RuleFiles:          demo.RuleFiles,
		AlertmanagerConfig: demo.AlertmanagerConfig,
		ExporterArgs:       []string{"--config.file=" + s.ExporterConfig},
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, fmt.Errorf("snapshot -simulate: starting the stack: %w", err)
	}
	stop := func() { st.Stop(); _ = os.RemoveAll(dir) }
	if err := nativeHistograms(ctx, dir, st.PrometheusURL); err != nil {
		stop()
		return "", nil, err
	}
	fmt.Fprintf(progress, "stack on loopback: exporter %s, Prometheus %s; playing %s for %s\n",
		st.ExporterURL, st.PrometheusURL, s.Scenario, s.Duration)
	simCtx, cancel := context.WithTimeout(ctx, s.Duration)
	defer cancel()
	stats, err := sim.Run(simCtx, sim.Options{
		Scenario: sc, Sink: &sim.HTTPSink{URL: st.ExporterURL},
		Progress: progress, ProgressEvery: 15 * time.Second,
	})
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		stop()
		return "", nil, fmt.Errorf("snapshot -simulate: %w", err)
	}
	if stats.Events == 0 || stats.SendErrors > stats.LabelSendErrors {
		stop()
		return "", nil, fmt.Errorf("snapshot -simulate: the exporter did not take the workload (%d events, %d send errors, last: %v)",
			stats.Events, stats.SendErrors, stats.LastError)
	}
	fmt.Fprintf(progress, "played %d events and %d labels (%d label sends failed)\n", stats.Events, stats.Labels, stats.LabelSendErrors)
	// One more scrape and rule evaluation after the last event.
	time.Sleep(2 * time.Second)
	return st.PrometheusURL, stop, nil
}

// nativeHistograms adds scrape_native_histograms and always_scrape_classic_histograms to
// the global section of the stack's prometheus.yml and reloads it.
func nativeHistograms(ctx context.Context, dir, promURL string) error {
	path := filepath.Join(dir, "prometheus.yml")
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("snapshot -simulate: %w", err)
	}
	cfg := strings.Replace(string(b), "global:\n", "global:\n  scrape_native_histograms: true\n  always_scrape_classic_histograms: true\n", 1)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("snapshot -simulate: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, promURL+"/-/reload", nil)
	if err != nil {
		return fmt.Errorf("snapshot -simulate: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("snapshot -simulate: reloading Prometheus: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("snapshot -simulate: Prometheus refused the native-histogram settings (it must be 3.x): %s: %s", resp.Status, body)
	}
	return nil
}

// findProgram returns the first candidate that is an executable file or on PATH.
func findProgram(candidates ...string) string {
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if strings.ContainsRune(c, os.PathSeparator) {
			if st, err := os.Stat(c); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return c
			}
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	return ""
}
