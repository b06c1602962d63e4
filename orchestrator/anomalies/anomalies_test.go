package anomalies

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/packs"
)

// fakeSource is an in-memory Source: finished runs with rows, result logs, triage.
type fakeSource struct {
	hosts     []store.Host
	hostReads [][]int64 // ListHosts calls: the IDs asked for, nil for all
	hunts     []store.Hunt
	runs      []store.HuntRun
	runHost   map[int64][]store.HuntRunHost
	runRows   map[int64][]store.HuntRow
	results   []store.ResultRow
	triage    map[string]store.Triage
	history   []store.Triage
	rules     []store.SuppressionRule
}

func (f *fakeSource) ListHunts(context.Context) ([]store.Hunt, error) { return f.hunts, nil }
func (f *fakeSource) ListHuntRuns(_ context.Context, _ store.HuntRunFilter) ([]store.HuntRun, error) {
	return f.runs, nil
}
func (f *fakeSource) HuntRunHosts(_ context.Context, id int64) ([]store.HuntRunHost, error) {
	return f.runHost[id], nil
}
func (f *fakeSource) HuntRunRows(_ context.Context, id int64, rf store.RunRowFilter) ([]store.HuntRow, error) {
	rows := f.runRows[id]
	if rf.Offset >= len(rows) {
		return nil, nil
	}
	return rows[rf.Offset:min(len(rows), rf.Offset+rf.Limit)], nil
}
func (f *fakeSource) Results(_ context.Context, rf store.ResultFilter) ([]store.ResultRow, error) {
	var out []store.ResultRow
	for _, r := range f.results { // in received order, as the stores list them
		if !r.ReceivedAt.Before(rf.Since) && (rf.Limit <= 0 || len(out) < rf.Limit) {
			out = append(out, r)
		}
	}
	return out, nil
}
func (f *fakeSource) ListHosts(_ context.Context, hf store.HostFilter) ([]store.Host, error) {
	if len(hf.IDs) == 0 {
		f.hostReads = append(f.hostReads, nil)
		return f.hosts, nil
	}
	f.hostReads = append(f.hostReads, hf.IDs)
	var out []store.Host
	for _, h := range f.hosts {
		if slices.Contains(hf.IDs, h.ID) {
			out = append(out, h)
		}
	}
	return out, nil
}
func (f *fakeSource) SetTriage(_ context.Context, t store.Triage) error {
	if f.triage == nil {
		f.triage = map[string]store.Triage{}
	}
	f.triage[t.Query+"\x00"+t.Key] = t
	f.history = append(f.history, t)
	return nil
}
func (f *fakeSource) TriageStates(context.Context) ([]store.Triage, error) {
	var out []store.Triage
	for _, t := range f.triage {
		out = append(out, t)
	}
	return out, nil
}
func (f *fakeSource) TriageHistory(context.Context, string, string) ([]store.Triage, error) {
	return f.history, nil
}
func (f *fakeSource) AddSuppressionRule(_ context.Context, r store.SuppressionRule) (store.SuppressionRule, error) {
	r.ID = int64(len(f.rules) + 1)
	f.rules = append(f.rules, r)
	return r, nil
}
func (f *fakeSource) SuppressionRules(context.Context) ([]store.SuppressionRule, error) {
	return f.rules, nil
}
func (f *fakeSource) DeleteSuppressionRule(context.Context, int64) error { return nil }

var (
	day0  = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	hunts = []packs.Pack{{Name: "rarity", Queries: []packs.Query{{Name: "parent_child", Technique: "T1059", Severity: "info", Stack: []string{"parent_name", "name"}}}},
		{Name: "default-push", Queries: []packs.Query{{Name: "rare_parent_child_live", Technique: "T1059", Severity: "info", Stack: []string{"parent_name", "name"}}}}}
)

func proc(parent, name, score string) map[string]string {
	return map[string]string{"parent_name": parent, "name": name, "score": score}
}

// addRun stores a finished run of the rarity hunt in which every host answered:
// ordinary rows everywhere, extra rows on some hosts.
func (f *fakeSource) addRun(id int64, t time.Time, extra map[int64][]map[string]string) {
	f.runs = append(f.runs, store.HuntRun{ID: id, Hunt: "rare-processes", State: store.RunDone, WindowEnd: t, EndedAt: t})
	if f.runHost == nil {
		f.runHost, f.runRows = map[int64][]store.HuntRunHost{}, map[int64][]store.HuntRow{}
	}
	for _, h := range f.hosts {
		f.runHost[id] = append(f.runHost[id], store.HuntRunHost{RunID: id, HostID: h.ID, State: store.HostOK})
		rows := []map[string]string{proc("services.exe", "svchost.exe", "0"), proc("explorer.exe", "chrome.exe", "0")}
		rows = append(rows, extra[h.ID]...)
		for i, r := range rows {
			f.runRows[id] = append(f.runRows[id], store.HuntRow{RunID: id, Query: "parent_child", HostID: h.ID, Seq: i, Columns: r})
		}
	}
}

func fleet() *fakeSource {
	f := &fakeSource{hunts: []store.Hunt{{Name: "rare-processes", Pack: "rarity", Mode: store.ModeDispatch}}}
	for i := 1; i <= 200; i++ {
		f.hosts = append(f.hosts, store.Host{ID: int64(i), Hostname: fmt.Sprintf("ws%03d", i)})
	}
	return f
}

func TestAttackStacksRankFirstAndTriage(t *testing.T) {
	f := fleet()
	// Day 0 (the learning window): host 7 runs a rare admin tool.
	f.addRun(1, day0, map[int64][]map[string]string{7: {proc("cmd.exe", "psexec.exe", "20")}})
	// Day 2: the same, and three hosts run an Office macro stager, one a web shell.
	attack := proc("winword.exe", "powershell.exe", "95")
	f.addRun(2, day0.Add(48*time.Hour), map[int64][]map[string]string{
		7: {proc("cmd.exe", "psexec.exe", "20")}, 10: {attack}, 20: {attack}, 30: {attack},
		40: {proc("w3wp.exe", "cmd.exe", "60")},
	})
	now := day0.Add(49 * time.Hour)
	s := New(f, Options{Packs: hunts, BaselineWindow: 24 * time.Hour, Now: func() time.Time { return now }})
	ctx := context.Background()
	top, err := s.Anomalies(ctx, Filter{State: apiv1.TriageOpen})
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 3 || top[0].Values["parent_name"] != "winword.exe" || top[0].HostCount != 3 || top[0].Hunts[0] != "rare-processes" {
		t.Fatalf("top = %+v", top)
	}
	if !top[0].New || !top[0].Rare || !top[0].HighScore || len(top[0].Hosts) != 3 || top[0].Learning {
		t.Errorf("flags: %+v", top[0])
	}
	// The admin tool of the learning window is rare: listed, last, not new.
	if ps := top[2]; ps.Values["name"] != "psexec.exe" || ps.New || !ps.Rare {
		t.Errorf("a rare stack of the learning window: %+v", ps)
	}
	// Suppress the web-server stack: it leaves the open list and joins the baseline.
	web := top[1]
	if _, err := s.Triage(ctx, web.ID, apiv1.TriageSuppressed, "", "bob"); err == nil {
		t.Error("suppressing without a reason must fail")
	}
	got, err := s.Triage(ctx, web.ID, apiv1.TriageSuppressed, "IIS health probe", "bob")
	if err != nil || got.State != apiv1.TriageSuppressed || got.New {
		t.Fatalf("triage: %+v %v", got, err)
	}
	open, _ := s.Anomalies(ctx, Filter{State: apiv1.TriageOpen})
	if len(open) != 2 || open[0].ID == web.ID || open[1].ID == web.ID {
		t.Errorf("open after suppression = %+v", open)
	}
	// Suppressing a stack that is not high-scoring takes it off the anomaly list, but
	// it can still be looked up (here by the numeric id of earlier versions).
	legacy := strconv.FormatInt(LegacyID("rarity/parent_child", "cmd.exe\x1fpsexec.exe"), 10)
	ps, err := s.Triage(ctx, legacy, apiv1.TriageSuppressed, "admin tool", "bob")
	if err != nil || ps.State != apiv1.TriageSuppressed || ps.Values["name"] != "psexec.exe" || len(ps.ID) != 10 {
		t.Errorf("suppress a baseline stack: %+v %v", ps, err)
	}
	if open, _ := s.Anomalies(ctx, Filter{}); len(open) != 2 {
		t.Errorf("anomalies after suppressing the admin tool = %d, want 2", len(open))
	}
	// A restarted service rebuilds the stacks and keeps the triage.
	s2 := New(f, Options{Packs: hunts, BaselineWindow: 24 * time.Hour, Now: func() time.Time { return now }})
	a, err := s2.Anomaly(ctx, web.ID)
	if err != nil || a.State != apiv1.TriageSuppressed || a.Reason != "IIS health probe" || a.New {
		t.Errorf("after restart: %+v %v", a, err)
	}
}

func TestPushedResultLogsAreStacked(t *testing.T) {
	f := fleet()
	f.hunts = append(f.hunts, store.Hunt{Name: "default-push-windows", Pack: "default-push", Mode: store.ModePush})
	for i, h := range f.hosts[:50] {
		f.results = append(f.results, store.ResultRow{ID: fmt.Sprint("r", i), HostID: h.ID, Name: "pack_default-push-windows_rare_parent_child_live",
			Action: "added", UnixTime: day0.Unix(), Columns: proc("services.exe", "svchost.exe", "0"), ReceivedAt: day0})
	}
	f.results = append(f.results,
		store.ResultRow{ID: "x1", HostID: 3, Name: "pack_default-push-windows_rare_parent_child_live", Action: "added", UnixTime: day0.Unix(),
			Columns: proc("mshta.exe", "powershell.exe", "90"), ReceivedAt: day0.Add(time.Second)},
		store.ResultRow{ID: "x2", HostID: 3, Name: "pack_default-push_rare_parent_child_live", Action: "removed", UnixTime: day0.Unix(),
			Columns: proc("x.exe", "y.exe", "0"), ReceivedAt: day0.Add(time.Second)},
		store.ResultRow{ID: "x3", HostID: 3, Name: "some_other_schedule", Action: "added", Columns: proc("a", "b", "0"), ReceivedAt: day0.Add(time.Second)})
	s := New(f, Options{Packs: hunts, Now: func() time.Time { return day0.Add(time.Hour) }})
	ctx := context.Background()
	st, err := s.Stacks(ctx, "default-push/rare_parent_child_live")
	if err != nil || len(st) != 2 || st[0].HostCount != 50 {
		t.Fatalf("stacks = %+v %v", st, err)
	}
	// Syncing again reads nothing twice.
	s.lastSync = time.Time{}
	st, _ = s.Stacks(ctx, "default-push/rare_parent_child_live")
	if st[0].Rows != 50 {
		t.Errorf("rows after a second sync = %d", st[0].Rows)
	}
	top, _ := s.Anomalies(ctx, Filter{})
	if len(top) != 1 || top[0].Values["parent_name"] != "mshta.exe" || top[0].Hunts[0] != "default-push-windows" {
		t.Errorf("anomalies = %+v", top)
	}
}

// TestResultsReadInPages: a sync reads the result logs a page at a time, including
// more rows than a page received at one instant, and stacks each row once.
func TestResultsReadInPages(t *testing.T) {
	f := fleet()
	f.hunts = append(f.hunts, store.Hunt{Name: "default-push-windows", Pack: "default-push", Mode: store.ModePush})
	add := func(i int, at time.Time, cols map[string]string) {
		f.results = append(f.results, store.ResultRow{ID: fmt.Sprintf("r%05d", i), HostID: f.hosts[i%len(f.hosts)].ID,
			Name: "pack_default-push-windows_rare_parent_child_live", Action: "added", UnixTime: day0.Unix(), Columns: cols, ReceivedAt: at})
	}
	n := 0
	for ; n < 3*resultPage/2; n++ { // spread over time
		add(n, day0.Add(time.Duration(n)*time.Millisecond), proc("services.exe", "svchost.exe", "0"))
	}
	burst := day0.Add(time.Hour)
	for ; n < 3*resultPage/2+5*resultPage/2; n++ { // 2.5 pages at one instant
		add(n, burst, proc("services.exe", "svchost.exe", "0"))
	}
	for ; n < 5*resultPage; n++ {
		add(n, burst.Add(time.Duration(n)*time.Millisecond), proc("services.exe", "svchost.exe", "0"))
	}
	add(n, burst.Add(time.Hour), proc("winword.exe", "powershell.exe", "80"))
	s := New(f, Options{Packs: hunts, Now: func() time.Time { return day0.Add(3 * time.Hour) }})
	ctx := context.Background()
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stacks(ctx, "default-push/rare_parent_child_live")
	if err != nil || len(st) != 2 {
		t.Fatalf("stacks = %+v %v", st, err)
	}
	rows := 0
	for _, x := range st {
		rows += int(x.Rows)
	}
	if rows != n+1 {
		t.Errorf("%d rows stacked, want %d", rows, n+1)
	}
}

func TestLegacyIDStable(t *testing.T) {
	if LegacyID("a/b", "k") != LegacyID("a/b", "k") || LegacyID("a/b", "k") == LegacyID("a/b", "j") || LegacyID("a/b", "k") < 0 {
		t.Error("ids must be stable, distinct and positive")
	}
}

// TestDayOne: a fresh server, inside its learning window, lists a parent→child
// pair seen on 3 of 60 hosts first — rare, marked learning, not new — and an
// analyst can still suppress it.
func TestDayOne(t *testing.T) {
	f := fleet()
	f.hosts = f.hosts[:60]
	quiet := proc("winword.exe", "powershell.exe", "30")
	f.addRun(1, day0, map[int64][]map[string]string{5: {quiet}, 25: {quiet}, 45: {quiet}})
	now := day0.Add(time.Hour)
	s := New(f, Options{Packs: hunts, BaselineWindow: 24 * time.Hour, Now: func() time.Time { return now }})
	ctx := context.Background()
	top, err := s.Anomalies(ctx, Filter{State: apiv1.TriageOpen})
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 1 {
		t.Fatalf("anomalies = %+v, want Word → PowerShell", top)
	}
	a := top[0]
	if a.Values["parent_name"] != "winword.exe" || a.HostCount != 3 || !a.Rare || a.New || !a.Learning ||
		a.Reasons[0] != "rare: 3 of 60 hosts (5.0%)" || a.Reasons[1] != "learning: nothing is new until 2026-11-02 00:00 UTC" {
		t.Errorf("day one: %+v", a)
	}
	if _, err := s.Triage(ctx, a.ID, apiv1.TriageSuppressed, "the finance macro", "bob"); err != nil {
		t.Fatal(err)
	}
	if all, _ := s.Anomalies(ctx, Filter{}); len(all) != 0 {
		t.Errorf("suppressed on day one, still listed: %+v", all)
	}
	// After the window: the learnt rare stack is still listed, no longer marked learning.
	f2 := fleet()
	f2.hosts = f2.hosts[:60]
	f2.addRun(1, day0, map[int64][]map[string]string{5: {quiet}, 25: {quiet}, 45: {quiet}})
	now = day0.Add(48 * time.Hour)
	s2 := New(f2, Options{Packs: hunts, BaselineWindow: 24 * time.Hour, Now: func() time.Time { return now }})
	if top, _ := s2.Anomalies(ctx, Filter{}); len(top) != 1 || top[0].Learning || top[0].New || !top[0].Rare {
		t.Errorf("after the window: %+v", top)
	}
}

// TestOneAnomalyAcrossHunts: two hunts whose queries stack by the same columns
// return java → bash: one anomaly, listing both hunts and queries, found by its
// short id and by the legacy id of either query, with the same rank in the
// stacks of each query.
func TestOneAnomalyAcrossHunts(t *testing.T) {
	f := fleet()
	f.hunts = append(f.hunts, store.Hunt{Name: "default-push-linux", Pack: "default-push", Mode: store.ModePush})
	shell := proc("java", "bash", "70")
	f.addRun(1, day0, map[int64][]map[string]string{7: {shell}})
	for i, h := range f.hosts {
		cols := []map[string]string{proc("services.exe", "svchost.exe", "0")}
		if h.ID == 7 || h.ID == 8 {
			cols = append(cols, shell)
		}
		for j, c := range cols {
			f.results = append(f.results, store.ResultRow{ID: fmt.Sprint("r", i, "-", j), HostID: h.ID, Name: "pack_default-push-linux_rare_parent_child_live",
				Action: "snapshot", UnixTime: day0.Unix(), Columns: c, ReceivedAt: day0})
		}
	}
	s := New(f, Options{Packs: hunts, Now: func() time.Time { return day0.Add(time.Hour) }})
	ctx := context.Background()
	all, err := s.Anomalies(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 {
		t.Fatalf("anomalies = %+v, want one for java → bash", all)
	}
	a := all[0]
	if fmt.Sprint(a.Queries) != "[default-push/rare_parent_child_live rarity/parent_child]" || len(a.Hunts) != 2 || a.HostCount != 2 {
		t.Errorf("queries %v hunts %v hosts %v", a.Queries, a.Hunts, a.Hosts)
	}
	for _, hunt := range []string{"rare-processes", "default-push-linux"} {
		if got, _ := s.Anomalies(ctx, Filter{Hunt: hunt}); len(got) != 1 || got[0].ID != a.ID {
			t.Errorf("filter by hunt %s: %+v", hunt, got)
		}
	}
	for _, q := range a.Queries {
		st, err := s.Stacks(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, x := range st {
			if x.ID == a.ID {
				found = true
				if x.Rank != a.Rank || !x.Rare || !x.HighScore {
					t.Errorf("%s: rank %v rare %t high %t; the anomaly: %v", q, x.Rank, x.Rare, x.HighScore, a.Rank)
				}
			}
		}
		if !found {
			t.Errorf("%s: stack %s missing", q, a.ID)
		}
		legacy := strconv.FormatInt(LegacyID(q, "java\x1fbash"), 10)
		for _, id := range []string{a.ID, strings.ToUpper(a.ID), legacy} {
			if got, err := s.Anomaly(ctx, id); err != nil || got.ID != a.ID || got.Rank != a.Rank {
				t.Errorf("anomaly %s: %+v %v", id, got, err)
			}
		}
	}
	if _, err := s.Anomaly(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
}

func TestStacksOfAnUnknownQuery(t *testing.T) {
	s := New(fleet(), Options{Packs: hunts, Now: func() time.Time { return day0 }})
	if _, err := s.Stacks(context.Background(), "nope/nope"); !errors.Is(err, ErrUnknownQuery) || !strings.Contains(err.Error(), `"nope/nope"`) {
		t.Errorf("stacks of nope/nope: %v", err)
	}
	// A query of the packs with no results yet has no stacks, and no error.
	if st, err := s.Stacks(context.Background(), "rarity/parent_child"); err != nil || len(st) != 0 {
		t.Errorf("stacks of a quiet query: %+v %v", st, err)
	}
}

func TestSuppressionRules(t *testing.T) {
	f := fleet()
	f.addRun(1, day0, nil)
	attack := proc("winword.exe", "powershell.exe", "95")
	f.addRun(2, day0.Add(48*time.Hour), map[int64][]map[string]string{
		10: {attack}, 20: {attack}, 30: {proc("backupagent.exe", "cmd.exe", "10")}, 40: {proc("backupagent.exe", "cmd.exe", "10")},
	})
	s := New(f, Options{Packs: hunts, BaselineWindow: time.Hour, Now: func() time.Time { return day0.Add(49 * time.Hour) }})
	ctx := context.Background()
	open := func() []apiv1.Anomaly {
		a, err := s.Anomalies(ctx, Filter{State: apiv1.TriageOpen})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if n := len(open()); n != 2 {
		t.Fatalf("open = %d, want the macro and the backup agent", n)
	}
	// A rule for the backup agent on hosts ws030 and ws031 does not cover ws040.
	if _, err := s.AddRule(ctx, store.SuppressionRule{Query: "rarity/*", Pattern: "*parent_name=BACKUPAGENT.EXE*", Hosts: []string{"ws030", "ws031"}, Reason: "backup"}); err != nil {
		t.Fatal(err)
	}
	if n := len(open()); n != 2 {
		t.Errorf("a host-limited rule covered a stack seen elsewhere: %d open", n)
	}
	if _, err := s.AddRule(ctx, store.SuppressionRule{Pattern: "*parent_name=backupagent.exe*", Reason: "backup everywhere", By: "bob"}); err != nil {
		t.Fatal(err)
	}
	got := open()
	if len(got) != 1 || got[0].Values["parent_name"] != "winword.exe" {
		t.Errorf("open after the rule = %+v", got)
	}
	all, _ := s.Anomalies(ctx, Filter{})
	for _, a := range all {
		if a.Values["parent_name"] == "backupagent.exe" {
			t.Errorf("a suppressed low-score stack is still an anomaly: %+v", a)
		}
	}
	if _, err := s.AddRule(ctx, store.SuppressionRule{Pattern: "*"}); err == nil {
		t.Error("a rule without a reason must be refused")
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{{"*", "", true}, {"a*c", "abbc", true}, {"a?c", "abc", true}, {"a?c", "ac", false}, {"*x*", "C:\\x\\y", true},
		{"rarity/*", "rarity/parent_child", true}, {"*.EXE", "cmd.exe", true}, {"a*", "b", false}} {
		if got := glob(c.p, c.s); got != c.want {
			t.Errorf("glob(%q, %q) = %t", c.p, c.s, got)
		}
	}
}

// Every host's name is read at the first sync and then every hostNamesTTL; a host
// first seen in between is looked up alone.
func TestHostNamesReadOnce(t *testing.T) {
	f := fleet()
	f.hunts = append(f.hunts, store.Hunt{Name: "default-push-windows", Pack: "default-push", Mode: store.ModePush})
	now := day0.Add(time.Hour)
	s := New(f, Options{Packs: hunts, Now: func() time.Time { return now }})
	ctx := context.Background()
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	late := store.Host{ID: 1000, Hostname: "late01"}
	f.hosts = append(f.hosts, late)
	f.results = append(f.results, store.ResultRow{ID: "late", HostID: late.ID, Name: "pack_default-push-windows_rare_parent_child_live",
		Action: "added", UnixTime: day0.Unix(), Columns: proc("winword.exe", "powershell.exe", "80"), ReceivedAt: day0})
	now = now.Add(time.Minute)
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.host(late.ID); got != "late01" {
		t.Errorf("late host named %q", got)
	}
	want := [][]int64{nil, {late.ID}}
	if fmt.Sprint(f.hostReads) != fmt.Sprint(want) {
		t.Errorf("host reads %v, want %v", f.hostReads, want)
	}
	now = now.Add(hostNamesTTL)
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(f.hostReads); n != 3 || f.hostReads[2] != nil {
		t.Errorf("host reads after the TTL: %v", f.hostReads)
	}
}
