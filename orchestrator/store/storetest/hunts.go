package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/targeting"
)

func sampleHunt(name string) store.Hunt {
	return store.Hunt{Name: name, Description: "d", Pack: "execution-basics", Queries: []string{"q1", "q2"},
		Targets: targeting.Targets{Platforms: []string{"windows"}, HostIDs: []int64{3}}, Mode: store.ModeDispatch,
		Schedule: "0 */2 * * *", Timeout: 90 * time.Second, Enabled: true, CreatedBy: "admin"}
}

func testHuntsCRUD(t *testing.T, s store.Store) {
	ctx := context.Background()
	h, err := s.CreateHunt(ctx, sampleHunt("basics"), t0)
	if err != nil {
		t.Fatal(err)
	}
	want := sampleHunt("basics")
	want.ID, want.CreatedAt, want.UpdatedAt = h.ID, t0, t0
	if h.ID == 0 || !reflect.DeepEqual(h, want) {
		t.Fatalf("created\n%+v\nwant\n%+v", h, want)
	}
	if _, err := s.CreateHunt(ctx, sampleHunt("basics"), t0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate name: %v, want ErrConflict", err)
	}
	push := store.Hunt{Name: "push", Pack: "default-push", Targets: targeting.Targets{All: true}, Mode: store.ModePush,
		Interval: 600, Builtin: true}
	p, err := s.CreateHunt(ctx, push, t0)
	if err != nil || p.Queries != nil || p.Enabled || !p.Builtin || p.Interval != 600 || !p.Targets.All {
		t.Fatalf("push hunt = %+v, %v", p, err)
	}
	got, err := s.Hunt(ctx, "basics")
	if err != nil || !reflect.DeepEqual(got, h) {
		t.Errorf("Hunt = %+v, %v", got, err)
	}
	h.Schedule, h.Enabled, h.Queries = "@every 10m", false, nil
	u, err := s.UpdateHunt(ctx, h, t0.Add(time.Hour))
	if err != nil || u.Schedule != "@every 10m" || u.Enabled || u.Queries != nil || !u.CreatedAt.Equal(t0) ||
		!u.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("updated = %+v, %v", u, err)
	}
	u.Name = "push"
	if _, err := s.UpdateHunt(ctx, u, t0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("rename onto a taken name: %v", err)
	}
	if _, err := s.UpdateHunt(ctx, store.Hunt{ID: 999, Name: "x", Mode: store.ModePush}, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update unknown: %v", err)
	}
	all, err := s.ListHunts(ctx)
	if err != nil || len(all) != 2 || all[0].Name != "basics" || all[1].Name != "push" {
		t.Errorf("ListHunts = %+v, %v", all, err)
	}
	if err := s.DeleteHunt(ctx, "basics"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Hunt(ctx, "basics"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted hunt: %v", err)
	}
	if err := s.DeleteHunt(ctx, "basics"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
}

func testHuntsSeedOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.CreateHunt(ctx, sampleHunt("mine"), t0); err != nil {
		t.Fatal(err)
	}
	seed := []store.Hunt{sampleHunt("mine"), sampleHunt("builtin-a"), sampleHunt("builtin-b")}
	n, err := s.SeedHunts(ctx, seed, t0)
	if err != nil || n != 2 {
		t.Fatalf("first seed: %d, %v (want 2: a taken name is left alone)", n, err)
	}
	if err := s.DeleteHunt(ctx, "builtin-a"); err != nil {
		t.Fatal(err)
	}
	n, err = s.SeedHunts(ctx, seed, t0)
	if err != nil || n != 0 {
		t.Errorf("second seed: %d, %v", n, err)
	}
	if _, err := s.Hunt(ctx, "builtin-a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a deleted built-in came back: %v", err)
	}
}

// runFixture: a hunt with a run of two queries over three hosts; q1 is windowed
// and split in two live queries (hosts a+b from one window start, c from another).
type runFixture struct {
	hunt       store.Hunt
	run        store.HuntRun
	a, b, c    store.Host
	q1a, q1c   store.LiveQuery
	q2         store.LiveQuery
	windowEnd  time.Time
	windowPrev time.Time
}

func newRunFixture(t *testing.T, s store.Store) runFixture {
	t.Helper()
	ctx := context.Background()
	var f runFixture
	f.a = enroll(t, s, "a", "U-1", "windows", "k1", t0)
	f.b = enroll(t, s, "b", "U-2", "windows", "k2", t0)
	f.c = enroll(t, s, "c", "U-3", "linux", "k3", t0)
	var err error
	if f.hunt, err = s.CreateHunt(ctx, sampleHunt("basics"), t0); err != nil {
		t.Fatal(err)
	}
	f.windowEnd = t0.Add(time.Hour)
	f.windowPrev = t0
	f.run, err = s.StartHuntRun(ctx, store.HuntRun{HuntID: f.hunt.ID, Hunt: f.hunt.Name, Trigger: store.TriggerSchedule,
		ScheduledAt: f.windowEnd, WindowEnd: f.windowEnd, Deadline: f.windowEnd.Add(5 * time.Minute)}, f.windowEnd)
	if err != nil {
		t.Fatal(err)
	}
	f.q1a = newQuery(t, s, "SELECT 1 /* q1 a,b */", f.a.ID, f.b.ID)
	f.q1c = newQuery(t, s, "SELECT 1 /* q1 c */", f.c.ID)
	f.q2 = newQuery(t, s, "SELECT 2", f.a.ID, f.b.ID, f.c.ID)
	for _, q := range []store.HuntRunQuery{
		{RunID: f.run.ID, Query: "q1", LiveQueryID: f.q1a.ID, WindowStart: f.windowPrev},
		{RunID: f.run.ID, Query: "q1", LiveQueryID: f.q1c.ID, WindowStart: f.windowPrev.Add(-time.Hour)},
		{RunID: f.run.ID, Query: "q2", LiveQueryID: f.q2.ID},
	} {
		if err := s.AddHuntRunQuery(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func answer(t *testing.T, s store.Store, host int64, results ...store.HostResult) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.TakePendingQueries(ctx, host, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordResults(ctx, host, results, t0); err != nil {
		t.Fatal(err)
	}
}

func testHuntRunLifecycle(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newRunFixture(t, s)
	if f.run.ID == 0 || f.run.State != store.RunRunning || !f.run.StartedAt.Equal(f.windowEnd) {
		t.Fatalf("started = %+v", f.run)
	}
	r, err := s.HuntRun(ctx, f.run.ID)
	if err != nil || r.HostsTargeted != 3 || r.HostsResponded != 0 || r.Trigger != store.TriggerSchedule {
		t.Fatalf("running run = %+v, %v", r, err)
	}
	// a answers both with rows; b answers q1 with an error; c never picks up.
	answer(t, s, f.a.ID,
		store.HostResult{QueryID: f.q1a.ID, Rows: []map[string]string{{"name": "cmd.exe"}, {"name": "powershell.exe"}}},
		store.HostResult{QueryID: f.q2.ID, Rows: []map[string]string{{"x": "2"}}})
	answer(t, s, f.b.ID,
		store.HostResult{QueryID: f.q1a.ID, Status: 1, Message: "no such table"},
		store.HostResult{QueryID: f.q2.ID})
	hosts, err := s.HuntRunHosts(ctx, f.run.ID)
	if err != nil {
		t.Fatal(err)
	}
	states := map[int64]string{}
	for _, h := range hosts {
		states[h.HostID] = h.State
		if h.HostID == f.a.ID && h.Rows != 3 {
			t.Errorf("host a rows = %d", h.Rows)
		}
		if h.HostID == f.b.ID && h.Message != "no such table" {
			t.Errorf("host b message = %q", h.Message)
		}
	}
	if !reflect.DeepEqual(states, map[int64]string{f.a.ID: store.HostOK, f.b.ID: store.HostError, f.c.ID: store.HostPending}) {
		t.Errorf("host states = %v", states)
	}
	// The live queries end at their deadline: c becomes offline.
	if _, err := s.FinishLiveQueries(ctx, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	qs, err := s.HuntRunQueries(ctx, f.run.ID)
	if err != nil || len(qs) != 3 {
		t.Fatalf("queries = %+v, %v", qs, err)
	}
	byLQ := map[int64]store.HuntRunQuery{}
	for _, q := range qs {
		byLQ[q.LiveQueryID] = q
	}
	if q := byLQ[f.q1a.ID]; q.Query != "q1" || q.Hosts != 2 || q.Rows != 2 || q.Counts[store.HostOK] != 1 ||
		q.Counts[store.HostError] != 1 || !q.WindowStart.Equal(f.windowPrev) {
		t.Errorf("q1 (a,b) = %+v", q)
	}
	if q := byLQ[f.q2.ID]; q.Query != "q2" || !q.WindowStart.IsZero() || q.Counts[store.HostOffline] != 1 {
		t.Errorf("q2 = %+v", q)
	}
	done, err := s.FinishHuntRun(ctx, f.run.ID, store.RunDone, "", f.windowEnd.Add(3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if done.State != store.RunDone || done.HostsTargeted != 3 || done.HostsResponded != 1 || done.HostsErrored != 1 ||
		done.HostsOffline != 1 || done.Rows != 3 || done.Duration(time.Time{}) != 3*time.Minute {
		t.Errorf("done = %+v", done)
	}
	if _, err := s.FinishHuntRun(ctx, f.run.ID, store.RunDone, "", t0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("finish twice: %v", err)
	}
	// Only the host that answered everything moves its watermark.
	wm, err := s.HuntWatermarks(ctx, f.hunt.ID)
	if err != nil || len(wm) != 1 || !wm[f.a.ID].Equal(f.windowEnd) {
		t.Errorf("watermarks = %v, %v", wm, err)
	}
	// Rows, paged, in (query, host, seq) order.
	all, err := s.HuntRunRows(ctx, f.run.ID, store.RunRowFilter{})
	if err != nil || len(all) != 3 || all[0].Query != "q1" || all[0].Columns["name"] != "cmd.exe" || all[2].Query != "q2" {
		t.Fatalf("rows = %+v, %v", all, err)
	}
	page, err := s.HuntRunRows(ctx, f.run.ID, store.RunRowFilter{Offset: 1, Limit: 1})
	if err != nil || len(page) != 1 || page[0].Columns["name"] != "powershell.exe" || page[0].Seq != 1 {
		t.Errorf("page = %+v, %v", page, err)
	}
	only, err := s.HuntRunRows(ctx, f.run.ID, store.RunRowFilter{Query: "q2", HostID: f.a.ID})
	if err != nil || len(only) != 1 || only[0].HostID != f.a.ID {
		t.Errorf("filtered = %+v, %v", only, err)
	}
	runs, err := s.ListHuntRuns(ctx, store.HuntRunFilter{HuntID: f.hunt.ID})
	if err != nil || len(runs) != 1 || runs[0].HostsResponded != 1 || runs[0].Rows != 3 {
		t.Errorf("ListHuntRuns = %+v, %v", runs, err)
	}
	if runs, _ := s.ListHuntRuns(ctx, store.HuntRunFilter{State: store.RunRunning}); len(runs) != 0 {
		t.Errorf("running runs = %+v", runs)
	}
	if _, err := s.HuntRun(ctx, f.run.ID+100); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown run: %v", err)
	}
}

func testHuntRunOneRunning(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newRunFixture(t, s)
	second := store.HuntRun{HuntID: f.hunt.ID, Hunt: f.hunt.Name, Trigger: store.TriggerManual, By: "alice",
		ScheduledAt: f.windowEnd, WindowEnd: f.windowEnd, Deadline: f.windowEnd.Add(time.Minute)}
	if _, err := s.StartHuntRun(ctx, second, f.windowEnd); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second running run: %v, want ErrConflict", err)
	}
	if _, err := s.FinishHuntRun(ctx, f.run.ID, store.RunFailed, "no hosts", f.windowEnd); err != nil {
		t.Fatal(err)
	}
	r, err := s.StartHuntRun(ctx, second, f.windowEnd)
	if err != nil || r.By != "alice" || r.Trigger != store.TriggerManual {
		t.Fatalf("after the first ended: %+v, %v", r, err)
	}
	runs, err := s.ListHuntRuns(ctx, store.HuntRunFilter{HuntID: f.hunt.ID, Limit: 1})
	if err != nil || len(runs) != 1 || runs[0].ID != r.ID {
		t.Errorf("latest run = %+v, %v", runs, err)
	}
	if wm, _ := s.HuntWatermarks(ctx, f.hunt.ID); len(wm) != 0 {
		t.Errorf("a failed run moved watermarks: %v", wm)
	}
}

func testHuntRunInterrupted(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newRunFixture(t, s)
	answer(t, s, f.a.ID, store.HostResult{QueryID: f.q1a.ID}, store.HostResult{QueryID: f.q2.ID})
	running, err := s.ListHuntRuns(ctx, store.HuntRunFilter{State: store.RunRunning})
	if err != nil || len(running) != 1 || running[0].HostsResponded != 1 {
		t.Fatalf("running = %+v, %v", running, err)
	}
	r, err := s.FinishHuntRun(ctx, f.run.ID, store.RunInterrupted, "orchestrator restarted", f.windowEnd)
	if err != nil || r.State != store.RunInterrupted || r.Message != "orchestrator restarted" {
		t.Fatalf("interrupted = %+v, %v", r, err)
	}
	if wm, _ := s.HuntWatermarks(ctx, f.hunt.ID); len(wm) != 0 {
		t.Errorf("an interrupted run moved watermarks: %v", wm)
	}
}
