package docs

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/test/stack"
	"github.com/opscentre/opscentre/test/testbin"
)

// readmeCommand is one shell command of a README's code block, with the answer the README
// shows for it on the next line ("# {...}"), if any.
type readmeCommand struct {
	line     int
	cmd      string
	expected string
}

// shellCommands returns the commands of the sh code blocks of a Markdown file: continuation
// lines (a trailing backslash, an open single quote) joined.
func shellCommands(md string) []readmeCommand {
	var out []readmeCommand
	inBlock := false
	var cur strings.Builder
	start := 0
	for i, l := range strings.Split(md, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "```") {
			inBlock = t == "```sh" || t == "```bash" || t == "```console"
			cur.Reset()
			continue
		}
		if !inBlock {
			continue
		}
		if cur.Len() == 0 {
			if strings.HasPrefix(t, "# ") && len(out) > 0 && out[len(out)-1].line == start && out[len(out)-1].expected == "" {
				out[len(out)-1].expected = strings.TrimPrefix(t, "# ")
				continue
			}
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			start = i + 1
		} else {
			cur.WriteString("\n")
		}
		cur.WriteString(l)
		s := cur.String()
		if strings.HasSuffix(s, `\`) || strings.Count(s, "'")%2 == 1 {
			continue
		}
		out = append(out, readmeCommand{line: start, cmd: s})
		cur.Reset()
	}
	return out
}

// The curl lines of the exporter's README are what a new user types first: each one that
// needs no file of the user's runs against the real binary and answers what the README says.
func TestExporterReadmeCurlLines(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is required in CI (apt-get install curl)")
		}
		t.Skip("curl not installed")
	}
	root := testbin.RepoRoot(t)
	md, err := os.ReadFile(filepath.Join(root, "exporter/README.md"))
	require.NoError(t, err)

	addr, err := stack.FreeAddr()
	require.NoError(t, err)
	cmd := exec.Command(testbin.Project(t, "aiops_exporter"), "--web.listen-address="+addr, "--storage.path="+t.TempDir())
	logf, err := os.Create(filepath.Join(t.TempDir(), "exporter.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitHealthy(t, "http://"+addr, logf.Name())

	ran := 0
	for _, c := range shellCommands(string(md)) {
		if !strings.HasPrefix(c.cmd, "curl ") || !strings.Contains(c.cmd, "localhost:9477") {
			continue
		}
		if strings.Contains(c.cmd, "@") || strings.Contains(c.cmd, ">") {
			t.Logf("README line %d reads or writes a file of the user's; not run: %.60s…", c.line, c.cmd)
			continue
		}
		line := strings.ReplaceAll(c.cmd, "localhost:9477", addr)
		line = strings.Replace(line, "curl ", curl+" --fail-with-body ", 1)
		out, err := exec.Command("bash", "-c", line).CombinedOutput()
		require.NoError(t, err, "exporter/README.md:%d: %s\n%s", c.line, c.cmd, out)
		ran++
		if c.expected == "" || strings.Contains(c.expected, "…") {
			continue
		}
		var want, got any
		require.NoError(t, json.Unmarshal([]byte(c.expected), &want), "README line %d's answer is not JSON", c.line)
		require.NoError(t, json.Unmarshal(out, &got), "exporter/README.md:%d answered %s", c.line, out)
		require.Equal(t, want, got, "exporter/README.md:%d: the README says the answer is %s", c.line, c.expected)
	}
	require.GreaterOrEqual(t, ran, 3, "the quick start's events and metrics lines and the labels line")
}

func waitHealthy(t *testing.T, url, log string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(url + "/-/healthy"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(log)
			t.Fatalf("aiops_exporter not healthy at %s after 30s; its log:\n%s", url, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestShellCommands(t *testing.T) {
	md := "```sh\ncurl -s x -d '[\n {\"a\":1}]'\n# {\"ok\":1}\n\ncurl y \\\n  -H z\n```\n"
	got := shellCommands(md)
	require.Equal(t, []readmeCommand{
		{line: 2, cmd: "curl -s x -d '[\n {\"a\":1}]'", expected: `{"ok":1}`},
		{line: 6, cmd: "curl y \\\n  -H z"},
	}, got)
}
