package hunts

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/exechunt/exechunt/orchestrator/scheduler"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
	"github.com/exechunt/exechunt/orchestrator/targeting"
	"github.com/exechunt/exechunt/packs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 8, 6, 10, 59, 30, 0, time.UTC)

// testPacks: "hunt" has a windowed query over an event table (all platforms), a
// Windows-only one and a live snapshot.
var testPacks = []packs.Pack{
	{Name: "hunt", Queries: []packs.Query{
		{Name: "events", SQL: "SELECT time, name FROM process_creation_events WHERE score >= 50;", Interval: 3600},
		{Name: "blocks", SQL: "SELECT time, script_block_id FROM powershell_script_blocks", Platform: "windows", Interval: 3600},
		{Name: "live", SQL: "SELECT pid, name FROM process_lineage;", Snapshot: true, Interval: 600},
	}},
	{Name: packs.DefaultPushPack, Platform: "windows", Queries: []packs.Query{
		{Name: "rare_parent_child_live", SQL: "SELECT pid, name, parent_name FROM process_lineage;", Snapshot: true, Interval: 3600},
	}},
	{Name: "execution-basics", Queries: []packs.Query{{Name: "q", SQL: "SELECT time FROM process_creation_events"}}},
}

// events forwards log messages so a test can wait for "hunt run ended" without
// sleeping.
type events struct{ ch chan string }

func (e events) Enabled(context.Context, slog.Level) bool { return true }
func (e events) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "state" || a.Key == "run_id" {
			msg += " " + a.Key + "=" + a.Value.String()
		}
		return true
	})
	select {
	case e.ch <- msg:
	default:
	}
	return nil
}
func (e events) WithAttrs([]slog.Attr) slog.Handler { return e }
func (e events) WithGroup(string) slog.Handler      { return e }

type fixture struct {
	st      *sqlite.Store
	clock   *scheduler.FakeClock
	svc     *Service
	log     chan string
	pokes   chan struct{}
	changes *broadcast
	hosts   map[string]store.Host
	cancel  context.CancelFunc
	done    chan error
}

// broadcast is operatorapi.Broadcast, re-done here to keep the test small.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func (b *broadcast) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}
func (b *broadcast) notify() {
	b.mu.Lock()
	close(b.ch)
	b.ch = make(chan struct{})
	b.mu.Unlock()
}

func newFixture(t *testing.T, dbPath string) *fixture {
	t.Helper()
	ctx := context.Background()
	if dbPath == "" {
		dbPath = filepath.Join(t.TempDir(), "exechunt.db")
	}
	st, err := sqlite.Open(ctx, dbPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st, clock: scheduler.NewFakeClock(t0), log: make(chan string, 256), pokes: make(chan struct{}, 16),
		changes: &broadcast{ch: make(chan struct{})}, hosts: map[string]store.Host{}}
	for _, h := range []struct{ name, platform string }{{"win1", "windows"}, {"lin1", "linux"}, {"win2", "windows"}} {
		host, err := st.EnrollHost(ctx, store.Enrollment{Host: store.Host{Identifier: h.name, Hostname: h.name,
			UUID: "U-" + h.name, Platform: h.platform}, NodeKeyHash: []byte(h.name)}, t0)
		if err != nil {
			t.Fatal(err)
		}
		f.hosts[h.name] = host
	}
	f.svc, err = New(Config{Store: st, Packs: testPacks, Clock: f.clock, Log: slog.New(events{f.log}),
		Poke: func() { f.pokes <- struct{}{} }, Changes: f.changes.wait, Timeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan error, 1)
	go func() { f.done <- f.svc.Run(ctx) }()
	t.Cleanup(f.stop)
}

func (f *fixture) stop() {
	if f.cancel != nil {
		f.cancel()
		<-f.done
		f.cancel = nil
	}
}

func (f *fixture) waitLog(t *testing.T, want string) string {
	t.Helper()
	for m := range f.log {
		if strings.Contains(m, want) {
			return m
		}
	}
	return ""
}

// answer plays an agent: it takes the host's pending queries and answers each
// with n rows (or an error).
func (f *fixture) answer(t *testing.T, host string, n int, fail bool) []store.PendingQuery {
	t.Helper()
	ctx := context.Background()
	id := f.hosts[host].ID
	pending, err := f.st.TakePendingQueries(ctx, id, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	var res []store.HostResult
	for _, p := range pending {
		r := store.HostResult{QueryID: p.QueryID}
		if fail {
			r.Status, r.Message = 1, "no such table: process_creation_events"
		}
		for i := range n {
			r.Rows = append(r.Rows, map[string]string{"host": host, "i": string(rune('0' + i))})
		}
		res = append(res, r)
	}
	if _, err := f.st.RecordResults(ctx, id, res, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.changes.notify()
	return pending
}

func TestDispatchOnCronTicksWithWindows(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	h, err := f.svc.Create(ctx, store.Hunt{Name: "two-hourly", Pack: "hunt", Queries: []string{"events", "blocks", "live"},
		Targets: targeting.Targets{Platforms: []string{"windows", "linux"}}, Mode: store.ModeDispatch,
		Schedule: "0 */2 * * *", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	info, err := f.svc.Get(ctx, "two-hourly", 2)
	if err != nil || info.ScheduleWords != "every 2 hours, UTC" ||
		!slices.Equal(info.NextRuns, []time.Time{t0.Add(61*time.Minute - 30*time.Second), t0.Add(181*time.Minute - 30*time.Second)}) {
		t.Fatalf("info = %+v, %v", info, err)
	}
	f.start(t)

	// Tick 1 at 12:00 UTC.
	noon := time.Date(2026, 8, 6, 12, 0, 0, 0, time.UTC)
	f.clock.BlockUntilTimerAt(noon)
	f.clock.Set(noon)
	<-f.pokes
	runs, err := f.svc.Runs(ctx, "two-hourly", 10)
	if err != nil || len(runs) != 1 || runs[0].State != store.RunRunning || !runs[0].ScheduledAt.Equal(noon) ||
		runs[0].Trigger != store.TriggerSchedule || !runs[0].WindowEnd.Equal(noon) {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
	run := runs[0]
	// An overlapping manual run is skipped.
	if _, err := f.svc.RunNow(ctx, "two-hourly", "alice"); !errors.Is(err, scheduler.ErrSkipped) {
		t.Errorf("RunNow during a run: %v", err)
	}
	d, err := f.svc.RunDetail(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	// events (win1, lin1, win2: one window group), blocks (windows only), live (no window).
	first := h.CreatedAt.Add(-2 * time.Hour)
	got := map[string][]int{}
	for _, q := range d.Queries {
		got[q.Query] = append(got[q.Query], q.Hosts)
		lq, err := f.st.LiveQuery(ctx, q.LiveQueryID)
		if err != nil {
			t.Fatal(err)
		}
		switch q.Query {
		case "live":
			if !q.WindowStart.IsZero() || lq.SQL != testPacks[0].Queries[2].SQL || lq.CreatedBy != "hunt:two-hourly" {
				t.Errorf("live query = %+v / %q", q, lq.SQL)
			}
		default:
			if !q.WindowStart.Equal(first) || lq.SQL != Window(testPacks[0].Queries[map[string]int{"events": 0, "blocks": 1}[q.Query]].SQL, first, noon) {
				t.Errorf("%s: window %v, sql %q", q.Query, q.WindowStart, lq.SQL)
			}
		}
		var targets map[string]any
		json.Unmarshal(lq.Targets, &targets)
		if targets["hunt"] != "two-hourly" || targets["run_id"] != float64(run.ID) {
			t.Errorf("targets = %s", lq.Targets)
		}
	}
	if !slices.Equal(got["events"], []int{3}) || !slices.Equal(got["blocks"], []int{2}) || !slices.Equal(got["live"], []int{3}) {
		t.Errorf("hosts per query = %v", got)
	}
	// win1 answers with rows, lin1 with an error, win2 stays offline.
	f.answer(t, "win1", 2, false)
	f.answer(t, "lin1", 0, true)
	f.clock.Set(noon.Add(6 * time.Minute))
	if _, err := f.st.FinishLiveQueries(ctx, f.clock.Now()); err != nil { // the server's deadline loop
		t.Fatal(err)
	}
	f.changes.notify()
	f.waitLog(t, "hunt run ended")
	r, err := f.st.HuntRun(ctx, run.ID)
	if err != nil || r.State != store.RunDone || r.HostsTargeted != 3 || r.HostsResponded != 1 || r.HostsErrored != 1 ||
		r.HostsOffline != 1 || r.Rows != 6 || r.Duration(time.Time{}) != 6*time.Minute {
		t.Fatalf("run 1 = %+v, %v", r, err)
	}
	rows, err := f.svc.RunRows(ctx, run.ID, store.RunRowFilter{Query: "events"})
	if err != nil || len(rows) != 2 || rows[0].Columns["host"] != "win1" {
		t.Errorf("rows = %+v, %v", rows, err)
	}

	// Tick 2 at 14:00: win1's window starts where its answer ended (12:00); the
	// others still start from the hunt's creation, so nothing they logged while
	// unreachable is missed.
	two := noon.Add(2 * time.Hour)
	f.clock.BlockUntilTimerAt(two)
	f.clock.Set(two)
	<-f.pokes
	runs, _ = f.svc.Runs(ctx, "two-hourly", 1)
	d, err = f.svc.RunDetail(ctx, runs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	starts := map[string][]time.Time{}
	for _, q := range d.Queries {
		starts[q.Query] = append(starts[q.Query], q.WindowStart)
	}
	if !slices.EqualFunc(starts["events"], []time.Time{first, noon}, time.Time.Equal) ||
		!slices.EqualFunc(starts["blocks"], []time.Time{first, noon}, time.Time.Equal) {
		t.Errorf("window starts = %v", starts)
	}
	for _, h := range []string{"win1", "lin1", "win2"} {
		f.answer(t, h, 1, false)
	}
	f.waitLog(t, "hunt run ended")
	marks, _ := f.st.HuntWatermarks(ctx, h.ID)
	for _, host := range f.hosts {
		if !marks[host.ID].Equal(two) {
			t.Errorf("watermark of %s = %v", host.Hostname, marks[host.ID])
		}
	}
	// A manual run now: its windows are empty ((14:00, 14:00]), so only the
	// snapshot query goes out.
	mr, err := f.svc.RunNow(ctx, "two-hourly", "alice")
	if err != nil || mr.Trigger != store.TriggerManual || mr.By != "alice" {
		t.Fatalf("manual run = %+v, %v", mr, err)
	}
	<-f.pokes
	d, _ = f.svc.RunDetail(ctx, mr.ID)
	if len(d.Queries) != 1 || d.Queries[0].Query != "live" {
		t.Errorf("manual run queries = %+v", d.Queries)
	}
}

func TestPushConfigAndAttribution(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	n, err := f.svc.Seed(ctx)
	if err != nil || n != 2 {
		t.Fatalf("seed = %d, %v", n, err)
	}
	if n, _ := f.svc.Seed(ctx); n != 0 {
		t.Errorf("second seed created %d", n)
	}
	cfgOf := func(host string) map[string]any {
		cfg, err := f.svc.Config(ctx, f.hosts[host])
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(cfg["packs"])
		var out map[string]any
		json.Unmarshal(b, &out)
		return out
	}
	win := cfgOf("win1")
	q, _ := win[packs.DefaultPushPack].(map[string]any)["queries"].(map[string]any)["rare_parent_child_live"].(map[string]any)
	if len(win) != 1 || q["interval"] != float64(3600) || q["snapshot"] != true {
		t.Fatalf("windows config packs = %v", win)
	}
	if lin := cfgOf("lin1"); len(lin) != 0 {
		t.Errorf("linux config packs = %v, want none (the pack is for windows)", lin)
	}
	// Equal configuration keys mean equal configurations (the agent API encodes
	// each key's configuration once).
	keyWin1, keyLin1 := f.svc.ConfigKey(f.hosts["win1"]), f.svc.ConfigKey(f.hosts["lin1"])
	if keyWin1 == keyLin1 || keyWin1 != f.svc.ConfigKey(f.hosts["win2"]) {
		t.Errorf("config keys: win1 %q, win2 %q, lin1 %q", keyWin1, f.svc.ConfigKey(f.hosts["win2"]), keyLin1)
	}
	name := ScheduleName(packs.DefaultPushPack, "rare_parent_child_live")
	if h, q, ok := f.svc.Attribute(name); !ok || h != packs.DefaultPushPack || q != "rare_parent_child_live" {
		t.Errorf("Attribute(%s) = %s %s %v", name, h, q, ok)
	}
	// A second push hunt of the same pack for one host, with its own interval and name.
	if _, err := f.svc.Create(ctx, store.Hunt{Name: "push-win2", Pack: packs.DefaultPushPack, Mode: store.ModePush,
		Interval: 300, Targets: targeting.Targets{Hostnames: []string{"win2"}}, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if k1, k2 := f.svc.ConfigKey(f.hosts["win1"]), f.svc.ConfigKey(f.hosts["win2"]); k1 == k2 || k1 == keyWin1 {
		t.Errorf("after a push hunt for win2: keys win1 %q (was %q), win2 %q", k1, keyWin1, k2)
	}
	if w1, w2 := cfgOf("win1"), cfgOf("win2"); len(w1) != 1 || len(w2) != 2 ||
		w2["push-win2"].(map[string]any)["queries"].(map[string]any)["rare_parent_child_live"].(map[string]any)["interval"] != float64(300) {
		t.Errorf("win1 packs %v, win2 packs %v", w1, w2)
	}
	if _, _, ok := f.svc.Attribute("pack_push-win2_rare_parent_child_live"); !ok {
		t.Error("second push hunt not attributed")
	}
	// Result logs arrive under the schedule name and come back per hunt.
	rows := []store.ResultRow{{ID: "r1", HostID: f.hosts["win1"].ID, Name: name, Action: store.ActionSnapshot,
		UnixTime: t0.Unix(), Columns: map[string]string{"name": "cmd.exe", "parent_name": "winword.exe"}, ReceivedAt: t0},
		{ID: "r2", HostID: f.hosts["win2"].ID, Name: "pack_other_q", Action: store.ActionAdded, ReceivedAt: t0}}
	if _, err := f.st.InsertResults(ctx, rows); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.PushResults(ctx, packs.DefaultPushPack, "", time.Time{}, 0)
	if err != nil || len(got) != 1 || got[0].Hunt != packs.DefaultPushPack || got[0].Columns["parent_name"] != "winword.exe" {
		t.Errorf("PushResults = %+v, %v", got, err)
	}
	if _, err := f.svc.RunNow(ctx, packs.DefaultPushPack, "bob"); !errors.Is(err, ErrPushHunt) {
		t.Errorf("RunNow(push) = %v", err)
	}
	info, _ := f.svc.Get(ctx, packs.DefaultPushPack, 3)
	if info.ScheduleWords != "pushed: osquery runs it every hour" || len(info.NextRuns) != 0 {
		t.Errorf("push info = %+v", info)
	}
	basics, _ := f.svc.Get(ctx, "execution-basics", 1)
	if basics.ScheduleWords != "every hour, UTC" || !basics.Builtin || basics.Mode != store.ModeDispatch {
		t.Errorf("built-in dispatch hunt = %+v", basics)
	}
}

func TestValidate(t *testing.T) {
	f := newFixture(t, "")
	for _, h := range []store.Hunt{
		{Name: "Bad Name", Pack: "hunt", Mode: store.ModeDispatch, Schedule: "@hourly", Targets: targeting.Targets{All: true}},
		{Name: "x", Pack: "nope", Mode: store.ModeDispatch, Schedule: "@hourly", Targets: targeting.Targets{All: true}},
		{Name: "x", Pack: "hunt", Queries: []string{"nope"}, Mode: store.ModeDispatch, Schedule: "@hourly", Targets: targeting.Targets{All: true}},
		{Name: "x", Pack: "hunt", Mode: store.ModeDispatch, Schedule: "@hourly"},
		{Name: "x", Pack: "hunt", Mode: store.ModeDispatch, Schedule: "61 * * * *", Targets: targeting.Targets{All: true}},
		{Name: "x", Pack: "hunt", Mode: store.ModePush, Schedule: "@hourly", Targets: targeting.Targets{All: true}},
		{Name: "x", Pack: "hunt", Mode: "later", Targets: targeting.Targets{All: true}},
	} {
		if _, err := f.svc.Create(context.Background(), h); !errors.Is(err, ErrInvalid) {
			t.Errorf("Create(%+v) = %v, want ErrInvalid", h, err)
		}
	}
}

func TestRunResumesAfterRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "exechunt.db")
	f := newFixture(t, db)
	ctx := context.Background()
	if _, err := f.svc.Create(ctx, store.Hunt{Name: "h", Pack: "hunt", Queries: []string{"live"}, Mode: store.ModeDispatch,
		Schedule: "@hourly", Targets: targeting.Targets{All: true}, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	f.start(t)
	run, err := f.svc.RunNow(ctx, "h", "alice")
	if err != nil {
		t.Fatal(err)
	}
	<-f.pokes
	f.stop() // the orchestrator stops mid-run
	if r, _ := f.st.HuntRun(ctx, run.ID); r.State != store.RunRunning {
		t.Fatalf("after stop: %+v", r)
	}
	f.st.Close()

	g := newFixture(t, db) // the same database; hosts are re-enrolled (same UUIDs)
	g.start(t)
	g.waitLog(t, "resuming hunt run")
	for _, h := range []string{"win1", "lin1", "win2"} {
		g.answer(t, h, 1, false)
	}
	if m := g.waitLog(t, "hunt run ended"); !strings.Contains(m, "state=done") {
		t.Errorf("log %q", m)
	}
	if r, _ := g.st.HuntRun(ctx, run.ID); r.State != store.RunDone || r.HostsResponded != 3 {
		t.Errorf("resumed run = %+v", r)
	}
}

// TestSigmaDetectionsHunt: the built-in sigma-detections hunt sends the shipped
// pack's one sigma_matches query, windowed by time like the event tables, with the
// pack's discovery query, so hosts whose extension does not serve the table skip it.
func TestSigmaDetectionsHunt(t *testing.T) {
	ps, err := packs.Load(packs.FS)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, "")
	f.svc, err = New(Config{Store: f.st, Packs: ps, Clock: f.clock, Log: slog.New(events{f.log}),
		Poke: func() { f.pokes <- struct{}{} }, Changes: f.changes.wait, Timeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := f.svc.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	f.start(t)
	if _, err := f.svc.RunNow(ctx, "sigma-detections", "alice"); err != nil {
		t.Fatal(err)
	}
	<-f.pokes
	pending, err := f.st.TakePendingQueries(ctx, f.hosts["lin1"].ID, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 {
		t.Fatalf("pending = %+v", pending)
	}
	p := pending[0]
	if !strings.Contains(p.SQL, "FROM sigma_matches") || !strings.Contains(p.SQL, ") WHERE time > ") ||
		!strings.Contains(p.Discovery, "FROM osquery_registry WHERE registry = 'table' AND name = 'sigma_matches'") {
		t.Errorf("query %q, discovery %q", p.SQL, p.Discovery)
	}
}
