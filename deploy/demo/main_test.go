package main

import (
	"bufio"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/test/testbin"
)

// A demo whose terminal goes away (SIGHUP) or that is killed outright (SIGKILL) must leave
// none of the servers it started running: they would hold the demo's ports until a reboot.
func TestDemoLeavesNoChildren(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack twice")
	}
	testbin.Prometheus(t, 2)
	testbin.Alertmanager(t)
	binDir := filepath.Dir(testbin.Project(t, "aiops_exporter"))
	testbin.Project(t, "incidentd")
	root := testbin.RepoRoot(t)
	demo := filepath.Join(t.TempDir(), "demo")
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "the test builds the demo with the go command")
	build := exec.Command(goBin, "build", "-o", demo, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building the demo: %s", out)

	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), ".demo")
			cmd := exec.Command(demo, "--root="+root, "--dir="+dir, "--bin="+binDir, "--duration=10m")
			cmd.Env = append(os.Environ(), "OPSCENTRE_INCIDENTD_TOKEN=grafana-token-of-the-test")
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			cmd.Stderr = os.Stderr
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

			// Not a terminal: the demo prints lines, the first of them once every server is up.
			lines := make(chan string, 1000)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			var seen []string
			waitFor := func(prefix string, within time.Duration) {
				t.Helper()
				deadline := time.After(within)
				for {
					select {
					case l, ok := <-lines:
						require.True(t, ok, "demo exited before printing %q:\n%s", prefix, strings.Join(seen, "\n"))
						seen = append(seen, l)
						if strings.HasPrefix(l, prefix) {
							return
						}
					case <-deadline:
						t.Fatalf("no line %q within %s:\n%s", prefix, within, strings.Join(seen, "\n"))
					}
				}
			}
			waitFor("ready:", 2*time.Minute)
			for _, l := range seen {
				require.NotContains(t, l, "\033[", "off a terminal the demo prints lines, not screen redraws")
			}
			kids := children(t, cmd.Process.Pid)
			// A failing run must not leave its servers behind for the next test either.
			t.Cleanup(func() {
				for _, pid := range kids {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			})
			require.Len(t, kids, 4, "incidentd, the exporter, Alertmanager and Prometheus")
			if sig == syscall.SIGHUP {
				checkTokens(t, seen[len(seen)-1], dir, "grafana-token-of-the-test")
			}

			require.NoError(t, cmd.Process.Signal(sig))
			if sig == syscall.SIGHUP {
				// An orderly stop: the demo says so and stops its servers itself.
				waitFor("stopping every process", time.Minute)
			}
			deadline := time.Now().Add(time.Minute)
			for _, pid := range kids {
				for alive(pid) {
					require.True(t, time.Now().Before(deadline), "process %d (%s) outlived the demo killed with %s", pid, comm(pid), sig)
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
}

// checkTokens: the running demo's incidentd refuses anonymous reads; the token files the
// ready line points at are the ones it takes, and the Grafana token is the one the
// environment gave, allowed to act for a Grafana user.
func checkTokens(t *testing.T, ready, dir, grafanaToken string) {
	t.Helper()
	m := regexp.MustCompile(`incidentd (\S+) \(token in (\S+)\)`).FindStringSubmatch(ready)
	require.NotNil(t, m, "the ready line names incidentd and its token file: %s", ready)
	require.Equal(t, filepath.Join(dir, "responder.token"), m[2])
	token := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		return strings.TrimSpace(string(b))
	}
	get := func(path, tok, user string) int {
		req, err := http.NewRequest(http.MethodGet, m[1]+path, nil)
		require.NoError(t, err)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		if user != "" {
			req.Header.Set("X-Grafana-User", user)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusUnauthorized, get("/api/v1/incidents", "", ""), "the demo's API is closed to anonymous readers")
	require.Equal(t, http.StatusUnauthorized, get("/api/v1/containments", "", ""))
	require.Equal(t, http.StatusOK, get("/api/v1/incidents", token("responder.token"), ""))
	require.Equal(t, http.StatusOK, get("/api/v1/containments", token("application.token"), ""))
	require.Equal(t, http.StatusForbidden, get("/api/v1/incidents", token("application.token"), ""))
	require.Equal(t, grafanaToken, token("grafana.token"))
	require.Equal(t, http.StatusOK, get("/api/v1/incidents", grafanaToken, "erin"))
}

// children lists the processes whose parent is pid.
func children(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var kids []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := statFields(p); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			kids = append(kids, p)
		}
	}
	return kids
}

// statFields returns the fields of /proc/pid/stat after the command name: state, ppid, ….
func statFields(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

// alive reports whether pid runs; a zombie (exited, not yet reaped by whoever adopted it)
// does not.
func alive(pid int) bool {
	f := statFields(pid)
	return len(f) > 0 && f[0] != "Z"
}

func comm(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return strings.TrimSpace(string(b))
}

func TestVerdictLine(t *testing.T) {
	require.Equal(t, "RESULT: PASS (6/6 faults → incidents)", verdictLine(6, 6, 6, 0, nil))
	require.Equal(t, "RESULT: FAIL (5/6 faults → incidents; some scripted faults did not produce their incidents)",
		verdictLine(5, 6, 6, 0, errors.New("some scripted faults did not produce their incidents")))
	require.Equal(t, "RESULT: PASS (4/6 faults → incidents, 2 not reached)", verdictLine(4, 4, 6, 0, nil))
	require.Equal(t, "RESULT: FAIL (6/6 faults → incidents, 1 unexpected; unexpected incidents)",
		verdictLine(6, 6, 6, 1, errors.New("unexpected incidents")))
}
