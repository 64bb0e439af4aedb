package verify

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/opscentre/opscentre/test/testbin"
)

// The Grafana that docker-compose.yml runs must be one the plugin declares it supports, or
// the compose stack starts a Grafana that refuses to load the plugin.
func TestComposeGrafanaSatisfiesPlugin(t *testing.T) {
	root := testbin.RepoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "grafana-plugin/src/plugin.json"))
	require.NoError(t, err)
	var plugin struct {
		Dependencies struct {
			GrafanaDependency string `json:"grafanaDependency"`
		} `json:"dependencies"`
	}
	require.NoError(t, json.Unmarshal(raw, &plugin))
	dep := plugin.Dependencies.GrafanaDependency
	require.True(t, strings.HasPrefix(dep, ">="), "plugin.json grafanaDependency %q: expected a lower bound >=X.Y.Z", dep)
	minimum := versionParts(t, strings.TrimSpace(strings.TrimPrefix(dep, ">=")))

	raw, err = os.ReadFile(filepath.Join(deployDir(t), "docker-compose.yml"))
	require.NoError(t, err)
	var c compose
	require.NoError(t, yaml.Unmarshal(raw, &c))
	image := c.Services["grafana"].Image
	_, tag, ok := strings.Cut(image, ":")
	require.True(t, ok, "docker-compose.yml grafana image %q: expected a pinned version tag", image)
	got := versionParts(t, tag)
	require.False(t, less(got, minimum), "docker-compose.yml runs Grafana %s, but the plugin requires %s", tag, dep)
}

// versionParts reads X.Y.Z (a suffix such as -ubuntu is ignored).
func versionParts(t *testing.T, v string) [3]int {
	t.Helper()
	m := regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)`).FindStringSubmatch(v)
	require.NotNil(t, m, "version %q: expected X.Y.Z", v)
	var p [3]int
	for i := range p {
		p[i], _ = strconv.Atoi(m[i+1])
	}
	return p
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// Every binary built by `make build` says which version and revision it is, in --version and
// in its *_build_info metric, so a bug report or a dashboard can name the build.
func TestBinariesCarryVersion(t *testing.T) {
	root := testbin.RepoRoot(t)
	want, err := os.ReadFile(filepath.Join(root, "VERSION"))
	require.NoError(t, err)
	for _, name := range []string{"aiops_exporter", "incidentd", "rulegen", "aiops-sim"} {
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command(testbin.Project(t, name), "--version").CombinedOutput()
			require.NoError(t, err, "%s", out)
			s := string(out)
			require.Contains(t, s, "version "+strings.TrimSpace(string(want)), "built without the Makefile's version stamp? (make binaries)")
			require.Regexp(t, `revision: [0-9a-f]{40}`, s)
			require.Regexp(t, `build date:\s+\d{8}-\d\d:\d\d:\d\d`, s)
		})
	}
}
