package lineage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/tables/lineage/tree"
)

func smallFixture() fixture {
	return fixture{
		BootID: "11111111-2222-3333-4444-555555555555",
		Btime:  1700000000,
		Users:  map[uint32]string{0: "root", 1000: "alice"},
		Procs: []fixtureProc{
			{PID: 1, Comm: "systemd", Args: []string{"/sbin/init"}, Exe: "/usr/lib/systemd/systemd", StartTicks: 1},
			{PID: 2, Comm: "kthreadd", StartTicks: 1},
			{PID: 9, PPID: 2, Comm: "kworker/0:1-events", StartTicks: 5},
			{PID: 700, PPID: 1, Comm: "sshd", Args: []string{"sshd: alice [priv]"}, Exe: "/usr/sbin/sshd", StartTicks: 1000},
			{PID: 800, PPID: 700, Comm: "bash", Args: []string{"-bash"}, Exe: "/usr/bin/bash", UID: 1000, StartTicks: 1500},
			{PID: 900, PPID: 800, Comm: "my (weird) prog", Args: []string{"./prog", "two words", "", "it's"}, Exe: "/tmp/prog (deleted)", UID: 1000, StartTicks: 2000},
			{PID: 950, PPID: 800, Comm: "python3", RawCmdline: []byte("python3\x00-c\x00print(1)\x00\x00\x00"), Exe: "/usr/bin/python3.12", UID: 4242, StartTicks: 2100},
			// pid 960's parent 961 started later: a reused pid.
			{PID: 961, PPID: 1, Comm: "late", Args: []string{"late"}, StartTicks: 9000},
			{PID: 960, PPID: 961, Comm: "early", Args: []string{"early"}, StartTicks: 3000},
			// orphan whose parent is gone.
			{PID: 970, PPID: 12345, Comm: "orphan", Args: []string{"orphan"}, StartTicks: 3100},
			// a thread id (not a process): Tgid differs.
			{PID: 801, PPID: 700, Comm: "bash", Args: []string{"-bash"}, Tgid: 800, StartTicks: 1500},
		},
	}
}

func TestProcFSReader(t *testing.T) {
	root := t.TempDir()
	f := smallFixture()
	writeFixture(t, root, f)
	src := NewProcFS(root)
	procs, err := src.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byPID := map[int64]Proc{}
	for _, p := range procs {
		byPID[p.PID] = p
	}
	if len(byPID) != len(f.Procs) {
		t.Errorf("%d processes, want %d", len(byPID), len(f.Procs))
	}
	p := byPID[900]
	if p.Name != "my (weird) prog" || p.PPID != 800 || p.User != "alice" || p.Path != "/tmp/prog (deleted)" {
		t.Errorf("900: %+v", p)
	}
	if want := `./prog 'two words' '' 'it'\''s'`; p.Cmdline != want {
		t.Errorf("cmdline %q, want %q", p.Cmdline, want)
	}
	if want := time.Unix(f.Btime+20, 0); !p.Start.Equal(want) {
		t.Errorf("start %v, want %v", p.Start, want)
	}
	if p.GUID != tree.DeriveGUID(f.BootID, 900, 2000) {
		t.Errorf("guid %s", p.GUID)
	}
	if c := byPID[950].Cmdline; c != "python3 -c 'print(1)'" {
		t.Errorf("trailing NULs: %q", c)
	}
	if u := byPID[950].User; u != "4242" {
		t.Errorf("unknown uid shows as %q", u)
	}
	if c := byPID[700].Cmdline; c != "sshd: alice [priv]" {
		t.Errorf("setproctitle line %q", c)
	}
	if k := byPID[9]; k.Cmdline != "[kworker/0:1-events]" || k.Path != "" || k.User != "root" {
		t.Errorf("kernel thread %+v", k)
	}

	// Point reads.
	if _, err := src.Get(context.Background(), 801); !errors.Is(err, ErrNotFound) {
		t.Errorf("thread id: %v", err)
	}
	for _, pid := range []int64{0, -1, 4, 1 << 40} {
		if _, err := src.Get(context.Background(), pid); !errors.Is(err, ErrNotFound) {
			t.Errorf("pid %d: %v", pid, err)
		}
	}
	if g, err := src.Get(context.Background(), 900); err != nil || g.Cmdline != p.Cmdline || !g.Start.Equal(p.Start) {
		t.Errorf("Get 900: %+v %v", g, err)
	}

	// The table over the fixture.
	rows := generate(t, src, Options{}, qc())
	checks := map[string][2]string{
		"900": {"systemd > sshd > bash > prog", "complete"}, // the name is the executable's: exe is /tmp/prog (deleted)
		"9":   {"kthreadd > kworker/0:1-events", "complete"},
		"960": {"? > early", "pid_reused"},
		"970": {"? > orphan", "parent_unknown"},
	}
	for pid, w := range checks {
		if r := rows[pid]; r["ancestry"] != w[0] || r["lineage_status"] != w[1] {
			t.Errorf("pid %s: %q %q, want %q", pid, r["ancestry"], r["lineage_status"], w)
		}
	}
	if r := rows["900"]; r["ancestor_pids"] != "1,700,800" || r["parent_cmdline"] != "-bash" || r["username"] != "alice" ||
		r["start_time"] != strconv.FormatInt(f.Btime+20, 10) {
		t.Errorf("row 900 %v", r)
	}
	point := generate(t, src, Options{}, qc("pid", "900"))
	if len(point) != 1 || point["900"]["ancestry"] != rows["900"]["ancestry"] {
		t.Errorf("point query %v", point)
	}
}

// A process directory that disappears between listing /proc and reading it is
// left out; the rest of the listing still answers.
func TestProcFSVanishing(t *testing.T) {
	root := t.TempDir()
	writeFixture(t, root, smallFixture())
	src := NewProcFS(root)
	src.afterList = func(names []string) {
		if err := os.RemoveAll(filepath.Join(root, "proc", "800")); err != nil {
			t.Fatal(err)
		}
		// Half-gone: stat still there, cmdline already removed.
		if err := os.Remove(filepath.Join(root, "proc", "950", "cmdline")); err != nil {
			t.Fatal(err)
		}
	}
	rows := generate(t, src, Options{}, qc())
	if _, ok := rows["800"]; ok {
		t.Error("vanished process listed")
	}
	if _, ok := rows["950"]; ok {
		t.Error("half-vanished process listed")
	}
	if r := rows["900"]; r["ancestry"] != "? > prog" || r["lineage_status"] != "parent_unknown" || r["parent"] != "800" {
		t.Errorf("child of vanished parent %v", r)
	}
	if _, err := src.Get(context.Background(), 800); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of vanished: %v", err)
	}
	if _, err := NewProcFS(filepath.Join(root, "nothing")).List(context.Background()); err == nil {
		t.Error("missing procfs is not an error")
	}
}

func TestParseStat(t *testing.T) {
	cases := []struct {
		in   string
		want procStat
		err  bool
	}{
		{in: statLine(fixtureProc{PID: 5, PPID: 1, Comm: "a b) (c", StartTicks: 77}), want: procStat{5, "a b) (c", 'S', 1, 77}},
		{in: statLine(fixtureProc{PID: 6, PPID: 0, Comm: ")", State: 'Z', StartTicks: 0}), want: procStat{6, ")", 'Z', 0, 0}},
		{in: statLine(fixtureProc{PID: 7, PPID: 2, Comm: "", StartTicks: 1<<40 + 3}), want: procStat{7, "", 'S', 2, 1<<40 + 3}},
		{in: statLine(fixtureProc{PID: 8, PPID: 2, Comm: "new\nline", StartTicks: 9}), want: procStat{8, "new\nline", 'S', 2, 9}},
		{in: "1 (init) S 0 1 1", err: true},
		{in: "x (init) S 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 5 1 1", err: true},
		{in: "1 (init S 0", err: true},
		{in: "", err: true},
		{in: "1 (a) S zz 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 5 1 1", err: true},
	}
	for _, c := range cases {
		got, err := parseStat([]byte(c.in))
		if (err != nil) != c.err || !c.err && got != c.want {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v err=%v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestParsePasswdAndStatus(t *testing.T) {
	u := parsePasswd([]byte("root:x:0:0:root:/root:/bin/bash\n#c\nbad\nalice:x:1000:1000::/h:/bin/sh\ndup:x:0:0::/:/bin/sh\nneg:x:-1:0::/:/\n"))
	if len(u) != 2 || u[0] != "root" || u[1000] != "alice" {
		t.Errorf("passwd %v", u)
	}
	uid, tgid, ok := parseStatus([]byte(statusText(fixtureProc{PID: 12, Tgid: 10, UID: 33})))
	if uid != 33 || tgid != 10 || !ok {
		t.Errorf("status %d %d %v", uid, tgid, ok)
	}
	if _, _, ok := parseStatus([]byte("Name:\tx\n")); ok {
		t.Error("status without Uid parsed")
	}
	if bt := parseBtime([]byte("cpu 1\nbtime 1700000000\n")); bt != 1700000000 {
		t.Errorf("btime %d", bt)
	}
	if !strings.Contains(statLine(fixtureProc{PID: 1, Comm: "x"}), "(x)") {
		t.Error("fixture")
	}
}

// A listing large enough to be read in parallel gives the same processes, in the
// same order, as reading them one by one; every synthetic chain is complete.
func TestProcFSParallel(t *testing.T) {
	root := t.TempDir()
	f := synthetic(1500) // above parallelMin and rowParallelMin: the parallel paths run
	writeFixture(t, root, f)
	src := NewProcFS(root)
	procs, err := src.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) != len(f.Procs) {
		t.Fatalf("%d processes, want %d", len(procs), len(f.Procs))
	}
	r := src.reader()
	for _, p := range procs {
		q, err := r.read(p.PID, true)
		if err != nil || q != p {
			t.Fatalf("pid %d: listed %+v, read %+v (%v)", p.PID, p, q, err)
		}
	}
	rows := generate(t, src, Options{}, qc())
	for pid, row := range rows {
		if row["lineage_status"] != "complete" {
			t.Errorf("pid %s: %s", pid, row["lineage_status"])
		}
		n := 0
		if row["ancestor_pids"] != "" {
			n = strings.Count(row["ancestor_pids"], ",") + 1
		}
		if row["depth"] != strconv.Itoa(n) || strings.Count(row["ancestry"], " > ") != n {
			t.Errorf("pid %s: depth %s, ancestors %q, ancestry %q", pid, row["depth"], row["ancestor_pids"], row["ancestry"])
		}
	}
	// A few command lines of the fixture are worth flagging.
	flagged := 0
	for _, row := range rows {
		if row["indicators"] != "" {
			flagged++
		}
	}
	if flagged == 0 {
		t.Error("no row has indicators")
	}
}

// TestStaticCacheFollowsExecAndUidChange: a warm listing reuses the command line of an
// unchanged process, but not after an exec (comm changes) or an effective-uid change
// (the /proc/<pid> owner changes).
func TestStaticCacheFollowsExecAndUidChange(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to chown the synthetic /proc entry")
	}
	root := t.TempDir()
	writeFixture(t, root, fixture{BootID: "b", Btime: 1700000000, Users: map[uint32]string{0: "root", 33: "www-data"}, Procs: []fixtureProc{
		{PID: 1, Comm: "init", StartTicks: 1, Args: []string{"/sbin/init"}},
		{PID: 42, PPID: 1, Comm: "app", StartTicks: 500, Args: []string{"app", "--serve"}},
	}})
	fs := NewProcFS(root)
	now := time.Unix(1800000000, 0)
	fs.clock = func() time.Time { return now }
	get := func() Proc {
		procs, err := fs.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range procs {
			if p.PID == 42 {
				return p
			}
		}
		t.Fatal("pid 42 not listed")
		return Proc{}
	}
	if p := get(); p.Cmdline != "app --serve" {
		t.Fatalf("cold: %q", p.Cmdline)
	}
	dir := filepath.Join(root, "proc", "42")
	if err := os.WriteFile(filepath.Join(dir, "cmdline"), []byte("changed\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := get(); p.Cmdline != "app --serve" {
		t.Errorf("warm listing should reuse the cached command line, got %q", p.Cmdline)
	}
	if err := os.Chown(dir, 33, 33); err != nil {
		t.Fatal(err)
	}
	if p := get(); p.Cmdline != "app --serve" {
		t.Errorf("within Revalidate the cached entry is trusted, got %q", p.Cmdline)
	}
	now = now.Add(Revalidate)
	if p := get(); p.Cmdline != "changed" {
		t.Errorf("after the owner changed the process must be read again, got %q", p.Cmdline)
	}
	st := statLine(fixtureProc{PID: 42, PPID: 1, Comm: "app2", StartTicks: 500})
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(st), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cmdline"), []byte("execd\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := get(); p.Cmdline != "execd" || p.Name != "app2" {
		t.Errorf("after an exec (new comm) the process must be read again, got %q %q", p.Name, p.Cmdline)
	}
}

// TestKeptStatFiles: a warm listing reads each process through the stat file kept
// by the previous one (so a changed parent shows), drops the files of processes
// that left, keeps no more than its limit, and Close releases them all.
func TestKeptStatFiles(t *testing.T) {
	if !keepOpenSupported {
		t.Skip("stat files are kept open only on Linux")
	}
	root := t.TempDir()
	writeFixture(t, root, smallFixture())
	src := NewProcFS(root)
	list := func() map[int64]Proc {
		procs, err := src.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		m := map[int64]Proc{}
		for _, p := range procs {
			m[p.PID] = p
		}
		return m
	}
	first := list()
	if got := len(src.kept.stats); got != len(first) {
		t.Fatalf("kept %d stat files for %d processes", got, len(first))
	}
	// Reparent 900 to init; remove 970.
	st := statLine(fixtureProc{PID: 900, PPID: 1, Comm: "my (weird) prog", StartTicks: 2000})
	if err := os.WriteFile(filepath.Join(root, "proc", "900", "stat"), []byte(st), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, "proc", "970")); err != nil {
		t.Fatal(err)
	}
	second := list()
	if p := second[900]; p.PPID != 1 || p.Cmdline != first[900].Cmdline {
		t.Errorf("900 after reparenting: %+v", p)
	}
	if _, ok := second[970]; ok {
		t.Error("removed process listed")
	}
	if _, ok := src.kept.stats[970]; ok || len(src.kept.stats) != len(second) {
		t.Errorf("kept %d stat files for %d processes (970 kept: %v)", len(src.kept.stats), len(second), ok)
	}
	src.SetKeepOpen(3)
	if len(src.kept.stats) != 0 {
		t.Errorf("SetKeepOpen kept %d stat files", len(src.kept.stats))
	}
	if third := list(); len(third) != len(second) || len(src.kept.stats) != 3 {
		t.Errorf("limit 3: %d processes, %d kept", len(third), len(src.kept.stats))
	}
	src.SetKeepOpen(0)
	if fourth := list(); len(fourth) != len(second) || len(src.kept.stats) != 0 {
		t.Errorf("off: %d processes, %d kept", len(fourth), len(src.kept.stats))
	}
	src.SetKeepOpen(DefaultKeepOpen)
	list()
	if err := src.Close(); err != nil || len(src.kept.stats) != 0 {
		t.Errorf("Close left %d (%v)", len(src.kept.stats), err)
	}
}
