package store

import (
	"context"
	"time"
)

// Lease is a named, time-limited lock held by one orchestrator replica (for
// example "scheduler": the replica that fires the cron hunts).
type Lease struct {
	Name    string
	Holder  string
	Expires time.Time
}

// Leases stores leases. Times are the callers' clocks: replicas sharing a store
// must keep their clocks in sync (NTP) to well under a lease's ttl.
type Leases interface {
	// AcquireLease takes the lease for holder until now+ttl when it is free,
	// expired (its expiry <= now) or already held by holder (a renewal). It
	// reports whether holder holds the lease after the call; false with a nil
	// error means another holder's lease is still valid.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error)
	// ReleaseLease gives the lease up if holder holds it (so another replica takes
	// it at once instead of after its expiry); otherwise it does nothing.
	ReleaseLease(ctx context.Context, name, holder string) error
	// Lease returns the lease's current record (expired or not), ErrNotFound when
	// it was never taken or was released.
	Lease(ctx context.Context, name string) (Lease, error)
}
