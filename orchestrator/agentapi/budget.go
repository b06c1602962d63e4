package agentapi

import "sync"

// budget bounds the bytes of request bodies held in memory at once, across all
// requests: a request reserves what it reads as it reads it and gives it back when
// it has been answered. A request that cannot reserve is answered 503 (osquery
// retries later with its logs kept) instead of growing the server's memory.
type budget struct {
	mu   sync.Mutex
	left int64
}

func newBudget(n int64) *budget { return &budget{left: n} }

// take reserves n bytes if they are free.
func (b *budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.left {
		return false
	}
	b.left -= n
	return true
}

// give returns n reserved bytes.
func (b *budget) give(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.left += n
	b.mu.Unlock()
}

// available is what is free now (for tests and metrics).
func (b *budget) available() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.left
}
