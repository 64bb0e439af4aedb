package store

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// savedStore writes a state with some data and returns the file's path and size.
func savedStore(t *testing.T, dir string) (string, int64) {
	t.Helper()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	st := state.New(config.Default(), state.Options{Now: func() time.Time { return now }})
	for i := range 60 {
		v, _ := st.Resolve(fmt.Appendf(nil, "model-%d", i), []byte("v1"))
		v.Apply(&state.Event{Time: now, Outcome: 0, Feedback: -1, HasLatency: true, Latency: 0.2,
			Features: []state.FeatureValue{{Name: fmt.Appendf(nil, "f%d", i), Type: config.Categorical, Str: []byte("red")}}}, nil)
	}
	snap, err := st.Snapshot()
	require.NoError(t, err)
	s, err := Open(dir)
	require.NoError(t, err)
	require.NoError(t, s.Save(snap))
	require.NoError(t, s.Close())
	path := filepath.Join(dir, FileName)
	info, err := os.Stat(path)
	require.NoError(t, err)
	return path, info.Size()
}

// A truncated state file is refused with an error naming it and the way out, never a
// crash (bbolt maps the file: reading past its end raises SIGBUS, which would kill this
// test binary), and the file is left as it was. Cutting only pages past the last
// transaction's (bbolt grows the file ahead) loses nothing: that file still loads whole.
func TestTruncatedFileRefused(t *testing.T) {
	dir := t.TempDir()
	path, size := savedStore(t, dir)
	require.NoError(t, os.Truncate(path, size-4096))
	s, err := Open(dir)
	require.NoError(t, err)
	snap, err := s.Load()
	require.NoError(t, err)
	require.Len(t, snap.Versions, 60)
	require.NoError(t, s.Close())

	for _, cut := range []func(size int64) int64{
		func(size int64) int64 { return size / 2 },
		func(int64) int64 { return 4 * 4096 },
		func(int64) int64 { return 2 * 4096 },
		func(int64) int64 { return 5000 },
	} {
		dir := t.TempDir()
		path, size := savedStore(t, dir)
		to := cut(size)
		require.NoError(t, os.Truncate(path, to))
		s, err := Open(dir)
		if err == nil {
			_, err = s.Load()
			s.Close()
		}
		require.ErrorIs(t, err, ErrDamaged, "truncated from %d to %d bytes", size, to)
		require.ErrorContains(t, err, path)
		require.ErrorContains(t, err, "move it aside")
		info, serr := os.Stat(path)
		require.NoError(t, serr)
		require.Equal(t, to, info.Size(), "the damaged file is left for the operator")
	}
}

// Overwritten pages (zeros in the middle of the file) are refused as well.
func TestOverwrittenPagesRefused(t *testing.T) {
	dir := t.TempDir()
	path, size := savedStore(t, dir)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(make([]byte, size-4*4096), 2*4096)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	s, err := Open(dir)
	if err == nil {
		_, err = s.Load()
		s.Close()
	}
	require.ErrorIs(t, err, ErrDamaged)
}
