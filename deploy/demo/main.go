// Command demo runs the whole OpsCentre loop on loopback for a new user — aiops-sim playing
// three AI systems with scripted faults into aiops_exporter, Prometheus evaluating the rules
// rulegen generated from deploy/demo/spec.yaml, Alertmanager routing to incidentd — and shows
// metrics, alerts and incidents moving in a live terminal view. `make demo` runs it.
//
// With --duration it runs unattended and exits 0 only when every scripted fault produced its
// incident, of the right tier, in time.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/dashboards/promapi"
	"github.com/opscentre/opscentre/exporter/sim"
	"github.com/opscentre/opscentre/test/stack"
)

func main() { os.Exit(run()) }

// errVerdict marks a run that ended with a failing verdict, already printed as its last line.
var errVerdict = errors.New("scripted faults not turned into incidents")

func run() int {
	a := kingpin.New("demo", "Run the whole OpsCentre loop on loopback with a scripted scenario.")
	root := a.Flag("root", "Repository root.").Default(".").String()
	dir := a.Flag("dir", "Working directory for configuration, data and logs (recreated).").Default(".demo").String()
	bin := a.Flag("bin", "Directory of the built OpsCentre binaries.").Default("bin").String()
	duration := a.Flag("duration", "Run unattended for this long, then check the incidents and exit (0: until Ctrl-C).").Duration()
	refresh := a.Flag("refresh", "Live view refresh interval.").Default("2s").Duration()
	a.HelpFlag.Short('h')
	if _, err := a.Parse(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	// SIGHUP is what a closed terminal or a lost SSH session sends: stop as on Ctrl-C. A demo
	// killed outright takes its children with it through their parent-death signal (stack.run).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if err := demo(ctx, *root, *dir, *bin, *duration, *refresh, os.Stdout, isTerminal(os.Stdout)); err != nil {
		if !errors.Is(err, errVerdict) { // else the RESULT line said it
			fmt.Fprintln(os.Stderr, "demo:", err)
		}
		return 1
	}
	return 0
}

// isTerminal reports whether f is a character device: the live view redraws the screen only
// there; a log file or a pipe gets one line per change instead.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func lookPath(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH; on Debian/Ubuntu install it with: sudo apt-get install prometheus prometheus-alertmanager", names[0])
}

// port returns the preferred port when it is free, else any free port.
func port(preferred int) int {
	if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", preferred)); err == nil {
		l.Close()
		return preferred
	}
	p, err := stack.FreePort()
	if err != nil {
		return preferred
	}
	return p
}

func demo(ctx context.Context, root, dir, bin string, duration, refresh time.Duration, out io.Writer, tty bool) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	d, err := stack.LoadDemo(root)
	if err != nil {
		return err
	}
	prom, err := lookPath("prometheus")
	if err != nil {
		return err
	}
	am, err := lookPath("prometheus-alertmanager", "alertmanager")
	if err != nil {
		return err
	}
	// Only the demo's own working directory is replaced; nothing else is touched.
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("cleaning %s: %w", dir, err)
	}
	// The processes run in the demo directory, so every path handed to them is absolute.
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	// incidentd's API takes tokens, as in a deployment: the applications read containments
	// with one of role application, the view and the person at the demo use a responder's.
	tokens, err := stack.NewDemoTokens()
	if err != nil {
		return err
	}
	// A Grafana started with the plugin's OPSCENTRE_INCIDENTD_TOKEN (deploy/README.md) keeps
	// working across demo runs when the demo is given the same.
	if tok := os.Getenv(grafanaTokenEnv); tok != "" {
		if !incidentapi.ValidToken(tok) {
			return fmt.Errorf("%s: expected a token of visible characters without spaces", grafanaTokenEnv)
		}
		tokens.Grafana = tok
	}
	if err := os.MkdirAll(absDir, 0o755); err != nil {
		return err
	}
	if err := tokens.WriteTo(absDir); err != nil {
		return err
	}
	fmt.Fprintln(out, "starting incidentd, aiops_exporter, Alertmanager and Prometheus …")
	st, err := stack.Start(ctx, stack.Options{
		Dir: absDir,
		Bin: stack.Binaries{
			Exporter:     filepath.Join(bin, "aiops_exporter"),
			Incidentd:    filepath.Join(bin, "incidentd"),
			Prometheus:   prom,
			Alertmanager: am,
		},
		ExporterPort: port(9477), IncidentdPort: port(9478), PrometheusPort: port(9090), AlertmanagerPort: port(9093),
		RuleFiles:          d.RuleFiles,
		AlertmanagerConfig: d.AlertmanagerConfig,
		ExporterArgs:       []string{"--config.file=" + d.ExporterConfig},
		// Evidence at detection from the demo's Prometheus, with windows suited to its
		// 40-second faults (the e2e test checks the attribution with the same settings).
		// and the automatic containment of the P1 fault.
		IncidentdConfig: demoIncidentdConfig + stack.DemoContainmentConfig + tokens.IncidentdConfig(),
	})
	if err != nil {
		return err
	}
	// The verdict of an unattended run is the very last line, after the processes stopped, so
	// that the tail of a log or of a CI step shows it.
	var result string
	defer func() {
		fmt.Fprintln(out, "stopping every process the demo started (logs and data stay in", dir+")")
		st.Stop()
		if result != "" {
			fmt.Fprintln(out, result)
		}
	}()

	// The applications obey incidentd's containments through the Go client's watcher.
	w, err := d.Watcher(st.IncidentdURL, tokens.Application)
	if err != nil {
		return err
	}
	defer w.Close()
	start := time.Now()
	simCtx, simCancel := context.WithCancel(ctx)
	defer simCancel()
	simDone := make(chan sim.Stats, 1)
	go func() {
		s, _ := sim.Run(simCtx, sim.Options{Scenario: d.Scenario, Sink: d.Sink(st.ExporterURL), Start: start, Decide: w.Decide})
		simDone <- s
	}()

	promAPI, err := promapi.New(st.PrometheusURL, &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	v := &view{d: d, st: st, prom: promAPI, inc: incidentapi.New(st.IncidentdURL, incidentapi.Options{Token: tokens.Responder, HTTP: &http.Client{Timeout: 5 * time.Second}}),
		token: tokens.Responder, start: start, out: out, dir: dir, tty: tty}
	if !tty {
		fmt.Fprintf(out, "ready: Prometheus %s, Alertmanager %s, incidentd %s (token in %s), exporter %s, logs %s/*.log\n",
			st.PrometheusURL, st.AlertmanagerURL, st.IncidentdURL, filepath.Join(dir, stack.ResponderTokenFile), st.ExporterURL, dir)
	}
	var end <-chan time.Time
	if duration > 0 {
		end = time.After(duration)
	}
	tick := time.NewTicker(refresh)
	defer tick.Stop()
	var simStats *sim.Stats
	for {
		if tty {
			v.render(ctx, simStats)
		} else {
			v.lines(ctx, simStats)
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(out)
			v.postmortem(context.Background())
			return nil
		case <-end:
			result, err = v.finish(context.Background())
			if err != nil {
				return fmt.Errorf("%w: %w", errVerdict, err)
			}
			return nil
		case s := <-simDone:
			simStats = &s
		case <-tick.C:
		}
	}
}

type view struct {
	d    *stack.Demo
	st   *stack.Stack
	prom promv1.API
	inc  *incidentapi.Client
	// token is the responder's, for the stack's listings.
	token string
	start time.Time
	out   io.Writer
	dir   string
	tty   bool
	// seen holds, in line mode, the last printed state of each fault, alert and incident, so
	// that only changes are printed.
	seen map[string]string
	// likely caches each incident's likely causes once its evidence is gathered.
	likely map[int64]string
}

func (v *view) render(ctx context.Context, simStats *sim.Stats) {
	var b strings.Builder
	elapsed := time.Since(v.start).Truncate(time.Second)
	b.WriteString("\033[H\033[2J")
	fmt.Fprintf(&b, "OpsCentre demo — scenario t=%s, last fault ends at %s   (Ctrl-C stops everything)\n", elapsed, v.d.LastFaultEnd())
	fmt.Fprintf(&b, "  Prometheus   %s/alerts\n  Alertmanager %s\n  incidentd    %s/api/v1/incidents  (curl -H \"Authorization: Bearer $(cat %s)\")\n  exporter     %s/metrics\n  logs         %s/*.log\n\n",
		v.st.PrometheusURL, v.st.AlertmanagerURL, v.st.IncidentdURL, filepath.Join(v.dir, stack.ResponderTokenFile), v.st.ExporterURL, v.dir)
	if simStats != nil {
		fmt.Fprintf(&b, "simulator finished: %d events, %d labels sent\n\n", simStats.Events, simStats.Labels)
	}

	b.WriteString("FAULTS (scripted)\n")
	for _, f := range v.d.Scenario.Faults {
		state := v.faultState(f)
		if state == "active" {
			state = "\033[31mACTIVE\033[0m"
		}
		fmt.Fprintf(&b, "  %-24s %-17s %6s–%-6s expects %-22s %s\n", f.Name, f.Model, f.At.D(), f.At.D()+f.For.D(), f.Expect, state)
	}

	b.WriteString("\nMETRICS (Prometheus)\n")
	fmt.Fprintf(&b, "  %-18s %9s %12s %16s %15s %9s %10s\n", "model", "events/s", "p95 latency", "output tokens/s", "max null ratio", "accuracy", "max PSI")
	rows := map[string][6]string{}
	for i, q := range []string{
		`sum by (model) (rate(aiops_events_total[20s]))`,
		`histogram_quantile(0.95, sum by (model, le) (rate(aiops_inference_duration_seconds_bucket[20s])))`,
		`sum by (model) (rate(aiops_tokens_total{type="output"}[20s]))`,
		`max by (model) (aiops_feature_null_ratio)`,
		`min by (model) (aiops_model_accuracy)`,
		`max by (model) (aiops_feature_drift_score{method="psi"})`,
	} {
		for m, val := range v.query(ctx, q) {
			r := rows[m]
			r[i] = val
			rows[m] = r
		}
	}
	for _, m := range sortedKeys(rows) {
		r := rows[m]
		fmt.Fprintf(&b, "  %-18s %9s %12s %16s %15s %9s %10s\n", m, r[0], r[1], r[2], r[3], r[4], r[5])
	}

	b.WriteString("\nALERTS (Prometheus)\n")
	if res, err := v.prom.Alerts(ctx); err == nil {
		if len(res.Alerts) == 0 {
			b.WriteString("  none\n")
		}
		sort.Slice(res.Alerts, func(i, j int) bool { return res.Alerts[i].Labels["alertname"] < res.Alerts[j].Labels["alertname"] })
		for _, al := range res.Alerts {
			fmt.Fprintf(&b, "  %-24s %-3s %-8s %s\n", al.Labels["alertname"], al.Labels["tier"], al.State, al.Labels["model"])
		}
	} else {
		fmt.Fprintf(&b, "  (%v)\n", err)
	}

	b.WriteString("\nINCIDENTS (incidentd)\n")
	if ins, _, err := v.inc.List(ctx, incidentapi.Filter{}, 50); err == nil {
		if len(ins) == 0 {
			b.WriteString("  none yet\n")
		}
		for _, in := range ins {
			resolved := ""
			if !in.ResolvedAt.IsZero() {
				resolved = fmt.Sprintf(", resolved +%s", in.ResolvedAt.Sub(v.start).Truncate(time.Second))
			}
			fmt.Fprintf(&b, "  #%-3d %-3s %-13s %-24s %-18s team %-12s opened +%s%s\n", in.ID, in.Tier, in.State,
				in.Labels["alertname"], in.Model, in.Team, in.DetectedAt.Sub(v.start).Truncate(time.Second), resolved)
			if l := v.likelyCauses(ctx, in.ID); l != "" {
				fmt.Fprintf(&b, "       likely: %s\n", l)
			}
		}
	} else {
		fmt.Fprintf(&b, "  (%v)\n", err)
	}

	b.WriteString("\nCONTAINMENTS (incidentd → the applications)\n")
	if cs, err := stack.Containments(ctx, v.st.IncidentdURL, v.token); err == nil {
		if len(cs) == 0 {
			b.WriteString("  none\n")
		}
		for _, c := range cs {
			fmt.Fprintf(&b, "  %s\n", v.containmentLine(c))
		}
		b.WriteString("  traffic by version (events/s): ")
		traffic := v.versionTraffic(ctx)
		for _, k := range sortedKeys(traffic) {
			fmt.Fprintf(&b, "%s %s  ", k, traffic[k])
		}
		b.WriteString("\n")
	} else {
		fmt.Fprintf(&b, "  (%v)\n", err)
	}
	fmt.Fprint(v.out, b.String())
}

// containmentLine says what a containment does and whether it is in force.
func (v *view) containmentLine(c incidentapi.Containment) string {
	what := string(c.Action) + " " + c.Model
	if c.Version != "" {
		what += " " + c.Version
	}
	if c.FallbackVersion != "" {
		what += " → " + c.FallbackVersion
	}
	by := c.CreatedBy
	if c.Policy != "" {
		by = "policy " + c.Policy
	}
	state := fmt.Sprintf("applied +%s by %s", c.CreatedAt.Sub(v.start).Truncate(time.Second), by)
	if !c.LiftedAt.IsZero() {
		state += fmt.Sprintf(", lifted +%s by %s", c.LiftedAt.Sub(v.start).Truncate(time.Second), c.LiftedBy)
	}
	return fmt.Sprintf("containment #%-3d %-36s incident #%d, %s", c.ID, what, c.IncidentID, state)
}

// versionTraffic is the event rate of each version of the models with more than one
// version ("model/version" → rate): where a fallback shows as traffic moving.
func (v *view) versionTraffic(ctx context.Context) map[string]string {
	out := map[string]string{}
	res, err := promapi.Query(ctx, v.prom, `sum by (model, version) (rate(aiops_events_total[5s])) and on (model) (count by (model) (count by (model, version) (aiops_events_total)) > 1)`, time.Now())
	if err != nil {
		return out
	}
	for _, s := range res {
		out[s.Metric["model"]+"/"+s.Metric["version"]] = fmt.Sprintf("%.3g", s.Values[0].V)
	}
	return out
}

func (v *view) faultState(f sim.Fault) string {
	switch t := time.Since(v.start); {
	case f.Active(t):
		return "active"
	case t >= f.At.D()+f.For.D():
		return "over"
	}
	return "pending"
}

// lines prints, one line each, the faults, alerts and incidents whose state changed since the
// last call: the demo's log when its output is not a terminal.
func (v *view) lines(ctx context.Context, simStats *sim.Stats) {
	if v.seen == nil {
		v.seen = map[string]string{}
	}
	t := time.Since(v.start).Truncate(time.Second)
	now := map[string]string{}
	emit := func(key, state, line string) {
		now[key] = state
		if v.seen[key] != state {
			fmt.Fprintf(v.out, "t=%-5s %s\n", t, line)
		}
	}
	for _, f := range v.d.Scenario.Faults {
		st := v.faultState(f)
		if st != "pending" {
			emit("fault/"+f.Name, st, fmt.Sprintf("fault    %-24s %-17s %s (expects %s)", f.Name, f.Model, st, f.Expect))
		}
	}
	if res, err := v.prom.Alerts(ctx); err == nil {
		for _, al := range res.Alerts {
			key := "alert/" + string(al.Labels["alertname"]) + "/" + string(al.Labels["model"])
			emit(key, string(al.State), fmt.Sprintf("alert    %-24s %-3s %-8s %s", al.Labels["alertname"], al.Labels["tier"], al.State, al.Labels["model"]))
		}
	}
	for key, st := range v.seen {
		if strings.HasPrefix(key, "alert/") && now[key] == "" && st != "inactive" {
			name, model, _ := strings.Cut(strings.TrimPrefix(key, "alert/"), "/")
			emit(key, "inactive", fmt.Sprintf("alert    %-24s     %-8s %s", name, "inactive", model))
		}
	}
	if ins, _, err := v.inc.List(ctx, incidentapi.Filter{}, 50); err == nil {
		for _, in := range ins {
			emit(fmt.Sprintf("incident/%d", in.ID), string(in.State), fmt.Sprintf("incident #%-3d %-3s %-13s %-24s %-18s team %s",
				in.ID, in.Tier, in.State, in.Labels["alertname"], in.Model, in.Team))
			if l := v.likelyCauses(ctx, in.ID); l != "" {
				emit(fmt.Sprintf("evidence/%d", in.ID), "gathered", fmt.Sprintf("evidence #%-3d likely: %s", in.ID, l))
			}
		}
	}
	if cs, err := stack.Containments(ctx, v.st.IncidentdURL, v.token); err == nil {
		for _, c := range cs {
			state := "applied"
			if !c.LiftedAt.IsZero() {
				state = "lifted"
			}
			emit(fmt.Sprintf("containment/%d", c.ID), state, v.containmentLine(c))
		}
	}
	// A version's traffic stopping or resuming (a fallback moving it) is a change worth a line.
	for key, rate := range v.versionTraffic(ctx) {
		state := "serving"
		if rate == "0" {
			state = "no traffic"
		}
		if v.seen["traffic/"+key] != "" || state != "serving" {
			emit("traffic/"+key, state, fmt.Sprintf("traffic  %-42s %s (%s events/s)", key, state, rate))
		} else {
			now["traffic/"+key] = state
		}
	}
	if simStats != nil {
		emit("sim", "done", fmt.Sprintf("simulator finished: %d events, %d labels sent", simStats.Events, simStats.Labels))
	}
	for key, st := range now {
		v.seen[key] = st
	}
}

func (v *view) query(ctx context.Context, q string) map[string]string {
	out := map[string]string{}
	res, err := promapi.Query(ctx, v.prom, q, time.Now())
	if err != nil {
		return out
	}
	for m, val := range promapi.ByLabel(res, "model") {
		out[m] = fmt.Sprintf("%.3g", val)
	}
	return out
}

// finish checks what the run produced against the scenario, prints each check and returns the
// one-line verdict.
func (v *view) finish(ctx context.Context) (string, error) {
	ins, err := stack.Incidents(ctx, v.st.IncidentdURL, v.token)
	if err != nil {
		return "RESULT: FAIL (incidents could not be read)", err
	}
	outcomes, problems := v.d.Verify(ins, stack.VerifyOptions{Start: v.start, Pipeline: stack.DemoPipeline, Until: time.Now()})
	fmt.Fprintln(v.out, "\nCHECKS")
	checked, passed := 0, 0
	for _, o := range outcomes {
		mark := "ok  "
		switch {
		case o.NotReached:
			fmt.Fprintf(v.out, "  --   %-24s → %-22s %s not reached: the run stopped before its budget ran out\n", o.Fault, o.Alert, o.Tier)
			continue
		case !o.OK():
			mark = "FAIL"
		}
		checked++
		if o.OK() {
			passed++
		}
		fmt.Fprintf(v.out, "  %s %-24s → %-22s %s opened %s after the fault (budget %s) %s\n", mark, o.Fault, o.Alert, o.Tier,
			o.OpenedAfter.Round(100*time.Millisecond), o.Budget, strings.Join(o.Problems, "; "))
	}
	// A contained fault's incident must have had its automatic containment applied.
	cs, err := stack.Containments(ctx, v.st.IncidentdURL, v.token)
	if err != nil {
		problems = append(problems, err.Error())
	}
	for _, o := range outcomes {
		if !o.Contained || o.Incident == nil {
			continue
		}
		var line string
		for _, c := range cs {
			if c.IncidentID == o.Incident.ID {
				line = v.containmentLine(c)
			}
		}
		if line == "" {
			problems = append(problems, fmt.Sprintf("%s: incident #%d was not contained", o.Fault, o.Incident.ID))
			continue
		}
		fmt.Fprintf(v.out, "  ok   %-24s → %s\n", o.Fault, line)
	}
	for _, p := range problems {
		fmt.Fprintln(v.out, "  FAIL", p)
	}
	v.postmortem(ctx)
	err = nil
	switch {
	case passed < checked:
		err = errors.New("some scripted faults did not produce their incidents")
	case len(problems) > 0:
		err = errors.New("unexpected incidents")
	case checked == 0:
		err = fmt.Errorf("no scripted fault could be checked: run for at least %s", v.d.LastFaultEnd()+stack.DemoPipeline)
	}
	return verdictLine(passed, checked, len(outcomes), len(problems), err), err
}

// verdictLine is the unattended run's last line: PASS only when every checked fault opened
// its incident and nothing else opened; faults the run stopped before are said, not hidden.
func verdictLine(passed, checked, faults, unexpected int, err error) string {
	verdict := "PASS"
	if err != nil {
		verdict = "FAIL"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "RESULT: %s (%d/%d faults → incidents", verdict, passed, faults)
	if n := faults - checked; n > 0 {
		fmt.Fprintf(&b, ", %d not reached", n)
	}
	if unexpected > 0 {
		fmt.Fprintf(&b, ", %d unexpected", unexpected)
	}
	if err != nil {
		fmt.Fprintf(&b, "; %v", err)
	}
	b.WriteString(")")
	return b.String()
}

// postmortem prints the post-mortem draft of the first incident, or its timeline when this
// incidentd has no post-mortem endpoint.
func (v *view) postmortem(ctx context.Context) {
	ins, _, err := v.inc.List(ctx, incidentapi.Filter{}, 500)
	if err != nil || len(ins) == 0 {
		return
	}
	first := ins[0]
	for _, in := range ins {
		if in.DetectedAt.Before(first.DetectedAt) {
			first = in
		}
	}
	if body, err := v.inc.Postmortem(ctx, first.ID); err == nil {
		fmt.Fprintf(v.out, "\nPOST-MORTEM DRAFT of incident #%d (%s)\n\n%s\n", first.ID, v.st.IncidentdURL+incidentapi.IncidentPath(first.ID, "postmortem"), body)
		return
	}
	det, err := v.inc.Get(ctx, first.ID)
	if err != nil {
		return
	}
	fmt.Fprintf(v.out, "\nINCIDENT #%d %s (%s, %s) — timeline\n", det.ID, det.Title, det.Tier, det.State)
	for _, e := range det.Timeline {
		fmt.Fprintf(v.out, "  %s  %-10s %-12s %s→%s %s\n", e.At.Format(time.TimeOnly), e.Actor, e.Kind, e.From, e.To, e.Note)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// grafanaTokenEnv names the Grafana token in the environment of the demo and of Grafana's
// provisioned incidents datasource alike.
const grafanaTokenEnv = "OPSCENTRE_INCIDENTD_TOKEN"

// demoIncidentdConfig turns on evidence: each incident compares the 20 s before detection
// with the 20 s that ended 30 s earlier.
const demoIncidentdConfig = `prometheus: {url: "{{PROMETHEUS}}", window: 20s, baseline: 30s, timeout: 2s, total_timeout: 5s}
`

// likelyCauses is the supported causes of an incident's evidence with their reasons ("none
// supported" when it found none), "" until incidentd has gathered it.
func (v *view) likelyCauses(ctx context.Context, id int64) string {
	if l, ok := v.likely[id]; ok {
		return l
	}
	ev, err := v.inc.Evidence(ctx, id)
	if err != nil {
		return ""
	}
	var parts []string
	for _, c := range ev.Causes {
		if c.Verdict == "supported" {
			parts = append(parts, c.Name+" ("+c.Reason+")")
		}
	}
	l := strings.Join(parts, "; ")
	if l == "" {
		l = "none of the five common causes supported"
	}
	if v.likely == nil {
		v.likely = map[int64]string{}
	}
	v.likely[id] = l
	return l
}
