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

func TestCommittedDashboardsAreCurrent(t *testing.T) {
	_, err := run(t, "check", "-dir", filepath.Join("..", "..", "json"))
	require.NoError(t, err)
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
}
