package store

import (
	"context"
	"sync/atomic"
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

// LeaseKeeper holds one lease for this replica: Renew takes or renews it and
// tracks whether this replica holds it, Release gives it up on the way out. The
// hunt scheduler and the forwarder each keep their lease with one, renewing it
// on their own ticks.
type LeaseKeeper struct {
	Leases Leases
	Name   string
	Holder string
	TTL    time.Duration
	held   atomic.Bool
}

// Held reports whether this replica held the lease at its last renewal.
func (k *LeaseKeeper) Held() bool { return k.held.Load() }

// Renew takes or renews the lease at now and reports whether this replica holds
// it and whether it did before the call. An error from the store counts as not
// holding it (another replica may take it over), unless ctx has ended: then the
// state stays for Release.
func (k *LeaseKeeper) Renew(ctx context.Context, now time.Time) (held, was bool, err error) {
	held, was, err = k.Check(ctx, now)
	if err != nil && ctx.Err() == nil {
		was = k.held.Swap(false)
	}
	return held, was, err
}

// Check is Renew for a caller that acts on the answer at once (a scheduled
// tick): an error answers false but leaves the state to the next Renew.
func (k *LeaseKeeper) Check(ctx context.Context, now time.Time) (held, was bool, err error) {
	held, err = k.Leases.AcquireLease(ctx, k.Name, k.Holder, k.TTL, now)
	if err != nil {
		return false, k.held.Load(), err
	}
	return held, k.held.Swap(held), nil
}

// Release gives the lease up if this replica holds it, so that another replica
// takes it over at once rather than at its expiry; it reports whether it held
// it. It runs with its own deadline, ctx having usually ended.
func (k *LeaseKeeper) Release(ctx context.Context) (bool, error) {
	if !k.held.Swap(false) {
		return false, nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return true, k.Leases.ReleaseLease(rctx, k.Name, k.Holder)
}
