package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/storetest"
)

// SeedDamaged writes a database of n incidents at path, checkpointed into the file, then
// overwrites pages in the middle of it with noise, as a failing disk or a careless copy do.
func SeedDamaged(t testing.TB, path string, n int) {
	t.Helper()
	SeedFile(t, path, n)
	storetest.Damage(t, path)
}

// SeedFile writes a database of n incidents at path, everything checkpointed into the
// file and the WAL emptied.
func SeedFile(t testing.TB, path string, n int) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, Options{Path: path, Config: store.DefaultConfig()}) // creates and migrates
	require.NoError(t, err)
	require.NoError(t, s.Close())
	raw := rawDB(t, path)
	require.NoError(t, storetest.Seed(ctx, raw, Dialect, n))
	_, err = raw.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	require.NoError(t, err)
	require.NoError(t, raw.Close())
}

// rawDB opens a plain connection to the store's file, behind the store, closed with tb.
func rawDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := OpenDB(path)
	require.NoError(tb, err)
	tb.Cleanup(func() { db.Close() })
	return db
}

func fileHash(t *testing.T, path string) [32]byte {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(b)
}

// A file with pages overwritten mid-file used to be opened, reported ready and written
// into; it is refused at open, untouched, with what to do.
func TestDamagedFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "incidentd.db")
	SeedDamaged(t, path, 3000)
	before := fileHash(t, path)
	_, err := Open(context.Background(), Options{Path: path, Config: store.DefaultConfig()})
	require.ErrorContains(t, err, "is damaged")
	require.ErrorContains(t, err, "restore the latest backup")
	require.Equal(t, before, fileHash(t, path), "nothing written into the damaged file")

	// The check is bounded in time: one that cannot finish is skipped, loudly.
	var logs bytes.Buffer
	s, err := Open(context.Background(), Options{Path: path, Config: store.DefaultConfig(), IntegrityCheckTimeout: 1,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.Contains(t, logs.String(), "did not finish in time")
}

// A healthy file passes the check, and says so.
func TestIntegrityCheckPasses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "incidentd.db")
	SeedFile(t, path, 3000)
	var logs bytes.Buffer
	s, err := Open(context.Background(), Options{Path: path, Config: store.DefaultConfig(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	require.NoError(t, s.Health())
	require.NoError(t, s.Close())
	require.Contains(t, logs.String(), "integrity check passed")
}

// A zero-byte file (a failed copy, a full disk) used to become a new, empty database, and
// every incident was silently gone; it is refused and left as it is.
func TestZeroByteFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "incidentd.db")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	_, err := Open(context.Background(), Options{Path: path, Config: store.DefaultConfig()})
	require.ErrorContains(t, err, "empty (zero-byte) file")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Zero(t, fi.Size())
}

// Damage found while serving marks the store damaged for good: writes are refused with
// ErrDamaged (the webhook's 503) and Health fails, until a restart checks the file again.
func TestDamageFoundWhileServing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "incidentd.db")
	SeedFile(t, path, 3000)
	s, err := Open(ctx, Options{Path: path, Config: store.DefaultConfig()})
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Health())
	storetest.Damage(t, path)
	// Every page is read from the file: nothing was read since the open but the check,
	// on a connection the pool may not hand out again, so scan on all of them.
	var lastErr error
	for range 8 {
		if _, _, lastErr = s.DurationBuckets(ctx, "ack", []float64{60}); lastErr != nil {
			break
		}
		if _, lastErr = s.Stats(ctx, storetest.SeedStart, storetest.SeedStart.AddDate(1, 0, 0)); lastErr != nil {
			break
		}
	}
	require.Error(t, lastErr, "reading the damaged pages fails")
	require.ErrorIs(t, s.Health(), store.ErrDamaged)
	require.ErrorIs(t, s.Ping(ctx), store.ErrDamaged)
	_, err = s.Ingest(ctx, storetest.Msg("g", storetest.A{FP: "a", Labels: map[string]string{"alertname": "X"}}))
	require.ErrorIs(t, err, store.ErrDamaged)
	require.ErrorIs(t, err, store.ErrUnavailable, "the webhook answers 503: Alertmanager retries")
}

// BenchmarkIntegrityCheck100k: the check incidentd runs at start on a file of 100,000
// incidents, beside reading the same file once (a floor: quick_check reads every page),
// so the ratio says what the 30 s default bound covers on any disk.
func BenchmarkIntegrityCheck100k(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "incidentd.db")
	SeedFile(b, path, 100000)
	fi, err := os.Stat(path)
	require.NoError(b, err)
	b.Logf("file: %.1f MB", float64(fi.Size())/1e6)
	db, err := OpenDB(path)
	require.NoError(b, err)
	defer db.Close()
	o := Options{Path: path, Logger: slog.New(slog.DiscardHandler)}
	b.Run("quick_check", func(b *testing.B) {
		b.SetBytes(fi.Size())
		for b.Loop() {
			require.NoError(b, checkIntegrity(ctx, db, o))
		}
	})
	b.Run("read-file", func(b *testing.B) {
		b.SetBytes(fi.Size())
		for b.Loop() {
			_, err := os.ReadFile(path)
			require.NoError(b, err)
		}
	})
}
