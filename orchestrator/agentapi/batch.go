package agentapi

import (
	"context"
	"sync"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// Group commit for logs: every log POST used to be its own transaction (one
// fsync on SQLite, one WAL flush on PostgreSQL), so a fleet's log traffic was
// bounded by commits per second. The log store is wrapped so that the rows of
// POSTs arriving while a write is in progress are written together in the next
// transaction. A POST is still answered only after the transaction holding its
// rows committed, and a failed batch fails every POST in it (the agents retry;
// row IDs are deterministic, so a retry never duplicates a row).

const (
	batchWriters = 4           // concurrent batch transactions per kind
	batchMaxRows = 4096        // rows per batch (the stores split them into statements)
	batchTimeout = time.Minute // bound on one batch transaction
)

type batchJob[T any] struct {
	rows []T
	err  error
	done chan struct{}
}

// batcher groups the rows of concurrent calls into one call of write.
type batcher[T any] struct {
	write func(ctx context.Context, rows []T) (int, error)

	mu     sync.Mutex
	queue  []*batchJob[T]
	active int
}

func (b *batcher[T]) insert(ctx context.Context, rows []T) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	j := &batchJob[T]{rows: rows, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, j)
	if b.active < batchWriters {
		b.active++
		go b.flush()
	}
	b.mu.Unlock()
	select {
	case <-j.done:
		if j.err != nil {
			return 0, j.err
		}
		return len(rows), nil
	case <-ctx.Done():
		return 0, ctx.Err() // the rows may still be written; a retry is harmless
	}
}

// flush writes queued jobs in batches until the queue is empty.
func (b *batcher[T]) flush() {
	for {
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.active--
			b.mu.Unlock()
			return
		}
		n, k := 0, 0
		for k < len(b.queue) && (k == 0 || n+len(b.queue[k].rows) <= batchMaxRows) {
			n += len(b.queue[k].rows)
			k++
		}
		jobs := b.queue[:k:k]
		b.queue = b.queue[k:]
		b.mu.Unlock()
		all := jobs[0].rows
		if len(jobs) > 1 {
			all = make([]T, 0, n)
			for _, j := range jobs {
				all = append(all, j.rows...)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		_, err := b.write(ctx, all)
		cancel()
		for _, j := range jobs {
			j.err = err
			close(j.done)
		}
	}
}

// batchedLogs is a LogStore whose writes are grouped (see above).
type batchedLogs struct {
	results  batcher[store.ResultRow]
	statuses batcher[store.StatusLog]
}

func newBatchedLogs(s LogStore) *batchedLogs {
	return &batchedLogs{results: batcher[store.ResultRow]{write: s.InsertResults},
		statuses: batcher[store.StatusLog]{write: s.InsertStatusLogs}}
}

// InsertResults implements LogStore; the count is of the rows handed in.
func (l *batchedLogs) InsertResults(ctx context.Context, rows []store.ResultRow) (int, error) {
	return l.results.insert(ctx, rows)
}

// InsertStatusLogs implements LogStore; the count is of the lines handed in.
func (l *batchedLogs) InsertStatusLogs(ctx context.Context, logs []store.StatusLog) (int, error) {
	return l.statuses.insert(ctx, logs)
}
