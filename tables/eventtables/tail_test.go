package eventtables

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/osquery/osquery-go/plugin/table"
)

// TestCancelledLookupDoesNotWaitForTheRead: History lookups read the lineage
// index, not the files, and wait for a read of the sources only on their own
// context, holding no lock. While a read is stuck (the hook holds it, with the
// Store's lock): a lookup that needs no fresher read answers from the index, a
// cancelled lookup or query returns its context's error, and once the read ends the
// query waiting for it is served. Only ordering and errors are asserted.
func TestCancelledLookupDoesNotWaitForTheRead(t *testing.T) {
	s := New(Options{Paths: []string{"testdata/chain.jsonl"}})
	if rows := procs(t, s, table.QueryContext{}); len(rows) != 5 { // the first read, unblocked
		t.Fatalf("rows = %d", len(rows))
	}
	powershellStart := time.Date(2024, 3, 1, 10, 0, 2, 0, time.UTC)

	entered, release := make(chan struct{}), make(chan struct{})
	s.tail.mu.Lock()
	s.tail.hook = func() {
		close(entered)
		<-release
	}
	s.tail.mu.Unlock()
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()

	// A query asks for a fresh read: the tailer takes the lock and blocks in the hook.
	queryDone := make(chan error, 1)
	go func() {
		_, err := s.ProcessCreationTable().Generate(context.Background(), table.QueryContext{})
		queryDone <- err
	}()
	<-entered

	// The index answers while the read holds the lock.
	s.lookupMaxAge = time.Hour
	p, ok, err := s.Lookup(context.Background(), 400, powershellStart)
	if err != nil || !ok || p.PID != 400 || p.GUID == "" {
		t.Fatalf("lookup from the index during a read: %+v %v %v", p, ok, err)
	}

	// A lookup that must wait for a fresher read gives up with its context.
	s.lookupMaxAge = 0
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Lookup(ctx, 400, powershellStart); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled lookup: %v, want context.Canceled", err)
	}
	// So does a cancelled query of either event table.
	if _, err := s.ScriptBlockTable().Generate(ctx, table.QueryContext{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled script query: %v, want context.Canceled", err)
	}
	if _, err := s.LineageTable().Generate(ctx, table.QueryContext{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled lineage query: %v, want context.Canceled", err)
	}
	select {
	case err := <-queryDone:
		t.Fatalf("the query finished before the read it waits for: %v", err)
	default:
	}

	// The read ends: the waiting query is served and the lock is free.
	s.tail.mu.Lock()
	s.tail.hook = nil
	s.tail.mu.Unlock()
	close(release)
	released = true
	if err := <-queryDone; err != nil {
		t.Fatalf("query after the read: %v", err)
	}
	if rows := procs(t, s, table.QueryContext{}); len(rows) != 5 {
		t.Fatalf("rows after = %d", len(rows))
	}
}
