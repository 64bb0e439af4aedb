// Package testbin finds the real external programs the tests run against — the project's own
// binaries, Prometheus 2 and 3, promtool, Alertmanager — and the test PostgreSQL server.
//
// A test that needs one calls the matching function: outside CI a missing program skips the
// test with the command that installs it; with CI=true it fails, so CI can never pass by
// silently testing nothing.
package testbin

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("testbin: cannot locate source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// missing skips (or, in CI, fails) the test for a program that is not installed.
func missing(tb testing.TB, what, install string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s is required in CI but missing; install it with: %s", what, install)
	}
	tb.Skipf("%s not found; install it with: %s", what, install)
}

func lookPath(names ...string) string {
	for _, n := range names {
		if n == "" {
			continue
		}
		if filepath.IsAbs(n) {
			if st, err := os.Stat(n); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return n
			}
			continue
		}
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// Project returns the path of one of the project's binaries (aiops_exporter, incidentd,
// rulegen, aiops-sim, …), built by `make build` into bin/ (or $OPSCENTRE_BIN_DIR).
func Project(tb testing.TB, name string) string {
	tb.Helper()
	dir := os.Getenv("OPSCENTRE_BIN_DIR")
	if dir == "" {
		dir = filepath.Join(RepoRoot(tb), "bin")
	}
	p := lookPath(filepath.Join(dir, name))
	if p == "" {
		missing(tb, name+" in "+dir, "make build")
	}
	return p
}

func prom3Dir(tb testing.TB) string {
	if d := os.Getenv("OPSCENTRE_PROM3_DIR"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(tb), ".tools", "prometheus-v3")
}

// Prometheus returns the Prometheus server binary of the given major version (2: Debian's
// package, 3: built into .tools/prometheus-v3 by scripts/tools.sh).
func Prometheus(tb testing.TB, major int) string {
	tb.Helper()
	return promBinary(tb, "prometheus", major)
}

// Promtool returns the promtool binary of the given major version.
func Promtool(tb testing.TB, major int) string {
	tb.Helper()
	return promBinary(tb, "promtool", major)
}

func promBinary(tb testing.TB, name string, major int) string {
	tb.Helper()
	var p string
	switch major {
	case 2:
		p = lookPath(os.Getenv("OPSCENTRE_"+envName(name)+"2"), "/usr/bin/"+name)
		if p == "" {
			missing(tb, name+" 2 (Debian package prometheus)", "apt-get install prometheus")
		}
	case 3:
		p = lookPath(os.Getenv("OPSCENTRE_"+envName(name)+"3"), filepath.Join(prom3Dir(tb), name))
		if p == "" {
			missing(tb, name+" 3", "scripts/tools.sh")
		}
	default:
		tb.Fatalf("testbin: no Prometheus major version %d", major)
	}
	return p
}

func envName(name string) string {
	if name == "promtool" {
		return "PROMTOOL"
	}
	return "PROMETHEUS"
}

// Alertmanager returns Debian's prometheus-alertmanager (0.25) binary.
func Alertmanager(tb testing.TB) string {
	tb.Helper()
	p := lookPath(os.Getenv("OPSCENTRE_ALERTMANAGER"), "prometheus-alertmanager", "alertmanager")
	if p == "" {
		missing(tb, "prometheus-alertmanager", "apt-get install prometheus-alertmanager")
	}
	return p
}

// Amtool returns the amtool binary shipped with Alertmanager.
func Amtool(tb testing.TB) string {
	tb.Helper()
	p := lookPath(os.Getenv("OPSCENTRE_AMTOOL"), "amtool")
	if p == "" {
		missing(tb, "amtool", "apt-get install prometheus-alertmanager")
	}
	return p
}

// PostgresDSN returns the DSN of the test PostgreSQL server (a database the tests may create
// other databases from), from $OPSCENTRE_TEST_POSTGRES_DSN, which scripts/test.sh sets after
// starting one with scripts/postgres.sh.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("OPSCENTRE_TEST_POSTGRES_DSN")
	if dsn == "" {
		missing(tb, "PostgreSQL ($OPSCENTRE_TEST_POSTGRES_DSN)", "apt-get install postgresql && export OPSCENTRE_TEST_POSTGRES_DSN=$(scripts/postgres.sh)")
	}
	return dsn
}

// PostgresDatabase creates a database with a random name on the test PostgreSQL server,
// drops it (closing its connections) when the test ends, and returns its DSN: every test
// gets a fresh, empty database.
func PostgresDatabase(tb testing.TB) string {
	tb.Helper()
	admin := PostgresDSN(tb)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "opscentre_test_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		tb.Fatalf("testbin: connecting to %s: %v", admin, err)
	}
	if _, err := db.Exec(`CREATE DATABASE ` + name); err != nil {
		db.Close()
		tb.Fatalf("testbin: creating database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		defer db.Close()
		if _, err := db.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`); err != nil {
			tb.Errorf("testbin: dropping database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("testbin: parsing %s: %v", admin, err)
	}
	u.Path = "/" + name
	return u.String()
}
