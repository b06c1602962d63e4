package agentapi

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
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

// touchRecorder records TouchHosts calls; the first fails when fail is set.
type touchRecorder struct {
	HostStore
	mu    sync.Mutex
	calls []int
	seen  map[int64]time.Time
	fail  bool
}

func (r *touchRecorder) TouchHosts(_ context.Context, seen map[int64]time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, len(seen))
	if r.fail {
		r.fail = false
		return errors.New("disk full")
	}
	for id, t := range seen {
		r.seen[id] = t
	}
	return nil
}

// TestFlushSeenInChunks: last-seen times are written touchChunk hosts at a time,
// and a chunk that fails is kept for the next flush.
func TestFlushSeenInChunks(t *testing.T) {
	rec := &touchRecorder{seen: map[int64]time.Time{}, fail: true}
	h := &Handler{c: Config{Hosts: rec}, seen: map[int64]time.Time{}}
	now := time.Unix(1800000000, 0)
	const n = 2*touchChunk + 100
	for id := int64(1); id <= n; id++ {
		h.seen[id] = now
	}
	if err := h.flushSeen(context.Background()); err == nil {
		t.Fatal("a failed chunk is not reported")
	}
	if len(rec.calls) != 3 || rec.calls[0] > touchChunk || rec.calls[1] > touchChunk || rec.calls[2] > touchChunk {
		t.Fatalf("chunks %v", rec.calls)
	}
	if len(rec.seen) != n-rec.calls[0] || len(h.seen) != rec.calls[0] {
		t.Fatalf("%d written, %d kept after a failed chunk of %d", len(rec.seen), len(h.seen), rec.calls[0])
	}
	if err := h.flushSeen(context.Background()); err != nil || len(rec.seen) != n || len(h.seen) != 0 {
		t.Fatalf("retry: %v, %d written, %d kept", err, len(rec.seen), len(h.seen))
	}
}

// Row IDs sort by the line's time whatever its hash, so the store's unique index
// grows at its end; they are deterministic, and times outside 32 bits clamp.
func TestRowIDOrder(t *testing.T) {
	hi, lo := [32]byte{0xff, 0xff}, [32]byte{0x00, 0x01}
	for _, tc := range []struct {
		earlier, later string
	}{
		{rowID(1700000000, hi, 0), rowID(1700000001, lo, 0)},
		{rowID(0, hi, 3), rowID(1, lo, 0)},
		{rowID(1<<32-2, hi, 0), rowID(1<<32-1, lo, 0)},
	} {
		if tc.earlier >= tc.later {
			t.Errorf("%s sorts after %s", tc.earlier, tc.later)
		}
	}
	if a, b := rowID(1700000000, hi, 2), rowID(1700000000, hi, 2); a != b {
		t.Errorf("not deterministic: %s %s", a, b)
	}
	if a, b := rowID(1700000000, hi, 1), rowID(1700000000, hi, 2); a == b {
		t.Errorf("rows of one line share an ID: %s", a)
	}
	if got := rowID(-5, lo, 0)[:8]; got != "00000000" {
		t.Errorf("negative time prefix %s", got)
	}
	if got := rowID(1<<40, lo, 0)[:8]; got != "ffffffff" {
		t.Errorf("huge time prefix %s", got)
	}
}

// ctxLive answers LiveQuery with its context's error, if any.
type ctxLive struct{ LiveStore }

func (ctxLive) LiveQuery(ctx context.Context, id int64) (store.LiveQuery, error) {
	if err := ctx.Err(); err != nil {
		return store.LiveQuery{}, err
	}
	return store.LiveQuery{ID: id, Counts: map[string]int{store.HostPending: 3, store.HostOK: 2}}, nil
}

// The host count every read waits on is looked up even when the request that
// made the lookup has gone away.
func TestTargetCountOutlivesItsRequest(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var c targetCache
	if n, err := c.get(ctx, 7, ctxLive{}); n != 5 || err != nil {
		t.Errorf("get = %d, %v; want 5, nil", n, err)
	}
}
