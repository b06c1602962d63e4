package lineage

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/tables/lineage/tree"
)

// qc builds a query context with `col = v` constraints.
func qc(eq ...string) table.QueryContext {
	q := table.QueryContext{Constraints: map[string]table.ConstraintList{}}
	for i := 0; i+1 < len(eq); i += 2 {
		cl := q.Constraints[eq[i]]
		cl.Constraints = append(cl.Constraints, table.Constraint{Operator: table.OperatorEquals, Expression: eq[i+1]})
		q.Constraints[eq[i]] = cl
	}
	return q
}

func generate(t testing.TB, src Source, opts Options, q table.QueryContext) map[string]map[string]string {
	t.Helper()
	opts.Source = src
	rows, err := New(opts).Generate(context.Background(), q)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	byPID := make(map[string]map[string]string, len(rows))
	for _, r := range rows {
		if _, dup := byPID[r["pid"]]; dup {
			t.Fatalf("pid %s twice", r["pid"])
		}
		byPID[r["pid"]] = r
	}
	return byPID
}

func TestTree(t *testing.T) {
	type want struct {
		ancestry, pids, depth, status, parentName string
	}
	cases := []struct {
		name  string
		procs []Proc
		hist  fakeHistory
		max   int
		want  map[int64]want
	}{
		{
			name: "chain",
			procs: []Proc{
				proc(1, 0, "systemd", 0), proc(700, 1, "sshd", 10), proc(900, 700, "bash", 20), proc(950, 900, "python3", 30),
			},
			want: map[int64]want{
				1:   {"systemd", "", "0", "complete", ""},
				700: {"systemd > sshd", "1", "1", "complete", "systemd"},
				900: {"systemd > sshd > bash", "1,700", "2", "complete", "sshd"},
				950: {"systemd > sshd > bash > python3", "1,700,900", "3", "complete", "bash"},
			},
		},
		{
			name: "kernel threads and pid 0 root",
			procs: []Proc{
				proc(2, 0, "kthreadd", 0), proc(3, 2, "rcu_gp", 0), proc(0, 0, "idle", 0),
			},
			want: map[int64]want{
				0: {"idle", "", "0", "complete", ""},
				2: {"kthreadd", "", "0", "complete", ""},
				3: {"kthreadd > rcu_gp", "2", "1", "complete", "kthreadd"},
			},
		},
		{
			name: "pid reuse cuts the chain",
			procs: []Proc{
				proc(1, 0, "init", 0),
				proc(500, 1, "cron", 100), // started after its "child": pid 500 was reused
				proc(600, 500, "sh", 50),
				proc(601, 600, "sleep", 60),
			},
			want: map[int64]want{
				500: {"init > cron", "1", "1", "complete", "init"},
				600: {"? > sh", "", "0", "pid_reused", ""},
				601: {"? > sh > sleep", "600", "1", "pid_reused", "sh"},
			},
		},
		{
			name: "same start second is not reuse",
			procs: []Proc{
				proc(1, 0, "init", 0), proc(10, 1, "a", 5), proc(11, 10, "b", 5),
			},
			want: map[int64]want{11: {"init > a > b", "1,10", "2", "complete", "a"}},
		},
		{
			name: "vanished parent (orphan whose ppid is missing)",
			procs: []Proc{
				proc(1, 0, "init", 0), proc(42, 41, "orphan", 10), proc(43, 42, "child", 11),
			},
			want: map[int64]want{
				42: {"? > orphan", "", "0", "parent_unknown", ""},
				43: {"? > orphan > child", "42", "1", "parent_unknown", "orphan"},
			},
		},
		{
			name: "cycle",
			procs: []Proc{
				{PID: 10, PPID: 11, Name: "a"}, {PID: 11, PPID: 12, Name: "b"}, {PID: 12, PPID: 10, Name: "c"},
				{PID: 13, PPID: 12, Name: "d"},
			},
			want: map[int64]want{
				10: {"? > c > b > a", "12,11", "2", "cycle", "b"},
				11: {"? > c > b", "12", "1", "cycle", "c"},
				12: {"? > c", "", "0", "cycle", "a"},
				13: {"? > c > d", "12", "1", "cycle", "c"},
			},
		},
		{
			name:  "self parent is a root",
			procs: []Proc{{PID: 7, PPID: 7, Name: "self"}},
			want:  map[int64]want{7: {"self", "", "0", "complete", ""}},
		},
		{
			name: "depth cap",
			max:  3,
			procs: []Proc{
				proc(1, 0, "p1", 0), proc(2, 1, "p2", 0), proc(3, 2, "p3", 0), proc(4, 3, "p4", 0), proc(5, 4, "p5", 0), proc(6, 5, "p6", 0),
			},
			want: map[int64]want{
				// p1..p4 resolve first (listing order) and are complete; p5 would be 4 deep.
				4: {"p1 > p2 > p3 > p4", "1,2,3", "3", "complete", "p3"},
				5: {"? > p5", "", "0", "truncated", "p4"},
				6: {"? > p5 > p6", "5", "1", "truncated", "p5"},
			},
		},
		{
			name: "history fills an exited parent",
			procs: []Proc{
				proc(4, 0, "System", 0), proc(800, 4, "smss.exe", 1), proc(3000, 2000, "explorer.exe", 50), proc(3100, 3000, "cmd.exe", 60),
			},
			hist: fakeHistory{
				2000: {proc(2000, 800, "userinit.exe", 40), proc(2000, 800, "later.exe", 55)},
			},
			want: map[int64]want{
				3000: {"system > smss.exe > userinit.exe > explorer.exe", "4,800,2000", "3", "complete", "userinit.exe"},
				3100: {"system > smss.exe > userinit.exe > explorer.exe > cmd.exe", "4,800,2000,3000", "4", "complete", "explorer.exe"},
			},
		},
		{
			name: "history replaces a reused parent",
			procs: []Proc{
				proc(4, 0, "System", 0), proc(2000, 4, "newcomer.exe", 90), proc(3000, 2000, "explorer.exe", 50),
			},
			hist: fakeHistory{2000: {proc(2000, 4, "userinit.exe", 40)}},
			want: map[int64]want{
				3000: {"system > userinit.exe > explorer.exe", "4,2000", "2", "complete", "userinit.exe"},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := Options{MaxDepth: c.max}
			if c.hist != nil {
				opts.History = c.hist
			}
			rows := generate(t, newFake(c.procs...), opts, qc())
			if len(rows) != len(c.procs) {
				t.Errorf("%d rows, want %d", len(rows), len(c.procs))
			}
			for pid, w := range c.want {
				r, ok := rows[strconv.FormatInt(pid, 10)]
				if !ok {
					t.Errorf("pid %d: no row", pid)
					continue
				}
				got := want{r["ancestry"], r["ancestor_pids"], r["depth"], r["lineage_status"], r["parent_name"]}
				if got != w {
					t.Errorf("pid %d:\n got %+v\nwant %+v", pid, got, w)
				}
			}
		})
	}
}

// The point query must give the same rows as the full listing.
func TestPointQueryMatchesFull(t *testing.T) {
	procs := []Proc{
		proc(1, 0, "systemd", 0), proc(700, 1, "sshd", 10), proc(900, 700, "bash", 20), proc(950, 900, "python3", 30),
		proc(600, 500, "orphan", 40), proc(500, 1, "reused", 50), proc(10, 11, "a", 0), proc(11, 10, "b", 0),
	}
	full := generate(t, newFake(procs...), Options{}, qc())
	for _, p := range procs {
		pid := strconv.FormatInt(p.PID, 10)
		src := newFake(procs...)
		got := generate(t, src, Options{}, qc("pid", pid))
		if len(got) != 1 {
			t.Fatalf("pid %s: %d rows", pid, len(got))
		}
		if src.lists != 0 {
			t.Errorf("pid %s: point query listed every process", pid)
		}
		w := full[pid]
		for k, v := range got[pid] {
			if k == "lineage_status" && (p.Name == "a" || p.Name == "b") {
				continue // a cycle is cut where the walk entered it
			}
			if k == "ancestry" || k == "ancestor_pids" || k == "depth" {
				if p.Name == "a" || p.Name == "b" {
					continue
				}
			}
			if w[k] != v {
				t.Errorf("pid %s: %s = %q, full listing has %q", pid, k, v, w[k])
			}
		}
	}
}

func TestPointQueryReadsOnlyAncestors(t *testing.T) {
	var procs []Proc
	procs = append(procs, proc(1, 0, "init", 0))
	for pid := int64(2); pid < 1000; pid++ {
		procs = append(procs, proc(pid, 1, "p"+strconv.FormatInt(pid, 10), 1))
	}
	procs = append(procs, proc(2000, 500, "child", 2), proc(2001, 2000, "grandchild", 3))
	src := newFake(procs...)
	rows := generate(t, src, Options{}, qc("pid", "2001", "pid", "2000", "pid", "2001", "pid", "31337"))
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	if got := rows["2001"]["ancestry"]; got != "init > p500 > child > grandchild" {
		t.Errorf("ancestry %q", got)
	}
	slices.Sort(src.gets)
	src.gets = slices.Compact(src.gets)
	if want := []int64{1, 500, 2000, 2001, 31337}; !slices.Equal(src.gets, want) {
		t.Errorf("read pids %v, want %v", src.gets, want)
	}
}

func TestNamePushDown(t *testing.T) {
	src := newFake(proc(1, 0, "init", 0), proc(2, 1, "bash", 1), proc(3, 2, "sleep", 2), proc(4, 1, "bash", 3))
	rows := generate(t, src, Options{}, qc("name", "bash"))
	if len(rows) != 2 || rows["2"] == nil || rows["4"] == nil {
		t.Fatalf("rows %v", rows)
	}
	rows = generate(t, src, Options{}, qc("name", "sleep", "pid", "3"))
	if len(rows) != 1 || rows["3"]["ancestry"] != "init > bash > sleep" {
		t.Fatalf("rows %v", rows)
	}
	rows = generate(t, src, Options{}, qc("name", "bash", "pid", "3"))
	if len(rows) != 0 {
		t.Fatalf("rows %v", rows)
	}
}

func TestErrors(t *testing.T) {
	boom := errors.New("boom")
	src := newFake(proc(1, 0, "init", 0), proc(2, 1, "bash", 1), proc(3, 2, "sleep", 2))
	src.err = boom
	if _, err := New(Options{Source: src}).Generate(context.Background(), qc()); !errors.Is(err, boom) {
		t.Errorf("list error: %v", err)
	}
	// An unreadable asked-for process is an error; an unreadable ancestor cuts the chain.
	src.errPID = 3
	if _, err := New(Options{Source: src}).Generate(context.Background(), qc("pid", "3")); !errors.Is(err, boom) {
		t.Errorf("get error: %v", err)
	}
	src.errPID = 2
	rows := generate(t, src, Options{}, qc("pid", "3"))
	if r := rows["3"]; r["ancestry"] != "? > sleep" || r["lineage_status"] != "parent_unknown" {
		t.Errorf("row %v", r)
	}
	// A non-integer pid matches nothing and reads nothing.
	src = newFake(proc(1, 0, "init", 0))
	if rows := generate(t, src, Options{}, qc("pid", "x")); len(rows) != 0 || src.lists != 0 {
		t.Errorf("rows %v lists %d", rows, src.lists)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New(Options{Source: newFake(proc(1, 0, "init", 0))}).Generate(ctx, qc()); err == nil {
		t.Error("cancelled generate succeeded")
	}
}

func TestRowColumns(t *testing.T) {
	parent := Proc{PID: 100, PPID: 1, Name: "winword.exe", Path: `C:\Program Files\Microsoft Office\WINWORD.EXE`,
		Cmdline: `"WINWORD.EXE" /n doc.docm`, User: `CORP\alice`, Start: at(0), GUID: "{sysmon-parent}"}
	child := Proc{PID: 200, PPID: 100, Name: "powershell.exe", Path: `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
		Cmdline: `powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA=`, User: `CORP\alice`, Start: at(5)}
	rows := generate(t, newFake(Proc{PID: 1, Name: "wininit.exe"}, parent, child), Options{}, qc())
	r := rows["200"]
	cols := Columns()
	if len(r) != len(cols) {
		t.Errorf("row has %d keys, schema %d columns", len(r), len(cols))
	}
	for _, c := range cols {
		if _, ok := r[c.Name]; !ok {
			t.Errorf("row lacks column %s", c.Name)
		}
	}
	if r["parent_path"] != parent.Path || r["parent_cmdline"] != parent.Cmdline || r["parent_process_guid"] != "{sysmon-parent}" {
		t.Errorf("parent columns %v", r)
	}
	if r["start_time"] != strconv.FormatInt(at(5).Unix(), 10) {
		t.Errorf("start_time %s", r["start_time"])
	}
	if !strings.Contains(r["indicators"], "office_child_shell") || !strings.Contains(r["indicators"], "encoded_command") {
		t.Errorf("indicators %q", r["indicators"])
	}
	if s, _ := strconv.Atoi(r["score"]); s < 50 {
		t.Errorf("score %s", r["score"])
	}
	if g := r["process_guid"]; len(g) != 36 || g[8] != '-' || g != tree.DeriveGUID("", 200, at(5).UnixNano()) {
		t.Errorf("guid %q", g)
	}
	if !cols[0].Index || cols[0].Name != "pid" {
		t.Errorf("pid is not the indexed first column: %+v", cols[0])
	}
}

func TestDeriveGUID(t *testing.T) {
	a := tree.DeriveGUID("boot-a", 42, 1000)
	if a != tree.DeriveGUID("boot-a", 42, 1000) {
		t.Fatal("not stable")
	}
	for _, other := range []string{tree.DeriveGUID("boot-b", 42, 1000), tree.DeriveGUID("boot-a", 43, 1000), tree.DeriveGUID("boot-a", 42, 1001)} {
		if other == a {
			t.Errorf("collision %s", a)
		}
	}
	if len(a) != 36 || strings.Count(a, "-") != 4 {
		t.Errorf("shape %s", a)
	}
}

func TestHistoryEnrichesLiveProcess(t *testing.T) {
	live := Proc{PID: 3100, PPID: 3000, Name: "powershell.exe", Start: at(60)}
	parent := Proc{PID: 3000, PPID: 4, Name: "explorer.exe", Start: at(50), Cmdline: `C:\Windows\Explorer.EXE`}
	hist := fakeHistory{
		3100: {
			{PID: 3100, Start: at(10), Cmdline: "older incarnation", GUID: "{old}"},
			{PID: 3100, Start: at(60).Add(-300 * time.Millisecond), Cmdline: "powershell.exe -enc SQBFAFgA", Path: `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, User: `CORP\bob`, GUID: "{sysmon-3100}"},
		},
		// A remembered incarnation too old to be the live one.
		3000: {{PID: 3000, Start: at(20), Cmdline: "stale", GUID: "{stale}"}},
	}
	rows := generate(t, newFake(Proc{PID: 4, Name: "System"}, parent, live), Options{History: hist}, qc())
	r := rows["3100"]
	if r["cmdline"] != "powershell.exe -enc SQBFAFgA" || r["process_guid"] != "{sysmon-3100}" || r["username"] != `CORP\bob` {
		t.Errorf("not enriched: %v", r)
	}
	if !strings.Contains(r["indicators"], "encoded_command") {
		t.Errorf("indicators %q", r["indicators"])
	}
	if p := rows["3000"]; p["cmdline"] != `C:\Windows\Explorer.EXE` || p["process_guid"] == "{stale}" {
		t.Errorf("stale history used: %v", p)
	}
	// Without a start time nothing can be verified.
	rows = generate(t, newFake(Proc{PID: 3100, PPID: 0}), Options{History: hist}, qc())
	if rows["3100"]["cmdline"] != "" {
		t.Errorf("unverifiable history used: %v", rows["3100"])
	}
}

func TestParseProcArgs(t *testing.T) {
	buf := func(argc uint32, rest string) []byte {
		b := []byte{byte(argc), byte(argc >> 8), byte(argc >> 16), byte(argc >> 24)}
		return append(b, rest...)
	}
	path, cmd, ok := parseProcArgs(buf(3, "/bin/zsh\x00\x00\x00\x00zsh\x00-c\x00echo hi\x00HOME=/Users/a\x00"))
	if !ok || path != "/bin/zsh" || cmd != "zsh -c 'echo hi'" {
		t.Errorf("%q %q %v", path, cmd, ok)
	}
	if _, cmd, ok := parseProcArgs(buf(5, "/x\x00a\x00b")); !ok || cmd != "a b" {
		t.Errorf("truncated: %q %v", cmd, ok)
	}
	for _, bad := range [][]byte{nil, {1, 0}, buf(1, "no-nul"), buf(0xFFFFFFFF, "/x\x00")} {
		if _, _, ok := parseProcArgs(bad); ok {
			t.Errorf("parsed %q", bad)
		}
	}
}
