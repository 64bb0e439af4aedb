package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	promcfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// Prometheus is where incidentd gathers evidence when an incident opens (package evidence).
// Absent, no evidence is gathered.
type Prometheus struct {
	URL string `yaml:"url"`
	// BearerTokenFile or BasicAuth authenticate incidentd to Prometheus; files are re-read on
	// every request, so a rotated secret needs no reload.
	BearerTokenFile string          `yaml:"bearer_token_file"`
	BasicAuth       *PrometheusAuth `yaml:"basic_auth"`
	// Timeout bounds each query, TotalTimeout one incident's whole gathering.
	Timeout      model.Duration `yaml:"timeout"`
	TotalTimeout model.Duration `yaml:"total_timeout"`
	// Window is the rate window of each side of a comparison; Baseline how far before the
	// window up to detection the "before" window ends.
	Window   model.Duration `yaml:"window"`
	Baseline model.Duration `yaml:"baseline"`
	// QueueSize bounds the incidents waiting for a gathering; more are dropped and counted.
	QueueSize int `yaml:"queue_size"`
	// Workers gather at once.
	Workers int `yaml:"workers"`
}

// PrometheusAuth is HTTP basic authentication with the password in a file.
type PrometheusAuth struct {
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
}

// Prometheus defaults: compare the ten minutes up to detection with the ten minutes an hour
// earlier, each query within 5s and the whole gathering within 15s.
const (
	DefaultPrometheusTimeout      = 5 * time.Second
	DefaultPrometheusTotalTimeout = 15 * time.Second
	DefaultEvidenceWindow         = 10 * time.Minute
	DefaultEvidenceBaseline       = time.Hour
	DefaultEvidenceQueue          = 1000
	DefaultEvidenceWorkers        = 2
)

func (p *Prometheus) validate() error {
	u, err := url.Parse(p.URL)
	if p.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("prometheus.url: %q, expected Prometheus's http(s) URL, e.g. http://localhost:9090", p.URL)
	}
	if u.User != nil {
		return fmt.Errorf("prometheus.url: holds credentials; use prometheus.basic_auth with a password_file")
	}
	if p.BearerTokenFile != "" && p.BasicAuth != nil {
		return fmt.Errorf("prometheus.bearer_token_file: set either bearer_token_file or basic_auth, not both")
	}
	if a := p.BasicAuth; a != nil {
		if strings.TrimSpace(a.Username) == "" {
			return fmt.Errorf("prometheus.basic_auth.username: required")
		}
		if a.PasswordFile == "" {
			return fmt.Errorf("prometheus.basic_auth.password_file: required (a file holding the password)")
		}
	}
	for _, d := range []struct {
		name string
		v    *model.Duration
		def  time.Duration
	}{{"timeout", &p.Timeout, DefaultPrometheusTimeout}, {"total_timeout", &p.TotalTimeout, DefaultPrometheusTotalTimeout},
		{"window", &p.Window, DefaultEvidenceWindow}, {"baseline", &p.Baseline, DefaultEvidenceBaseline}} {
		if *d.v < 0 {
			return fmt.Errorf("prometheus.%s: must not be negative", d.name)
		}
		if *d.v == 0 {
			*d.v = model.Duration(d.def)
		}
	}
	if p.TotalTimeout < p.Timeout {
		return fmt.Errorf("prometheus.total_timeout: %s is shorter than prometheus.timeout %s", p.TotalTimeout, p.Timeout)
	}
	if p.TotalTimeout > model.Duration(5*time.Minute) {
		return fmt.Errorf("prometheus.total_timeout: %s, expected at most 5m", p.TotalTimeout)
	}
	if p.Window < model.Duration(time.Second) {
		return fmt.Errorf("prometheus.window: %s, expected at least 1s (a rate window)", p.Window)
	}
	if p.Baseline < p.Window {
		return fmt.Errorf("prometheus.baseline: %s is shorter than prometheus.window %s: the two sides would overlap", p.Baseline, p.Window)
	}
	if p.QueueSize < 0 || p.QueueSize > 100000 {
		return fmt.Errorf("prometheus.queue_size: %d, expected 1 to 100000 (0: %d)", p.QueueSize, DefaultEvidenceQueue)
	}
	if p.QueueSize == 0 {
		p.QueueSize = DefaultEvidenceQueue
	}
	if p.Workers < 0 || p.Workers > 64 {
		return fmt.Errorf("prometheus.workers: %d, expected 1 to 64 (0: %d)", p.Workers, DefaultEvidenceWorkers)
	}
	if p.Workers == 0 {
		p.Workers = DefaultEvidenceWorkers
	}
	return nil
}

// HTTPClient is the client configuration for Prometheus (prometheus/common's, which reads
// the secret files on each request).
func (p *Prometheus) HTTPClient() promcfg.HTTPClientConfig {
	c := promcfg.DefaultHTTPClientConfig
	if p.BearerTokenFile != "" {
		c.Authorization = &promcfg.Authorization{Type: "Bearer", CredentialsFile: p.BearerTokenFile}
	}
	if p.BasicAuth != nil {
		c.BasicAuth = &promcfg.BasicAuth{Username: p.BasicAuth.Username, PasswordFile: p.BasicAuth.PasswordFile}
	}
	return c
}

// resolveFiles makes the secret files relative to the configuration's directory and checks
// that they can be read, so --config.check catches a typo.
func (p *Prometheus) resolveFiles(dir string) error {
	for _, f := range []struct {
		name string
		path *string
	}{{"prometheus.bearer_token_file", &p.BearerTokenFile}, {"prometheus.basic_auth.password_file", basicPassword(p)}} {
		if f.path == nil || *f.path == "" {
			continue
		}
		if !filepath.IsAbs(*f.path) {
			*f.path = filepath.Join(dir, *f.path)
		}
		if _, err := os.ReadFile(*f.path); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return nil
}

func basicPassword(p *Prometheus) *string {
	if p.BasicAuth == nil {
		return nil
	}
	return &p.BasicAuth.PasswordFile
}
