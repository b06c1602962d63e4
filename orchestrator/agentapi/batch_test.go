package agentapi

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBatcherGroupsConcurrentWrites(t *testing.T) {
	var calls, rows, held atomic.Int64
	release := make(chan struct{})
	b := &batcher[int]{write: func(_ context.Context, r []int) (int, error) {
		calls.Add(1)
		held.Add(int64(len(r)))
		<-release // hold the writers so that the other inserts queue behind them
		rows.Add(int64(len(r)))
		return len(r), nil
	}}
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n, err := b.insert(context.Background(), []int{i, i}); err != nil || n != 2 {
				t.Errorf("insert: %d, %v", n, err)
			}
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b.mu.Lock()
		queued := 2 * len(b.queue)
		b.mu.Unlock()
		if int(held.Load())+queued == 200 { // every insert is held by a writer or queued
			break
		}
	}
	close(release)
	wg.Wait()
	if rows.Load() != 200 {
		t.Fatalf("rows written: %d, want 200", rows.Load())
	}
	if c := calls.Load(); c > 2*batchWriters {
		t.Fatalf("%d writes for 100 concurrent inserts: not grouped", c)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.active != 0 || len(b.queue) != 0 {
		t.Fatalf("after: %d writers active, %d queued", b.active, len(b.queue))
	}
}

func TestBatcherFailsEveryCallOfAFailedBatch(t *testing.T) {
	boom := errors.New("boom")
	b := &batcher[int]{write: func(context.Context, []int) (int, error) { return 0, boom }}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.insert(context.Background(), []int{1}); !errors.Is(err, boom) {
				t.Errorf("insert: %v, want boom", err)
			}
		}()
	}
	wg.Wait()
	if n, err := b.insert(context.Background(), nil); n != 0 || err != nil {
		t.Fatalf("empty insert: %d, %v", n, err)
	}
}
