package app_test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/test/testbin"
)

// The binary on a truncated state file exits 1 with a message naming the file and the way
// out: no SIGBUS, no panic, no runtime stack, and the file is left as it was.
func TestBinaryRefusesTruncatedState(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	e := startExporter(t, "--storage.path="+data)
	var body strings.Builder
	for i := range 300 {
		fmt.Fprintf(&body, `{"model":"m%d","features":{"f%d":"v%d"},"id":"x%d","prediction":"p"}`+"\n", i%50, i, i, i)
	}
	status, _ := e.post(t, []byte(body.String()), map[string]string{"Content-Type": "application/x-ndjson"})
	require.Equal(t, http.StatusOK, status)
	e.stop(t)

	path := filepath.Join(data, "aiops_exporter.db")
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(path, info.Size()/2))

	cmd := exec.Command(testbin.Project(t, "aiops_exporter"), "--web.listen-address=127.0.0.1:0", "--storage.path="+data)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "%s", out)
	require.Equal(t, 1, exit.ExitCode(), "%s", out)
	require.Contains(t, string(out), "state file is damaged")
	require.Contains(t, string(out), "move it aside")
	require.NotContains(t, string(out), "goroutine ")
	require.NotContains(t, string(out), "SIGBUS")
	after, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, info.Size()/2, after.Size())
}
