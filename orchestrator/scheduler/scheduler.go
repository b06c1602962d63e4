// Package scheduler runs named jobs on cron schedules in UTC, for the
// orchestrator's hunts.
//
// Expressions are parsed by github.com/robfig/cron/v3 (standard 5 fields, an
// optional leading seconds field, @hourly-style descriptors and @every), always in
// UTC, and every job is wrapped with cron's SkipIfStillRunning and Recover (in
// that order: see Set) and a slog-backed cron.Logger. What is not taken from cron/v3 is its run loop:
// cron.Cron reads time.Now and time.NewTimer itself, so a test of it must sleep
// through real ticks. Scheduler.Run is the same loop (sleep until the earliest
// Schedule.Next, run what is due, compute the next times from now) over an
// injected Clock, so tests drive ticks with a FakeClock and never sleep.
//
// As in cron/v3, ticks missed while the process was down or busy are not caught
// up: after a wake-up the next time is computed from the current time.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"
)

// Trigger tells a job why it runs.
type Trigger struct {
	Job       string
	Manual    bool      // started by RunNow
	By        string    // who asked, for manual runs
	Scheduled time.Time // the tick (scheduled runs) or the request time (manual)
	// started reports the job's run id back to RunNow.
	started func(id int64)
}

// Started tells a RunNow caller that the run began, with the id of the record the
// job made of it. Calling it more than once, or for a scheduled run, does nothing.
func (t Trigger) Started(id int64) {
	if t.started != nil {
		t.started(id)
	}
}

// JobFunc runs one activation of a job. ctx ends when the scheduler stops.
type JobFunc func(ctx context.Context, t Trigger) error

// Job is a named schedule.
type Job struct {
	Name     string
	Schedule Schedule
}

// Config configures a Scheduler. Run is required.
type Config struct {
	Run   JobFunc
	Clock Clock        // default SystemClock
	Log   *slog.Logger // default: discard
}

// Errors of RunNow.
var (
	ErrUnknownJob = errors.New("scheduler: no such job")
	// ErrSkipped means the job was still running, so SkipIfStillRunning skipped it.
	ErrSkipped    = errors.New("scheduler: a run of this job is still in progress")
	ErrNotRunning = errors.New("scheduler: not running")
)

// Scheduler runs jobs at their cron times.
type Scheduler struct {
	c      Config
	wake   chan struct{}
	manual chan manualRequest

	mu   sync.Mutex
	jobs map[string]*entry

	// afterRun, when set (tests), is called once an activation has fully returned
	// from the wrapped job; skipped tells whether SkipIfStillRunning skipped it.
	afterRun func(t Trigger, skipped bool)
}

type entry struct {
	name    string
	sched   Schedule
	next    time.Time
	wrapped cron.Job
	// pending hands one activation's trigger (and ctx) to the wrapped job: cron.Job
	// has no arguments and SkipIfStillRunning keeps its state per wrapped job, so
	// the job value is shared and each activation is a message to it.
	pending atomic.Pointer[activation]
}

type activation struct {
	ctx   context.Context
	t     Trigger
	reply chan startResult // manual runs: cap 1, first answer wins
}

func (a *activation) answer(r startResult) {
	if a.reply == nil {
		return
	}
	select {
	case a.reply <- r:
	default:
	}
}

type startResult struct {
	id  int64
	err error
}

type manualRequest struct {
	name, by string
	reply    chan startResult
}

// New returns a Scheduler without jobs.
func New(c Config) (*Scheduler, error) {
	if c.Run == nil {
		return nil, errors.New("scheduler: Run is required")
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{c: c, wake: make(chan struct{}, 1), manual: make(chan manualRequest), jobs: map[string]*entry{}}, nil
}

// CronLogger adapts slog to cron.Logger (cron's key/value pairs become slog
// attributes).
func CronLogger(l *slog.Logger) cron.Logger { return cronLogger{l} }

type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Info("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}

// Set replaces the jobs. A job whose name and schedule are unchanged keeps its
// state (next time, the running activation that SkipIfStillRunning guards).
func (s *Scheduler) Set(jobs []Job) {
	s.mu.Lock()
	next := make(map[string]*entry, len(jobs))
	for _, j := range jobs {
		if e, ok := s.jobs[j.Name]; ok && e.sched.Spec == j.Schedule.Spec {
			next[j.Name] = e
			continue
		}
		e := &entry{name: j.Name, sched: j.Schedule}
		l := CronLogger(s.c.Log.With("job", j.Name))
		// Recover goes inside SkipIfStillRunning: in the other order (cron's README
		// example) a panic skips SkipIfStillRunning's hand-back of its token and
		// every later activation of the job is skipped forever.
		e.wrapped = cron.NewChain(cron.SkipIfStillRunning(l), cron.Recover(l)).Then(cron.FuncJob(func() {
			a := e.pending.Swap(nil)
			if a == nil {
				return
			}
			err := s.c.Run(a.ctx, a.t)
			if err != nil && a.ctx.Err() == nil {
				s.c.Log.Warn("job failed", "job", e.name, "manual", a.t.Manual, "err", err)
			}
			a.answer(startResult{err: err})
		}))
		next[j.Name] = e
	}
	s.jobs = next
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Next returns the next n activations of a job after the clock's current time.
func (s *Scheduler) Next(name string, n int) ([]time.Time, error) {
	s.mu.Lock()
	e, ok := s.jobs[name]
	s.mu.Unlock()
	if !ok {
		return nil, ErrUnknownJob
	}
	return e.sched.NextN(s.c.Clock.Now(), n), nil
}

// RunNow starts an activation of the job at once (subject to SkipIfStillRunning)
// and returns the id the job reported with Trigger.Started. It returns
// ErrSkipped when a run is still in progress, the job's error when it failed
// before starting, and ErrNotRunning when Run is not serving.
func (s *Scheduler) RunNow(ctx context.Context, name, by string) (int64, error) {
	req := manualRequest{name: name, by: by, reply: make(chan startResult, 1)}
	select {
	case s.manual <- req:
	case <-ctx.Done():
		return 0, ErrNotRunning
	}
	select {
	case r := <-req.reply:
		return r.id, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Run runs jobs until ctx ends, then waits for the running activations (which
// see ctx end) to return — cron's <-c.Stop().Done().
func (s *Scheduler) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	clock := s.c.Clock
	for {
		now := clock.Now()
		var earliest time.Time
		s.mu.Lock()
		for _, e := range s.jobs {
			if e.next.IsZero() {
				e.next = e.sched.Next(now)
			}
			if !e.next.After(now) {
				s.fire(ctx, &wg, e, &activation{t: Trigger{Job: e.name, Scheduled: e.next}})
				e.next = e.sched.Next(now)
			}
			if !e.next.IsZero() && (earliest.IsZero() || e.next.Before(earliest)) {
				earliest = e.next
			}
		}
		s.mu.Unlock()
		var timer Timer
		var tick <-chan time.Time
		if !earliest.IsZero() {
			timer = clock.NewTimer(earliest.Sub(now))
			tick = timer.C()
		}
		stop := func() {
			if timer != nil {
				timer.Stop()
			}
		}
		select {
		case <-ctx.Done():
			stop()
			return nil
		case <-tick:
		case <-s.wake:
			stop()
		case req := <-s.manual:
			stop()
			s.mu.Lock()
			e, ok := s.jobs[req.name]
			if ok {
				s.fire(ctx, &wg, e, &activation{t: Trigger{Job: e.name, Manual: true, By: req.by, Scheduled: now},
					reply: req.reply})
			}
			s.mu.Unlock()
			if !ok {
				req.reply <- startResult{err: fmt.Errorf("%w: %q", ErrUnknownJob, req.name)}
			}
		}
	}
}

// fire starts one activation of e in its own goroutine. When SkipIfStillRunning
// skips it, the activation is still pending after the wrapped job returns: it is
// withdrawn and a manual caller gets ErrSkipped.
func (s *Scheduler) fire(ctx context.Context, wg *sync.WaitGroup, e *entry, a *activation) {
	a.ctx = ctx
	if a.reply != nil {
		a.t.started = func(id int64) { a.answer(startResult{id: id}) }
	}
	if old := e.pending.Swap(a); old != nil {
		old.answer(startResult{err: ErrSkipped})
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.wrapped.Run()
		skipped := e.pending.CompareAndSwap(a, nil)
		if skipped {
			a.answer(startResult{err: ErrSkipped})
		}
		if s.afterRun != nil {
			s.afterRun(a.t, skipped)
		}
		a.answer(startResult{err: errors.New("scheduler: the job ended without reporting a run")})
	}()
}
