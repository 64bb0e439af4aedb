package stack

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/exporter/client"
	"github.com/opscentre/opscentre/exporter/sim"
	"github.com/opscentre/opscentre/rulegen/spec"
)

// Demo is the demo's configuration: the alert-tier spec and its generated output, the
// exporter configuration and the scenario, all under deploy/demo.
type Demo struct {
	Spec     *spec.Spec
	Scenario *sim.Scenario
	// RuleFiles and AlertmanagerConfig come from the spec's committed generated output.
	RuleFiles          []string
	AlertmanagerConfig string
	ExporterConfig     string
}

// LoadDemo reads deploy/demo from the repository root.
func LoadDemo(root string) (*Demo, error) {
	dir := filepath.Join(root, "deploy", "demo")
	specFile := filepath.Join(dir, "spec.yaml")
	b, err := os.ReadFile(specFile)
	if err != nil {
		return nil, fmt.Errorf("reading demo spec: %w", err)
	}
	sp, errs := spec.Parse(specFile, b, spec.Options{})
	if len(errs) > 0 {
		return nil, fmt.Errorf("demo spec: %w", errs)
	}
	sc, err := sim.LoadScenario(filepath.Join(dir, "scenario.yaml"))
	if err != nil {
		return nil, err
	}
	rules, err := filepath.Glob(filepath.Join(dir, "generated", "rules", "*.yml"))
	if err != nil || len(rules) == 0 {
		return nil, fmt.Errorf("no generated rules in %s/generated/rules (run make generate)", dir)
	}
	am, err := os.ReadFile(filepath.Join(dir, "generated", "alertmanager.yml"))
	if err != nil {
		return nil, fmt.Errorf("reading generated alertmanager.yml: %w", err)
	}
	d := &Demo{Spec: sp, Scenario: sc, RuleFiles: rules, ExporterConfig: filepath.Join(dir, "exporter.yml")}
	// The generated receivers point at incidentd's default address; the stack may run it
	// on another port.
	d.AlertmanagerConfig = strings.ReplaceAll(string(am), "http://127.0.0.1:9478", "{{INCIDENTD}}")
	for _, f := range sc.Faults {
		if f.Expect != "" && d.tier(f.Expect) == "" {
			return nil, fmt.Errorf("scenario fault %q expects alert %q, which the demo spec does not define", f.Name, f.Expect)
		}
	}
	return d, nil
}

// Sink is how the demo's applications reach the exporter at url: the LLM chatbot as an
// OpenTelemetry-instrumented application would, GenAI spans over OTLP/HTTP, the classifier and
// the regressor as events. The demo and the e2e loop both send through it.
func (d *Demo) Sink(url string) sim.Sink {
	return &sim.OTLPSink{HTTPSink: sim.HTTPSink{URL: url, Client: &http.Client{Timeout: 10 * time.Second}}}
}

// DemoContainmentConfig is the incidentd configuration (appended to the rest) of the demo's
// automatic containment: a P1 incident whose alerts carry `containment: fallback` falls the
// model's version back to the alerts' `fallback_version` at once, and incidentd lifts it
// 10 s after the incident resolved, so an unattended run shows the whole cycle. The API's
// tokens are DemoTokens'.
const DemoContainmentConfig = `
containment:
  enabled: true
  max_actions_per_hour: 10
  policies:
  - name: p1-fallback
    match: ['tier="P1"', 'containment="fallback"']
    action: fallback
    lift: {after_resolve: 10s}
`

// DemoWatchRefresh is how often the demo's applications poll incidentd for containments.
const DemoWatchRefresh = time.Second

// DemoTokens are a demo run's incidentd API tokens, drawn at random for each run. With them
// incidentd's API is closed to anonymous callers, as in a deployment: the applications'
// watchers read containments with Application (role application: containments and nothing
// else), the live view and the person at the demo use Responder (read incidents, contain,
// lift), and a Grafana pointed at the demo gives its incidents datasource Grafana (a
// responder that may act for the Grafana user, as deploy/README.md asks). The demo writes
// them to its directory (WriteTo) for curl and Grafana.
type DemoTokens struct {
	Application, Responder, Grafana string
}

// NewDemoTokens draws three tokens of 128 random bits.
func NewDemoTokens() (DemoTokens, error) {
	var t DemoTokens
	for _, tok := range []*string{&t.Application, &t.Responder, &t.Grafana} {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return t, fmt.Errorf("drawing a demo token: %w", err)
		}
		*tok = hex.EncodeToString(b)
	}
	return t, nil
}

// IncidentdConfig is incidentd's api section naming both tokens by their SHA-256 (appended
// to the rest of the configuration).
func (t DemoTokens) IncidentdConfig() string {
	digest := func(tok string) string { h := sha256.Sum256([]byte(tok)); return hex.EncodeToString(h[:]) }
	return fmt.Sprintf(`
api:
  tokens:
  - {subject: demo-applications, role: application, token_sha256: %q}
  - {subject: demo-responder, role: responder, token_sha256: %q}
  - {subject: grafana, role: responder, delegate: true, token_sha256: %q}
`, digest(t.Application), digest(t.Responder), digest(t.Grafana))
}

// Token files WriteTo writes in the demo's directory.
const (
	ApplicationTokenFile = "application.token"
	ResponderTokenFile   = "responder.token"
	GrafanaTokenFile     = "grafana.token"
)

// WriteTo writes each token to its file in dir, readable by the user only.
func (t DemoTokens) WriteTo(dir string) error {
	for name, tok := range map[string]string{ApplicationTokenFile: t.Application, ResponderTokenFile: t.Responder, GrafanaTokenFile: t.Grafana} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(tok+"\n"), 0o600); err != nil {
			return fmt.Errorf("writing the demo's %s: %w", name, err)
		}
	}
	return nil
}

// Watcher is the demo's applications' view of incidentd's containments (the Go client's
// watcher, as a real application would use it, with a token of role application): hand its
// Decide to sim.Options.Decide.
func (d *Demo) Watcher(incidentdURL, token string) (*client.Watcher, error) {
	models := make([]string, 0, len(d.Scenario.Models))
	for _, m := range d.Scenario.Models {
		models = append(models, m.Name)
	}
	return client.NewWatcher(client.WatcherOptions{URL: incidentdURL, Token: token, Models: models, Refresh: DemoWatchRefresh})
}

// Contained reports whether the alert asks for an automatic containment (its spec labels
// carry `containment`): its fault is contained before it ends.
func (d *Demo) Contained(alert string) bool {
	for _, a := range d.Spec.Alerts {
		if a.Name == alert {
			return a.Labels["containment"] != ""
		}
	}
	return false
}

// Containments lists every containment incidentd holds, active or lifted, oldest first;
// token may be empty for an open API.
func Containments(ctx context.Context, incidentdURL, token string) ([]incidentapi.Containment, error) {
	cs, err := apiClient(incidentdURL, token).ListContainments(ctx, incidentapi.ContainmentFilter{Limit: 1000})
	if err != nil {
		return nil, fmt.Errorf("listing containments: %w", err)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].ID < cs[j].ID })
	return cs, nil
}

// apiClient is the incidentd API client of the demo and the loop tests; token may be
// empty for an open API.
func apiClient(incidentdURL, token string) *incidentapi.Client {
	return incidentapi.New(incidentdURL, incidentapi.Options{Token: token, HTTP: &http.Client{Timeout: 10 * time.Second}})
}

func (d *Demo) tier(alert string) string {
	for _, a := range d.Spec.Alerts {
		if a.Name == alert {
			return a.Tier
		}
	}
	return ""
}

func (d *Demo) labelDelay(model string) time.Duration {
	for _, m := range d.Scenario.Models {
		if m.Name == model {
			return m.LabelDelay.D()
		}
	}
	return 0
}

// Budget is the longest a fault may take to become an incident: the rule's `for`, plus
// what the data path adds (the alert's rate window filling, a scrape, a rule evaluation,
// Alertmanager's group_wait and a margin).
func (d *Demo) Budget(alert string, pipeline time.Duration) time.Duration {
	for _, a := range d.Spec.Alerts {
		if a.Name == alert {
			return a.For + pipeline
		}
	}
	return pipeline
}

// DemoPipeline is what the demo's data path may add to an alert's `for` between a fault's
// start and its incident: the alerts' 20 s rate windows filling enough to cross the
// threshold, a 1 s scrape, a 1 s rule evaluation, Alertmanager's 2 s group_wait, and a
// margin for a loaded machine. The demo and the e2e loop test both judge by it.
const DemoPipeline = 20*time.Second + 1*time.Second + 1*time.Second + 2*time.Second + 10*time.Second

// Outcome is what one scripted fault produced.
type Outcome struct {
	Fault, Alert, Tier string
	Incident           *incidentapi.Incident
	// OpenedAfter is the time from the fault's start to the incident's detection.
	OpenedAfter time.Duration
	Budget      time.Duration
	Problems    []string
	// NotReached is set when the run stopped before the fault's budget ran out.
	NotReached bool
	// Contained is set when the fault's alert asks for an automatic containment.
	Contained bool
}

// OK reports whether the fault produced what it should.
func (o Outcome) OK() bool { return len(o.Problems) == 0 }

// VerifyOptions say what to check.
type VerifyOptions struct {
	// Start is the wall time of scenario time zero.
	Start time.Time
	// Pipeline is the data-path allowance added to each alert's `for` (see Budget).
	Pipeline time.Duration
	// RequireResolved demands that every fault's incident was resolved after it ended —
	// or, for a contained fault (Demo.Contained), resolved at all: the containment takes
	// the faulty version out of service, so its alert resolves before the fault ends.
	RequireResolved bool
	// Until, when set, is when the run stopped: a fault whose budget had not run out by
	// then is reported as not reached instead of checked.
	Until time.Time
}

// Verify matches the incidents incidentd holds against the scenario's faults: each fault
// that names an alert must have produced exactly one incident of that alert with the alert's
// tier, opened after the fault began and within the budget; nothing may have opened before
// the first fault (the clean stretch); with RequireResolved each incident must be resolved
// (after its fault ended, unless the fault is contained).
func (d *Demo) Verify(incidents []incidentapi.Incident, o VerifyOptions) (outcomes []Outcome, problems []string) {
	byAlert := map[string][]incidentapi.Incident{}
	for _, in := range incidents {
		byAlert[in.Labels["alertname"]] = append(byAlert[in.Labels["alertname"]], in)
	}
	first := time.Duration(-1)
	expected := map[string]bool{}
	for _, f := range d.Scenario.Faults {
		if first < 0 || f.At.D() < first {
			first = f.At.D()
		}
		if f.Expect == "" {
			continue
		}
		expected[f.Expect] = true
		out := Outcome{Fault: f.Name, Alert: f.Expect, Tier: d.tier(f.Expect), Budget: d.Budget(f.Expect, o.Pipeline), Contained: d.Contained(f.Expect)}
		if f.Kind == sim.FaultAccuracyDecay || f.Kind == sim.FaultCanaryWorse {
			// Accuracy is measured on labelled predictions: the truth arrives a label
			// delay after the prediction the fault degraded.
			out.Budget += d.labelDelay(f.Model)
		}
		got := byAlert[f.Expect]
		if !o.Until.IsZero() && len(got) == 0 && o.Start.Add(f.At.D()+out.Budget).After(o.Until) {
			out.NotReached = true
			outcomes = append(outcomes, out)
			continue
		}
		switch len(got) {
		case 0:
			out.Problems = append(out.Problems, "no incident opened")
		case 1:
		default:
			out.Problems = append(out.Problems, fmt.Sprintf("%d incidents opened, want exactly one", len(got)))
		}
		if len(got) > 0 {
			in := got[0]
			out.Incident = &in
			began := o.Start.Add(f.At.D())
			out.OpenedAfter = in.DetectedAt.Sub(began)
			if string(in.Tier) != out.Tier {
				out.Problems = append(out.Problems, fmt.Sprintf("tier %s, want %s", in.Tier, out.Tier))
			}
			if out.OpenedAfter < 0 {
				out.Problems = append(out.Problems, fmt.Sprintf("opened %s before the fault began", -out.OpenedAfter))
			} else if out.OpenedAfter > out.Budget {
				out.Problems = append(out.Problems, fmt.Sprintf("opened %s after the fault began, budget %s", out.OpenedAfter.Round(100*time.Millisecond), out.Budget))
			}
			if o.RequireResolved {
				ended := began.Add(f.For.D())
				switch {
				case in.ResolvedAt.IsZero():
					out.Problems = append(out.Problems, fmt.Sprintf("still %s, want resolved after the fault ended", in.State))
				case in.ResolvedAt.Before(in.DetectedAt):
					out.Problems = append(out.Problems, "resolved before it was detected")
				case in.ResolvedAt.Before(ended) && !out.Contained:
					out.Problems = append(out.Problems, fmt.Sprintf("resolved %s before the fault ended", ended.Sub(in.ResolvedAt)))
				}
			}
		}
		outcomes = append(outcomes, out)
	}
	var unexpected []string
	for alert, ins := range byAlert {
		if expected[alert] {
			continue
		}
		for _, in := range ins {
			unexpected = append(unexpected, fmt.Sprintf("unexpected incident %d %q (%s) opened at %s", in.ID, alert, in.Tier, in.DetectedAt.Sub(o.Start).Round(time.Second)))
		}
	}
	sort.Strings(unexpected)
	problems = append(problems, unexpected...)
	for _, in := range incidents {
		if first >= 0 && in.DetectedAt.Before(o.Start.Add(first)) {
			problems = append(problems, fmt.Sprintf("incident %d %q opened during the clean stretch", in.ID, in.Labels["alertname"]))
		}
	}
	return outcomes, problems
}

// Incidents lists every incident incidentd holds; token may be empty for an open API.
func Incidents(ctx context.Context, incidentdURL, token string) ([]incidentapi.Incident, error) {
	ins, _, err := apiClient(incidentdURL, token).List(ctx, incidentapi.Filter{}, 10000)
	if err != nil {
		return nil, fmt.Errorf("listing incidents: %w", err)
	}
	return ins, nil
}

// LastFaultEnd is the scenario time at which the last scripted fault ends.
func (d *Demo) LastFaultEnd() time.Duration {
	var end time.Duration
	for _, f := range d.Scenario.Faults {
		end = max(end, f.At.D()+f.For.D())
	}
	return end
}
