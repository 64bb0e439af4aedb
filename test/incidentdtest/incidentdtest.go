// Package incidentdtest runs the real incidentd in-process for tests of its clients (the
// Go client's containment watcher, the Grafana plugin, the end-to-end tests): the app
// package itself, on a loopback listener, with a configuration file and a SQLite store in
// the test's temporary directory.
package incidentdtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/app"
)

// SHA is the token_sha256 incidentd's configuration holds for a bearer token.
func SHA(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Start runs incidentd with config (incidentd.yml's content) until the test ends, waits
// until it is ready, and returns its base URL. The test fails if incidentd does not stop
// cleanly.
func Start(t testing.TB, config string) string { return StartWith(t, config, nil) }

// StartWith is Start with configure changing the options first (a PostgreSQL DSN instead
// of the SQLite file, the escalation worker's interval, …).
func StartWith(t testing.TB, config string, configure func(*app.Options)) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "incidentd.yml"), []byte(config), 0o600))
	_, err := app.CheckConfig(filepath.Join(dir, "incidentd.yml")) // fail on its error, not a timeout
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	o := app.DefaultOptions()
	o.ConfigFile, o.StoragePath, o.Listener = filepath.Join(dir, "incidentd.yml"), filepath.Join(dir, "incidentd.db"), l
	if configure != nil {
		configure(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, o) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	url := "http://" + l.Addr().String()
	// Generous: a replica on a shared PostgreSQL migrates and checks it before it is ready.
	require.Eventually(t, func() bool {
		r, err := http.Get(url + "/-/ready")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond, "incidentd ready")
	return url
}
