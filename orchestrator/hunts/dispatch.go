package hunts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/exechunt/exechunt/orchestrator/scheduler"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/targeting"
	"github.com/exechunt/exechunt/packs"
)

// Window bounds a query to the events of (from, to], by wrapping it as
// packs/README.md describes; SQLite carries the bound into the virtual table for
// simple queries (time is an index column of the event tables).
func Window(sql string, from, to time.Time) string {
	sql = strings.TrimRight(strings.TrimSpace(sql), "; \t\r\n")
	return fmt.Sprintf("SELECT * FROM (\n%s\n) WHERE time > %d AND time <= %d;", sql, from.Unix(), to.Unix())
}

// Windowed reports whether a dispatch run windows q: it reads an event table and
// is not a snapshot of live state.
func (s *Service) Windowed(q packs.Query) bool {
	return !q.Snapshot && s.eventsRE.MatchString(q.SQL)
}

// discovery folds a pack's discovery queries (all must return rows) into one.
func discovery(qs []string) string {
	var parts []string
	for _, q := range qs {
		if q = strings.TrimRight(strings.TrimSpace(q), "; \t\r\n"); q != "" {
			parts = append(parts, q)
		}
	}
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0] + ";"
	}
	for i, p := range parts {
		parts[i] = "EXISTS (" + p + ")"
	}
	return "SELECT 1 WHERE " + strings.Join(parts, " AND ") + ";"
}

// Targets returns the hosts of a hunt's targets, as orchestrator/targeting
// defines them for hunts and live queries alike.
func Targets(hosts []store.Host, t targeting.Targets) []store.Host {
	m := targeting.Targets(t).Matcher()
	var out []store.Host
	for _, h := range hosts {
		if m.Matches(targetHost(h)) {
			out = append(out, h)
		}
	}
	return out
}

// targetHost is what targeting reads of a stored host.
func targetHost(h store.Host) targeting.Host {
	return targeting.Host{ID: h.ID, Hostname: h.Hostname, Identifier: h.Identifier, Platform: h.Platform}
}

// runJob is the scheduler's job: one dispatch run of the hunt named t.Job.
func (s *Service) runJob(ctx context.Context, t scheduler.Trigger) error {
	h, err := s.c.Store.Hunt(ctx, t.Job)
	if err != nil {
		return fmt.Errorf("hunt %s: %w", t.Job, err)
	}
	if h.Mode != store.ModeDispatch {
		return fmt.Errorf("hunt %s is a push hunt: osquery schedules it", h.Name)
	}
	if !t.Manual && !s.mayFire(ctx, h.Name, t.Scheduled) {
		return nil // another replica holds the scheduler lease and fires this tick
	}
	now := s.c.Clock.Now()
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = s.c.Timeout
	}
	r := store.HuntRun{HuntID: h.ID, Hunt: h.Name, Trigger: store.TriggerSchedule, ScheduledAt: t.Scheduled,
		WindowEnd: now, Deadline: now.Add(timeout)}
	if t.Manual {
		r.Trigger, r.By = store.TriggerManual, t.By
	}
	run, err := s.c.Store.StartHuntRun(ctx, r, now)
	if errors.Is(err, store.ErrConflict) {
		// Another run of the hunt is still going (resumed after a restart, or on
		// another orchestrator): the tick overlaps it.
		s.c.Log.Info("hunt run skipped: the previous run is still in progress", "hunt", h.Name, "trigger", r.Trigger)
		return scheduler.ErrSkipped
	}
	if err != nil {
		return err
	}
	log := s.c.Log.With("hunt", h.Name, "run_id", run.ID)
	s.track(run.ID)
	defer s.untrack(run.ID)
	n, err := s.dispatch(ctx, h, run, now)
	// A manual caller gets the run once its live queries exist (or it failed).
	defer t.Started(run.ID)
	if err != nil {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, ferr := s.c.Store.FinishHuntRun(fctx, run.ID, store.RunFailed, err.Error(), s.c.Clock.Now()); ferr != nil {
			log.Warn("recording a failed run", "err", ferr)
		}
		return err
	}
	log.Info("hunt run dispatched", "trigger", r.Trigger, "live_queries", n)
	if n > 0 {
		s.c.Poke()
	}
	t.Started(run.ID)
	return s.await(ctx, run, false)
}

// dispatch creates the run's live queries and returns how many.
func (s *Service) dispatch(ctx context.Context, h store.Hunt, run store.HuntRun, now time.Time) (int, error) {
	p, ok := s.packs[h.Pack]
	if !ok {
		return 0, fmt.Errorf("pack %q is not loaded", h.Pack)
	}
	qs := s.selectQueries(h)
	if len(qs) == 0 {
		return 0, fmt.Errorf("pack %s: none of the hunt's queries exist", h.Pack)
	}
	all, err := s.c.Store.ListHosts(ctx, store.HostFilter{})
	if err != nil {
		return 0, err
	}
	hosts := Targets(all, h.Targets)
	marks, err := s.c.Store.HuntWatermarks(ctx, h.ID)
	if err != nil {
		return 0, err
	}
	// A host that never answered the hunt starts one schedule period before the
	// hunt was created, so a host offline for many runs still gets every event
	// since then (within MaxLookback) when it comes back.
	period := time.Hour
	if sc, err := scheduler.Parse(h.Schedule); err == nil {
		if p := sc.Period(now); p > 0 {
			period = p
		}
	}
	first := h.CreatedAt.Add(-period)
	oldest := now.Add(-s.c.MaxLookback)
	disc := discovery(p.Discovery)
	created := 0
	for _, q := range qs {
		var eligible []store.Host
		for _, host := range hosts {
			if targeting.PlatformMatches(p.Platform, host.Platform) && targeting.PlatformMatches(q.Platform, host.Platform) {
				eligible = append(eligible, host)
			}
		}
		if len(eligible) == 0 {
			continue
		}
		groups := map[time.Time][]int64{}
		if !s.Windowed(q) {
			groups[time.Time{}] = hostIDs(eligible)
		} else {
			for _, host := range eligible {
				start, ok := marks[host.ID]
				if !ok || start.IsZero() {
					start = first
				}
				start = maxTime(start, oldest)
				if !start.Before(now) {
					continue // answered up to now already (a manual run right after a tick)
				}
				groups[start] = append(groups[start], host.ID)
			}
		}
		starts := make([]time.Time, 0, len(groups))
		for st := range groups {
			starts = append(starts, st)
		}
		slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
		for _, start := range starts {
			sql := q.SQL
			if !start.IsZero() {
				sql = Window(q.SQL, start, now)
			}
			targets, _ := json.Marshal(map[string]any{"hunt": h.Name, "run_id": run.ID, "query": q.Name})
			lq, err := s.c.Store.CreateLiveQuery(ctx, store.LiveQuery{SQL: sql, Discovery: disc, Targets: targets,
				CreatedBy: "hunt:" + h.Name, Deadline: run.Deadline}, groups[start], now)
			if err != nil {
				return created, err
			}
			if err := s.c.Store.AddHuntRunQuery(ctx, store.HuntRunQuery{RunID: run.ID, Query: q.Name,
				LiveQueryID: lq.ID, WindowStart: start}); err != nil {
				return created, err
			}
			created++
		}
	}
	return created, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func hostIDs(hs []store.Host) []int64 {
	out := make([]int64, len(hs))
	for i, h := range hs {
		out[i] = h.ID
	}
	return out
}

// resumeGrace is how long a resumed run without live queries may still be being
// dispatched by another replica.
const resumeGrace = 5 * time.Second

// await waits until every live query of the run has ended (all hosts answered, or
// the deadline passed and the server's deadline loop closed them), then records
// the run as done. When ctx ends first the run stays running in the store and the
// next start resumes it. A resumed run without any live query (the process
// stopped while dispatching it) is marked interrupted.
func (s *Service) await(ctx context.Context, run store.HuntRun, resumed bool) error {
	for {
		var wake <-chan struct{}
		if s.c.Changes != nil {
			wake = s.c.Changes()
		}
		qs, err := s.c.Store.HuntRunQueries(ctx, run.ID)
		if err != nil {
			return err
		}
		open := 0
		for _, q := range qs {
			lq, err := s.c.Store.LiveQuery(ctx, q.LiveQueryID)
			if err != nil {
				return err
			}
			if lq.State == store.QueryRunning {
				open++
			}
		}
		if open == 0 && len(qs) == 0 && resumed && s.c.Clock.Now().Sub(run.StartedAt) < resumeGrace {
			// Another replica may still be dispatching it (a manual run on a
			// replica that does not lead): dispatching takes milliseconds, so
			// give it resumeGrace before calling it interrupted.
			open = 1
		}
		if open == 0 {
			state, msg := store.RunDone, ""
			switch {
			case len(qs) == 0 && resumed:
				state, msg = store.RunInterrupted, "the orchestrator stopped while dispatching the run"
			case len(qs) == 0:
				msg = "no targeted host matches the pack's platforms"
			}
			r, err := s.c.Store.FinishHuntRun(ctx, run.ID, state, msg, s.c.Clock.Now())
			if errors.Is(err, store.ErrConflict) {
				return nil // another replica waiting on the run ended it first
			}
			if err != nil {
				return err
			}
			s.c.Log.Info("hunt run ended", "hunt", r.Hunt, "run_id", r.ID, "state", r.State, "hosts", r.HostsTargeted,
				"responded", r.HostsResponded, "errored", r.HostsErrored, "offline", r.HostsOffline, "rows", r.Rows,
				"duration", r.Duration(s.c.Clock.Now()).String())
			return nil
		}
		t := s.c.Clock.NewTimer(s.c.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-wake:
			t.Stop()
		case <-t.C():
		}
	}
}
