package store

import (
	"context"
	"time"
)

// States of an outbox item.
const (
	OutboxQueued    = "queued"
	OutboxDelivered = "delivered"
	OutboxDead      = "dead" // dead-lettered: failed MaxAttempts tries, never retried
)

// OutboxItem is one message waiting for (or done with) delivery to one
// forwarding destination (orchestrator/forward).
type OutboxItem struct {
	ID          int64
	Destination string // the destination's name (its URL without secrets)
	// Key makes enqueueing idempotent: an item whose (Destination, Key) is
	// already in the outbox, in any state, is not added again. Required.
	Key         string
	Payload     []byte
	Created     time.Time
	State       string
	Attempts    int       // failed tries so far
	NextAttempt time.Time // a queued item is not taken before it
	LastError   string
	DeliveredAt time.Time
}

// OutboxStats is one destination's outbox at a moment.
type OutboxStats struct {
	Destination  string
	Queued       int
	Retrying     int // queued items with at least one failed try
	Delivered    int
	Dead         int
	OldestQueued time.Time // zero when nothing is queued
}

// Outbox stores the messages forwarded to destinations, so that delivery is
// at-least-once across restarts and fail-overs: an item leaves the queue only
// when marked delivered or dead.
type Outbox interface {
	// Enqueue adds items (ID, State, Attempts and the times other than Created
	// ignored; NextAttempt is Created) and returns how many were new.
	Enqueue(ctx context.Context, items []OutboxItem) (int, error)
	// NextOutbox returns up to limit queued items of destination, oldest (by
	// ID) first, when the oldest may be tried at now; none while the oldest
	// waits for its next attempt (a destination's items go out in order).
	NextOutbox(ctx context.Context, destination string, now time.Time, limit int) ([]OutboxItem, error)
	// MarkDelivered records the queued items ids as delivered at now.
	MarkDelivered(ctx context.Context, ids []int64, now time.Time) error
	// MarkFailed records a failed try of the queued items ids: their attempts
	// grow by one and they wait until next, or become dead once they have
	// failed maxAttempts times.
	MarkFailed(ctx context.Context, ids []int64, errMsg string, next time.Time, maxAttempts int) error
	// OutboxStats returns every destination's counts, by destination.
	OutboxStats(ctx context.Context) ([]OutboxStats, error)
	// PruneOutbox deletes up to limit delivered and dead items created before
	// before, and returns how many it deleted.
	PruneOutbox(ctx context.Context, before time.Time, limit int) (int64, error)
}
