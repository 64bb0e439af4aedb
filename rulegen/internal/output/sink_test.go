package output

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		if !d.IsDir() {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			rel, _ := filepath.Rel(dir, p)
			out[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	}))
	return out
}

// TestDirInMemoryAndStaged: whether files are held in memory or staged on disk (a spec whose
// output exceeds the memory bound), the directory ends up the same: new files written, stale
// generated files removed, other files kept, no staging directory left; an aborted run
// changes nothing.
func TestDirInMemoryAndStaged(t *testing.T) {
	files := Files{
		"rules/a.rules.yml": []byte("# " + Header + "\ngroups: []\n"),
		"tests/a.test.yml":  []byte("# " + Header + "\ntests: []\n"),
		"CATALOG.md":        []byte("<!-- " + Header + " -->\n"),
	}
	var trees []map[string]string
	for _, memory := range []int{dirMemory, 10} {
		dir := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "rules"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "rules", "old.rules.yml"), []byte("# "+Header+"\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "rules", "mine.yml"), []byte("hand-written\n"), 0o644))

		d, err := NewDir(dir)
		require.NoError(t, err)
		d.memory = memory
		for _, p := range files.Paths() {
			require.NoError(t, d.File(p, files[p]))
		}
		require.Equal(t, memory == 10, d.stage != "", "staged only past the memory bound")
		d.Abort()
		require.Equal(t, map[string]string{"rules/old.rules.yml": "# " + Header + "\n", "rules/mine.yml": "hand-written\n"}, readTree(t, dir))

		d, err = NewDir(dir)
		require.NoError(t, err)
		d.memory = memory
		for _, p := range files.Paths() {
			require.NoError(t, d.File(p, files[p]))
		}
		require.NoError(t, d.Commit())
		tree := readTree(t, dir)
		for p := range tree {
			require.False(t, strings.Contains(p, stagePrefix), p)
		}
		trees = append(trees, tree)
	}
	require.Equal(t, trees[0], trees[1])
	require.Equal(t, "hand-written\n", trees[0]["rules/mine.yml"])
	require.NotContains(t, trees[0], "rules/old.rules.yml")
	require.Equal(t, string(files["tests/a.test.yml"]), trees[0]["tests/a.test.yml"])
}
