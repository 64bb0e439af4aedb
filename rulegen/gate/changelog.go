package gate

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
)

// ChangeLog posts gate decisions to incidentd's change log (POST /api/v1/changes), so the
// post-mortem of a later incident shows which gate let the version through, with its
// evidence.
type ChangeLog struct {
	// URL is incidentd's base URL.
	URL string
	// Token is a bearer token with the responder role; empty for an open API.
	Token string
	// HTTP performs the requests (nil: a client with a 30 s timeout).
	HTTP *http.Client
}

// maxChangeText is incidentd's limit on a change's description.
const maxChangeText = 16384

// Post records one report as a model_version change of the candidate.
func (l *ChangeLog) Post(ctx context.Context, rep *Report) error {
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		return err
	}
	t := text.String()
	if len(t) > maxChangeText {
		t = t[:maxChangeText-20] + "\n… (truncated)"
	}
	in := incidentapi.ChangeInput{
		At:      rep.EvaluatedAt.UTC().Format(time.RFC3339),
		Kind:    "model_version",
		Model:   rep.Model,
		Version: rep.Candidate,
		Title:   fmt.Sprintf("deployment gate %s: %s %s vs %s", rep.Verdict, rep.Model, rep.Candidate, rep.Baseline),
		Text:    t,
		Labels:  map[string]string{"gate_verdict": string(rep.Verdict), "baseline": rep.Baseline, "gate_method": rep.Method},
	}
	c := incidentapi.New(l.URL, incidentapi.Options{Token: l.Token, HTTP: l.HTTP})
	if _, err := c.AddChange(ctx, in); err != nil {
		return fmt.Errorf("incidentd change log %s: %w", l.URL, err)
	}
	return nil
}

// Decisions posts only decisions: a pass or fail, once per change of a target's verdict, so
// a gate asked every minute leaves one entry per decision, not sixty. It remembers at most
// maxTargets targets.
type Decisions struct {
	Log *ChangeLog
	// OnError receives post failures (the verdict stands either way).
	OnError func(error)

	mu   sync.Mutex
	last map[Target]Verdict
}

const maxTargets = 1024

// Report is a Server.OnReport hook.
func (d *Decisions) Report(ctx context.Context, rep *Report) {
	if rep.Verdict == Inconclusive {
		return
	}
	t := Target{Model: rep.Model, Candidate: rep.Candidate, Baseline: rep.Baseline}
	d.mu.Lock()
	if d.last == nil || len(d.last) >= maxTargets {
		d.last = map[Target]Verdict{}
	}
	if d.last[t] == rep.Verdict {
		d.mu.Unlock()
		return
	}
	d.last[t] = rep.Verdict
	d.mu.Unlock()
	if err := d.Log.Post(ctx, rep); err != nil {
		d.mu.Lock()
		delete(d.last, t) // try again at the next evaluation
		d.mu.Unlock()
		if d.OnError != nil {
			d.OnError(err)
		}
	}
}
