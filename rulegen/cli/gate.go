package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/opscentre/opscentre/rulegen/gate"
	"github.com/opscentre/opscentre/rulegen/spec"
)

// ErrInconclusive is returned when the gate has not enough evidence either way yet.
var ErrInconclusive = errors.New("rulegen: inconclusive")

// ErrUnavailable is returned when the gate could not be evaluated (Prometheus unreachable or
// a query failed): neither a pass nor a fail.
var ErrUnavailable = errors.New("rulegen: gate unavailable")

// Exit codes CI can branch on (see rulegen/README.md).
const (
	ExitPass         = 0
	ExitFail         = 1 // a failed gate, or any other error of any command
	ExitInconclusive = 2
	ExitUnavailable  = 3
)

// ExitCode maps Run's error to the process exit code.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitPass
	case errors.Is(err, ErrInconclusive):
		return ExitInconclusive
	case errors.Is(err, ErrUnavailable):
		return ExitUnavailable
	}
	return ExitFail
}

// gateFlags are the flags gate evaluate and gate serve share.
type gateFlags struct {
	spec, prometheus, method, since string
	incidentd, incidentdTokenFile   string
	alpha, minSamples, planSamples  float64
	errorRate, completion, latency  float64
}

func addGateFlags(c *kingpin.CmdClause) *gateFlags {
	f := &gateFlags{}
	c.Arg("spec", "Spec file with a gates: section.").Required().StringVar(&f.spec)
	c.Flag("prometheus", "Prometheus base URL.").Default("http://127.0.0.1:9090").StringVar(&f.prometheus)
	c.Flag("alpha", "Error rate of the whole gate (false fail of an equal candidate, false pass of one worse by the margin), split over the statistical criteria.").Default("0.05").Float64Var(&f.alpha)
	c.Flag("min-samples", "Sample per version below which a statistical criterion is inconclusive.").Default("200").Float64Var(&f.minSamples)
	c.Flag("plan-samples", "Sample per version where the confidence sequence is narrowest (valid at every size).").Default("5000").Float64Var(&f.planSamples)
	c.Flag("method", "sequential: always-valid intervals, safe to evaluate repeatedly; fixed: one planned look.").Default(gate.MethodSequential).EnumVar(&f.method, gate.MethodSequential, gate.MethodFixed)
	c.Flag("since", "Rollout start (RFC 3339 or Unix seconds): counts are taken since then instead of over the spec's window.").StringVar(&f.since)
	c.Flag("max-error-rate-increase", "Non-inferiority margin on the error rate (aiops_inference_errors_total / aiops_events_total); negative leaves the criterion out.").Default("-1").Float64Var(&f.errorRate)
	c.Flag("max-completion-drop", "Non-inferiority margin on the task completion rate (aiops_task_outcomes_total); negative leaves the criterion out.").Default("-1").Float64Var(&f.completion)
	c.Flag("latency-margin", "Margin above 0.5 on P(candidate request slower than baseline) for the Mann-Whitney latency comparison (with max_p95_latency); negative leaves it out.").Default("0.05").Float64Var(&f.latency)
	c.Flag("incidentd.url", "incidentd base URL: post each decision (pass or fail) to its change log.").StringVar(&f.incidentd)
	c.Flag("incidentd.token-file", "File holding a bearer token with incidentd's responder role.").StringVar(&f.incidentdTokenFile)
	return f
}

// changeLog returns the incidentd change log to post decisions to, or nil.
func (f *gateFlags) changeLog() (*gate.ChangeLog, error) {
	if f.incidentd == "" {
		if f.incidentdTokenFile != "" {
			return nil, errors.New("--incidentd.token-file: given without --incidentd.url")
		}
		return nil, nil
	}
	u, err := url.Parse(f.incidentd)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--incidentd.url: expected an http(s) URL such as http://127.0.0.1:9478, got %q", f.incidentd)
	}
	l := &gate.ChangeLog{URL: f.incidentd, HTTP: &http.Client{Timeout: 10 * time.Second}}
	if f.incidentdTokenFile != "" {
		b, err := os.ReadFile(f.incidentdTokenFile)
		if err != nil {
			return nil, fmt.Errorf("--incidentd.token-file: %w", err)
		}
		l.Token = strings.TrimSpace(string(b))
	}
	return l, nil
}

// setup reads the spec and builds the evaluator and the criteria.
func (f *gateFlags) setup(opts spec.Options, stderr io.Writer) (*gate.Evaluator, gate.Criteria, error) {
	data, err := os.ReadFile(f.spec)
	if err != nil {
		return nil, gate.Criteria{}, fmt.Errorf("reading spec: %w", err)
	}
	s, problems := spec.Parse(f.spec, data, opts)
	report(stderr, "text", problems)
	if s == nil {
		return nil, gate.Criteria{}, fmt.Errorf("%w: invalid spec", ErrFailed)
	}
	if s.Gates == nil {
		return nil, gate.Criteria{}, fmt.Errorf("%w: %s has no gates: section", ErrFailed, f.spec)
	}
	cr := gate.FromSpec(s.Gates)
	for _, m := range []struct {
		v   float64
		dst **float64
		max float64
		nm  string
	}{{f.errorRate, &cr.ErrorRateMargin, 1, "max-error-rate-increase"}, {f.completion, &cr.CompletionMargin, 1, "max-completion-drop"}, {f.latency, &cr.LatencyMargin, 0.5, "latency-margin"}} {
		if m.v > m.max {
			return nil, cr, fmt.Errorf("--%s: expected at most %g, got %g", m.nm, m.max, m.v)
		}
		if m.v >= 0 {
			v := m.v
			*m.dst = &v
		}
	}
	if s.Gates.MaxAccuracyDrop < 0 || s.Gates.MaxAccuracyDrop > 1 {
		return nil, cr, fmt.Errorf("%w: gates.max_accuracy_drop: expected a margin in [0, 1], got %g", ErrFailed, s.Gates.MaxAccuracyDrop)
	}
	if f.since != "" {
		t, err := gate.ParseSince(f.since)
		if err != nil {
			return nil, cr, fmt.Errorf("--since: %w", err)
		}
		cr.Since = t
	}
	settings := gate.Settings{Alpha: f.alpha, MinSamples: f.minSamples, PlanSamples: f.planSamples, Method: f.method}
	if err := settings.Validate(); err != nil {
		return nil, cr, fmt.Errorf("--%w", err)
	}
	client, err := api.NewClient(api.Config{Address: f.prometheus, Client: &http.Client{Timeout: 30 * time.Second}})
	if err != nil {
		return nil, cr, fmt.Errorf("--prometheus: %w", err)
	}
	return &gate.Evaluator{API: v1.NewAPI(client), Settings: settings}, cr, nil
}

func runGate(ctx context.Context, f *gateFlags, t gate.Target, format string, opts spec.Options, stdout, stderr io.Writer) error {
	ev, cr, err := f.setup(opts, stderr)
	if err != nil {
		return err
	}
	cl, err := f.changeLog()
	if err != nil {
		return err
	}
	rep, err := ev.Evaluate(ctx, cr, t)
	var ie *gate.InputError
	switch {
	case errors.As(err, &ie):
		return fmt.Errorf("--%w", err)
	case err != nil:
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if cl != nil && rep.Verdict != gate.Inconclusive {
		// The verdict stands whether or not the record could be written.
		if err := cl.Post(ctx, rep); err != nil {
			fmt.Fprintf(stderr, "warning: %v\n", err)
		}
	}
	switch format {
	case "json":
		err = rep.WriteJSON(stdout)
	case "junit":
		err = rep.WriteJUnit(stdout)
	default:
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	switch rep.Verdict {
	case gate.Fail:
		return fmt.Errorf("%w: gate failed for %s %s", ErrFailed, t.Model, t.Candidate)
	case gate.Inconclusive:
		return fmt.Errorf("%w: gate inconclusive for %s %s", ErrInconclusive, t.Model, t.Candidate)
	}
	return nil
}

func runGateServe(ctx context.Context, f *gateFlags, listen string, opts spec.Options, stderr io.Writer) error {
	ev, cr, err := f.setup(opts, stderr)
	if err != nil {
		return err
	}
	cl, err := f.changeLog()
	if err != nil {
		return err
	}
	gs := &gate.Server{Evaluator: ev, Criteria: cr, Timeout: 30 * time.Second}
	if cl != nil {
		var mu sync.Mutex
		gs.OnReport = (&gate.Decisions{Log: cl, OnError: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(stderr, "warning: %v\n", err)
		}}).Report
	}
	srv := &http.Server{
		Handler:           gs.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("--listen-address: %w", err)
	}
	fmt.Fprintf(stderr, "rulegen gate serve: listening on %s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}
