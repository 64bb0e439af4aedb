package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// TestWriterIsolatesFailuresInABatch: writes sharing one commit must not share fate — a
// failing write is undone alone, the others commit, and every caller learns its own result.
func TestWriterIsolatesFailuresInABatch(t *testing.T) {
	ctx := context.Background()
	db, err := OpenDB(filepath.Join(t.TempDir(), "w.db"))
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`CREATE TABLE t (k INTEGER PRIMARY KEY)`)
	require.NoError(t, err)
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	w := NewWriter(conn, 0)

	// Hold the writer inside a first write so the others queue up and share the next batch.
	started, release := make(chan struct{}), make(chan struct{})
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- w.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			close(started)
			<-release
			_, err := tx.ExecContext(ctx, `INSERT INTO t (k) VALUES (0)`)
			return err
		})
	}()
	<-started
	boom := errors.New("boom")
	var wg sync.WaitGroup
	results := make([]error, 30)
	for i := 1; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = w.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO t (k) VALUES (?)`, i); err != nil {
					return err
				}
				if i%3 == 0 {
					return boom // after writing: the savepoint must undo the insert
				}
				return nil
			})
		}()
	}
	close(release)
	wg.Wait()
	require.NoError(t, <-firstDone)
	for i := 1; i < 30; i++ {
		var n int
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM t WHERE k = ?`, i).Scan(&n))
		if i%3 == 0 {
			require.ErrorIs(t, results[i], boom)
			require.Zero(t, n, "failed write %d must leave nothing", i)
		} else {
			require.NoError(t, results[i])
			require.Equal(t, 1, n, "write %d must be committed when its caller returns", i)
		}
	}
	require.NoError(t, w.Close())
	err = w.Write(ctx, func(context.Context, *sql.Tx) error { return nil })
	require.ErrorIs(t, err, store.ErrUnavailable, "writes after Close are transient failures (503)")
}

// TestCheckpointsBesideTheWriter: committed pages reach the database file without waiting
// for the writer's own checkpoint (which only starts at backstopCheckpointPages of WAL), so
// commits do not stall for the copy.
func TestCheckpointsBesideTheWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	s, err := Open(ctx, Options{Path: path, Config: store.DefaultConfig()})
	require.NoError(t, err)
	defer s.Close()
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		return fi.Size()
	}
	raw := rawDB(t, path)
	require.Eventually(t, func() bool { return size(path+"-wal") == 0 || walFrames(t, raw) == 0 }, 5*time.Second, 10*time.Millisecond)
	before := size(path)
	for i := range 5 {
		_, err := s.Ingest(ctx, notification(int64(i)))
		require.NoError(t, err)
	}
	require.Less(t, size(path+"-wal"), int64(backstopCheckpointPages*4096), "below the writer's own checkpoint")
	require.Eventually(t, func() bool { return size(path) > before }, 5*time.Second, 10*time.Millisecond,
		"the background checkpoint copies committed pages into the database file")
}

// walFrames reports how many frames of the WAL are not yet checkpointed.
func walFrames(t *testing.T, db *sql.DB) int {
	var busy, log, done int
	require.NoError(t, db.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done))
	return log - done
}
