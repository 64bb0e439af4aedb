package verify

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/opscentre/opscentre/test/testbin"
)

func deployDir(t *testing.T) string { return filepath.Join(testbin.RepoRoot(t), "deploy") }

// run executes a tool and returns its combined output; a non-zero exit fails the test with it.
func run(t *testing.T, dir, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", bin, strings.Join(args, " "), out)
	return string(out)
}

// TestPrometheusConfig checks each prometheus.yml with the promtool of its Prometheus major
// version, which also loads and checks every rule file the config's rule_files glob finds.
func TestPrometheusConfig(t *testing.T) {
	dir := deployDir(t)
	rules, err := filepath.Glob(filepath.Join(dir, "..", "rules", "generated", "rules", "*.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, rules)
	for _, tc := range []struct {
		major int
		file  string
	}{{3, "prometheus.yml"}, {2, "prometheus-v2.yml"}} {
		t.Run(tc.file, func(t *testing.T) {
			out := run(t, dir, testbin.Promtool(t, tc.major), "check", "config", tc.file)
			// A glob that matches nothing is not an error for promtool: count the files.
			require.Contains(t, out, "SUCCESS: "+strconv.Itoa(len(rules))+" rule files found", out)
		})
	}
}

// TestPrometheusConfigNeedsVersion3 documents why there are two files: Prometheus 2 refuses
// the setting that keeps classic buckets next to native histograms in Prometheus 3.
func TestPrometheusConfigNeedsVersion3(t *testing.T) {
	cmd := exec.Command(testbin.Promtool(t, 2), "check", "config", "prometheus.yml")
	cmd.Dir = deployDir(t)
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "always_scrape_classic_histograms")
}

// TestPrometheusV2DiffersOnlyInHistogramSettings keeps prometheus-v2.yml in step with
// prometheus.yml: the same document once the two Prometheus-3-only histogram settings are
// removed.
func TestPrometheusV2DiffersOnlyInHistogramSettings(t *testing.T) {
	dir := deployDir(t)
	load := func(name string) map[string]any {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, yaml.Unmarshal(b, &m), name)
		return m
	}
	v3, v2 := load("prometheus.yml"), load("prometheus-v2.yml")
	found := false
	for _, sc := range v3["scrape_configs"].([]any) {
		sc := sc.(map[string]any)
		if sc["job_name"] == "aiops_exporter" {
			require.Equal(t, true, sc["always_scrape_classic_histograms"])
			require.Equal(t, true, sc["scrape_native_histograms"])
			found = true
		}
		delete(sc, "always_scrape_classic_histograms")
		delete(sc, "scrape_native_histograms")
	}
	require.True(t, found, "prometheus.yml: the aiops_exporter job must scrape native and keep classic histograms")
	require.Equal(t, v3, v2)
}

// TestPrometheusScrapesTheDefaultPorts checks the scrape targets against the ports the
// binaries listen on by default (ARCHITECTURE.md).
func TestPrometheusScrapesTheDefaultPorts(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(deployDir(t), "prometheus.yml"))
	require.NoError(t, err)
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	require.NoError(t, yaml.Unmarshal(b, &cfg))
	targets := map[string][]string{}
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			targets[sc.JobName] = append(targets[sc.JobName], st.Targets...)
		}
	}
	require.Equal(t, []string{"localhost:9477"}, targets["aiops_exporter"])
	require.Equal(t, []string{"localhost:9478"}, targets["incidentd"])
	require.Equal(t, []string{"../rules/generated/rules/*.yml"}, cfg.RuleFiles)
}

// TestAlertmanagerConfig checks deploy/alertmanager.yml with amtool and that it is rulegen's
// output, byte for byte: edit rules/spec.yaml and run make generate, then copy it here.
func TestAlertmanagerConfig(t *testing.T) {
	dir := deployDir(t)
	got, err := os.ReadFile(filepath.Join(dir, "alertmanager.yml"))
	require.NoError(t, err)
	want, err := os.ReadFile(filepath.Join(dir, "..", "rules", "generated", "alertmanager.yml"))
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got),
		"deploy/alertmanager.yml differs from rules/generated/alertmanager.yml; run: cp rules/generated/alertmanager.yml deploy/")
	out := run(t, dir, testbin.Amtool(t), "check-config", "alertmanager.yml")
	require.Contains(t, out, "SUCCESS")
}

// TestIncidentdConfig runs incidentd's own check on the example configuration.
func TestIncidentdConfig(t *testing.T) {
	out := run(t, deployDir(t), testbin.Project(t, "incidentd"), "--config.check", "--config.file=incidentd.yml")
	require.Contains(t, out, "is valid")
}

var execStart = regexp.MustCompile(`(?m)^ExecStart=(\S+)`)

// TestSystemdUnits runs systemd-analyze verify on each unit, with ExecStart pointed at the
// built binary (verify insists that it exists). systemd-analyze only warns about unknown or
// misspelt keys, so any output fails the test. Each unit must keep its sandboxing.
func TestSystemdUnits(t *testing.T) {
	units, err := filepath.Glob(filepath.Join(deployDir(t), "systemd", "*.service"))
	require.NoError(t, err)
	require.Len(t, units, 2)
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: checking only the sandboxing keys")
	}
	for _, unit := range units {
		name := strings.TrimSuffix(filepath.Base(unit), ".service")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(unit)
			require.NoError(t, err)
			text := string(b)
			for _, key := range []string{
				"DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=" + name, "NoNewPrivileges=yes",
				"ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes", "CapabilityBoundingSet=\n",
				"RestrictAddressFamilies=", "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes",
			} {
				require.Contains(t, text, key, "%s: missing %q", unit, key)
			}
			m := execStart.FindStringSubmatch(text)
			require.NotNil(t, m, "%s: no ExecStart", unit)
			require.Equal(t, "/usr/local/bin/"+name, m[1])
			if analyze == "" {
				return
			}
			tmp := filepath.Join(t.TempDir(), filepath.Base(unit))
			patched := strings.Replace(text, "ExecStart="+m[1], "ExecStart="+testbin.Project(t, name), 1)
			require.NoError(t, os.WriteFile(tmp, []byte(patched), 0o644))
			cmd := exec.Command(analyze, "verify", "--man=no", tmp)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			require.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify %s", unit)
		})
	}
}

// TestGrafanaTimeIntervalMatchesScrapeInterval: Grafana derives $__rate_interval from the
// Prometheus datasource's timeInterval, which must be the scrape interval, or every rate on
// the dashboards uses a window of the wrong size (too short: gaps; too long: smoothing).
func TestGrafanaTimeIntervalMatchesScrapeInterval(t *testing.T) {
	dir := deployDir(t)
	var prom struct {
		Global struct {
			ScrapeInterval string `yaml:"scrape_interval"`
		} `yaml:"global"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "prometheus.yml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, &prom))
	var ds struct {
		Datasources []struct {
			Type     string `yaml:"type"`
			URL      string `yaml:"url"`
			JSONData struct {
				TimeInterval string `yaml:"timeInterval"`
			} `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	b, err = os.ReadFile(filepath.Join(dir, "grafana", "provisioning", "datasources", "opscentre.yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, &ds))
	found := false
	for _, d := range ds.Datasources {
		if d.Type == "prometheus" {
			found = true
			require.Equal(t, prom.Global.ScrapeInterval, d.JSONData.TimeInterval)
			require.Equal(t, "http://localhost:9090", d.URL, "the compose file and the systemd setup serve Prometheus on localhost:9090")
		}
	}
	require.True(t, found, "no Prometheus datasource provisioned")
}
