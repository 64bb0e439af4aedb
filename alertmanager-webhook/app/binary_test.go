package app_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/opscentre/opscentre/test/testbin"
)

// incidentd is a running incidentd binary.
type incidentd struct {
	cmd *exec.Cmd
	url string
	mu  sync.Mutex
	log []string
}

var listenRE = regexp.MustCompile(`msg="Listening on" address=(\S+)`)

// startBinary starts the built incidentd with args (cmd.ExtraFiles become fds 3…), and
// waits until it says where it listens.
func startBinary(t *testing.T, extra []*os.File, env []string, args ...string) *incidentd {
	t.Helper()
	bin := testbin.Project(t, "incidentd")
	// systemd names the activated process in LISTEN_PID: the shell execs incidentd, so its
	// pid is incidentd's.
	cmd := exec.Command("/bin/sh", append([]string{"-c", `export LISTEN_PID=$$; exec "$0" "$@"`, bin, "--log.level=debug"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.ExtraFiles = extra
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &incidentd{cmd: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		p.mu.Lock()
		defer p.mu.Unlock()
		if t.Failed() {
			t.Log("incidentd log:\n" + strings.Join(p.log, "\n"))
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log = append(p.log, sc.Text())
			p.mu.Unlock()
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		p.url = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("incidentd did not say where it listens within 30s")
	}
	return p
}

func (p *incidentd) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n")
}

// get answers a GET with a short timeout: a socket nobody serves is a timeout, not a hang.
func get(t *testing.T, url string, auth ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	require.NoError(t, err)
	if len(auth) == 2 {
		req.SetBasicAuth(auth[0], auth[1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// With --web.systemd-socket incidentd serves the socket systemd hands it (fd 3) and opens
// no port of its own (the flag used to be parsed and ignored: incidentd listened on
// --web.listen-address and nobody answered on the socket).
func TestIncidentdBinarySystemdSocket(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f, err := l.(*net.TCPListener).File()
	require.NoError(t, err)
	socket := l.Addr().String()
	require.NoError(t, l.Close()) // the child's copy (f) stays open
	t.Cleanup(func() { f.Close() })
	// A port of its own that incidentd must not open.
	own, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := own.Addr().String()
	require.NoError(t, own.Close())

	dir := t.TempDir()
	p := startBinary(t, []*os.File{f}, []string{"LISTEN_FDS=1"}, "--web.systemd-socket", "--web.listen-address="+port,
		"--storage.path="+filepath.Join(dir, "incidentd.db"))
	require.Equal(t, "http://"+socket, p.url, "serves the activated socket")
	code, body := get(t, p.url+"/-/ready")
	require.Equal(t, http.StatusOK, code, body)
	code, body = get(t, p.url+"/api/v1/incidents")
	require.Equal(t, http.StatusOK, code, body)
	_, err = net.DialTimeout("tcp", port, time.Second)
	require.Error(t, err, "listens on --web.listen-address despite --web.systemd-socket")
	require.Contains(t, p.logs(), "systemd activated listeners")
}

// --web.systemd-socket without a socket from systemd is an error that says so.
func TestIncidentdBinarySystemdSocketMissing(t *testing.T) {
	bin := testbin.Project(t, "incidentd")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--web.systemd-socket", "--web.listen-address=127.0.0.1:0", "--storage.path="+filepath.Join(t.TempDir(), "incidentd.db"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, ctx.Err(), "still serving: --web.systemd-socket was ignored")
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, string(out))
	require.Equal(t, 1, exit.ExitCode())
	require.Contains(t, string(out), "no socket activation file descriptors found")
}

// --web.config.file is exporter-toolkit's: basic auth guards every endpoint; the
// connection limit and SIGHUP reload still apply.
func TestIncidentdBinaryWebConfigAndReload(t *testing.T) {
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	require.NoError(t, err)
	webCfg := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(webCfg, []byte("basic_auth_users:\n  ops: "+string(hash)+"\n"), 0o600))
	cfg := filepath.Join(dir, "incidentd.yml")
	require.NoError(t, os.WriteFile(cfg, []byte("oncall: {teams: [{name: alpha}]}\n"), 0o600))
	p := startBinary(t, nil, nil, "--web.listen-address=127.0.0.1:0", "--web.config.file="+webCfg, "--config.file="+cfg,
		"--storage.path="+filepath.Join(dir, "incidentd.db"))
	code, _ := get(t, p.url+"/-/ready")
	require.Equal(t, http.StatusUnauthorized, code)
	code, body := get(t, p.url+"/api/v1/oncall", "ops", "s3cret")
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"team":"alpha"`)

	require.NoError(t, os.WriteFile(cfg, []byte("oncall: {teams: [{name: beta}]}\n"), 0o600))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool {
		_, body := get(t, p.url+"/api/v1/oncall", "ops", "s3cret")
		return strings.Contains(body, `"team":"beta"`)
	}, 10*time.Second, 50*time.Millisecond, "SIGHUP reloads the configuration")
	require.Contains(t, p.logs(), "max_connections=512")
}
