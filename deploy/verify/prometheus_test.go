package verify

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/dashboards/promapi"
	"github.com/opscentre/opscentre/test/stack"
	"github.com/opscentre/opscentre/test/testbin"
)

// startProcess runs bin until the test ends and waits until readyURL answers 200 to client
// (nil: http.DefaultClient).
func startProcess(t *testing.T, dir, name, bin string, client *http.Client, readyURL string, args ...string) {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	log, err := os.Create(logPath)
	require.NoError(t, err)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		log.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s exited during start-up:\n%s", name, b)
		default:
		}
		if client == nil {
			client = http.DefaultClient
		}
		if resp, err := client.Get(readyURL); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s not ready at %s:\n%s", name, readyURL, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPrometheusRunsTheConfig runs the real Prometheus (3 with prometheus.yml, 2 with
// prometheus-v2.yml) on the file as shipped — only the exporter's address (a free port, not
// :9477), the scrape and evaluation intervals (1 s instead of 15 s) and the rule path
// (absolute, since the copy lives in a temporary directory) are replaced — against the real
// aiops_exporter, and checks what the comments promise: every rule group of rulegen's output
// is loaded, the exporter is scraped, the classic buckets the latency panels and rules read
// are kept, and on Prometheus 3 the native histogram is stored as well.
func TestPrometheusRunsTheConfig(t *testing.T) {
	root := testbin.RepoRoot(t)
	exporter := testbin.Project(t, "aiops_exporter")
	rules, err := filepath.Glob(filepath.Join(root, "rules", "generated", "rules", "*.yml"))
	require.NoError(t, err)
	for _, tc := range []struct {
		major  int
		file   string
		native bool
	}{{3, "prometheus.yml", true}, {2, "prometheus-v2.yml", false}} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			prom := testbin.Prometheus(t, tc.major)
			dir := t.TempDir()
			expPort, err := stack.FreePort()
			require.NoError(t, err)
			expAddr := fmt.Sprintf("127.0.0.1:%d", expPort)
			startProcess(t, dir, "aiops_exporter", exporter, nil, "http://"+expAddr+"/-/ready",
				"--web.listen-address="+expAddr, "--storage.path="+filepath.Join(dir, "exporter"))

			b, err := os.ReadFile(filepath.Join(root, "deploy", tc.file))
			require.NoError(t, err)
			cfg := string(b)
			for old, repl := range map[string]string{
				`"localhost:9477"`:               `"` + expAddr + `"`,
				"scrape_interval: 15s":           "scrape_interval: 1s",
				"evaluation_interval: 15s":       "evaluation_interval: 1s",
				"../rules/generated/rules/*.yml": filepath.Join(root, "rules", "generated", "rules", "*.yml"),
			} {
				require.Equal(t, 1, strings.Count(cfg, old), "%s: expected %q once", tc.file, old)
				cfg = strings.Replace(cfg, old, repl, 1)
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644))
			promPort, err := stack.FreePort()
			require.NoError(t, err)
			promURL := fmt.Sprintf("http://127.0.0.1:%d", promPort)
			startProcess(t, dir, "prometheus", prom, nil, promURL+"/-/ready",
				"--config.file="+filepath.Join(dir, "prometheus.yml"),
				"--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
				"--web.listen-address="+strings.TrimPrefix(promURL, "http://"))

			// Events with latencies, so the histogram has observations.
			var body strings.Builder
			for i := range 50 {
				fmt.Fprintf(&body, `{"model":"fraud","version":"v1","latency_seconds":%g}`+"\n", 0.01*float64(i+1))
			}
			resp, err := http.Post("http://"+expAddr+"/api/v1/events", "application/x-ndjson", strings.NewReader(body.String()))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			api, err := promapi.New(promURL, nil)
			require.NoError(t, err)
			query := func(q string) []promapi.Sample {
				res, err := promapi.Query(ctx, api, q, time.Now())
				require.NoError(t, err, q)
				return res
			}
			require.Eventually(t, func() bool {
				return len(query(`aiops_inference_duration_seconds_count{model="fraud"}`)) > 0 ||
					len(query(`histogram_count(aiops_inference_duration_seconds{model="fraud"})`)) > 0
			}, 30*time.Second, 250*time.Millisecond, "Prometheus never scraped the exporter's histogram")
			require.Eventually(t, func() bool {
				return len(query(`aiops_inference_duration_seconds_bucket{model="fraud",le="+Inf"}`)) == 1
			}, 10*time.Second, 250*time.Millisecond, "the classic buckets were not kept")
			native := query(`histogram_count(aiops_inference_duration_seconds{model="fraud"})`)
			if tc.native {
				require.Len(t, native, 1, "no native histogram stored")
				require.Equal(t, 50.0, native[0].Values[0].V)
			} else {
				require.Empty(t, native, "Prometheus 2 without the feature flag stores classic buckets only")
			}
			up := query(`up{job="aiops_exporter"}`)
			require.Len(t, up, 1)
			require.Equal(t, 1.0, up[0].Values[0].V)

			// Every rule file's groups are loaded.
			loaded, err := api.Rules(ctx, nil)
			require.NoError(t, err)
			files := map[string]bool{}
			for _, g := range loaded.Groups {
				files[g.File] = true
			}
			require.NotEmpty(t, rules)
			for _, f := range rules {
				require.True(t, files[f], "rule file not loaded: %s (loaded: %v)", f, files)
			}
		})
	}
}
