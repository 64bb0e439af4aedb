package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

func TestPrometheusOffWhenAbsent(t *testing.T) {
	c, err := Parse([]byte("incidents: {reopen_window: 5m}\n"))
	require.NoError(t, err)
	require.Nil(t, c.Prometheus)
}

func TestPrometheusDefaults(t *testing.T) {
	c, err := Parse([]byte("prometheus: {url: \"http://localhost:9090\"}\n"))
	require.NoError(t, err)
	p := c.Prometheus
	require.Equal(t, model.Duration(5*time.Second), p.Timeout)
	require.Equal(t, model.Duration(15*time.Second), p.TotalTimeout)
	require.Equal(t, model.Duration(10*time.Minute), p.Window)
	require.Equal(t, model.Duration(time.Hour), p.Baseline)
	require.Equal(t, DefaultEvidenceQueue, p.QueueSize)
	require.Equal(t, DefaultEvidenceWorkers, p.Workers)
}

// Each mistake is refused with the field named.
func TestPrometheusErrorsNameTheField(t *testing.T) {
	for doc, want := range map[string]string{
		"prometheus: {}\n":                                                                                     "prometheus.url",
		"prometheus: {url: \"ftp://x\"}\n":                                                                     "prometheus.url",
		"prometheus: {url: \"http://u:p@x:9090\"}\n":                                                           "holds credentials",
		"prometheus: {url: \"http://x\", timeout: 10s, total_timeout: 5s}\n":                                   "prometheus.total_timeout",
		"prometheus: {url: \"http://x\", window: 1h, baseline: 10m}\n":                                         "prometheus.baseline",
		"prometheus: {url: \"http://x\", window: 0s5ms}\n":                                                     "window",
		"prometheus: {url: \"http://x\", window: 500ms}\n":                                                     "prometheus.window",
		"prometheus: {url: \"http://x\", queue_size: -1}\n":                                                    "prometheus.queue_size",
		"prometheus: {url: \"http://x\", workers: 100}\n":                                                      "prometheus.workers",
		"prometheus: {url: \"http://x\", basic_auth: {password_file: f}}\n":                                    "prometheus.basic_auth.username",
		"prometheus: {url: \"http://x\", basic_auth: {username: u}}\n":                                         "prometheus.basic_auth.password_file",
		"prometheus: {url: \"http://x\", bearer_token_file: t, basic_auth: {username: u, password_file: f}}\n": "prometheus.bearer_token_file",
		"prometheus: {url: \"http://x\", tiemout: 5s}\n":                                                       "tiemout",
	} {
		_, err := Parse([]byte(doc))
		require.ErrorContains(t, err, want, doc)
	}
}

// Secret files are relative to the configuration and must exist at load.
func TestPrometheusSecretFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "incidentd.yml")
	require.NoError(t, os.WriteFile(cfg, []byte("prometheus: {url: \"http://x:9090\", bearer_token_file: token}\n"), 0o600))
	_, err := Load(cfg)
	require.ErrorContains(t, err, "prometheus.bearer_token_file")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "token"), []byte("s3cret\n"), 0o600))
	c, err := Load(cfg)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "token"), c.Prometheus.BearerTokenFile)
	hc := c.Prometheus.HTTPClient()
	require.Equal(t, filepath.Join(dir, "token"), hc.Authorization.CredentialsFile)
	require.NoError(t, hc.Validate())
}

// TestREADMEEvidenceExample keeps the documented prometheus section valid.
func TestREADMEEvidenceExample(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	doc := string(b)
	i := strings.Index(doc, "## Evidence")
	require.Positive(t, i)
	start := strings.Index(doc[i:], "```yaml\n")
	require.Positive(t, start)
	block := doc[i+start+len("```yaml\n"):]
	block = block[:strings.Index(block, "```")]
	c, err := Parse([]byte(block))
	require.NoError(t, err)
	require.Equal(t, "http://localhost:9090", c.Prometheus.URL)
	require.Equal(t, model.Duration(time.Hour), c.Prometheus.Baseline)
}
