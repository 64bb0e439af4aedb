package gate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/opscentre/opscentre/rulegen/cli"
	"github.com/opscentre/opscentre/rulegen/gate"
	"github.com/opscentre/opscentre/test/incidentdtest"
	"github.com/opscentre/opscentre/test/stack"
	"github.com/opscentre/opscentre/test/testbin"
)

// perScrape is how many labelled predictions and requests each version gains per scrape.
const perScrape = 500

// version is what a tiny exporter serves for one model version, per scrape.
type version struct {
	name     string
	accuracy float64    // share of labelled predictions that are correct
	latency  [3]float64 // share of requests in (0,0.5], (0.5,1], (1,+Inf)
	drifted  float64
	errors   float64 // share of requests that fail
	complete float64 // share of tasks completed
}

func exposition(n int, vs []version) string {
	var b strings.Builder
	b.WriteString("# TYPE aiops_predictions_labeled_total counter\n")
	for _, v := range vs {
		correct := int(float64(perScrape)*v.accuracy) * n
		fmt.Fprintf(&b, "aiops_predictions_labeled_total{model=\"m\",version=%q,outcome=\"correct\"} %d\n", v.name, correct)
		fmt.Fprintf(&b, "aiops_predictions_labeled_total{model=\"m\",version=%q,outcome=\"incorrect\"} %d\n", v.name, perScrape*n-correct)
	}
	b.WriteString("# TYPE aiops_events_total counter\n")
	for _, v := range vs {
		fmt.Fprintf(&b, "aiops_events_total{model=\"m\",version=%q} %d\n", v.name, perScrape*n)
	}
	b.WriteString("# TYPE aiops_inference_errors_total counter\n")
	for _, v := range vs {
		fmt.Fprintf(&b, "aiops_inference_errors_total{model=\"m\",version=%q,type=\"timeout\"} %d\n", v.name, int(float64(perScrape)*v.errors)*n)
	}
	b.WriteString("# TYPE aiops_task_outcomes_total counter\n")
	for _, v := range vs {
		done := int(float64(perScrape)*v.complete) * n
		fmt.Fprintf(&b, "aiops_task_outcomes_total{model=\"m\",version=%q,outcome=\"completed\"} %d\n", v.name, done)
		fmt.Fprintf(&b, "aiops_task_outcomes_total{model=\"m\",version=%q,outcome=\"escalated\"} %d\n", v.name, perScrape*n-done)
	}
	b.WriteString("# TYPE aiops_cost_total counter\n")
	for _, v := range vs {
		fmt.Fprintf(&b, "aiops_cost_total{model=\"m\",version=%q,currency=\"usd\"} %g\n", v.name, 0.002*perScrape*float64(n))
	}
	b.WriteString("# TYPE aiops_model_estimated_accuracy gauge\n")
	for _, v := range vs {
		fmt.Fprintf(&b, "aiops_model_estimated_accuracy{model=\"m\",version=%q} %g\n", v.name, v.accuracy-0.01)
	}
	b.WriteString("# TYPE aiops_drifted_features_ratio gauge\n")
	for _, v := range vs {
		fmt.Fprintf(&b, "aiops_drifted_features_ratio{model=\"m\",version=%q} %g\n", v.name, v.drifted)
	}
	b.WriteString("# TYPE aiops_inference_duration_seconds histogram\n")
	for _, v := range vs {
		cum := 0.0
		for i, le := range []string{"0.5", "1", "+Inf"} {
			cum += v.latency[i]
			fmt.Fprintf(&b, "aiops_inference_duration_seconds_bucket{model=\"m\",version=%q,le=%q} %d\n", v.name, le, int(cum*perScrape+0.5)*n)
		}
		fmt.Fprintf(&b, "aiops_inference_duration_seconds_sum{model=\"m\",version=%q} %d\n", v.name, perScrape*n/2)
		fmt.Fprintf(&b, "aiops_inference_duration_seconds_count{model=\"m\",version=%q} %d\n", v.name, perScrape*n)
	}
	return b.String()
}

// v1 is the baseline; v2 a canary that decayed (less accurate, slower, drifted); v3 a healthy
// canary like the baseline.
var versions = []version{
	{name: "v1", accuracy: 0.95, latency: [3]float64{0.9, 0.08, 0.02}, drifted: 0.1, errors: 0.01, complete: 0.9},
	{name: "v2", accuracy: 0.85, latency: [3]float64{0.5, 0.3, 0.2}, drifted: 0.5, errors: 0.06, complete: 0.8},
	{name: "v3", accuracy: 0.95, latency: [3]float64{0.9, 0.08, 0.02}, drifted: 0.1, errors: 0.01, complete: 0.9},
}

func startPrometheus(t *testing.T) (addr string, scrapes *atomic.Int64) {
	t.Helper()
	prom := testbin.Prometheus(t, 2)
	scrapes = &atomic.Int64{}
	exp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, exposition(int(scrapes.Add(1)), versions))
	}))
	t.Cleanup(exp.Close)
	dir := t.TempDir()
	cfg := fmt.Sprintf("global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: exporter\n    static_configs: [{targets: ['%s']}]\n", exp.Listener.Addr().String())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644))
	a, err := stack.FreeAddr()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, prom, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+a)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	return a, scrapes
}

func newEvaluator(t *testing.T, addr string) *gate.Evaluator {
	t.Helper()
	c, err := api.NewClient(api.Config{Address: "http://" + addr})
	require.NoError(t, err)
	return &gate.Evaluator{API: v1.NewAPI(c), Settings: gate.DefaultSettings()}
}

func byName(rep *gate.Report) map[string]gate.Criterion {
	m := map[string]gate.Criterion{}
	for _, c := range rep.Criteria {
		m[c.Name] = c
	}
	return m
}

func TestGateAgainstRealPrometheus(t *testing.T) {
	addr, _ := startPrometheus(t)
	ev := newEvaluator(t, addr)
	// Wait until both versions have well over the minimum sample in the window.
	require.Eventually(t, func() bool {
		v, _, _, err := ev.API.Query(context.Background(), `sum(increase(aiops_events_total{version="v1"}[1m]))`, time.Now())
		vec, ok := v.(model.Vector)
		return err == nil && ok && len(vec) == 1 && vec[0].Value >= 6000
	}, 90*time.Second, 500*time.Millisecond, "Prometheus did not gather enough samples")

	margin, limit, latMargin, drift, cost, errMargin, doneMargin := 0.05, 1.0, 0.05, 0.3, 0.01, 0.02, 0.05
	cr := gate.Criteria{Window: time.Minute, LatencyQuantile: 0.95, AccuracyMargin: &margin, LatencyLimit: &limit,
		ErrorRateMargin: &errMargin, CompletionMargin: &doneMargin,
		LatencyMargin: &latMargin, DriftedShare: &drift, CostPerRequest: &cost, NoFiringTiers: []string{"P1", "P2"}}

	// The decayed canary fails: 10 points less accurate, 20% of requests over 1 s, slower than
	// the baseline, drifted.
	rep, err := ev.Evaluate(context.Background(), cr, gate.Target{Model: "m", Candidate: "v2", Baseline: "v1"})
	require.NoError(t, err)
	require.Equal(t, gate.Fail, rep.Verdict)
	c := byName(rep)
	require.Equal(t, gate.Fail, c["accuracy"].Verdict, c["accuracy"].Detail)
	require.InDelta(t, -0.10, *c["accuracy"].Estimate, 0.002)
	require.Less(t, c["accuracy"].Interval.Upper, 0.0)
	require.Greater(t, c["accuracy"].Interval.Lower, -0.15)
	require.Equal(t, gate.Fail, c["p95_latency"].Verdict, c["p95_latency"].Detail)
	require.InDelta(t, 0.20, *c["p95_latency"].Estimate, 0.002)
	require.Equal(t, gate.Fail, c["latency_vs_baseline"].Verdict)
	require.Greater(t, *c["latency_vs_baseline"].Estimate, 0.6)
	require.Equal(t, gate.Fail, c["drifted_share"].Verdict)
	require.Equal(t, gate.Pass, c["no_firing_alerts"].Verdict)
	require.Equal(t, gate.Pass, c["cost_per_request"].Verdict)
	require.InDelta(t, 0.002, *c["cost_per_request"].Estimate, 1e-9)
	require.Equal(t, gate.Fail, c["error_rate"].Verdict, c["error_rate"].Detail)
	require.InDelta(t, 0.05, *c["error_rate"].Estimate, 0.002)
	require.Equal(t, gate.Fail, c["task_completion"].Verdict, c["task_completion"].Detail)
	require.InDelta(t, -0.10, *c["task_completion"].Estimate, 0.002)
	require.InDelta(t, 0.05/5, 1-c["accuracy"].Level, 1e-12, "alpha is split over the 5 statistical criteria")

	// The healthy canary passes every criterion.
	rep, err = ev.Evaluate(context.Background(), cr, gate.Target{Model: "m", Candidate: "v3", Baseline: "v1"})
	require.NoError(t, err)
	require.Nil(t, byName(rep)["accuracy"].Estimated, "with labels, no estimate is needed")
	for _, c := range rep.Criteria {
		require.Equal(t, gate.Pass, c.Verdict, "%s: %s", c.Name, c.Detail)
	}
	require.Equal(t, gate.Pass, rep.Verdict)
	require.InDelta(t, 0, *byName(rep)["accuracy"].Estimate, 1e-9)

	// An early call — here a minimum sample not yet reached — is inconclusive and says how
	// much more is needed.
	early := *ev
	early.Settings.MinSamples = 1e7
	rep, err = early.Evaluate(context.Background(), cr, gate.Target{Model: "m", Candidate: "v3", Baseline: "v1"})
	require.NoError(t, err)
	require.Equal(t, gate.Inconclusive, rep.Verdict)
	acc := byName(rep)["accuracy"]
	require.Equal(t, gate.Inconclusive, acc.Verdict)
	require.InDelta(t, 1e7-acc.Candidate.N, acc.SampleNeeded, 1)
	// Before enough labels, the CBPE estimates are shown, marked as such, and not judged.
	require.NotNil(t, acc.Estimated)
	require.InDelta(t, 0.94, acc.Estimated.Candidate, 1e-9)
	require.InDelta(t, 0.94, acc.Estimated.Baseline, 1e-9)
	require.Contains(t, acc.Detail, "estimated before labels (CBPE, not judged)")

	// A model with no data never passes.
	rep, err = ev.Evaluate(context.Background(), cr, gate.Target{Model: "unknown", Candidate: "v2", Baseline: "v1"})
	require.NoError(t, err)
	require.Equal(t, gate.Inconclusive, rep.Verdict)
	require.Equal(t, float64(ev.Settings.MinSamples), byName(rep)["accuracy"].SampleNeeded)

	// --since replaces the window with the time since the rollout began.
	since := time.Now().Add(-20 * time.Second)
	cr2 := cr
	cr2.Since = since
	rep, err = ev.Evaluate(context.Background(), cr2, gate.Target{Model: "m", Candidate: "v2", Baseline: "v1"})
	require.NoError(t, err)
	require.Equal(t, "20s", rep.Range)
	require.Less(t, byName(rep)["accuracy"].Candidate.N, 0.6*float64(perScrape)*60)

	t.Run("cli", func(t *testing.T) { testCLI(t, addr) })
	t.Run("serve", func(t *testing.T) { testServe(t, ev, cr) })
	t.Run("changelog", func(t *testing.T) { testChangeLog(t, addr, ev, cr) })
	t.Run("serve-command", func(t *testing.T) { testServeCommand(t, addr) })
	t.Run("deploy-examples", func(t *testing.T) {
		srv := httptest.NewServer((&gate.Server{Evaluator: ev, Criteria: cr, Timeout: 10 * time.Second}).Handler())
		defer srv.Close()
		testDeployExamples(t, srv.URL)
	})
}

func testCLI(t *testing.T, addr string) {
	dir := t.TempDir()
	specFile := filepath.Join(dir, "spec.yaml")
	require.NoError(t, os.WriteFile(specFile, []byte(`apiVersion: opscentre.io/v1
tiers: {P1: {name: Critical, response_time: immediate}}
gates: {window: 1m, max_accuracy_drop: 0.05, max_p95_latency: 1}
alerts: []
`), 0o644))
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := cli.Run(context.Background(), append([]string{"gate", specFile, "--prometheus", "http://" + addr, "--model", "m", "--baseline", "v1"}, args...), nil, &out, &errOut)
		return out.String(), err
	}

	out, err := run("--candidate", "v2", "--format", "json")
	require.ErrorIs(t, err, cli.ErrFailed)
	require.Equal(t, cli.ExitFail, cli.ExitCode(err))
	var doc struct {
		Verdict  string
		Criteria []struct {
			Name     string
			Verdict  string
			Estimate *float64
			Interval *struct{ Lower, Upper float64 }
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	require.Equal(t, "fail", doc.Verdict)
	require.Len(t, doc.Criteria, 3)
	require.Equal(t, "accuracy", doc.Criteria[0].Name)
	require.NotNil(t, doc.Criteria[0].Estimate)
	require.NotNil(t, doc.Criteria[0].Interval)
	require.Less(t, doc.Criteria[0].Interval.Lower, *doc.Criteria[0].Estimate)

	out, err = run("--candidate", "v3")
	require.NoError(t, err, out)
	require.Equal(t, cli.ExitPass, cli.ExitCode(err))
	require.Contains(t, out, "gate PASS: model m, candidate v3 vs baseline v1 over 1m (sequential, alpha 0.05): 3 pass, 0 fail, 0 inconclusive")
	require.Contains(t, out, "[pass        ] accuracy")

	out, err = run("--candidate", "v3", "--min-samples", "1e9", "--format", "junit")
	require.ErrorIs(t, err, cli.ErrInconclusive)
	require.Equal(t, cli.ExitInconclusive, cli.ExitCode(err))
	var ju struct {
		Suites []struct {
			Tests   int `xml:"tests,attr"`
			Skipped int `xml:"skipped,attr"`
			Cases   []struct {
				Name    string `xml:"name,attr"`
				Skipped *struct {
					Message string `xml:"message,attr"`
				} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal([]byte(out), &ju), out)
	require.Equal(t, 3, ju.Suites[0].Tests)
	require.Equal(t, 3, ju.Suites[0].Skipped)
	require.Contains(t, ju.Suites[0].Cases[0].Skipped.Message, "inconclusive")

	// Prometheus unreachable: neither pass nor fail.
	var o, e bytes.Buffer
	err = cli.Run(context.Background(), []string{"gate", specFile, "--prometheus", "http://127.0.0.1:1", "--model", "m", "--candidate", "v3", "--baseline", "v1"}, nil, &o, &e)
	require.Equal(t, cli.ExitUnavailable, cli.ExitCode(err), "%v", err)

	// Bad settings name the flag.
	_, err = run("--candidate", "v3", "--alpha", "0.7")
	require.ErrorContains(t, err, "alpha: expected a number in (0, 0.5), got 0.7")
	_, err = run("--candidate", "v3", "--since", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	require.ErrorContains(t, err, "--since: ")
	require.ErrorContains(t, err, "is not before the evaluation time")
	require.Equal(t, cli.ExitFail, cli.ExitCode(err), "a usage error, not an unavailable Prometheus")
	_, err = run("--candidate", "v3", "--since", "yesterday")
	require.ErrorContains(t, err, `--since: "yesterday" is neither an RFC 3339 time`)
}

func testServe(t *testing.T, ev *gate.Evaluator, cr gate.Criteria) {
	srv := httptest.NewServer((&gate.Server{Evaluator: ev, Criteria: cr, Timeout: 10 * time.Second}).Handler())
	defer srv.Close()
	get := func(q string) (int, map[string]any) {
		resp, err := http.Get(srv.URL + "/api/v1/gate?" + q)
		require.NoError(t, err)
		defer resp.Body.Close()
		var m map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		return resp.StatusCode, m
	}
	// Argo Rollouts' web provider reads $.verdict from a 200 answer.
	code, m := get("model=m&candidate=v2&baseline=v1")
	require.Equal(t, 200, code)
	require.Equal(t, "fail", m["verdict"])
	code, m = get("model=m&candidate=v3&baseline=v1")
	require.Equal(t, 200, code)
	require.Equal(t, "pass", m["verdict"])
	code, m = get("model=m&candidate=v3")
	require.Equal(t, 400, code)
	require.Equal(t, "baseline: missing; expected a non-empty baseline name", m["error"])
	code, m = get("model=m&candidate=v3&baseline=v1&since=soon")
	require.Equal(t, 400, code)
	require.Contains(t, m["error"], "since:")

	post := func(path, body string) int {
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	hook := func(cand string) string {
		return fmt.Sprintf(`{"name":"m","namespace":"ml","phase":"Progressing","metadata":{"model":"m","candidate":%q,"baseline":"v1"}}`, cand)
	}
	// Flagger: the rollout hook fails (non-2xx) only on fail; promotion is confirmed only on pass.
	require.Equal(t, http.StatusPreconditionFailed, post("/flagger/check", hook("v2")))
	require.Equal(t, http.StatusOK, post("/flagger/check", hook("v3")))
	require.Equal(t, http.StatusOK, post("/flagger/promote", hook("v3")))
	require.Equal(t, http.StatusPreconditionFailed, post("/flagger/promote", hook("v2")))
	require.Equal(t, http.StatusOK, post("/flagger/check", hook("v-unknown")), "inconclusive is a wait, not a failed check")
	require.Equal(t, http.StatusTooEarly, post("/flagger/promote", hook("v-unknown")), "inconclusive holds the promotion")
	require.Equal(t, http.StatusBadRequest, post("/flagger/check", `{"metadata":{"model":"m"}}`))
	require.Equal(t, http.StatusBadRequest, post("/flagger/check", `not json`))
	require.Equal(t, http.StatusRequestEntityTooLarge, post("/flagger/check", `{"x":"`+strings.Repeat("a", 2<<20)+`"}`))
}

// The examples in deploy/gate drive the server as Argo Rollouts and Flagger would. Their
// published CRD schemas cannot be fetched where the tests run, so the files are parsed with
// yaml.v3 and their URLs, arguments and conditions are exercised against the real server.
func testDeployExamples(t *testing.T, base string) {
	root := testbin.RepoRoot(t)
	read := func(name string, v any) {
		b, err := os.ReadFile(filepath.Join(root, "deploy", "gate", name))
		require.NoError(t, err)
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		require.NoError(t, dec.Decode(v), name)
	}
	var at struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string
		Metadata   struct{ Name string }
		Spec       struct {
			Args    []struct{ Name string }
			Metrics []struct {
				Name                  string
				Interval              string
				Count                 int
				InconclusiveLimit     int    `yaml:"inconclusiveLimit"`
				ConsecutiveErrorLimit int    `yaml:"consecutiveErrorLimit"`
				SuccessCondition      string `yaml:"successCondition"`
				FailureCondition      string `yaml:"failureCondition"`
				FailureLimit          int    `yaml:"failureLimit"`
				Provider              struct {
					Web struct {
						URL            string
						TimeoutSeconds int    `yaml:"timeoutSeconds"`
						JSONPath       string `yaml:"jsonPath"`
					}
				}
			}
		}
	}
	read("argo-analysistemplate.yaml", &at)
	require.Equal(t, "argoproj.io/v1alpha1", at.APIVersion)
	require.Equal(t, "AnalysisTemplate", at.Kind)
	require.Len(t, at.Spec.Metrics, 1)
	m := at.Spec.Metrics[0]
	require.Equal(t, "{$.verdict}", m.Provider.Web.JSONPath)
	// The conditions, evaluated the way Argo does on the extracted value.
	cond := func(expr, result string) bool {
		lhs, rhs, ok := strings.Cut(expr, " == ")
		require.True(t, ok && lhs == "result", "condition %q", expr)
		return strconv.Quote(result) == rhs
	}
	argo := func(cand string) string {
		u := m.Provider.Web.URL
		for _, a := range at.Spec.Args {
			v := map[string]string{"model": "m", "candidate": cand, "baseline": "v1", "since": time.Now().Add(-30 * time.Second).UTC().Format(time.RFC3339)}[a.Name]
			require.NotEmpty(t, v, "unexpected arg %s", a.Name)
			u = strings.ReplaceAll(u, "{{args."+a.Name+"}}", v)
		}
		require.NotContains(t, u, "{{")
		pu, err := url.Parse(u)
		require.NoError(t, err)
		resp, err := http.Get(base + pu.RequestURI())
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		var doc map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
		v, _ := doc[strings.TrimSuffix(strings.TrimPrefix(m.Provider.Web.JSONPath, "{$."), "}")].(string)
		return v
	}
	v := argo("v2")
	require.True(t, cond(m.FailureCondition, v), v)
	require.False(t, cond(m.SuccessCondition, v), v)
	v = argo("v3")
	require.True(t, cond(m.SuccessCondition, v), v)
	v = argo("v-none")
	require.False(t, cond(m.SuccessCondition, v) || cond(m.FailureCondition, v), "no data must be neither success nor failure: %s", v)

	var canary struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string
		Metadata   struct{ Name, Namespace string }
		Spec       struct {
			TargetRef struct {
				APIVersion string `yaml:"apiVersion"`
				Kind, Name string
			} `yaml:"targetRef"`
			Service  struct{ Port int }
			Analysis struct {
				Interval   string
				Threshold  int
				MaxWeight  int `yaml:"maxWeight"`
				StepWeight int `yaml:"stepWeight"`
				Webhooks   []struct {
					Name, Type, URL, Timeout string
					Metadata                 map[string]string
				}
			}
		}
	}
	read("flagger-canary.yaml", &canary)
	require.Equal(t, "flagger.app/v1beta1", canary.APIVersion)
	require.Equal(t, "Canary", canary.Kind)
	hooks := map[string]int{}
	for _, h := range canary.Spec.Analysis.Webhooks {
		pu, err := url.Parse(h.URL)
		require.NoError(t, err)
		post := func(cand string) int {
			md := map[string]string{}
			for k, v := range h.Metadata {
				md[k] = v
			}
			md["model"], md["candidate"], md["baseline"] = "m", cand, "v1"
			body, _ := json.Marshal(map[string]any{"name": canary.Metadata.Name, "namespace": canary.Metadata.Namespace, "phase": "Progressing", "metadata": md})
			resp, err := http.Post(base+pu.RequestURI(), "application/json", bytes.NewReader(body))
			require.NoError(t, err)
			resp.Body.Close()
			return resp.StatusCode
		}
		require.Contains(t, h.Metadata, "model")
		require.Contains(t, h.Metadata, "candidate")
		require.Contains(t, h.Metadata, "baseline")
		switch h.Type {
		case "rollout":
			require.Equal(t, http.StatusPreconditionFailed, post("v2"), "a failed gate is a failed check")
			require.Equal(t, http.StatusOK, post("v-none"), "waiting is not a failed check")
			require.Equal(t, http.StatusOK, post("v3"))
		case "confirm-promotion":
			require.NotEqual(t, http.StatusOK, post("v-none"), "no promotion without a pass")
			require.Equal(t, http.StatusOK, post("v3"))
		default:
			t.Fatalf("unexpected hook type %q", h.Type)
		}
		hooks[h.Type]++
	}
	require.Equal(t, map[string]int{"rollout": 1, "confirm-promotion": 1}, hooks)

	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Run string
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(root, "deploy", "gate", "github-actions.yml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, &wf))
	var script string
	for _, s := range wf.Jobs["gate"].Steps {
		if strings.Contains(s.Run, "rulegen gate") {
			script = s.Run
		}
	}
	require.NotEmpty(t, script)
	for code, what := range map[int]string{cli.ExitPass: "pass", cli.ExitFail: "fail", cli.ExitInconclusive: "sleep 60"} {
		require.Regexp(t, fmt.Sprintf(`(?m)^\s*%d\) .*%s`, code, what), script)
	}
}

// startIncidentd runs the real incidentd in-process on SQLite with one responder token.
func startIncidentd(t *testing.T, token string) string {
	return incidentdtest.Start(t, "api:\n  tokens: [{subject: ci, role: responder, token_sha256: \""+incidentdtest.SHA(token)+"\"}]\n")
}

type changeEntry struct {
	Kind, Model, Version, Title, Text, Actor string
	Labels                                   map[string]string
}

func listChanges(t *testing.T, base, token string) []changeEntry {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/api/v1/changes?from="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	var page struct{ Changes []changeEntry }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&page))
	return page.Changes
}

// Decisions reach incidentd's change log: from the CLI once per decisive run, from the server
// once per change of verdict however often it is asked; inconclusive runs are not recorded.
func testChangeLog(t *testing.T, addr string, ev *gate.Evaluator, cr gate.Criteria) {
	const token = "gate-token"
	base := startIncidentd(t, token)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token+"\n"), 0o600))
	specFile := filepath.Join(dir, "spec.yaml")
	require.NoError(t, os.WriteFile(specFile, []byte("apiVersion: opscentre.io/v1\ntiers: {P1: {name: Critical, response_time: immediate}}\ngates: {window: 1m, max_accuracy_drop: 0.05}\nalerts: []\n"), 0o644))
	run := func(cand string, extra ...string) error {
		var out, errOut bytes.Buffer
		err := cli.Run(context.Background(), append([]string{"gate", specFile, "--prometheus", "http://" + addr, "--model", "m", "--candidate", cand, "--baseline", "v1",
			"--incidentd.url", base, "--incidentd.token-file", tokenFile}, extra...), nil, &out, &errOut)
		require.NotContains(t, errOut.String(), "warning")
		return err
	}
	require.ErrorIs(t, run("v2"), cli.ErrFailed)
	require.ErrorIs(t, run("v3", "--min-samples", "1e9"), cli.ErrInconclusive)
	got := listChanges(t, base, token)
	require.Len(t, got, 1, "the inconclusive run is not a decision")
	require.Equal(t, "model_version", got[0].Kind)
	require.Equal(t, "m", got[0].Model)
	require.Equal(t, "v2", got[0].Version)
	require.Equal(t, "deployment gate fail: m v2 vs v1", got[0].Title)
	require.Equal(t, map[string]string{"gate_verdict": "fail", "baseline": "v1", "gate_method": "sequential"}, got[0].Labels)
	require.Contains(t, got[0].Text, "[fail        ] accuracy")
	require.Equal(t, "ci", got[0].Actor)

	var errs []error
	d := &gate.Decisions{Log: &gate.ChangeLog{URL: base, Token: token}, OnError: func(err error) { errs = append(errs, err) }}
	srv := httptest.NewServer((&gate.Server{Evaluator: ev, Criteria: cr, OnReport: d.Report}).Handler())
	defer srv.Close()
	for i := 0; i < 3; i++ {
		resp, err := http.Get(srv.URL + "/api/v1/gate?model=m&candidate=v3&baseline=v1")
		require.NoError(t, err)
		resp.Body.Close()
	}
	require.Empty(t, errs)
	got = listChanges(t, base, token)
	require.Len(t, got, 2, "three passes of v3 are one decision")

	// A wrong token is reported, and the verdict stands.
	bad := &gate.Decisions{Log: &gate.ChangeLog{URL: base, Token: "wrong"}, OnError: func(err error) { errs = append(errs, err) }}
	bad.Report(context.Background(), &gate.Report{Model: "m", Candidate: "v9", Baseline: "v1", Verdict: gate.Pass, EvaluatedAt: time.Now()})
	require.Len(t, errs, 1)
	require.ErrorContains(t, errs[0], "401")
}

// `rulegen gate serve` as a program: it listens, answers, and stops cleanly on cancel.
func testServeCommand(t *testing.T, promAddr string) {
	dir := t.TempDir()
	specFile := filepath.Join(dir, "spec.yaml")
	require.NoError(t, os.WriteFile(specFile, []byte("apiVersion: opscentre.io/v1\ntiers: {P1: {name: Critical, response_time: immediate}}\ngates: {window: 1m, max_accuracy_drop: 0.05}\nalerts: []\n"), 0o644))
	listen, err := stack.FreeAddr()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	var errOut syncBuffer
	go func() {
		done <- cli.Run(ctx, []string{"gate", "serve", specFile, "--prometheus", "http://" + promAddr, "--listen-address", listen}, nil, &bytes.Buffer{}, &errOut)
	}()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + listen + "/-/healthy")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	}, 10*time.Second, 50*time.Millisecond, errOut.String())
	resp, err := http.Get("http://" + listen + "/api/v1/gate?model=m&candidate=v2&baseline=v1")
	require.NoError(t, err)
	var rep struct{ Verdict string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&rep))
	resp.Body.Close()
	require.Equal(t, "fail", rep.Verdict)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("gate serve did not stop")
	}
	require.Contains(t, errOut.String(), "listening on "+listen)
}

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
