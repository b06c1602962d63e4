package hunts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exechunt/exechunt/orchestrator/scheduler"
	"github.com/exechunt/exechunt/orchestrator/store"
)

// Info is a hunt with what a reader wants next to it.
type Info struct {
	store.Hunt
	// ScheduleWords says when it runs: "every 2 hours, UTC" for a dispatch hunt,
	// "pushed: osquery runs it every hour" for a push hunt.
	ScheduleWords string
	NextRuns      []time.Time     // dispatch hunts, enabled
	LastRun       *store.HuntRun  // dispatch hunts
	QueryNames    []string        // the pack queries it runs
	Windowed      map[string]bool // dispatch: queries bounded by a time window
	Problem       string          // why it cannot run (pack not loaded), if so
}

func (s *Service) info(ctx context.Context, h store.Hunt, next int) (Info, error) {
	in := Info{Hunt: h, Windowed: map[string]bool{}}
	qs := s.selectQueries(h)
	if _, ok := s.packs[h.Pack]; !ok {
		in.Problem = fmt.Sprintf("pack %q is not loaded", h.Pack)
	}
	for _, q := range qs {
		in.QueryNames = append(in.QueryNames, q.Name)
		if h.Mode == store.ModeDispatch && s.Windowed(q) {
			in.Windowed[q.Name] = true
		}
	}
	switch h.Mode {
	case store.ModeDispatch:
		in.ScheduleWords = scheduler.Describe(h.Schedule)
		if h.Enabled {
			if sc, err := scheduler.Parse(h.Schedule); err == nil {
				in.NextRuns = sc.NextN(s.c.Clock.Now(), next)
			}
		}
		runs, err := s.c.Store.ListHuntRuns(ctx, store.HuntRunFilter{HuntID: h.ID, Limit: 1})
		if err != nil {
			return in, err
		}
		if len(runs) > 0 {
			in.LastRun = &runs[0]
		}
	case store.ModePush:
		iv := h.Interval
		if iv == 0 && len(qs) > 0 {
			iv = qs[0].Interval
			for _, q := range qs[1:] {
				if q.Interval != iv {
					iv = -1
				}
			}
		}
		switch {
		case iv > 0:
			in.ScheduleWords = "pushed: osquery runs it " + scheduler.Describe(fmt.Sprintf("@every %ds", iv))
		default:
			in.ScheduleWords = "pushed: osquery runs each query at its own interval"
		}
	}
	if !h.Enabled {
		in.ScheduleWords += " (disabled)"
	}
	return in, nil
}

// List returns every hunt with its next runs (n of them).
func (s *Service) List(ctx context.Context, next int) ([]Info, error) {
	hs, err := s.c.Store.ListHunts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(hs))
	for _, h := range hs {
		in, err := s.info(ctx, h, next)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// Get returns one hunt.
func (s *Service) Get(ctx context.Context, name string, next int) (Info, error) {
	h, err := s.c.Store.Hunt(ctx, name)
	if err != nil {
		return Info{}, err
	}
	return s.info(ctx, h, next)
}

// ErrPushHunt is returned by RunNow for push hunts: osquery schedules them.
var ErrPushHunt = errors.New("a push hunt runs in osquery's schedule; it cannot be started from here")

// ErrDisabled is returned by RunNow for a disabled hunt.
var ErrDisabled = errors.New("disabled: enable it to run it")

// RunNow starts a run of a dispatch hunt at once and returns it. A run still in
// progress makes it scheduler.ErrSkipped.
func (s *Service) RunNow(ctx context.Context, name, by string) (store.HuntRun, error) {
	h, err := s.c.Store.Hunt(ctx, name)
	if err != nil {
		return store.HuntRun{}, err
	}
	if h.Mode == store.ModePush {
		return store.HuntRun{}, ErrPushHunt
	}
	if !h.Enabled {
		return store.HuntRun{}, ErrDisabled
	}
	id, err := s.sched.RunNow(ctx, name, by)
	if errors.Is(err, scheduler.ErrUnknownJob) {
		// Created by another orchestrator since the last reload.
		if err := s.Reload(ctx); err != nil {
			return store.HuntRun{}, err
		}
		id, err = s.sched.RunNow(ctx, name, by)
	}
	if err != nil {
		return store.HuntRun{}, err
	}
	return s.c.Store.HuntRun(ctx, id)
}

// Runs returns a hunt's runs, latest first (all hunts when name is "").
func (s *Service) Runs(ctx context.Context, name string, limit int) ([]store.HuntRun, error) {
	f := store.HuntRunFilter{Limit: limit}
	if name != "" {
		h, err := s.c.Store.Hunt(ctx, name)
		if err != nil {
			return nil, err
		}
		f.HuntID = h.ID
	}
	return s.c.Store.ListHuntRuns(ctx, f)
}

// RunDetail is a run with its queries and per-host states.
type RunDetail struct {
	Run     store.HuntRun
	Queries []store.HuntRunQuery
	Hosts   []store.HuntRunHost
}

// Run returns a run with its queries and hosts.
func (s *Service) RunDetail(ctx context.Context, id int64) (RunDetail, error) {
	r, err := s.c.Store.HuntRun(ctx, id)
	if err != nil {
		return RunDetail{}, err
	}
	d := RunDetail{Run: r}
	if d.Queries, err = s.c.Store.HuntRunQueries(ctx, id); err != nil {
		return d, err
	}
	d.Hosts, err = s.c.Store.HuntRunHosts(ctx, id)
	return d, err
}

// RunRows pages a run's rows.
func (s *Service) RunRows(ctx context.Context, id int64, f store.RunRowFilter) ([]store.HuntRow, error) {
	if _, err := s.c.Store.HuntRun(ctx, id); err != nil {
		return nil, err
	}
	return s.c.Store.HuntRunRows(ctx, id, f)
}
