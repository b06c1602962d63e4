package hunts

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/scheduler"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
)

// TestLeaseGatesTicks: of two services on one store, only the lease holder fires a
// tick; after the holder dies the other takes over once the lease expired, and a
// tick the dead holder may have fired is then too late to fire again.
func TestLeaseGatesTicks(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "exechunt.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := scheduler.NewFakeClock(t0)
	const ttl = 15 * time.Second
	svc := func(holder string) *Service {
		s, err := New(Config{Store: st, Packs: testPacks, Clock: clock, Holder: holder, LeaseTTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := svc("a"), svc("b")
	var wg sync.WaitGroup
	defer wg.Wait()
	a.renew(ctx, &wg)
	b.renew(ctx, &wg)
	if !a.Leader() || b.Leader() {
		t.Fatalf("leaders after the first renewals: a %v, b %v; want a only", a.Leader(), b.Leader())
	}
	tick := t0.Add(30 * time.Second)
	clock.Set(tick)
	if !a.mayFire(ctx, "h", tick) || b.mayFire(ctx, "h", tick) {
		t.Fatal("tick 1: want a to fire it and b not")
	}
	// a dies at tick 1 (its last renewal): b is refused until the lease expires.
	clock.Set(tick.Add(ttl - time.Second))
	b.renew(ctx, &wg)
	if b.Leader() {
		t.Fatal("b took a valid lease")
	}
	clock.Set(tick.Add(ttl))
	// Tick 1 handled this late by b (after a fired it) is dropped, not fired twice.
	if b.mayFire(ctx, "h", tick) {
		t.Fatal("b fired tick 1 again, ttl after a fired it")
	}
	tick2 := tick.Add(ttl)
	if !b.mayFire(ctx, "h", tick2) || !b.Leader() {
		t.Fatal("tick 2: b did not take the expired lease over")
	}
	// a, back (or merely stalled), no longer fires.
	if a.mayFire(ctx, "h", tick2) || a.Leader() {
		t.Fatal("a fired after losing the lease")
	}
	l, err := st.Lease(ctx, LeaseName)
	if err != nil || l.Holder != "b" {
		t.Fatalf("lease = %+v, %v; want held by b", l, err)
	}
}
