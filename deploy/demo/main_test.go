package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
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
			cmd := exec.Command(demo, "--root="+root, "--dir="+filepath.Join(t.TempDir(), ".demo"), "--bin="+binDir, "--duration=10m")
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
