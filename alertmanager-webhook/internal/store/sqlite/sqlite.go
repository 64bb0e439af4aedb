// Package sqlite opens the incident store on an embedded SQLite file (pure Go, no cgo).
//
// The file runs in WAL mode with synchronous=FULL, so a commit is on disk before we answer
// Alertmanager. A commit costs an fsync (about 1.7 ms on the reference machine), which would
// cap a transaction-per-notification design near 600 notifications/s; instead one writer
// goroutine takes every pending write, runs them in one transaction and commits them
// together (group commit); a write that fails is rolled back with the transaction and the
// others run again without it. Each caller still returns only after the commit that
// contains its write.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	sqlite "modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Dialect is SQLite's SQL flavour: ? placeholders, no row locks (one writer).
var Dialect = store.Dialect{Name: "sqlite", CachePrepared: true, SingleWriter: true, Corrupt: Corrupt}

// Corrupt reports whether err is SQLite saying the file is damaged or not a database.
func Corrupt(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code() & 0xff // the primary code of an extended one
	return code == sqlite3.SQLITE_CORRUPT || code == sqlite3.SQLITE_NOTADB
}

// Migrations returns the embedded schema migrations.
func Migrations() ([]store.Migration, error) { return store.LoadMigrations(migrationsFS, "migrations") }

// Options configure the SQLite store.
type Options struct {
	Path    string
	Config  store.Config
	Now     func() time.Time
	Observe func(op string, d time.Duration)
	// MaxBatch bounds how many writes share one commit (default 256).
	MaxBatch int
	// IntegrityCheckTimeout bounds the integrity check (PRAGMA quick_check) of an existing
	// file at open: zero means DefaultIntegrityCheckTimeout, negative skips the check. A
	// check still running then is abandoned with a warning rather than holding up a
	// restart — on a large file it reads every page.
	IntegrityCheckTimeout time.Duration
	// Logger receives the outcome of the integrity check; nil discards it.
	Logger *slog.Logger
}

// DefaultIntegrityCheckTimeout is enough for a quick_check of about a gigabyte on a
// common disk (it reads the whole file once).
const DefaultIntegrityCheckTimeout = 30 * time.Second

// OpenDB opens the file with the pragmas the store relies on, without migrating.
func OpenDB(path string) (*sql.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create storage directory: %w", err)
		}
	}
	// Commit with fdatasync, as SQLite does in every Linux distribution's build: it syncs
	// the data and the size needed to read it back, skipping only the timestamps, whose
	// journal write can be half of an fsync. The transpiled library defaults to fsync and
	// makes this a process-wide switch; where it is unavailable commits keep using fsync.
	_, _ = sqlite.Fdatasync(true)
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(5000)")
	// Ingest guesses under a savepoint (store.ingestTx.group), and multi-row statements keep a
	// statement journal; in memory these cost no syscalls (neither is needed after a crash:
	// the WAL holds nothing of an uncommitted transaction).
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "cache_size(-16384)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// Open opens (creating if needed) and migrates the store at o.Path. An existing file is
// checked first (checkIntegrity); an empty one is refused rather than silently turned
// into a new database, which would hide the loss of every incident.
func Open(ctx context.Context, o Options) (*store.DB, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	existing := false
	switch fi, err := os.Stat(o.Path); {
	case err == nil && fi.Mode().IsRegular() && fi.Size() == 0:
		return nil, fmt.Errorf("%s is an empty (zero-byte) file, not a database incidentd wrote (a failed copy or restore, a full disk?): "+
			"refusing to start a new database in its place; restore the backup, or move the file away to start with no incidents", o.Path)
	case err == nil:
		existing = true
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("storage path: %w", err)
	}
	db, err := OpenDB(o.Path)
	if err != nil {
		return nil, err
	}
	if existing {
		if err := checkIntegrity(ctx, db, o); err != nil {
			db.Close()
			return nil, err
		}
	}
	ms, err := Migrations()
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := store.Migrate(ctx, db, Dialect, ms, -1); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", o.Path, err)
	}
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		db.Close()
		return nil, fmt.Errorf("%s: journal_mode is %q, need wal (is the file on a filesystem that supports it?): %v", o.Path, mode, err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("writer connection: %w", err)
	}
	// Checkpoints run beside the writer rather than inside its commits (see checkpoints);
	// the writer's own automatic checkpoint stays as a bound on the WAL, and is then cheap:
	// the pages it would copy have mostly been copied.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA wal_autocheckpoint = %d`, backstopCheckpointPages)); err != nil {
		conn.Close()
		db.Close()
		return nil, fmt.Errorf("writer connection: %w", err)
	}
	w := NewWriter(conn, o.MaxBatch)
	ck, err := db.Conn(ctx)
	if err != nil {
		w.Close()
		db.Close()
		return nil, fmt.Errorf("checkpoint connection: %w", err)
	}
	w.checkpoints(ck, checkpointInterval)
	return store.New(store.Options{DB: db, Dialect: Dialect, Writer: w, Config: o.Config, Now: o.Now, Observe: o.Observe}), nil
}

// checkIntegrity runs PRAGMA quick_check (the b-tree structure of every page; not the
// slower cross-check of indexes against tables that integrity_check adds) within
// o.IntegrityCheckTimeout, and refuses a damaged file: written on, it would lose or
// garble more. A check that runs out of time is abandoned with a warning.
func checkIntegrity(ctx context.Context, db *sql.DB, o Options) error {
	timeout := o.IntegrityCheckTimeout
	if timeout < 0 {
		return nil
	}
	if timeout == 0 {
		timeout = DefaultIntegrityCheckTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	var problems []string
	rows, err := db.QueryContext(cctx, `PRAGMA quick_check(10)`)
	if err == nil {
		for rows.Next() {
			var p string
			if err = rows.Scan(&p); err != nil {
				break
			}
			problems = append(problems, p)
		}
		if err == nil {
			err = rows.Err()
		}
		rows.Close()
	}
	if cctx.Err() != nil && ctx.Err() == nil {
		o.Logger.Warn("integrity check of the database did not finish in time and was skipped; run `sqlite3 FILE 'PRAGMA quick_check'` with incidentd stopped, or raise --storage.integrity-check-timeout",
			"path", o.Path, "timeout", timeout)
		return nil
	}
	damaged := func(what string) error {
		return fmt.Errorf("%s is damaged (%s): refusing to write into it; restore the latest backup, or recover what is readable with `sqlite3 %s .recover` (deploy/README.md, Backups)",
			o.Path, what, o.Path)
	}
	switch {
	case err != nil && Corrupt(err):
		return damaged(err.Error())
	case err != nil:
		return fmt.Errorf("integrity check of %s: %w", o.Path, err)
	case len(problems) != 1 || problems[0] != "ok":
		return damaged("PRAGMA quick_check: " + strings.Join(problems, "; "))
	}
	o.Logger.Info("integrity check passed", "path", o.Path, "duration", time.Since(start))
	return nil
}

// ErrClosed is returned for writes after Close began; it wraps store.ErrUnavailable so
// the webhook answers 503 and Alertmanager retries against the next process.
var ErrClosed = fmt.Errorf("%w: shutting down", store.ErrUnavailable)

// Writer is the group-commit writer over one dedicated connection.
type Writer struct {
	conn     *sql.Conn
	maxBatch int
	reqs     chan *request
	closing  chan struct{}
	done     chan struct{}
	// ctx is what the batch's statements run under. It is never cancelled: a batch is
	// short and must finish (Close waits for it), and a context without a Done channel
	// spares the driver a watcher goroutine and two progress-handler calls per statement,
	// which cost more than many of the statements themselves.
	ctx context.Context
	// ckptDone is closed when the checkpoint goroutine, if any, has stopped.
	ckptDone chan struct{}
}

// checkpointInterval and backstopCheckpointPages: at 1,000 notifications/s the WAL grows
// by some 10,000 pages a second. A checkpoint copies each page once however often it
// changed since the last one, so a checkpoint a second writes a third of the pages one every
// 100 ms did (measured: 66 % fewer writes to the database file, 7 % less CPU), for a WAL of
// up to 20,000 pages (80 MB). Past that the writer checkpoints itself, and then restarts the
// WAL from its beginning, which a checkpoint racing its commits seldom allows.
const (
	checkpointInterval      = time.Second
	backstopCheckpointPages = 20000
)

// checkpoints copies the WAL into the database file every interval on conn, until Close.
// Left to SQLite, the commit that takes the WAL past 1,000 pages checkpoints on the writer:
// every notification waiting for the next commit would wait for the copy and an extra
// fsync too, which shows in the p99. A PASSIVE checkpoint waits for no reader or writer; a
// failed one only leaves more for the next.
func (w *Writer) checkpoints(conn *sql.Conn, interval time.Duration) {
	w.ckptDone = make(chan struct{})
	go func() {
		defer close(w.ckptDone)
		defer conn.Close()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-w.closing:
				return
			case <-t.C:
				_, _ = conn.ExecContext(w.ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
			}
		}
	}()
}

type request struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	errc chan error
}

// NewWriter starts the writer goroutine on conn.
func NewWriter(conn *sql.Conn, maxBatch int) *Writer {
	if maxBatch <= 0 {
		maxBatch = 256
	}
	w := &Writer{conn: conn, maxBatch: maxBatch, reqs: make(chan *request), closing: make(chan struct{}),
		done: make(chan struct{}), ctx: context.Background()}
	go w.loop()
	return w
}

// Write queues fn for the next batch and waits for that batch's commit.
func (w *Writer) Write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	r := &request{ctx: ctx, fn: fn, errc: make(chan error, 1)}
	select {
	case w.reqs <- r:
	case <-w.closing:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", store.ErrUnavailable, ctx.Err())
	}
	// Once queued, wait for the outcome even if the caller gave up: the batch may commit it.
	return <-r.errc
}

func (w *Writer) loop() {
	defer close(w.done)
	for {
		var first *request
		select {
		case first = <-w.reqs:
		case <-w.closing:
			return
		}
		batch := []*request{first}
		// Whatever queued up while the previous commit was syncing shares this one. Then,
		// as long as that brings more, let the goroutines preparing writes run first: a
		// write joining this batch saves a commit, whose fsync costs more CPU than most
		// writes do.
		for yields := 0; ; yields++ {
			n := len(batch)
		collect:
			for len(batch) < w.maxBatch {
				select {
				case r := <-w.reqs:
					batch = append(batch, r)
				default:
					break collect
				}
			}
			if len(batch) == n && yields > 0 || len(batch) >= w.maxBatch || yields == 3 {
				break
			}
			runtime.Gosched()
		}
		w.run(batch)
	}
}

func (w *Writer) run(batch []*request) {
	errs := make([]error, len(batch))
	live := make([]bool, len(batch)) // still to be committed
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		} else {
			live[i] = true
		}
	}
	// A write that fails takes the transaction down with it, and the batch runs again
	// without it. Writers may run several times (store.Writer says so), failures are
	// rare, and a savepoint around every write would cost three statements on every write
	// to save work only on those rare failures. Each pass drops at least one write, so
	// this ends.
	for w.attempt(batch, live, errs) {
	}
	for i, r := range batch {
		r.errc <- errs[i]
	}
}

// attempt runs the live writes of batch in one transaction and commits it. It reports
// whether a write failed, which leaves the transaction rolled back and the write dropped
// from live with its error; otherwise every live write has its outcome in errs.
func (w *Writer) attempt(batch []*request, live []bool, errs []error) (again bool) {
	failAll := func(err error) {
		for i := range batch {
			if live[i] {
				errs[i], live[i] = err, false
			}
		}
	}
	if !slices.Contains(live, true) {
		return false
	}
	tx, err := w.conn.BeginTx(w.ctx, nil)
	if err != nil {
		failAll(fmt.Errorf("%w: begin: %w", store.ErrUnavailable, err))
		return false
	}
	for i, r := range batch {
		if !live[i] {
			continue
		}
		if err := r.fn(w.ctx, tx); err != nil {
			errs[i], live[i] = err, false
			if rerr := tx.Rollback(); rerr != nil {
				failAll(fmt.Errorf("%w: rollback: %w", store.ErrUnavailable, rerr))
				return false
			}
			return true
		}
	}
	if err := tx.Commit(); err != nil {
		failAll(fmt.Errorf("%w: commit: %w", store.ErrUnavailable, err))
		return false
	}
	for i := range batch {
		if live[i] {
			errs[i], live[i] = nil, false
		}
	}
	return false
}

// Close stops accepting writes, finishes the batch in progress and releases the connection.
func (w *Writer) Close() error {
	select {
	case <-w.closing:
		return nil
	default:
	}
	close(w.closing)
	<-w.done
	if w.ckptDone != nil {
		<-w.ckptDone
	}
	err := w.conn.Close()
	if errors.Is(err, sql.ErrConnDone) {
		err = nil
	}
	return err
}
