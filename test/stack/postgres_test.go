package stack

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/test/testbin"
)

// scripts/postgres.sh is how `make test` gets its throwaway PostgreSQL: a port below the
// ephemeral range, reused while it runs, stopped on request; a failed start names its log
// and shows its tail, after a second try.
func TestPostgresScript(t *testing.T) {
	if matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres"); len(matches) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("PostgreSQL is required in CI: apt-get install postgresql")
		}
		t.Skip("PostgreSQL is not installed")
	}
	script := filepath.Join(testbin.RepoRoot(t), "scripts", "postgres.sh")
	data := filepath.Join("/tmp", "opscentre-pgtest-"+strconv.Itoa(os.Getpid()))
	t.Cleanup(func() {
		_ = os.RemoveAll(data)
		_ = os.Remove(data + ".log")
	})
	run := func(env []string, args ...string) (string, string, error) {
		cmd := exec.Command("bash", append([]string{script}, args...)...)
		cmd.Env = append(append(os.Environ(), "OPSCENTRE_PGDATA="+data), env...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	stop := func() {
		_, stderr, err := run(nil, "stop")
		require.NoError(t, err, stderr)
	}
	t.Cleanup(stop)

	// This test's own server, in its own data directory: never the one `make test` runs the
	// other tests against.
	dsn, stderr, err := run(nil)
	require.NoError(t, err, stderr)
	m := regexp.MustCompile(`^postgres://postgres@127\.0\.0\.1:(\d+)/postgres\?sslmode=disable\n$`).FindStringSubmatch(dsn)
	require.NotNil(t, m, "a DSN on loopback: %q", dsn)
	port, _ := strconv.Atoi(m[1])
	if low := ephemeralLow(); low > 0 {
		require.Less(t, port, low, "below the ephemeral range, where no outgoing connection can take it")
	}
	c, err := net.Dial("tcp", "127.0.0.1:"+m[1])
	require.NoError(t, err, "the server listens")
	c.Close()
	again, _, err := run(nil)
	require.NoError(t, err)
	require.Equal(t, dsn, again, "a second call reuses the running server")

	stop()
	_, err = net.Dial("tcp", "127.0.0.1:"+m[1])
	require.Error(t, err, "stopped")

	// A port that is taken: two attempts, each naming the log and showing why.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	taken := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	_, stderr, err = run([]string{"PGPORT=" + taken})
	require.Error(t, err)
	require.Contains(t, stderr, "attempt 2 of 2")
	require.Contains(t, stderr, data+".log")
	require.Contains(t, stderr, "already in use", "the log's tail says why")
}
