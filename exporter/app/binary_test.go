package app_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/opscentre/opscentre/test/testbin"
)

// exporter is a running aiops_exporter binary.
type exporter struct {
	cmd *exec.Cmd
	url string
}

var listenRE = regexp.MustCompile(`msg="Listening on" address=(\S+)`)

// startExporter starts the built binary on a free loopback port and waits until it serves.
func startExporter(t *testing.T, args ...string) *exporter {
	t.Helper()
	bin := testbin.Project(t, "aiops_exporter")
	cmd := exec.Command(bin, append([]string{"--web.listen-address=127.0.0.1:0", "--log.level=debug"}, args...)...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	e := &exporter{cmd: cmd}
	var (
		mu  sync.Mutex
		log []string
	)
	// The log is shown only when the test fails; t.Log from the reader goroutine could run
	// after the test ended.
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if t.Failed() {
			t.Log("aiops_exporter log:\n" + strings.Join(log, "\n"))
		}
	})
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			log = append(log, line)
			mu.Unlock()
			if m := listenRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		e.url = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("aiops_exporter did not start listening within 30s")
	}
	return e
}

// stop sends SIGTERM and waits for a clean exit.
func (e *exporter) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, e.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, e.cmd.Wait())
}

func (e *exporter) post(t *testing.T, body []byte, header map[string]string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+"/api/v1/events", bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

func (e *exporter) scrape(t *testing.T) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	resp, err := http.Get(e.url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	text, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	require.NoError(t, err)
	return string(text), fams
}

// value returns the value of the one series of family name with exactly these labels
// (besides any not named), failing if there is none.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	f := fams[name]
	require.NotNil(t, f, "family %s missing", name)
	var found []float64
	for _, m := range f.Metric {
		ok := true
		got := map[string]string{}
		for _, lp := range m.Label {
			got[lp.GetName()] = lp.GetValue()
		}
		for k, v := range labels {
			if got[k] != v {
				ok = false
			}
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			found = append(found, m.Counter.GetValue())
		case m.Gauge != nil:
			found = append(found, m.Gauge.GetValue())
		case m.Histogram != nil:
			found = append(found, float64(m.Histogram.GetSampleCount()))
		}
	}
	require.Len(t, found, 1, "series %s%v", name, labels)
	return found[0]
}

func histogram(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Histogram {
	t.Helper()
	for _, m := range fams[name].GetMetric() {
		got := map[string]string{}
		for _, lp := range m.Label {
			got[lp.GetName()] = lp.GetValue()
		}
		match := true
		for k, v := range labels {
			match = match && got[k] == v
		}
		if match {
			return m.Histogram
		}
	}
	t.Fatalf("no histogram %s%v", name, labels)
	return nil
}

const exporterConfig = `
unknown_models: learn
window: {sub_windows: 12, sub_window_duration: 5m}
models:
  fraud:
    features:
      amount: {type: numeric, required: true, min: 0, expected_max: 1000}
      country: {type: categorical, allowed: [US, DE, FR]}
    versions: {v1: {}}
  assistant:
    provider: openai
    operation: chat
    price_per_million_tokens: {currency: USD, input: 2, output: 10, cached_input: 0.5}
`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, err := w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

// TestBinaryEndToEnd posts events to the real binary, reads /metrics with the Prometheus
// text parser and checks exact values; restarts it and checks the state was kept; reloads
// the configuration with SIGHUP and /-/reload.
func TestBinaryEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeFile(t, dir, "exporter.yml", exporterConfig)
	data := filepath.Join(dir, "data")
	e := startExporter(t, "--config.file="+cfgPath, "--storage.path="+data, "--web.enable-lifecycle")

	// 10 fraud events: amounts 0, 150, …, 1350 (three above expected_max), every other one
	// without a country; latencies 0.01 … 0.10 s.
	var events []string
	for i := range 10 {
		country := `,"country":"US"`
		if i%2 == 1 {
			country = ""
		}
		events = append(events, fmt.Sprintf(`{"model":"fraud","version":"v1","id":"tx-%d","latency_seconds":%g,"features":{"amount":%d%s},"prediction":"legit"}`,
			i, float64(i+1)/100, i*150, country))
	}
	events = append(events,
		`{"model":"fraud","version":"v1","features":{"amount":-5}}`,               // out_of_range
		`{"model":"fraud","version":"v1","features":{"country":"US"}}`,            // missing_required
		`{"model":"fraud","version":"v1","features":{"amount":1,"country":"XX"}}`, // unknown_category
		`{"model":"fraud","version":"v1","latency_seconds":-1}`,                   // negative_value
	)
	status, resp := e.post(t, []byte("["+strings.Join(events, ",")+"]"), nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, 10.0, resp["accepted"])
	require.Len(t, resp["rejected"], 4)

	// LLM events as gzip NDJSON: 3 calls of 1000 input (200 cached) and 100 output tokens.
	var nd bytes.Buffer
	for i := range 3 {
		fmt.Fprintf(&nd, `{"model":"assistant","version":"2026-11","latency_seconds":1.5,"tokens":{"input":1000,"output":100,"cached":200},"input_text_length":4000,"outcome":{"task":"completed","escalated":%t},"feedback":{"rating":"positive"},"business":{"ticket_resolved":%d},"queue_depth":%d}`+"\n", i == 2, i+1, 7-i)
	}
	status, resp = e.post(t, gzipped(t, nd.Bytes()), map[string]string{"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, 3.0, resp["accepted"])

	check := func(fams map[string]*dto.MetricFamily) {
		fraud := map[string]string{"model": "fraud", "version": "v1"}
		llm := map[string]string{"model": "assistant", "version": "2026-11"}
		with := func(base map[string]string, k, v string) map[string]string {
			out := map[string]string{k: v}
			for a, b := range base {
				out[a] = b
			}
			return out
		}
		require.Equal(t, 10.0, value(t, fams, "aiops_events_total", fraud))
		for _, reason := range []string{"out_of_range", "missing_required", "unknown_category", "negative_value"} {
			require.Equal(t, 1.0, value(t, fams, "aiops_events_rejected_total", with(fraud, "reason", reason)), reason)
		}
		require.Equal(t, 0.5, value(t, fams, "aiops_feature_null_ratio", with(fraud, "feature", "country")))
		require.Equal(t, 0.0, value(t, fams, "aiops_feature_null_ratio", with(fraud, "feature", "amount")))
		require.Equal(t, 0.3, value(t, fams, "aiops_feature_outlier_ratio", with(fraud, "feature", "amount")))
		lat := histogram(t, fams, "aiops_inference_duration_seconds", fraud)
		require.Equal(t, uint64(10), lat.GetSampleCount())
		require.InDelta(t, 0.55, lat.GetSampleSum(), 1e-9)
		for _, b := range lat.Bucket {
			switch b.GetUpperBound() {
			case 0.01:
				require.Equal(t, uint64(1), b.GetCumulativeCount())
			case 0.05:
				require.Equal(t, uint64(5), b.GetCumulativeCount())
			case 0.1:
				require.Equal(t, uint64(10), b.GetCumulativeCount())
			}
		}

		require.Equal(t, 3000.0, value(t, fams, "aiops_tokens_total", with(llm, "type", "input")))
		require.Equal(t, 300.0, value(t, fams, "aiops_tokens_total", with(llm, "type", "output")))
		require.Equal(t, 600.0, value(t, fams, "aiops_tokens_total", with(llm, "type", "cached")))
		// 3 × (800·2 + 200·0.5 + 100·10) / 1e6 USD.
		require.InDelta(t, 3*(800*2+200*0.5+100*10)/1e6, value(t, fams, "aiops_cost_total", with(llm, "currency", "USD")), 1e-12)
		genai := with(with(with(llm, "gen_ai_request_model", "assistant"), "gen_ai_provider_name", "openai"), "gen_ai_operation_name", "chat")
		tok := histogram(t, fams, "gen_ai_client_token_usage", with(genai, "gen_ai_token_type", "input"))
		require.Equal(t, uint64(3), tok.GetSampleCount())
		require.Equal(t, 3000.0, tok.GetSampleSum())
		dur := histogram(t, fams, "gen_ai_client_operation_duration_seconds", genai)
		require.Equal(t, uint64(3), dur.GetSampleCount())
		require.Equal(t, 2.0, value(t, fams, "aiops_task_outcomes_total", with(llm, "outcome", "completed")))
		require.Equal(t, 1.0, value(t, fams, "aiops_task_outcomes_total", with(llm, "outcome", "escalated")))
		require.Equal(t, 0.0, value(t, fams, "aiops_task_outcomes_total", with(llm, "outcome", "failed")))
		require.Equal(t, 3.0, value(t, fams, "aiops_feedback_total", with(llm, "rating", "positive")))
		require.Equal(t, 3.0, value(t, fams, "aiops_business_events_total", with(llm, "name", "ticket_resolved")))
		require.Equal(t, 6.0, value(t, fams, "aiops_business_value_total", with(llm, "name", "ticket_resolved")))
		require.Equal(t, 5.0, value(t, fams, "aiops_queue_depth", llm))
		require.Equal(t, 3.0, value(t, fams, "aiops_input_length", llm))
		require.Equal(t, 1.0, value(t, fams, "aiops_exporter_build_info", nil))
	}
	text, fams := e.scrape(t)
	check(fams)
	require.Equal(t, 1.0, value(t, fams, "aiops_exporter_config_last_reload_successful", nil))
	require.Contains(t, fams, "process_cpu_seconds_total")
	require.Contains(t, fams, "go_goroutines")
	promtoolCheck(t, text)

	// Restart: everything is back.
	e.stop(t)
	e = startExporter(t, "--config.file="+cfgPath, "--storage.path="+data, "--web.enable-lifecycle")
	_, fams = e.scrape(t)
	check(fams)

	// SIGHUP with a configuration that rejects unknown models.
	writeFile(t, dir, "exporter.yml", strings.Replace(exporterConfig, "unknown_models: learn", "unknown_models: reject", 1))
	require.NoError(t, e.cmd.Process.Signal(syscall.SIGHUP))
	// Each try names a new model: one posted before the reload lands is learnt for good.
	try := 0
	require.Eventually(t, func() bool {
		try++
		_, resp := e.post(t, fmt.Appendf(nil, `{"model":"brand-new-%d"}`, try), nil)
		return resp["accepted"] == 0.0
	}, 10*time.Second, 50*time.Millisecond)
	_, fams = e.scrape(t)
	require.GreaterOrEqual(t, value(t, fams, "aiops_events_rejected_total", map[string]string{"reason": "unknown_model"}), 1.0)

	// A broken file over /-/reload: 500, the old configuration stays, the gauge says 0.
	writeFile(t, dir, "exporter.yml", "unknown_models: [\n")
	resp2, err := http.Post(e.url+"/-/reload", "", nil)
	require.NoError(t, err)
	resp2.Body.Close()
	require.Equal(t, http.StatusInternalServerError, resp2.StatusCode)
	_, fams = e.scrape(t)
	require.Equal(t, 0.0, value(t, fams, "aiops_exporter_config_last_reload_successful", nil))
	_, resp = e.post(t, []byte(`{"model":"another-new"}`), nil)
	require.Equal(t, 0.0, resp["accepted"])

	// Bad bodies get request errors and the process stays up.
	status, resp = e.post(t, []byte(`[{"model":"fraud"`), nil)
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, resp["error"], "not valid JSON")
	gz := gzipped(t, bytes.Repeat([]byte(`{"model":"fraud","version":"v1","features":{"amount":1}}`+"\n"), 5000))
	status, resp = e.post(t, gz[:len(gz)/2], map[string]string{"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, resp["error"], "gzip stream broken")

	for path, want := range map[string]int{"/-/healthy": 200, "/-/ready": 200, "/": 200} {
		r, err := http.Get(e.url + path)
		require.NoError(t, err)
		r.Body.Close()
		require.Equal(t, want, r.StatusCode, path)
	}
	e.stop(t)
}

// promtoolCheck lints the exposition with promtool of Prometheus 2 and 3.
func promtoolCheck(t *testing.T, text string) {
	t.Helper()
	for _, major := range []int{2, 3} {
		cmd := exec.Command(testbin.Promtool(t, major), "check", "metrics")
		cmd.Stdin = strings.NewReader(text)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "promtool %d check metrics:\n%s", major, out)
	}
}

func TestConfigCheckFlag(t *testing.T) {
	bin := testbin.Project(t, "aiops_exporter")
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yml", exporterConfig)
	out, err := exec.Command(bin, "--config.check", "--config.file="+good).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "OK (2 models configured")

	bad := writeFile(t, dir, "bad.yml", "models:\n  m:\n    features:\n      f: {type: numbr}\n")
	out, err = exec.Command(bin, "--config.check", "--config.file="+bad).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), `line 4: feature type: expected numeric, categorical, boolean or text, got "numbr"`)
}

// --web.config.file is exporter-toolkit's: basic auth protects every endpoint.
func TestWebConfigBasicAuth(t *testing.T) {
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	require.NoError(t, err)
	webCfg := writeFile(t, dir, "web.yml", "basic_auth_users:\n  app: "+string(hash)+"\n")
	e := startExporter(t, "--web.config.file="+webCfg, "--storage.path="+filepath.Join(dir, "data"))

	resp, err := http.Post(e.url+"/api/v1/events", "application/json", strings.NewReader(`{"model":"m"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	req, err := http.NewRequest(http.MethodPost, e.url+"/api/v1/events", strings.NewReader(`{"model":"m"}`))
	require.NoError(t, err)
	req.SetBasicAuth("app", "s3cret")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	e.stop(t)
}

// A crash (SIGKILL, no shutdown snapshot) loses at most one snapshot interval: events
// older than that are back after the restart.
func TestCrashKeepsLastSnapshot(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--storage.path=" + filepath.Join(dir, "data"), "--storage.snapshot-interval=200ms"}
	e := startExporter(t, args...)
	posted := float64(time.Now().UnixNano()) / 1e9
	status, _ := e.post(t, []byte(`[{"model":"m","tokens":{"input":7,"output":1}},{"model":"m"}]`), nil)
	require.Equal(t, http.StatusOK, status)
	// Wait for a periodic snapshot taken after the post, then crash.
	require.Eventually(t, func() bool {
		_, fams := e.scrape(t)
		f := fams["aiops_exporter_last_snapshot_success_timestamp_seconds"]
		return f != nil && f.Metric[0].GetGauge().GetValue() > posted
	}, 30*time.Second, 50*time.Millisecond)
	require.NoError(t, e.cmd.Process.Kill())
	_ = e.cmd.Wait()

	e = startExporter(t, args...)
	_, fams := e.scrape(t)
	require.Equal(t, 2.0, value(t, fams, "aiops_events_total", map[string]string{"model": "m"}))
	require.Equal(t, 7.0, value(t, fams, "aiops_tokens_total", map[string]string{"model": "m", "type": "input"}))
	require.Equal(t, 0.0, value(t, fams, "aiops_exporter_snapshot_failures_total", nil))
	e.stop(t)
}
