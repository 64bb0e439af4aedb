package verify

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// compose is the part of docker-compose.yml the test reads.
type compose struct {
	Services map[string]struct {
		Image       string   `yaml:"image"`
		NetworkMode string   `yaml:"network_mode"`
		Volumes     []string `yaml:"volumes"`
		Ports       []string `yaml:"ports"`
		Build       *struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// TestComposeReferencesExist checks that docker-compose.yml names the five components, that
// every bind mount's source exists (a missing one would make Docker create an empty
// directory and Grafana or Prometheus start without its files), that named volumes are
// declared, and that each build points at a Dockerfile and context that exist. The plugin's
// dist/ is built by grafana-plugin/build.sh, so only its build script is required.
func TestComposeReferencesExist(t *testing.T) {
	dir := deployDir(t)
	b, err := os.ReadFile(filepath.Join(dir, "docker-compose.yml"))
	require.NoError(t, err)
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	var c compose
	require.NoError(t, dec.Decode(&c))
	for _, s := range []string{"prometheus", "alertmanager", "grafana", "aiops_exporter", "incidentd"} {
		require.Contains(t, c.Services, s)
	}
	for name, s := range c.Services {
		if name != "net" {
			// Shared namespace: localhost:<port> means the same as on one host (see the file).
			require.Equal(t, "service:net", s.NetworkMode, "service %s", name)
			require.Empty(t, s.Ports, "service %s: publish ports on net", name)
		}
		if s.Build != nil {
			ctx := filepath.Join(dir, s.Build.Context)
			require.DirExists(t, ctx, "service %s: build.context", name)
			require.FileExists(t, filepath.Join(ctx, s.Build.Dockerfile), "service %s: build.dockerfile", name)
		}
		for _, v := range s.Volumes {
			parts := strings.Split(v, ":")
			require.GreaterOrEqual(t, len(parts), 2, "service %s: volume %q", name, v)
			src := parts[0]
			if !strings.HasPrefix(src, ".") && !strings.HasPrefix(src, "/") {
				require.Contains(t, c.Volumes, src, "service %s: named volume %q is not declared", name, src)
				continue
			}
			path := filepath.Join(dir, src)
			if strings.HasSuffix(src, "grafana-plugin/dist") {
				require.FileExists(t, filepath.Join(dir, "..", "grafana-plugin", "build.sh"))
				continue
			}
			_, err := os.Stat(path)
			require.NoError(t, err, "service %s: bind mount source %q", name, src)
		}
	}
}

// TestComposeMountsWhatPrometheusLoads checks that the mounts keep prometheus.yml's relative
// rule_files path working inside the container.
func TestComposeMountsWhatPrometheusLoads(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(deployDir(t), "docker-compose.yml"))
	require.NoError(t, err)
	var c compose
	require.NoError(t, yaml.Unmarshal(b, &c))
	mounts := map[string]string{}
	for _, v := range c.Services["prometheus"].Volumes {
		parts := strings.Split(v, ":")
		mounts[parts[1]] = parts[0]
	}
	cfg := "/etc/opscentre/deploy/prometheus.yml"
	require.Equal(t, "./prometheus.yml", mounts[cfg])
	rules := filepath.Join(filepath.Dir(cfg), "../rules/generated/rules")
	require.Equal(t, "../rules/generated/rules", mounts[rules], "rule_files resolves to %s in the container", rules)
	require.Equal(t, "../rules/generated/alertmanager.yml", strings.Split(c.Services["alertmanager"].Volumes[0], ":")[0])
	// prometheus.yml holds Prometheus-3-only settings.
	require.Regexp(t, `^prom/prometheus:v3\.`, c.Services["prometheus"].Image)
}

// TestDockerfiles checks each Dockerfile without Docker: one per binary in cmd/, a static
// build (CGO_ENABLED=0) of that binary, a distroless or scratch final stage, a non-root user,
// and COPY sources that exist in the build context (the repository root).
func TestDockerfiles(t *testing.T) {
	dir := deployDir(t)
	root := filepath.Join(dir, "..")
	for _, bin := range []string{"aiops_exporter", "incidentd", "rulegen", "aiops-sim"} {
		t.Run(bin, func(t *testing.T) {
			require.DirExists(t, filepath.Join(root, "cmd", bin))
			f, err := os.Open(filepath.Join(dir, "docker", bin+".Dockerfile"))
			require.NoError(t, err)
			defer f.Close()
			var (
				stages         []string
				user, build    string
				entry          string
				sawStaticBuild bool
			)
			sc := bufio.NewScanner(f)
			var cont strings.Builder
			for sc.Scan() {
				line := strings.TrimSpace(sc.Text())
				if strings.HasPrefix(line, "#") || line == "" {
					continue
				}
				if strings.HasSuffix(line, `\`) {
					cont.WriteString(strings.TrimSuffix(line, `\`) + " ")
					continue
				}
				line = cont.String() + line
				cont.Reset()
				instr, rest, _ := strings.Cut(line, " ")
				switch strings.ToUpper(instr) {
				case "FROM":
					stages = append(stages, rest)
					user = ""
				case "USER":
					user = rest
				case "RUN":
					if strings.Contains(rest, "go build") {
						build = rest
						sawStaticBuild = strings.Contains(rest, "CGO_ENABLED=0")
					}
				case "COPY":
					if strings.Contains(rest, "--from=") {
						continue
					}
					for _, src := range strings.Fields(rest)[:len(strings.Fields(rest))-1] {
						_, err := os.Stat(filepath.Join(root, src))
						require.NoError(t, err, "COPY %s", src)
					}
				case "ENTRYPOINT":
					entry = rest
				}
			}
			require.NoError(t, sc.Err())
			require.GreaterOrEqual(t, len(stages), 2, "a build stage and a runtime stage")
			final := stages[len(stages)-1]
			require.True(t, strings.Contains(final, "distroless/static") || final == "scratch", "final stage %q", final)
			require.True(t, sawStaticBuild, "go build without CGO_ENABLED=0: %q", build)
			require.Contains(t, build, "./cmd/"+bin)
			require.NotEmpty(t, user, "the final stage must set USER")
			require.NotContains(t, []string{"root", "0", "0:0", "root:root"}, user)
			require.Contains(t, entry, `"/`+bin+`"`)
		})
	}
}
