package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDescribe(t *testing.T) {
	for spec, want := range map[string]string{
		"0 */2 * * *":     "every 2 hours, UTC",
		"0 * * * *":       "every hour, UTC",
		"@hourly":         "every hour, UTC",
		"15 * * * *":      "every hour at minute 15, UTC",
		"*/15 * * * *":    "every 15 minutes, UTC",
		"* * * * *":       "every minute, UTC",
		"30 2 * * *":      "every day at 02:30 UTC",
		"@daily":          "every day at 00:00 UTC",
		"0 9 * * 1-5":     "every Monday to Friday at 09:00 UTC",
		"0 9 * * 1,3":     "every Monday and Wednesday at 09:00 UTC",
		"@weekly":         "every Sunday at 00:00 UTC",
		"0 0 1 * *":       "on day 1 of every month at 00:00 UTC",
		"0 10 */6 * * *":  "every 6 hours at minute 10, UTC",
		"*/30 * * * * *":  "every 30 seconds, UTC",
		"@every 10m":      "every 10 minutes",
		"@every 1h":       "every hour",
		"@every 1h30m":    "every 1 hour 30 minutes",
		"5 4 1-7 * *":     "cron 5 4 1-7 * *, UTC",
		"0 0 1 1 *":       "cron 0 0 1 1 *, UTC",
		"  0  */2 * * * ": "every 2 hours, UTC",
	} {
		if got := Describe(spec); got != want {
			t.Errorf("Describe(%q) = %q, want %q", spec, got, want)
		}
	}
}

var t0 = time.Date(2026, 8, 6, 10, 59, 30, 0, time.UTC)

func TestParse(t *testing.T) {
	for _, bad := range []string{"", "* * *", "61 * * * *", "TZ=Europe/Paris 0 * * * *", "CRON_TZ=UTC 0 * * * *",
		"@every 100ms", "@fortnightly"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	for spec, want := range map[string][]time.Time{
		"0 */2 * * *":  {time.Date(2026, 8, 6, 12, 0, 0, 0, time.UTC), time.Date(2026, 8, 6, 14, 0, 0, 0, time.UTC)},
		"30 2 * * *":   {time.Date(2026, 8, 7, 2, 30, 0, 0, time.UTC), time.Date(2026, 8, 8, 2, 30, 0, 0, time.UTC)},
		"45 * * * * *": {time.Date(2026, 8, 6, 10, 59, 45, 0, time.UTC), time.Date(2026, 8, 6, 11, 0, 45, 0, time.UTC)},
		"@hourly":      {time.Date(2026, 8, 6, 11, 0, 0, 0, time.UTC), time.Date(2026, 8, 6, 12, 0, 0, 0, time.UTC)},
		"@every 10m":   {t0.Add(10 * time.Minute), t0.Add(20 * time.Minute)},
	} {
		s, err := Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		// The same instant seen from Paris gives the same UTC times: never local time.
		got := s.NextN(t0.In(paris), 2)
		if len(got) != 2 || !got[0].Equal(want[0]) || !got[1].Equal(want[1]) || got[0].Location() != time.UTC {
			t.Errorf("%q: next = %v, want %v", spec, got, want)
		}
	}
	s, _ := Parse("0 */2 * * *")
	if p := s.Period(t0); p != 2*time.Hour {
		t.Errorf("period = %v", p)
	}
}

// recorder is a slog handler that forwards messages to a channel.
type recorder struct{ msgs chan string }

func (r recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r recorder) Handle(_ context.Context, rec slog.Record) error {
	select {
	case r.msgs <- rec.Message:
	default:
	}
	return nil
}
func (r recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r recorder) WithGroup(string) slog.Handler      { return r }

func waitLog(t *testing.T, msgs chan string, want string) {
	t.Helper()
	for m := range msgs {
		if strings.Contains(m, want) {
			return
		}
	}
}

type harness struct {
	fired  chan fired
	clock  *FakeClock
	s      *Scheduler
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, run JobFunc, log *slog.Logger, jobs ...string) *harness {
	t.Helper()
	h := &harness{clock: NewFakeClock(t0), done: make(chan error, 1), fired: make(chan fired, 16)}
	s, err := New(Config{Run: run, Clock: h.clock, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	// Ticks are observed once the activation has fully returned, so the next tick
	// never meets it still running (which SkipIfStillRunning would skip).
	s.afterRun = func(tr Trigger, skipped bool) {
		if !skipped {
			h.fired <- fired{tr.Job, h.clock.Now()}
		}
	}
	var js []Job
	for i := 0; i < len(jobs); i += 2 {
		sc, err := Parse(jobs[i+1])
		if err != nil {
			t.Fatal(err)
		}
		js = append(js, Job{Name: jobs[i], Schedule: sc})
	}
	s.Set(js)
	h.s = s
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- s.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	if h.cancel != nil {
		h.cancel()
		<-h.done
		h.cancel = nil
	}
}

type fired struct {
	job string
	at  time.Time
}

func TestFiresAtCronTimesInUTC(t *testing.T) {
	var h *harness
	h = start(t, func(ctx context.Context, tr Trigger) error {
		if tr.Scheduled.After(h.clock.Now()) {
			t.Errorf("scheduled %v at %v", tr.Scheduled, h.clock.Now())
		}
		return nil
	}, nil, "two-hourly", "0 */2 * * *", "ten", "@every 10m")
	ch := h.fired

	var got []fired
	for _, to := range []time.Time{
		t0.Add(10 * time.Minute),                     // ten
		t0.Add(20 * time.Minute),                     // ten
		time.Date(2026, 8, 6, 12, 0, 0, 0, time.UTC), // both (ten was due at 11:29:30: it fires once, at 12:00)
	} {
		h.clock.BlockUntil(1)
		h.clock.Set(to)
		got = append(got, <-ch)
	}
	noon := time.Date(2026, 8, 6, 12, 0, 0, 0, time.UTC)
	if f := <-ch; got[2].job == f.job || !f.at.Equal(noon) || !got[2].at.Equal(noon) {
		t.Fatalf("at noon fired %v and %v", got[2], f)
	}
	if got[0] != (fired{"ten", t0.Add(10 * time.Minute)}) || got[1] != (fired{"ten", t0.Add(20 * time.Minute)}) {
		t.Errorf("fired %v", got)
	}
	// Missed ticks are not caught up: the next two-hourly run is 14:00.
	next, err := h.s.Next("two-hourly", 2)
	if err != nil || !next[0].Equal(time.Date(2026, 8, 6, 14, 0, 0, 0, time.UTC)) || !next[1].Equal(time.Date(2026, 8, 6, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("next = %v, %v", next, err)
	}
	h.clock.BlockUntil(1)
	h.clock.Set(time.Date(2026, 8, 6, 14, 0, 0, 0, time.UTC))
	seen := map[string]bool{}
	for len(seen) < 2 {
		f := <-ch
		seen[f.job] = true
		if f.at.Hour() != 14 {
			t.Errorf("fired %v", f)
		}
	}
}

func TestSkipIfStillRunning(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	starts := 0
	msgs := make(chan string, 64)
	log := slog.New(recorder{msgs})
	started := make(chan struct{}, 4)
	h := start(t, func(ctx context.Context, tr Trigger) error {
		mu.Lock()
		starts++
		n := starts
		mu.Unlock()
		tr.Started(int64(n))
		started <- struct{}{}
		if n == 1 {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return nil
	}, log, "slow", "@every 1m")

	h.clock.BlockUntil(1)
	h.clock.Advance(time.Minute)
	<-started // run 1 is in progress
	h.clock.BlockUntil(1)
	h.clock.Advance(time.Minute)
	waitLog(t, msgs, "cron: skip") // the tick while run 1 is still going
	if _, err := h.s.RunNow(context.Background(), "slow", "alice"); !errors.Is(err, ErrSkipped) {
		t.Fatalf("RunNow during a run: %v, want ErrSkipped", err)
	}
	close(release)
	// Run 1 has returned once a manual run starts again.
	var id int64
	for {
		var err error
		id, err = h.s.RunNow(context.Background(), "slow", "alice")
		if err == nil {
			break
		}
		if !errors.Is(err, ErrSkipped) {
			t.Fatal(err)
		}
	}
	<-started
	mu.Lock()
	defer mu.Unlock()
	if starts != 2 || id != 2 {
		t.Errorf("starts = %d, id = %d; want 2 and 2", starts, id)
	}
}

func TestRecoverAndErrors(t *testing.T) {
	msgs := make(chan string, 64)
	h := start(t, func(ctx context.Context, tr Trigger) error {
		switch tr.Job {
		case "panics":
			panic("boom")
		case "fails":
			return errors.New("no pack")
		}
		return nil
	}, slog.New(recorder{msgs}), "panics", "@hourly", "fails", "@hourly")
	if _, err := h.s.RunNow(context.Background(), "panics", "bob"); err == nil {
		t.Error("RunNow of a panicking job: no error")
	}
	waitLog(t, msgs, "cron: panic")
	if _, err := h.s.RunNow(context.Background(), "fails", "bob"); err == nil || err.Error() != "no pack" {
		t.Errorf("RunNow = %v, want the job's error", err)
	}
	if _, err := h.s.RunNow(context.Background(), "nope", "bob"); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("RunNow(unknown) = %v", err)
	}
	// The scheduler survived the panic and still ticks.
	h.clock.BlockUntil(1)
	h.clock.Set(time.Date(2026, 8, 6, 11, 0, 0, 0, time.UTC))
	waitLog(t, msgs, "cron: panic")
	h.stop()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.s.RunNow(ctx, "fails", "bob"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("RunNow after stop = %v", err)
	}
}

func TestSetKeepsUnchangedJobs(t *testing.T) {
	h := start(t, func(ctx context.Context, tr Trigger) error { return nil }, nil, "a", "@every 10m")
	ch := h.fired
	h.clock.BlockUntil(1)
	s5, _ := Parse("@every 5m")
	s10, _ := Parse("@every 10m")
	h.s.Set([]Job{{Name: "a", Schedule: s10}, {Name: "b", Schedule: s5}})
	h.clock.BlockUntilTimerAt(t0.Add(5 * time.Minute))
	h.clock.Advance(5 * time.Minute)
	if f := <-ch; f.job != "b" {
		t.Fatalf("fired %v, want b", f)
	}
	h.clock.BlockUntil(1)
	h.clock.Advance(5 * time.Minute)
	got := map[string]bool{}
	got[(<-ch).job] = true
	got[(<-ch).job] = true
	if !got["a"] || !got["b"] {
		t.Errorf("at +10m fired %v", got)
	}
}
