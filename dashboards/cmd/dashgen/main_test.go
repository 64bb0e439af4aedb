package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Run(context.Background(), args, nil, &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestGenerateThenCheck(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, "generate", "-out", dir)
	require.NoError(t, err)
	require.Contains(t, out, filepath.Join(dir, "overview.json"))

	out, err = run(t, "check", "-dir", dir)
	require.NoError(t, err)
	require.Contains(t, out, "6 dashboards in "+dir+" are up to date")

	// A hand edit, a deleted file and a leftover file are all reported.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "overview.json"), []byte("{}\n"), 0o644))
	require.NoError(t, os.Remove(filepath.Join(dir, "incidents.json")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "old.json"), []byte("{}\n"), 0o644))
	_, err = run(t, "check", "-dir", dir)
	require.ErrorContains(t, err, "incidents.json missing")
	require.ErrorContains(t, err, "overview.json differs")
	require.ErrorContains(t, err, "old.json is no longer generated")
}

func TestGenerateWithRules(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join("..", "..", "gen", "testdata", "rules.yml")
	_, err := run(t, "generate", "-out", dir, "-rules", rules)
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(dir, "alert-catalog.json"))
	_, err = run(t, "check", "-dir", dir, "-rules", rules)
	require.NoError(t, err)
	_, err = run(t, "check", "-dir", dir)
	require.ErrorContains(t, err, "alert-catalog.json is no longer generated")

	bad := filepath.Join(t.TempDir(), "bad.yml")
	require.NoError(t, os.WriteFile(bad, []byte("groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: rate(x[5m]\n"), 0o644))
	_, err = run(t, "generate", "-out", dir, "-rules", bad)
	require.ErrorContains(t, err, "bad.yml")
}

// committedRules is DefaultRules seen from this package's directory.
var committedRules = filepath.Join("..", "..", "..", "rules", "generated", "rules", "*.yml")

// TestCommittedDashboardsAreCurrent is the stale check of every committed dashboard,
// the alert catalog included (drawn from rulegen's committed rule files).
func TestCommittedDashboardsAreCurrent(t *testing.T) {
	out, err := run(t, "check", "-dir", filepath.Join("..", "..", "json"), "-rules", committedRules)
	require.NoError(t, err)
	require.Contains(t, out, "7 dashboards")
}

func TestRulesGlobs(t *testing.T) {
	dir := t.TempDir()
	_, err := run(t, "generate", "-out", dir, "-rules", filepath.Join(dir, "nothing-*.yml"))
	require.ErrorContains(t, err, "no rule file matches")

	// The default glob is relative to the repository root, where make generate runs.
	t.Chdir(filepath.Join("..", "..", ".."))
	out, err := run(t, "generate", "-out", dir)
	require.NoError(t, err)
	require.Contains(t, out, filepath.Join(dir, "alert-catalog.json"))
	_, err = run(t, "check", "-dir", filepath.Join("dashboards", "json"))
	require.NoError(t, err)

	// -rules= alone: no catalog.
	out, err = run(t, "generate", "-out", t.TempDir(), "-rules=")
	require.NoError(t, err)
	require.NotContains(t, out, "alert-catalog.json")
}

func TestBadUsage(t *testing.T) {
	_, err := run(t)
	require.EqualError(t, err, "missing command")
	_, err = run(t, "render")
	require.EqualError(t, err, `unknown command "render"`)
	_, err = run(t, "snapshot")
	require.ErrorContains(t, err, "-prometheus is required")
	_, err = run(t, "snapshot", "-prometheus", "http://x", "-var", "model")
	require.ErrorContains(t, err, `-var "model": expected name=regex`)
	_, err = run(t, "snapshot", "-prometheus", "http://x", "-simulate", "1m")
	require.EqualError(t, err, "snapshot: -prometheus and -simulate exclude each other")
	// Nothing is started without the project's binaries.
	empty := t.TempDir()
	_, err = run(t, "snapshot", "-simulate", "1m", "-bin", empty, "-prometheus-bin", "/bin/true", "-alertmanager-bin", "/bin/true")
	require.ErrorContains(t, err, "aiops_exporter not found in "+empty+"; run make build")
}

func TestLint(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "json", "*.json"))
	require.NoError(t, err)
	out, err := run(t, append([]string{"lint"}, files...)...)
	require.NoError(t, err)
	require.Contains(t, out, "7 files pass every rule")

	dir := t.TempDir()
	raw, err := os.ReadFile(filepath.Join("..", "..", "json", "overview.json"))
	require.NoError(t, err)
	broken := filepath.Join(dir, "broken.json")
	require.NoError(t, os.WriteFile(broken, bytes.ReplaceAll(raw, []byte("[$__rate_interval]"), []byte("[5m]")), 0o644))
	typo := filepath.Join(dir, "typo.json")
	require.NoError(t, os.WriteFile(typo, bytes.Replace(raw, []byte(`"title"`), []byte(`"titel"`), 1), 0o644))
	out, err = run(t, "lint", broken, typo)
	require.EqualError(t, err, "lint: 2 of 2 files have problems")
	require.Contains(t, out, broken+": rate-interval: ")
	require.Contains(t, out, "uses [5m]; use [$__rate_interval]")
	require.Contains(t, out, typo+": strict decode: ")

	_, err = run(t, "lint")
	require.ErrorContains(t, err, "no files given")
}
