package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

func acquire(t *testing.T, s store.Store, holder string, ttl time.Duration, now time.Time) bool {
	t.Helper()
	ok, err := s.AcquireLease(context.Background(), "scheduler", holder, ttl, now)
	if err != nil {
		t.Fatalf("AcquireLease(%s): %v", holder, err)
	}
	return ok
}

func wantHolder(t *testing.T, s store.Store, holder string, expires time.Time) {
	t.Helper()
	l, err := s.Lease(context.Background(), "scheduler")
	if err != nil {
		t.Fatalf("Lease: %v", err)
	}
	if l.Holder != holder || !l.Expires.Equal(expires) {
		t.Fatalf("lease = %s until %v, want %s until %v", l.Holder, l.Expires, holder, expires)
	}
}

// testLeases: acquire, renew, contention, take-over after expiry, release.
func testLeases(t *testing.T, s store.Store) {
	ctx := context.Background()
	ttl := 15 * time.Second
	if _, err := s.Lease(ctx, "scheduler"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Lease before any acquire: %v, want ErrNotFound", err)
	}
	if !acquire(t, s, "a", ttl, t0) {
		t.Fatal("a could not take a free lease")
	}
	wantHolder(t, s, "a", t0.Add(ttl))
	// Contention: b is refused while a's lease is valid, up to its last microsecond.
	if acquire(t, s, "b", ttl, t0.Add(ttl-time.Microsecond)) {
		t.Fatal("b took a's valid lease")
	}
	wantHolder(t, s, "a", t0.Add(ttl))
	// Renewal by the holder moves the expiry.
	if !acquire(t, s, "a", ttl, t0.Add(5*time.Second)) {
		t.Fatal("a could not renew its lease")
	}
	wantHolder(t, s, "a", t0.Add(5*time.Second+ttl))
	if acquire(t, s, "b", ttl, t0.Add(ttl)) {
		t.Fatal("b took a's renewed lease")
	}
	// Expiry: b takes it over once a's expiry has passed; a is then refused.
	exp := t0.Add(5*time.Second + ttl)
	if !acquire(t, s, "b", ttl, exp) {
		t.Fatal("b could not take an expired lease")
	}
	wantHolder(t, s, "b", exp.Add(ttl))
	if acquire(t, s, "a", ttl, exp.Add(time.Second)) {
		t.Fatal("a took b's lease back")
	}
	// Release by a non-holder does nothing; by the holder frees it at once.
	if err := s.ReleaseLease(ctx, "scheduler", "a"); err != nil {
		t.Fatal(err)
	}
	wantHolder(t, s, "b", exp.Add(ttl))
	if err := s.ReleaseLease(ctx, "scheduler", "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lease(ctx, "scheduler"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Lease after release: %v, want ErrNotFound", err)
	}
	if !acquire(t, s, "a", ttl, exp.Add(time.Second)) {
		t.Fatal("a could not take a released lease")
	}
	// Leases are independent by name.
	ok, err := s.AcquireLease(ctx, "other", "b", ttl, exp.Add(time.Second))
	if err != nil || !ok {
		t.Fatalf("b on another lease: %v, %v", ok, err)
	}
	if _, err := s.AcquireLease(ctx, "scheduler", "", ttl, t0); err == nil {
		t.Fatal("an empty holder was accepted")
	}
}

// testLeaseRace: holders racing for one free lease; exactly one wins.
func testLeaseRace(t *testing.T, s store.Store) {
	const n = 8
	type res struct {
		ok  bool
		err error
	}
	out := make(chan res, n)
	for i := range n {
		go func() {
			ok, err := s.AcquireLease(context.Background(), "race", string(rune('a'+i)), time.Minute, t0)
			out <- res{ok, err}
		}()
	}
	won := 0
	for range n {
		r := <-out
		if r.err != nil {
			t.Fatalf("AcquireLease: %v", r.err)
		}
		if r.ok {
			won++
		}
	}
	if won != 1 {
		t.Fatalf("%d holders got the lease, want 1", won)
	}
}
