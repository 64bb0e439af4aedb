// Package stack starts the whole OpsCentre loop as real processes on loopback —
// aiops_exporter, incidentd, Prometheus and Alertmanager — with configuration written into
// one directory, waits until each is ready, and stops them all. The end-to-end tests and
// `make demo` use it, so the demo a user runs is the loop the tests prove.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Binaries are the programs the stack runs.
type Binaries struct {
	Exporter, Incidentd, Prometheus, Alertmanager string
}

// Options configure a stack.
type Options struct {
	// Dir holds the generated configuration, each process's data and its log file.
	Dir string
	Bin Binaries
	// Ports for the exporter, incidentd, Prometheus and Alertmanager; 0 picks a free port.
	ExporterPort, IncidentdPort, PrometheusPort, AlertmanagerPort int
	// RuleFiles are loaded by Prometheus (copied into Dir).
	RuleFiles []string
	// AlertmanagerConfig is the alertmanager.yml to run; "{{INCIDENTD}}" in it is replaced by
	// incidentd's base URL.
	AlertmanagerConfig string
	// IncidentdConfig, when set, is written to Dir/incidentd.yml and passed to incidentd;
	// {{PROMETHEUS}} in it becomes the stack's Prometheus URL.
	IncidentdConfig string
	// IncidentdArgs and ExporterArgs are extra flags.
	IncidentdArgs, ExporterArgs []string
	// ScrapeInterval and EvaluationInterval of Prometheus (default 1s).
	ScrapeInterval, EvaluationInterval time.Duration
	// ReadyTimeout bounds the wait for each process (default 30s).
	ReadyTimeout time.Duration
}

// Stack is a running loop.
type Stack struct {
	opts                                                      Options
	ExporterURL, IncidentdURL, PrometheusURL, AlertmanagerURL string
	mu                                                        sync.Mutex
	procs                                                     []*proc
}

type proc struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

// Start writes the configuration and starts every process; on any failure it stops what it
// started and returns the error with the failing process's log tail.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.ScrapeInterval == 0 {
		o.ScrapeInterval = time.Second
	}
	if o.EvaluationInterval == 0 {
		o.EvaluationInterval = time.Second
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 30 * time.Second
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", o.Dir, err)
	}
	// A port free a moment ago may be taken by another process (tests run in parallel)
	// before the server picked for it binds it: the stack then starts again on ports picked
	// anew, a few times.
	given := o
	for attempt := 1; ; attempt++ {
		o := given
		picked := false
		for _, p := range []*int{&o.ExporterPort, &o.IncidentdPort, &o.PrometheusPort, &o.AlertmanagerPort} {
			if *p == 0 {
				port, err := FreePort()
				if err != nil {
					return nil, err
				}
				*p, picked = port, true
			}
		}
		s := &Stack{
			opts:            o,
			ExporterURL:     fmt.Sprintf("http://127.0.0.1:%d", o.ExporterPort),
			IncidentdURL:    fmt.Sprintf("http://127.0.0.1:%d", o.IncidentdPort),
			PrometheusURL:   fmt.Sprintf("http://127.0.0.1:%d", o.PrometheusPort),
			AlertmanagerURL: fmt.Sprintf("http://127.0.0.1:%d", o.AlertmanagerPort),
		}
		err := s.start(ctx)
		if err == nil {
			return s, nil
		}
		s.Stop()
		if !picked || attempt == 3 || !errors.Is(err, errPortTaken) {
			return nil, err
		}
	}
}

// errPortTaken marks a process that exited because its listen address was in use.
var errPortTaken = errors.New("address already in use")

func (s *Stack) start(ctx context.Context) error {
	o := s.opts
	path := func(p string) string { return filepath.Join(o.Dir, p) }

	// incidentd first: Alertmanager notifies it.
	args := []string{
		"--web.listen-address=" + addr(o.IncidentdPort),
		"--storage.path=" + path("incidentd.db"),
	}
	if o.IncidentdConfig != "" {
		// {{PROMETHEUS}} is the stack's Prometheus, whose port is picked here (evidence).
		cfg := strings.ReplaceAll(o.IncidentdConfig, "{{PROMETHEUS}}", s.PrometheusURL)
		if err := os.WriteFile(path("incidentd.yml"), []byte(cfg), 0o644); err != nil {
			return fmt.Errorf("writing incidentd config: %w", err)
		}
		args = append(args, "--config.file="+path("incidentd.yml"))
	}
	if err := s.run(ctx, "incidentd", o.Bin.Incidentd, append(args, o.IncidentdArgs...), s.IncidentdURL+"/-/ready"); err != nil {
		return err
	}

	if err := s.run(ctx, "aiops_exporter", o.Bin.Exporter, append([]string{
		"--web.listen-address=" + addr(o.ExporterPort),
		"--storage.path=" + path("exporter-data"),
	}, o.ExporterArgs...), s.ExporterURL+"/-/ready"); err != nil {
		return err
	}

	amcfg := strings.ReplaceAll(o.AlertmanagerConfig, "{{INCIDENTD}}", s.IncidentdURL)
	if err := os.WriteFile(path("alertmanager.yml"), []byte(amcfg), 0o644); err != nil {
		return fmt.Errorf("writing alertmanager config: %w", err)
	}
	if err := s.run(ctx, "alertmanager", o.Bin.Alertmanager, []string{
		"--config.file=" + path("alertmanager.yml"),
		"--storage.path=" + path("alertmanager-data"),
		"--web.listen-address=" + addr(o.AlertmanagerPort),
		"--cluster.listen-address=",
	}, s.AlertmanagerURL+"/-/ready"); err != nil {
		return err
	}

	var rules []string
	if err := os.MkdirAll(path("rules"), 0o755); err != nil {
		return fmt.Errorf("creating rules dir: %w", err)
	}
	for _, f := range o.RuleFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("reading rule file: %w", err)
		}
		dst := path(filepath.Join("rules", filepath.Base(f)))
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return fmt.Errorf("copying rule file: %w", err)
		}
		rules = append(rules, dst)
	}
	if err := os.WriteFile(path("prometheus.yml"), []byte(PrometheusConfig(PrometheusConfigOptions{
		ScrapeInterval:     o.ScrapeInterval,
		EvaluationInterval: o.EvaluationInterval,
		RuleFiles:          rules,
		Exporter:           addr(o.ExporterPort),
		Incidentd:          addr(o.IncidentdPort),
		Alertmanager:       addr(o.AlertmanagerPort),
	})), 0o644); err != nil {
		return fmt.Errorf("writing prometheus config: %w", err)
	}
	return s.run(ctx, "prometheus", o.Bin.Prometheus, []string{
		"--config.file=" + path("prometheus.yml"),
		"--storage.tsdb.path=" + path("prometheus-data"),
		"--web.listen-address=" + addr(o.PrometheusPort),
		"--web.enable-lifecycle",
	}, s.PrometheusURL+"/-/ready")
}

func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// PrometheusConfigOptions shape the generated prometheus.yml.
type PrometheusConfigOptions struct {
	ScrapeInterval, EvaluationInterval time.Duration
	RuleFiles                          []string
	Exporter, Incidentd, Alertmanager  string
}

// PrometheusConfig renders a prometheus.yml that scrapes the exporter and incidentd, loads
// the rule files and sends alerts to Alertmanager.
func PrometheusConfig(o PrometheusConfigOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  evaluation_interval: %s\n", o.ScrapeInterval, o.EvaluationInterval)
	if len(o.RuleFiles) > 0 {
		b.WriteString("rule_files:\n")
		for _, f := range o.RuleFiles {
			fmt.Fprintf(&b, "  - %q\n", f)
		}
	}
	fmt.Fprintf(&b, "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [%q]\n", o.Alertmanager)
	fmt.Fprintf(&b, "scrape_configs:\n  - job_name: aiops_exporter\n    static_configs:\n      - targets: [%q]\n", o.Exporter)
	fmt.Fprintf(&b, "  - job_name: incidentd\n    static_configs:\n      - targets: [%q]\n", o.Incidentd)
	return b.String()
}

// run starts one process, logging to Dir/<name>.log, and waits until readyURL answers 200.
func (s *Stack) run(ctx context.Context, name, bin string, args []string, readyURL string) error {
	if bin == "" {
		return fmt.Errorf("%s: no binary given", name)
	}
	log, err := os.Create(filepath.Join(s.opts.Dir, name+".log"))
	if err != nil {
		return fmt.Errorf("%s: creating log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Dir = s.opts.Dir
	// Own process group, so Ctrl-C in a terminal reaches the demo, which then stops every
	// child in order, instead of killing them all at once. The parent-death signal stops a
	// child whose parent (the demo, a test binary) was killed outright and could not. Linux
	// sends it when the thread that started the child exits; Go ends threads only under
	// runtime.LockOSThread, which nothing starting processes here uses.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("%s: starting %s: %w", name, bin, err)
	}
	p := &proc{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()

	deadline := time.Now().Add(s.opts.ReadyTimeout)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-p.done:
			tail := s.LogTail(name, 30)
			if strings.Contains(tail, "address already in use") {
				return fmt.Errorf("%s exited during start-up: %w:\n%s", name, errPortTaken, tail)
			}
			return fmt.Errorf("%s exited during start-up:\n%s", name, tail)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if resp, err := client.Get(readyURL); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready at %s after %s:\n%s", name, readyURL, s.opts.ReadyTimeout, s.LogTail(name, 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// LogTail returns the last n lines of a process's log.
func (s *Stack) LogTail(name string, n int) string {
	b, err := os.ReadFile(filepath.Join(s.opts.Dir, name+".log"))
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Kill sends SIGKILL to one process (for crash tests) and waits for it to exit.
func (s *Stack) Kill(name string) error {
	for _, p := range s.procs {
		if p.name == name {
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
			return nil
		}
	}
	return fmt.Errorf("no process %q", name)
}

// Stop terminates every process in reverse start order (SIGTERM, then SIGKILL after 10s).
func (s *Stack) Stop() {
	s.mu.Lock()
	procs := s.procs
	s.procs = nil
	s.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
		p.log.Close()
	}
}

// FreePort returns a loopback TCP port free at the time of the call, for a server started
// next. It is picked below the kernel's ephemeral range (ip_local_port_range), from which
// every outgoing connection takes its local port: between this call and the server's bind
// a port in that range can be taken by any client on the machine, as happened in CI to a
// test running beside others; one below it only by another caller of FreePort. Where the
// range cannot be read or leaves no room below it, the kernel picks.
func FreePort() (int, error) {
	const lowest = 10000
	if low := ephemeralLow(); low > lowest+1000 {
		for range 64 {
			p := lowest + rand.IntN(low-lowest)
			if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
				_ = l.Close()
				return p, nil
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreeAddr is FreePort as a loopback host:port.
func FreeAddr() (string, error) {
	p, err := FreePort()
	return addr(p), err
}

// ephemeralLow is the first port of Linux's ephemeral range, or 0.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}
