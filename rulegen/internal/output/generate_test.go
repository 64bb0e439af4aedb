package output_test

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/rulegen/internal/benchspec"
	"github.com/opscentre/opscentre/rulegen/internal/compile"
	"github.com/opscentre/opscentre/rulegen/internal/output"
	"github.com/opscentre/opscentre/rulegen/spec"
	"github.com/opscentre/opscentre/test/testbin"
)

func generate(t *testing.T, s *spec.Spec) output.Files {
	t.Helper()
	files := output.Files{}
	_, errs, err := output.Generate(s, "spec.yaml", files)
	require.Empty(t, errs)
	require.NoError(t, err)
	return files
}

// TestGenerateIsDeterministic: the output is byte for byte the same on every run and with
// one or two cores, though alerts compile in parallel and finish in any order; and the
// streaming path writes what the in-memory path renders.
func TestGenerateIsDeterministic(t *testing.T) {
	var mixed bytes.Buffer
	require.NoError(t, benchspec.Mixed(&mixed, 2*23+5)) // every kind and preset, twice over
	example, err := os.ReadFile(filepath.Join(testbin.RepoRoot(t), "rules", "spec.yaml"))
	require.NoError(t, err)
	for name, src := range map[string][]byte{"mixed": mixed.Bytes(), "rules/spec.yaml": example} {
		t.Run(name, func(t *testing.T) {
			s, errs := spec.Parse("spec.yaml", src, spec.Options{})
			require.Empty(t, errs.Fatal())
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
			var runs []output.Files
			for _, procs := range []int{1, 2, 1, 2} {
				runtime.GOMAXPROCS(procs)
				runs = append(runs, generate(t, s))
			}
			res, cerrs := compile.Compile(s)
			require.Empty(t, cerrs)
			rendered, err := output.Render(res, "spec.yaml")
			require.NoError(t, err)
			runs = append(runs, rendered)
			require.Greater(t, len(runs[0]), 2*len(s.Alerts))
			for i, r := range runs[1:] {
				require.Equal(t, runs[0].Paths(), r.Paths(), "run %d", i+1)
				for _, p := range runs[0].Paths() {
					require.Equal(t, string(runs[0][p]), string(r[p]), "run %d: %s", i+1, p)
				}
			}
		})
	}
}

// TestGenerateStopsAtErrors: an alert that fails to compile anywhere in the spec means no
// file reaches the sink after it, every error is reported, and a directory being written is
// left as it was.
func TestGenerateStopsAtErrors(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, benchspec.Mixed(&b, 40))
	// Two alerts named so they become the same file name, late in the spec.
	b.WriteString("  - {name: XYz, tier: P1, runbook_url: https://x.example, preset: error_rate}\n")
	b.WriteString("  - {name: Xyz, tier: P1, runbook_url: https://x.example, preset: error_rate}\n")
	s, errs := spec.Parse("spec.yaml", b.Bytes(), spec.Options{})
	require.Empty(t, errs.Fatal())
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o644))
	d, err := output.NewDir(dir)
	require.NoError(t, err)
	_, cerrs, err := output.Generate(s, "spec.yaml", d)
	require.NoError(t, err)
	require.Len(t, cerrs, 1)
	require.Contains(t, cerrs[0].Msg, `both become "xyz"`)
	d.Abort()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the file that was there")
}
