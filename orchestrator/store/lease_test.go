package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeLeases answers AcquireLease with held and err, and records releases.
type fakeLeases struct {
	held     bool
	err      error
	released int
}

func (f *fakeLeases) AcquireLease(context.Context, string, string, time.Duration, time.Time) (bool, error) {
	return f.held, f.err
}

func (f *fakeLeases) ReleaseLease(context.Context, string, string) error { f.released++; return nil }

func (f *fakeLeases) Lease(context.Context, string) (Lease, error) { return Lease{}, ErrNotFound }

func TestLeaseKeeper(t *testing.T) {
	ctx := context.Background()
	f := &fakeLeases{held: true}
	k := &LeaseKeeper{Leases: f, Name: "x", Holder: "me", TTL: time.Second}
	if held, was, err := k.Renew(ctx, time.Now()); !held || was || err != nil || !k.Held() {
		t.Fatalf("first renewal: %v %v %v", held, was, err)
	}
	// A failed check answers false but keeps the state; a failed renewal loses it.
	f.err = errors.New("store down")
	if held, was, err := k.Check(ctx, time.Now()); held || !was || err == nil || !k.Held() {
		t.Errorf("failed check: %v %v %v, held %v", held, was, err, k.Held())
	}
	if held, was, err := k.Renew(ctx, time.Now()); held || !was || err == nil || k.Held() {
		t.Errorf("failed renewal: %v %v %v, held %v", held, was, err, k.Held())
	}
	// Stopping: a renewal that fails with ctx ended keeps the state for Release.
	f.err = nil
	k.Renew(ctx, time.Now())
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	f.err = context.Canceled
	if _, _, err := k.Renew(cctx, time.Now()); err == nil || !k.Held() {
		t.Errorf("renewal at stop: %v, held %v", err, k.Held())
	}
	if held, err := k.Release(cctx); !held || err != nil || f.released != 1 || k.Held() {
		t.Errorf("release: %v %v, %d releases, held %v", held, err, f.released, k.Held())
	}
	if held, _ := k.Release(cctx); held || f.released != 1 {
		t.Errorf("second release: %v, %d releases", held, f.released)
	}
}
