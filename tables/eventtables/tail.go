package eventtables

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/exechunt/exechunt/tables/lineage/tree"
)

// tailer runs the reads of the sources in the background, one at a time, so that
// no query reads files on behalf of another while holding the Store's lock on a
// context it does not own: a query asks for a read recent enough (catchUp) and
// waits for it on its own context; when that ends it returns, and the read goes on
// for the next query.
type tailer struct {
	mu      sync.Mutex
	running chan struct{} // closed when the read in flight ends; nil when none runs
	last    time.Time     // when the last finished read started; zero before the first
	// hook, when set (tests), runs in the read while it holds the Store's lock.
	hook func()
}

// catchUp waits until a read of the sources that started at most maxAge ago has
// finished, starting one when none is running. It returns ctx's error when ctx
// ends first.
func (s *Store) catchUp(ctx context.Context, maxAge time.Duration) error {
	need := time.Now().Add(-maxAge)
	for {
		s.tail.mu.Lock()
		if !s.tail.last.IsZero() && !s.tail.last.Before(need) {
			s.tail.mu.Unlock()
			return nil
		}
		done := s.tail.running
		if done == nil {
			done = make(chan struct{})
			s.tail.running = done
			go s.tailOnce(done, time.Now())
		}
		s.tail.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// enter is how a query of the event tables starts: it waits (on ctx) for a read of
// the sources that started after the query did, then takes the lock. The caller
// unlocks.
func (s *Store) enter(ctx context.Context) error {
	if err := s.catchUp(ctx, 0); err != nil {
		return err
	}
	return s.lock(ctx)
}

// tailOnce reads what the sources gained (refresh) under the Store's lock. It is
// the tail's own work, not a query's: no query's context ends it. Problems are
// logged by refresh; a panic is logged and the read counts as done, so that no
// waiter is left behind and the extension keeps serving.
func (s *Store) tailOnce(done chan struct{}, start time.Time) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("event tables: reading the sources panicked", "panic", fmt.Sprint(r))
		}
		s.tail.mu.Lock()
		s.tail.last, s.tail.running = start, nil
		s.tail.mu.Unlock()
		close(done)
	}()
	_ = s.lock(context.Background())
	defer s.unlock()
	s.tail.mu.Lock()
	hook := s.tail.hook
	s.tail.mu.Unlock()
	if hook != nil {
		hook()
	}
	_ = s.refresh(context.Background())
}

// Lookup implements the live process_lineage's History: the latest process
// creation of pid that started at or before start (plus a two-second allowance for
// clock differences between the event log and the live process table). It reads
// the lineage index, never the files: when the sources were last read more than a
// second ago it waits for a new read by the tailer, on ctx, holding no lock.
func (s *Store) Lookup(ctx context.Context, pid int64, start time.Time) (tree.Proc, bool, error) {
	if err := s.catchUp(ctx, s.lookupMaxAge); err != nil {
		return tree.Proc{}, false, fmt.Errorf("event tables: wait for the sources: %w", err)
	}
	limit := time.Time{}
	if !start.IsZero() {
		limit = start.Add(2 * time.Second)
	}
	p, ok := s.scorer.index.latest(pid, limit)
	return p, ok, nil
}
