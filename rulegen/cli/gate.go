package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/opscentre/opscentre/rulegen/gate"
	"github.com/opscentre/opscentre/rulegen/spec"
)

type gateArgs struct {
	spec, prometheus, model, candidate, baseline, format string
}

func runGate(ctx context.Context, a gateArgs, opts spec.Options, stdout, stderr io.Writer) error {
	data, err := os.ReadFile(a.spec)
	if err != nil {
		return fmt.Errorf("reading spec: %w", err)
	}
	s, problems := spec.Parse(a.spec, data, opts)
	report(stderr, "text", problems)
	if s == nil {
		return fmt.Errorf("%w: invalid spec", ErrFailed)
	}
	if s.Gates == nil {
		return fmt.Errorf("%w: %s has no gates: section", ErrFailed, a.spec)
	}
	client := &gate.Client{URL: a.prometheus, HTTP: &http.Client{Timeout: 30 * time.Second}}
	rep, err := gate.Evaluate(ctx, client, s.Gates, gate.Target{Model: a.model, Candidate: a.candidate, Baseline: a.baseline})
	if err != nil {
		return err
	}
	if a.format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("writing report: %w", err)
		}
	} else {
		rep.WriteText(stdout)
	}
	if !rep.Passed {
		return fmt.Errorf("%w: gate failed for %s %s", ErrFailed, a.model, a.candidate)
	}
	return nil
}
