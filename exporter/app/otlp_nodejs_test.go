package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/test/testbin"
)

// fakeOpenAI is an OpenAI-compatible server: every fourth chat completion fails with a 500,
// the others answer with fixed usage, alternating finish reasons stop and length.
func fakeOpenAI(t *testing.T) *httptest.Server {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/chat/completions":
			mu.Lock()
			n++
			i := n
			mu.Unlock()
			if i%4 == 0 {
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprint(w, `{"error":{"message":"upstream overloaded","type":"server_error"}}`)
				return
			}
			reason := "stop"
			if i%2 == 1 {
				reason = "length"
			}
			fmt.Fprintf(w, `{"id":"chatcmpl-%d","object":"chat.completion","created":1800000000,"model":"gpt-4o-mini-2024-07-18",
"choices":[{"index":0,"message":{"role":"assistant","content":"answer"},"finish_reason":%q}],
"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}`, i, reason)
		case "/v1/embeddings":
			fmt.Fprint(w, `{"object":"list","model":"text-embedding-3-small","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"usage":{"prompt_tokens":3,"total_tokens":3}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The OpenTelemetry JavaScript SDK and @opentelemetry/instrumentation-openai, instrumenting
// the official openai client, fill the LLM families exactly.
func TestOTLPFromTheJavaScriptOpenAIInstrumentation(t *testing.T) {
	node, err := exec.LookPath("node")
	dir := filepath.Join(testbin.RepoRoot(t), "test", "otlp-js")
	if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "@opentelemetry", "instrumentation-openai")); err != nil || statErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node and test/otlp-js/node_modules are required in CI (scripts/test.sh runs npm ci there): node: %v, modules: %v", err, statErr)
		}
		t.Skipf("needs node and `cd test/otlp-js && npm ci` (node: %v, modules: %v)", err, statErr)
	}
	tmp := t.TempDir()
	e := startExporter(t, "--config.file="+writeFile(t, tmp, "config.yml", `
unknown_models: learn
models:
  gpt-4o-mini:
    provider: openai
    price_per_million_tokens: {currency: USD, input: 0.15, output: 0.6}
`), "--storage.path="+tmp+"/data")
	openai := fakeOpenAI(t)

	const calls = 12 // 3 of them fail (every fourth)
	cmd := exec.Command(node, "app.cjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"CALLS="+fmt.Sprint(calls),
		"OPENAI_BASE_URL="+openai.URL+"/v1",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="+e.url+"/v1/traces",
		"OTEL_METRICS_EXPORTER=none", "OTEL_LOGS_EXPORTER=none",
	)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var summary struct{ OK, Failed int }
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &summary), "%s", out)
	require.Equal(t, 9, summary.OK)
	require.Equal(t, 3, summary.Failed)

	_, fams := e.scrape(t)
	ok := map[string]string{"model": "gpt-4o-mini", "version": "gpt-4o-mini-2024-07-18"}
	failed := map[string]string{"model": "gpt-4o-mini", "version": "default"}
	with := func(base map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for a, b := range base {
			out[a] = b
		}
		return out
	}
	require.Equal(t, 9.0, value(t, fams, "aiops_events_total", ok))
	require.Equal(t, 3.0, value(t, fams, "aiops_events_total", failed))
	require.Equal(t, 3.0, value(t, fams, "aiops_inference_errors_total", with(failed, "type", "InternalServerError")))
	require.Equal(t, 9*11.0, value(t, fams, "aiops_tokens_total", with(ok, "type", "input")))
	require.Equal(t, 9*7.0, value(t, fams, "aiops_tokens_total", with(ok, "type", "output")))
	require.InDelta(t, (99*0.15+63*0.6)/1e6, value(t, fams, "aiops_cost_total", with(ok, "currency", "USD")), 1e-15)
	// Requests 1, 3, 5, 7, 9, 11 answered length; 2, 6, 10 stop; 4, 8, 12 failed.
	require.Equal(t, 6.0, value(t, fams, "aiops_llm_finish_reasons_total", with(ok, "reason", "length")))
	require.Equal(t, 3.0, value(t, fams, "aiops_llm_finish_reasons_total", with(ok, "reason", "stop")))
	require.Equal(t, 1.0, value(t, fams, "aiops_events_total", map[string]string{"model": "text-embedding-3-small"}))
	require.Equal(t, 3.0, value(t, fams, "aiops_tokens_total", map[string]string{"model": "text-embedding-3-small", "type": "input"}))
	e.stop(t)
}
