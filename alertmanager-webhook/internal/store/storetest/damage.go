package storetest

import (
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// Damage overwrites a tenth of a database file's 4 KiB pages, from its middle on, with
// noise, as a failing disk or a careless copy do.
func Damage(t testing.TB, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	fi, err := f.Stat()
	require.NoError(t, err)
	const page = 4096
	pages := fi.Size() / page
	require.Greater(t, pages, int64(40), "a file large enough to damage in the middle")
	noise := make([]byte, page)
	r := rand.New(rand.NewPCG(1, 2))
	for p := pages / 2; p < pages/2+pages/10; p++ {
		for i := range noise {
			noise[i] = byte(r.Uint32())
		}
		_, err := f.WriteAt(noise, p*page)
		require.NoError(t, err)
	}
	require.NoError(t, f.Sync())
}
