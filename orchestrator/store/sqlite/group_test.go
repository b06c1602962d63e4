package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGroupCommit runs many concurrent transactions, some failing and one
// panicking: the failed ones leave nothing behind and get their own error, the
// others all commit, and transactions were grouped (fewer commits than callers).
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s := openWithTable(t, filepath.Join(t.TempDir(), "g.db"), Options{}, `CREATE TABLE g (n INTEGER PRIMARY KEY)`)
	defer s.Close()
	const n = 400
	errBoom := errors.New("boom")
	var begun atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, n)
	panics := make([]any, n)
	for i := range n {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			errs[i] = s.tx(ctx, func(tx *sql.Tx) error {
				begun.Add(1)
				if _, err := tx.ExecContext(ctx, `INSERT INTO g (n) VALUES (?)`, i); err != nil {
					return err
				}
				switch {
				case i%7 == 3:
					return errBoom // after its insert: the insert must be undone
				case i == 200:
					panic("tx 200")
				case i%11 == 5:
					// A statement error: duplicate key.
					_, err := tx.ExecContext(ctx, `INSERT INTO g (n) VALUES (?)`, i)
					return err
				}
				return nil
			})
		})
	}
	wg.Wait()
	want := 0
	for i := range n {
		failed := i%7 == 3 || i == 200 || i%11 == 5
		switch {
		case i == 200:
			if panics[i] != "tx 200" {
				t.Errorf("tx 200: panic %v, err %v", panics[i], errs[i])
			}
		case i%7 == 3:
			if !errors.Is(errs[i], errBoom) {
				t.Errorf("tx %d: %v, want boom", i, errs[i])
			}
		case i%11 == 5:
			if errs[i] == nil {
				t.Errorf("tx %d: duplicate key not reported", i)
			}
		default:
			if errs[i] != nil || panics[i] != nil {
				t.Errorf("tx %d: %v %v", i, errs[i], panics[i])
			}
		}
		var got int
		if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM g WHERE n = ?`, i).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if failed && got != 0 || !failed && got != 1 {
			t.Errorf("tx %d (failed %v): %d rows", i, failed, got)
		}
		if !failed {
			want++
		}
	}
	var total int
	s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM g`).Scan(&total)
	if total != want {
		t.Errorf("%d rows, want %d", total, want)
	}
	if begun.Load() != n {
		t.Errorf("%d transaction functions ran, want %d", begun.Load(), n)
	}
	if g := s.txGroups.Load(); g >= n {
		t.Errorf("%d transactions for %d callers: none grouped", g, n)
	} else {
		t.Logf("%d callers committed in %d transactions", n, g)
	}
}

// TestGroupCommitAbort: when the group's commit machinery fails, every member
// fails and nothing is written.
func TestGroupCommitAbort(t *testing.T) {
	ctx := context.Background()
	s := openWithTable(t, filepath.Join(t.TempDir(), "g.db"), Options{}, `CREATE TABLE g (n INTEGER PRIMARY KEY)`)
	defer s.Close()
	jobs := []*txJob{
		{f: func(tx *sql.Tx) error { _, err := tx.ExecContext(ctx, `INSERT INTO g VALUES (1)`); return err }, done: make(chan struct{})},
		// Releasing the group's savepoint from inside breaks the nesting.
		{f: func(tx *sql.Tx) error { _, err := tx.ExecContext(ctx, `RELEASE grp`); return err }, done: make(chan struct{})},
		{f: func(tx *sql.Tx) error { _, err := tx.ExecContext(ctx, `INSERT INTO g VALUES (3)`); return err }, done: make(chan struct{})},
	}
	s.commitGroup(jobs)
	for i, j := range jobs {
		<-j.done
		if j.err == nil {
			t.Errorf("job %d succeeded in an aborted group", i)
		}
	}
	var total int
	s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM g`).Scan(&total)
	if total != 0 {
		t.Errorf("%d rows written by an aborted group", total)
	}
}

// TestCheckpointsOutsideCommits: the writer does not checkpoint (wal_autocheckpoint
// is 0 on its connection); the background loop does, so the WAL is copied back
// without any commit paying for it, and Close stops the loop.
func TestCheckpointsOutsideCommits(t *testing.T) {
	ctx := context.Background()
	s := openWithTable(t, filepath.Join(t.TempDir(), "c.db"), Options{checkpointEvery: time.Millisecond},
		`CREATE TABLE c (n INTEGER PRIMARY KEY, pad TEXT)`)
	var auto int
	if err := s.w.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("writer wal_autocheckpoint = %d (%v), want 0", auto, err)
	}
	for i := range 200 {
		if err := s.tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO c VALUES (?, ?)`, i, strings.Repeat("x", 4000))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	for s.checkpointed.Load() == 0 { // the loop runs every millisecond here
		time.Sleep(time.Millisecond)
	}
	// Everything written is in the database file: a checkpoint now finds no frame
	// left to copy that the loop did not copy (no reader holds an old snapshot).
	var busy, frames, copied int
	if err := s.ck.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil ||
		busy != 0 || frames != copied {
		t.Errorf("checkpoint: busy %d, frames %d, copied %d (%v)", busy, frames, copied, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	n := s.checkpointed.Load()
	time.Sleep(20 * time.Millisecond) // twenty periods of the loop, had Close not stopped it
	if s.checkpointed.Load() != n {
		t.Error("checkpoints still run after Close")
	}
}

// TestWALStaysBounded replays, step by step, what a steady load does to the WAL.
// Each round a reader begins, a passive checkpoint copies the WAL, and a batch
// is committed while that reader still reads: the writer then cannot start the
// WAL over itself (it only does when no reader uses the WAL as its transaction
// begins), so without restarting checkpoints the WAL grows by a batch every
// round, without bound. With them the checkpoint asks for a restart, the writer
// runs it after its commit, and the WAL starts over and stays short. Nothing is
// timed: the test runs the checkpoints, and ends the read once the restart is
// waiting for it (or the batch is written).
func TestWALStaysBounded(t *testing.T) {
	const rounds, batch, limit = 8, 40, 64 // rows of 3,000 bytes; WAL frames for a restart
	load := func(t *testing.T, restartFrames int) (frames []int, s *Store) {
		ctx := context.Background()
		s = openWithTable(t, filepath.Join(t.TempDir(), "w.db"), Options{checkpointEvery: time.Hour,
			walRestartFrames: restartFrames, restartWait: time.Minute}, `CREATE TABLE c (n INTEGER PRIMARY KEY, pad TEXT)`)
		t.Cleanup(func() { s.Close() })
		n := 0
		for range rounds {
			end := beginRead(t, s)
			frames = append(frames, s.checkpointStep(ctx))
			tried := s.restartTried.Load()
			written := make(chan error, 1)
			go func() {
				for range batch {
					n++
					if err := s.tx(ctx, func(tx *sql.Tx) error {
						_, err := tx.ExecContext(ctx, `INSERT INTO c VALUES (?, ?)`, n, strings.Repeat("x", 3000))
						return err
					}); err != nil {
						written <- fmt.Errorf("row %d, restart at %d: %w", n, restartFrames, err)
						return
					}
				}
				written <- nil
			}()
			var err error
			for done := false; !done && s.restartTried.Load() == tried; runtime.Gosched() {
				select {
				case err = <-written:
					done = true
					written <- err
				default:
				}
			}
			end()
			if err := <-written; err != nil {
				t.Fatal(err)
			}
		}
		return frames, s
	}
	grown, _ := load(t, 1<<30)
	t.Logf("without restarting checkpoints: WAL frames by round %v", grown)
	for i := 1; i < len(grown); i++ {
		if grown[i] <= grown[i-1] {
			t.Fatalf("without restarts the WAL did not grow every round (%v): the replay does not hold the WAL", grown)
		}
	}
	bounded, s := load(t, limit)
	t.Logf("with restarting checkpoints: WAL frames by round %v after %d restarts", bounded, s.restartTried.Load())
	perRound := grown[len(grown)-1] - grown[len(grown)-2]
	for i, f := range bounded {
		if f > limit+2*perRound {
			t.Errorf("round %d: WAL of %d frames, want at most %d (restart at %d, %d frames a round): %v",
				i, f, limit+2*perRound, limit, perRound, bounded)
		}
	}
	if s.restartTried.Load() == 0 {
		t.Error("no restarting checkpoint ran")
	}
}

// beginRead starts a read transaction on a reader connection, as an agent's
// request in flight would hold; end finishes it.
func beginRead(t *testing.T, s *Store) (end func()) {
	t.Helper()
	ctx := context.Background()
	c, err := s.r.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := c.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}) // the driver begins others IMMEDIATE
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM c`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return func() {
		tx.Rollback()
		c.Close()
	}
}

// openWithTable opens a store at path and creates one table with ddl; the caller
// closes it.
func openWithTable(t *testing.T, path string, o Options, ddl string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(context.Background(), ddl); err != nil {
		s.Close()
		t.Fatal(err)
	}
	return s
}
