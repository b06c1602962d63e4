// Package sqlite is the embedded store backend: SQLite through the pure-Go
// github.com/ncruces/go-sqlite3 driver (no cgo), in WAL mode. It is the only
// package that imports an SQLite driver.
//
// The SQL, the scanning and the migrations are sqlstore's; this package holds
// what only SQLite needs: its dialect, the connections and PRAGMAs, the group
// commit, the WAL checkpoints, the integrity check and the file modes. Writes go
// through one connection (SQLite has one writer; queueing in Go is cheaper than
// busy retries) and reads through a small pool.
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	// Registers the "sqlite3" database/sql driver. v0.37.0 carries its wasm SQLite
	// build itself (importing .../embed too only prints a warning).
	_ "github.com/ncruces/go-sqlite3/driver"

	"github.com/ncruces/go-sqlite3"

	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/sqlstore"
	"github.com/exechunt/exechunt/orchestrator/tick"
)

// Options tune the backend; the zero value is usable.
type Options struct {
	// ReadConns is the size of the read pool (default 4).
	ReadConns int
	// BusyTimeout is how long a connection waits for a lock (default 5s).
	BusyTimeout time.Duration

	// Checkpoint tuning, changed by tests only.
	checkpointEvery  time.Duration // default checkpointEvery
	walRestartFrames int           // default walRestartFrames
	restartWait      time.Duration // default restartWait
}

// Store is the SQLite backend of store.Store.
type Store struct {
	*sqlstore.Store
	w *sql.DB // one connection: all writes
	r *sql.DB // read pool

	// Group commit of write transactions (see tx).
	txMu      sync.Mutex
	txQueue   []*txJob
	txRunning bool
	txGroups  atomic.Int64 // transactions begun by commitGroup (tests)

	ck              *sql.DB // one connection for checkpointLoop
	stopCheckpoints context.CancelFunc
	checkpoints     sync.WaitGroup
	checkpointed    atomic.Int64 // checkpoints run (tests)
	restartTried    atomic.Int64 // RESTART checkpoints run (tests)
	ckEvery         time.Duration
	walRestart      int           // frames
	restartWait     time.Duration // how long restartWAL waits for readers
	restartWanted   atomic.Bool   // set by checkpointLoop, done by the next tx leader
	busy            time.Duration // the connections' busy timeout
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and migrates it.
func Open(ctx context.Context, path string, o Options) (*Store, error) {
	o.ReadConns = cmp.Or(max(o.ReadConns, 0), 4)
	o.BusyTimeout = cmp.Or(max(o.BusyTimeout, 0), 5*time.Second)
	o.checkpointEvery = cmp.Or(max(o.checkpointEvery, 0), checkpointEvery)
	o.walRestartFrames = cmp.Or(max(o.walRestartFrames, 0), walRestartFrames)
	o.restartWait = cmp.Or(max(o.restartWait, 0), restartWait)
	dsn := func(txlock string, busy time.Duration) string {
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
		q.Add("_pragma", "journal_mode(wal)")
		// FULL in WAL mode: every commit fsyncs the WAL before it returns, so a
		// result acknowledged to an agent (HTTP 200 after the commit) survives an OS
		// crash or power loss too. NORMAL would survive a crash of the process
		// (SIGKILL: the WAL is in the OS page cache) but not power loss.
		q.Add("_pragma", "synchronous(full)")
		q.Add("_pragma", "foreign_keys(on)")
		if txlock != "" {
			q.Add("_txlock", txlock)
			// The writer never checkpoints: a checkpoint inside a commit (SQLite's
			// default, every 1,000 pages of WAL) copies pages and fsyncs the database
			// while every other writer waits. checkpointLoop does it alongside.
			q.Add("_pragma", "wal_autocheckpoint(0)")
			// After a burst has grown the WAL, a restart cuts it back to this size:
			// twice the restart size, so that a steady load reuses the file instead of
			// truncating and regrowing it (a commit's fsync then also journals the
			// file's size; measured: 30 ms commits right after each restart).
			q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", 2*o.walRestartFrames*4096))
		}
		return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	}
	if err := ownerOnly(path); err != nil {
		return nil, err
	}
	w, err := sql.Open("sqlite3", dsn("immediate", o.BusyTimeout))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	s := &Store{w: w, ckEvery: o.checkpointEvery, walRestart: o.walRestartFrames, restartWait: o.restartWait,
		busy: o.BusyTimeout}
	if err := s.integrity(ctx, path); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite3", dsn("", o.BusyTimeout))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(o.ReadConns)
	r.SetMaxIdleConns(o.ReadConns)
	r.SetConnMaxIdleTime(0)
	r.SetConnMaxLifetime(0)
	s.r = r
	ck, err := sql.Open("sqlite3", dsn("", o.BusyTimeout))
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	ck.SetMaxOpenConns(1)
	s.ck = ck
	s.Store = sqlstore.New(sqlstore.Config{Dialect: dialect, Write: w, Read: r, Tx: s.tx})
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	// Prepared after the migrations: they name tables.
	hotW, hotR := s.HotStatements()
	if err := s.Prepare(ctx, append(hotW, writerHot...), append(hotR, readerHot...)); err != nil {
		s.Close()
		return nil, err
	}
	if err := ownerOnly(path); err != nil { // the WAL and shared memory now exist
		s.Close()
		return nil, err
	}
	ckCtx, stop := context.WithCancel(context.Background())
	s.stopCheckpoints = stop
	s.checkpoints.Add(1)
	go s.checkpointLoop(ckCtx)
	return s, nil
}

// checkpointEvery is how often checkpointLoop copies the WAL into the database.
const checkpointEvery = time.Second

// walRestartFrames is the WAL length (4 KiB pages) from which checkpointLoop asks
// for the WAL to start over. Every restart makes the writers wait a few
// milliseconds, so not too often: at 5,000 hosts (8,000–12,000 frames a second)
// this is one every 7–10 s. With 64 MiB (one a second or two) the 5,000-host
// fleet benchmark had more stalls: worst p99 23–64 ms in ten runs against
// 15–23 ms in four.
const walRestartFrames = 65536 // 256 MiB

// restartWait bounds how long a restarting checkpoint waits for readers.
const restartWait = 5 * time.Millisecond

// checkpointLoop runs checkpoints until ctx ends.
//
// A passive checkpoint never blocks the writer or readers: it copies the frames
// no reader still needs. It is not enough on its own under a steady load. The
// writer starts the WAL over only when, as its transaction begins, every frame
// is already copied and no reader still reads the WAL, and with commits every
// millisecond or two and reads in between that moment never comes: the WAL then
// grows without bound (1.6 GB in 45 s at 5,000 hosts), and every commit's fsync
// also writes the file's new size to the journal. So once the WAL passes
// walRestartFrames, the loop asks the writer for a restart (restartWAL).
func (s *Store) checkpointLoop(ctx context.Context) {
	defer s.checkpoints.Done()
	tick.Every(ctx, s.ckEvery, func(ctx context.Context) { s.checkpointStep(ctx) })
}

// checkpointStep runs one passive checkpoint, asks for a restart when the WAL is
// long and all copied, and returns the WAL's length in frames (0 when the
// checkpoint failed).
func (s *Store) checkpointStep(ctx context.Context) int {
	frames, copied, err := s.checkpoint(ctx, "PASSIVE")
	if err != nil {
		return 0
	}
	// Only once the WAL is all copied: the restart then has only the frames
	// committed since to copy while the writer waits, never a backlog that a
	// long read kept from being copied.
	if frames >= s.walRestart && copied == frames {
		s.restartWanted.Store(true)
	}
	return frames
}

// restartWAL runs a RESTART checkpoint on the writer's connection, between two
// group commits: it copies the few frames committed since the last passive
// checkpoint and waits for the readers still reading the WAL, after which the
// next transaction writes from the start of the file. Run by the writer, it
// needs no write lock; it waits at most restartWait for readers (then SQLite
// completes it as a passive checkpoint, and the loop asks again a second later),
// since every writer queues behind it meanwhile.
func (s *Store) restartWAL(ctx context.Context) {
	s.restartTried.Add(1)
	c, err := s.w.Conn(ctx)
	if err != nil {
		return
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, s.restartWait.Milliseconds())); err != nil {
		return
	}
	var busy, frames, copied int
	_ = c.QueryRowContext(ctx, `PRAGMA wal_checkpoint(RESTART)`).Scan(&busy, &frames, &copied)
	_, _ = c.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, s.busy.Milliseconds()))
}

// checkpoint runs one checkpoint of the given mode and returns the WAL's length
// and how much of it is copied, in frames.
func (s *Store) checkpoint(ctx context.Context, mode string) (frames, copied int, err error) {
	var busy int
	err = s.ck.QueryRowContext(ctx, `PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &frames, &copied)
	if err == nil {
		s.checkpointed.Add(1)
	}
	return frames, copied, err
}

// Close implements store.Store.
func (s *Store) Close() error {
	var ckErr error
	if s.stopCheckpoints != nil {
		s.stopCheckpoints()
		s.checkpoints.Wait()
	}
	if s.ck != nil {
		ckErr = s.ck.Close()
	}
	var stErr error
	if s.Store != nil {
		stErr = s.CloseStatements()
	}
	// The last connection to close checkpoints what is left and removes the WAL.
	return errors.Join(stErr, ckErr, s.r.Close(), s.w.Close())
}

// Group commit. SQLite has one writer and, with synchronous=FULL, every commit
// waits for an fsync of the WAL; a fleet's agents each write a little (a live
// query's "sent" mark, its results, a log batch), so committing each on its own
// bounds the fleet by fsyncs per second and queues every writer behind the others.
// tx therefore runs the transactions that arrive while one is committing together:
// one BEGIN … COMMIT, each function inside its own SAVEPOINT, so one that fails is
// rolled back alone and gets its own error, while the others commit. Every caller
// returns only after the commit that holds its writes (or with the error that
// undid them), as before.

// maxGroup bounds the transactions committed together.
const maxGroup = 128

type txJob struct {
	f     func(*sql.Tx) error
	err   error
	panic any // a panic in f, re-raised in the caller's goroutine
	done  chan struct{}
}

// tx runs f in a write transaction, possibly grouped with concurrent ones. f must
// confine its effects to the transaction (it may run again only if it is retried
// by its caller). The caller that finds no group committing leads: it runs the
// queued groups, its own first, until the queue is empty. (Handing the groups after
// its own to a goroutine, so a leader never waits on others' commits, was measured
// worse: 5,000-host p99 of 283–299 ms against 34–55 ms in alternating runs.)
func (s *Store) tx(ctx context.Context, f func(*sql.Tx) error) error {
	j := &txJob{f: f, done: make(chan struct{})}
	s.txMu.Lock()
	s.txQueue = append(s.txQueue, j)
	lead := !s.txRunning
	s.txRunning = true
	s.txMu.Unlock()
	if lead {
		for {
			s.txMu.Lock()
			n := min(len(s.txQueue), maxGroup)
			if n == 0 {
				s.txRunning = false
				s.txMu.Unlock()
				break
			}
			group := s.txQueue[:n:n]
			s.txQueue = s.txQueue[n:]
			s.txMu.Unlock()
			s.commitGroup(group)
			if s.restartWanted.Swap(false) {
				s.restartWAL(context.Background())
			}
		}
	}
	<-j.done
	if j.panic != nil {
		panic(j.panic)
	}
	return j.err
}

// commitGroup runs jobs in one transaction and completes them. The transaction is
// not bound to any caller's context: a caller whose context ends makes its own
// statements fail (f uses its own ctx), which rolls back only its savepoint.
func (s *Store) commitGroup(jobs []*txJob) {
	defer func() {
		for _, j := range jobs {
			close(j.done)
		}
	}()
	ctx := context.Background()
	s.txGroups.Add(1)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		for _, j := range jobs {
			j.err = err
		}
		return
	}
	if len(jobs) == 1 {
		j := jobs[0]
		if j.err = run(j, tx); j.err != nil {
			tx.Rollback()
			return
		}
		j.err = tx.Commit()
		return
	}
	ok := 0
	for _, j := range jobs {
		if _, err := s.Exec(ctx, tx, qSavepoint); err != nil {
			abort(tx, jobs, err)
			return
		}
		if j.err = run(j, tx); j.err != nil {
			if _, err := s.Exec(ctx, tx, qRollbackTo); err != nil {
				abort(tx, jobs, err)
				return
			}
		} else {
			ok++
		}
		if _, err := s.Exec(ctx, tx, qRelease); err != nil {
			abort(tx, jobs, err)
			return
		}
	}
	if ok == 0 {
		tx.Rollback()
		return
	}
	if err := tx.Commit(); err != nil {
		for _, j := range jobs {
			if j.err == nil {
				j.err = err
			}
		}
	}
}

// run calls j.f, turning a panic into an error here (the group must still
// complete) and remembering it for the caller.
func run(j *txJob, tx *sql.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			j.panic = p
			err = fmt.Errorf("panic in transaction: %v", p)
		}
	}()
	return j.f(tx)
}

// abort rolls the group back after the savepoint machinery failed: nothing of it
// was committed, so every job fails.
func abort(tx *sql.Tx, jobs []*txJob, err error) {
	tx.Rollback()
	for _, j := range jobs {
		if j.err == nil {
			j.err = fmt.Errorf("group commit: %w", err)
		}
	}
}

// full reports a write that failed for lack of space: SQLITE_FULL, or the file
// system's ENOSPC, which the VFS reports as an I/O error.
func full(err error) bool {
	if errors.Is(err, sqlite3.FULL) || errors.Is(err, syscall.ENOSPC) {
		return true
	}
	m := strings.ToLower(err.Error())
	return strings.Contains(m, "disk is full") || strings.Contains(m, "no space left")
}

// Durability returns the write connection's journal mode and synchronous level
// (2 = FULL), for tests and diagnostics.
func (s *Store) Durability(ctx context.Context) (journalMode string, synchronous int, err error) {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return "", 0, s.Wrap("durability", err)
	}
	defer conn.Close()
	if err := conn.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&journalMode); err != nil {
		return "", 0, s.Wrap("durability", err)
	}
	err = conn.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&synchronous)
	return journalMode, synchronous, s.Wrap("durability", err)
}

// ownerOnly creates the database file readable and writable by its owner only
// (0600), or makes an existing one so, with its WAL and shared-memory files: it
// holds hashes of node keys and tokens, query results and the audit log, and a
// data folder that already existed keeps whatever mode it had.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("sqlite: %s: %w", p, err)
		}
	}
	return nil
}

// ErrCorrupt is returned by Open for a database file that fails SQLite's
// integrity check: the server refuses to start on it rather than acknowledge
// writes it may not be able to read back.
var ErrCorrupt = errors.New("sqlite: database is corrupt")

// integrity runs PRAGMA quick_check (the B-tree structure of every table and
// index; it reads the whole file once, about a second per GiB) and reports its
// first problems.
func (s *Store) integrity(ctx context.Context, path string) error {
	rows, err := s.w.QueryContext(ctx, `PRAGMA quick_check(5)`)
	if err != nil {
		if strings.Contains(err.Error(), "malformed") || strings.Contains(err.Error(), "not a database") {
			return fmt.Errorf("%w: %s: %v (restore it from a backup, or move it aside to start empty)", ErrCorrupt, path, err)
		}
		return fmt.Errorf("sqlite: integrity check of %s: %w", path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("sqlite: integrity check of %s: %w", path, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: %s: %v (restore it from a backup, or move it aside to start empty)", ErrCorrupt, path, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s: %s (restore it from a backup, or move it aside to start empty)", ErrCorrupt, path, strings.Join(problems, "; "))
	}
	return nil
}
