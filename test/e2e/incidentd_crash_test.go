package e2e

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite" // the driver incidentd stores with, to read its file afterwards

	"github.com/opscentre/opscentre/test/incidentdtest"
	"github.com/opscentre/opscentre/test/testbin"
)

// incdProcess is the built incidentd binary running on a fixed port.
type incdProcess struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
}

func incdStartBinary(t *testing.T, bin, dir string, port int) *incdProcess {
	t.Helper()
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "incidentd.yml"), "--storage.path="+filepath.Join(dir, "incidentd.db"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--log.level=warn")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	p := &incdProcess{cmd: cmd, logs: &logs}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	incdWaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/-/ready", port), 30*time.Second)
	return p
}

// TestIncidentdCrashSafety kills incidentd with SIGKILL in the middle of a storm of
// notifications from the real Alertmanager, restarts it, lets Alertmanager's retries land,
// and checks that every alert incidentd acknowledged (answered 200 for) is stored, that
// every group has exactly one incident, and that nothing is stored twice.
func TestIncidentdCrashSafety(t *testing.T) {
	bin := testbin.Project(t, "incidentd")
	dir := t.TempDir()
	cfg := "webhook:\n  bearer_token_sha256: [\"" + incidentdtest.SHA("s3cret") + "\"]\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "incidentd.yml"), []byte(cfg), 0o600))
	port := incdFreePort(t)
	target, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", port))

	// A recording proxy between Alertmanager and incidentd: it remembers every alert of
	// every notification incidentd answered 200 for.
	type occ struct {
		fp    string
		start int64
	}
	var mu sync.Mutex
	acked := map[occ]bool{}
	var acks atomic.Int64
	const killAfter = 20
	var victim atomic.Pointer[exec.Cmd]
	killed := make(chan struct{})
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		http.Error(w, err.Error(), http.StatusBadGateway) // Alertmanager retries 5xx
	}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		proxy.ServeHTTP(rec, r)
		if rec.Code == http.StatusOK {
			var m template.Data // Alertmanager's own webhook payload type
			require.NoError(t, json.Unmarshal(body, &m))
			mu.Lock()
			for _, a := range m.Alerts {
				acked[occ{a.Fingerprint, a.StartsAt.UnixNano()}] = true
			}
			mu.Unlock()
			// SIGKILL from inside the proxy, right after the 20th acknowledgement, so the
			// kill lands mid-storm however fast or slow the machine is.
			if acks.Add(1) == killAfter {
				_ = victim.Load().Process.Signal(syscall.SIGKILL)
				close(killed)
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	defer front.Close()

	p := incdStartBinary(t, bin, dir, port)
	victim.Store(p.cmd)
	am := incdStartAM(t, front.URL, "")

	const groups, perGroup = 200, 10
	var alerts []incdAlert
	for g := range groups {
		for f := range perGroup {
			alerts = append(alerts, driftAlert(fmt.Sprintf("storm-%03d", g), fmt.Sprintf("f%d", f)))
		}
	}
	am.post(t, alerts)

	select {
	case <-killed:
	case <-time.After(60 * time.Second):
		t.Fatal("incidentd never acknowledged 20 notifications")
	}
	_ = p.cmd.Wait()
	killedAt := acks.Load()
	mu.Lock()
	ackedBeforeKill := len(acked)
	mu.Unlock()
	t.Logf("killed after %d acknowledged notifications (%d alerts)", killedAt, ackedBeforeKill)
	require.Less(t, killedAt, int64(groups), "the kill must land mid-storm")

	// Everything acknowledged before the kill is on disk, before any retry could add it.
	db, err := openSQLite(filepath.Join(dir, "incidentd.db"))
	require.NoError(t, err)
	stored := incdStoredOccurrences(t, db)
	db.Close()
	mu.Lock()
	for o := range acked {
		require.True(t, stored[o.fp+"@"+fmt.Sprint(o.start)], "acknowledged alert %s lost by the crash", o.fp)
	}
	mu.Unlock()

	incdStartBinary(t, bin, dir, port)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	require.Eventually(t, func() bool {
		incs := incdList(t, base)
		if len(incs) != groups {
			return false
		}
		for _, i := range incs {
			if i.AlertsTotal != perGroup {
				return false
			}
		}
		return true
	}, 90*time.Second, 200*time.Millisecond, "Alertmanager's retries deliver every group")

	db, err = openSQLite(filepath.Join(dir, "incidentd.db"))
	require.NoError(t, err)
	defer db.Close()
	var dupGroups, alertsRows int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM (SELECT group_key FROM incidents GROUP BY group_key HAVING COUNT(*) > 1)`).Scan(&dupGroups))
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM alerts`).Scan(&alertsRows))
	require.Zero(t, dupGroups, "no group has two incidents")
	require.Equal(t, groups*perGroup, alertsRows, "every alert stored exactly once")
	stored = incdStoredOccurrences(t, db)
	mu.Lock()
	defer mu.Unlock()
	for o := range acked {
		require.True(t, stored[o.fp+"@"+fmt.Sprint(o.start)])
	}
}

func incdStoredOccurrences(t *testing.T, db *sql.DB) map[string]bool {
	t.Helper()
	rows, err := db.Query(`SELECT fingerprint, starts_at FROM alerts`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var fp string
		var st int64
		require.NoError(t, rows.Scan(&fp, &st))
		out[fp+"@"+fmt.Sprint(st)] = true
	}
	return out
}

// openSQLite opens incidentd's database file read-only, as any SQLite client would, after
// the process that wrote it is gone.
func openSQLite(path string) (*sql.DB, error) {
	return sql.Open("sqlite", "file:"+path+"?mode=ro")
}
