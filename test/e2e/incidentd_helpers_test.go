package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/test/incidentdtest"
	"github.com/opscentre/opscentre/test/testbin"
)

// incdFreePort returns a port that was free a moment ago. Alertmanager's cluster and a
// restarted incidentd need an address known before they start, so :0 cannot be used there.
func incdFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// incdStartInProcess runs incidentd in-process on SQLite with an open API (no tokens) and
// the webhook secret "s3cret"; it returns the base URL.
func incdStartInProcess(t *testing.T) string {
	t.Helper()
	return incidentdtest.Start(t, "webhook:\n  bearer_token_sha256: [\""+incidentdtest.SHA("s3cret")+"\"]\n")
}

// incdAM is a running Alertmanager.
type incdAM struct {
	URL     string
	Cluster string
}

// incdStartAM starts the real Alertmanager notifying hookURL. clusterAddr "" disables
// clustering; peers join an existing cluster.
func incdStartAM(t *testing.T, hookURL, clusterAddr string, peers ...string) incdAM {
	t.Helper()
	bin := testbin.Alertmanager(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`route:
  receiver: hook
  group_by: ['alertname', 'model']
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
- name: hook
  webhook_configs:
  - url: %s/api/v1/alertmanager
    send_resolved: true
    http_config:
      authorization:
        credentials: s3cret
`, hookURL)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "am.yml"), []byte(cfg), 0o600))
	port := incdFreePort(t)
	args := []string{"--config.file=" + filepath.Join(dir, "am.yml"), "--storage.path=" + dir,
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--cluster.listen-address=" + clusterAddr}
	if clusterAddr != "" {
		args = append(args, "--cluster.advertise-address="+clusterAddr, "--cluster.peer-timeout=2s",
			"--cluster.settle-timeout=2s", "--cluster.pushpull-interval=1s", "--cluster.gossip-interval=100ms")
		for _, p := range peers {
			args = append(args, "--cluster.peer="+p)
		}
	}
	cmd := exec.Command(bin, args...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager %d log:\n%s", port, logs.String())
		}
	})
	am := incdAM{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Cluster: clusterAddr}
	incdWaitHTTP(t, am.URL+"/-/ready", 30*time.Second)
	return am
}

func incdWaitHTTP(t *testing.T, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not ready after %s", url, timeout)
}

// incdAlert is an alert as posted to Alertmanager's v2 API.
type incdAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	StartsAt    time.Time         `json:"startsAt,omitzero"`
	EndsAt      time.Time         `json:"endsAt,omitzero"`
}

func (am incdAM) post(t *testing.T, alerts []incdAlert) {
	t.Helper()
	b, err := json.Marshal(alerts)
	require.NoError(t, err)
	resp, err := http.Post(am.URL+"/api/v2/alerts", "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
}

func incdList(t *testing.T, base string) []incidentapi.Incident {
	t.Helper()
	p, err := incidentapi.New(base, incidentapi.Options{}).ListPage(context.Background(), incidentapi.Filter{}, 500, "")
	require.NoError(t, err)
	return p.Incidents
}

func incdByModel(incs []incidentapi.Incident) map[string][]incidentapi.Incident {
	out := map[string][]incidentapi.Incident{}
	for _, i := range incs {
		out[i.Model] = append(out[i.Model], i)
	}
	return out
}

func incdMetric(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, name+" ") {
			v, err := strconv.ParseFloat(strings.TrimPrefix(line, name+" "), 64)
			require.NoError(t, err)
			return v
		}
	}
	return 0
}
