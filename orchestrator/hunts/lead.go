package hunts

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// LeaseName is the store lease whose holder fires the cron hunts. Replicas on
// one store all run a scheduler, but a scheduled tick is dispatched only by the
// replica that renews the lease at that tick (runJob), so each tick fires once
// fleet-wide; manual runs work on every replica.
const LeaseName = "scheduler"

// DefaultHolder is hostname-pid: distinct for replicas on different hosts, and
// for a restarted process.
func DefaultHolder() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "exechunt"
	}
	return fmt.Sprintf("%s-%d", h, os.Getpid())
}

// Holder returns the name this replica holds the lease under.
func (s *Service) Holder() string { return s.c.Holder }

// Leader reports whether this replica held the "scheduler" lease at its last
// renewal.
func (s *Service) Leader() bool { return s.lease.Held() }

// lead renews the lease every LeaseTTL/3 until ctx ends, then releases it so
// another replica takes over at once.
func (s *Service) lead(ctx context.Context, wg *sync.WaitGroup) {
	for {
		t := s.c.Clock.NewTimer(s.c.LeaseTTL / 3)
		select {
		case <-ctx.Done():
			t.Stop()
			if held, err := s.lease.Release(ctx); err != nil {
				s.c.Log.Warn("releasing the hunt scheduler lease", "err", err)
			} else if held {
				s.c.Log.Info("released the hunt scheduler lease", "holder", s.c.Holder)
			}
			return
		case <-t.C():
			s.renew(ctx, wg)
		}
	}
}

// renew acquires or renews the lease. On becoming the leader it re-reads the hunt
// definitions and resumes the runs left running (by a previous process, or by a
// leader that died), which this replica is not already waiting on.
func (s *Service) renew(ctx context.Context, wg *sync.WaitGroup) {
	ok, was, err := s.lease.Renew(ctx, s.c.Clock.Now())
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		s.c.Log.Warn("renewing the hunt scheduler lease", "err", err)
	}
	switch {
	case ok && !was:
		s.c.Log.Info("holding the hunt scheduler lease: this replica fires the cron hunts", "holder", s.c.Holder,
			"ttl", s.c.LeaseTTL.String())
		if err := s.Reload(ctx); err != nil && ctx.Err() == nil {
			s.c.Log.Warn("reloading hunts", "err", err)
		}
		s.resume(ctx, wg)
	case !ok && was:
		s.c.Log.Warn("lost the hunt scheduler lease: another replica fires the cron hunts", "holder", s.c.Holder)
	}
}

// resume waits on the running runs nobody here is waiting on.
func (s *Service) resume(ctx context.Context, wg *sync.WaitGroup) {
	running, err := s.c.Store.ListHuntRuns(ctx, store.HuntRunFilter{State: store.RunRunning, Limit: 1000})
	if err != nil {
		if ctx.Err() == nil {
			s.c.Log.Warn("hunts: resume", "err", err)
		}
		return
	}
	for _, r := range running {
		if !s.track(r.ID) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.untrack(r.ID)
			s.c.Log.Info("resuming hunt run", "hunt", r.Hunt, "run_id", r.ID)
			if err := s.await(ctx, r, true); err != nil && ctx.Err() == nil {
				s.c.Log.Warn("resumed hunt run", "run_id", r.ID, "err", err)
			}
		}()
	}
}

// track records that this replica waits on run id; false if it already does.
func (s *Service) track(id int64) bool {
	s.awaitMu.Lock()
	defer s.awaitMu.Unlock()
	if s.awaiting[id] {
		return false
	}
	s.awaiting[id] = true
	return true
}

func (s *Service) untrack(id int64) {
	s.awaitMu.Lock()
	delete(s.awaiting, id)
	s.awaitMu.Unlock()
}

// mayFire renews the lease at a scheduled tick and reports whether this replica
// dispatches it. A tick handled more than LeaseTTL/2 late is dropped: a replica
// that acquires the lease can only do so once the previous holder's lease has
// expired, i.e. at least LeaseTTL after that holder last fired, so with the
// lateness bound two replicas never both fire one tick (clocks in sync).
func (s *Service) mayFire(ctx context.Context, job string, tick time.Time) bool {
	now := s.c.Clock.Now()
	if late := now.Sub(tick); late > s.c.LeaseTTL/2 {
		s.c.Log.Warn("hunt tick dropped: handled too late", "hunt", job, "tick", tick, "late", late.String())
		return false
	}
	ok, was, err := s.lease.Check(ctx, now)
	if err != nil {
		if ctx.Err() == nil {
			s.c.Log.Warn("hunt tick not fired: the scheduler lease could not be checked", "hunt", job, "err", err)
		}
		return false
	}
	if was && !ok {
		s.c.Log.Warn("lost the hunt scheduler lease: another replica fires the cron hunts", "holder", s.c.Holder)
	}
	return ok
}
