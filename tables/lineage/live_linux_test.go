package lineage

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/tables/lineage/schema"
)

// TestLiveLinux spawns a known tree on this machine and reads it back with
// WHERE pid = N. "; true" keeps each shell from exec'ing its last command away.
func TestLiveLinux(t *testing.T) {
	for _, bin := range []string{"bash", "sh", "sleep"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed: %v", bin, err)
		}
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skipf("no procfs: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", `sh -c "sleep 30; true"; true`)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
	}()
	bashPID := int64(cmd.Process.Pid)

	src := DefaultSource()
	// Find sleep: a child of a child of our bash (poll until the shells have forked).
	var shPID, sleepPID int64
	deadline := time.Now().Add(10 * time.Second)
	for sleepPID == 0 && time.Now().Before(deadline) {
		procs, err := src.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range procs {
			if p.PPID == bashPID && p.Name == "sh" {
				shPID = p.PID
			}
		}
		for _, p := range procs {
			if shPID != 0 && p.PPID == shPID && p.Name == "sleep" {
				sleepPID = p.PID
			}
		}
		if sleepPID == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if sleepPID == 0 {
		t.Fatalf("no sleep under bash %d (sh %d)", bashPID, shPID)
	}

	tbl := New(Options{})
	rows, err := tbl.Generate(ctx, qc("pid", strconv.FormatInt(sleepPID, 10)))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows for pid %d", len(rows), sleepPID)
	}
	r := rows[0]
	t.Logf("ancestry %q pids %q depth %s status %s guid %s", r["ancestry"], r["ancestor_pids"], r["depth"], r["lineage_status"], r["process_guid"])
	// Names are the executables' (sh may be dash).
	want := ""
	for _, pid := range []int64{bashPID, shPID, sleepPID} {
		p, err := src.Get(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		want += schema.Sep + schema.ProcessName(p.Path, p.Name)
	}
	if !strings.HasSuffix(r["ancestry"], want) {
		t.Errorf("ancestry %q does not end with %q", r["ancestry"], want)
	}
	self := strconv.Itoa(os.Getpid())
	wantPIDs := self + "," + strconv.FormatInt(bashPID, 10) + "," + strconv.FormatInt(shPID, 10)
	if !strings.HasSuffix(r["ancestor_pids"], wantPIDs) {
		t.Errorf("ancestor_pids %q does not end with the test binary, bash and sh (%s)", r["ancestor_pids"], wantPIDs)
	}
	if r["lineage_status"] != "complete" || !strings.HasPrefix(r["ancestor_pids"], "1,") && r["ancestor_pids"] != "1" {
		t.Errorf("chain does not reach pid 1: %q %s", r["ancestor_pids"], r["lineage_status"])
	}
	if r["cmdline"] != "sleep 30" || r["parent_cmdline"] != "sh -c 'sleep 30; true'" || !strings.HasSuffix(r["path"], "sleep") {
		t.Errorf("cmdline %q parent_cmdline %q path %q", r["cmdline"], r["parent_cmdline"], r["path"])
	}
	if d, _ := strconv.Atoi(r["depth"]); d != strings.Count(r["ancestor_pids"], ",")+1 {
		t.Errorf("depth %s vs ancestor_pids %q", r["depth"], r["ancestor_pids"])
	}
	start, _ := strconv.ParseInt(r["start_time"], 10, 64)
	if now := time.Now().Unix(); start < now-120 || start > now+2 {
		t.Errorf("start_time %d, now %d", start, now)
	}

	// The full listing agrees with the point query.
	all, err := tbl.Generate(ctx, qc())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range all {
		if a["pid"] == r["pid"] {
			found = true
			for _, k := range []string{"ancestry", "ancestor_pids", "process_guid", "parent_process_guid", "cmdline", "start_time"} {
				if a[k] != r[k] {
					t.Errorf("%s: full %q, point %q", k, a[k], r[k])
				}
			}
		}
	}
	if !found {
		t.Error("sleep missing from the full listing")
	}
}

// TestKeptStatLive checks the procfs behaviour the kept-open stat files rely on: a
// read from offset 0 shows the process's current state (here its name after an
// exec), and once the process has exited and been reaped the descriptor fails, so
// a reused pid is never read through it. Then a listing that kept a descriptor for
// an exited process drops it, and Close releases every descriptor.
func TestKeptStatLive(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skipf("no procfs: %v", err)
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skipf("sh not installed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", "read x; exec sleep 30")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := int64(cmd.Process.Pid)
	rel := strconv.FormatInt(pid, 10) + "/stat"
	fd, err := openAt(-1, "/proc", rel)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFD(fd)
	var buf []byte
	comm := func() string {
		b, err := preadFD(fd, rel, &buf, 4096)
		if err != nil {
			return "error: " + err.Error()
		}
		st, err := parseStat(b)
		if err != nil {
			return "error: " + err.Error()
		}
		return st.Comm
	}
	if c := comm(); c != "sh" {
		t.Fatalf("before exec: %q", c)
	}
	src := NewProcFS("/")
	listed := func() bool {
		procs, err := src.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range procs {
			if p.PID == pid {
				return true
			}
		}
		return false
	}
	if !listed() {
		t.Fatal("child not listed")
	}
	if _, kept := src.kept.stats[pid]; !kept && src.kept.max > 0 {
		t.Fatal("listing kept no descriptor for the child")
	}
	_, _ = stdin.Write([]byte("go\n"))
	deadline := time.Now().Add(5 * time.Second)
	for comm() != "sleep" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c := comm(); c != "sleep" {
		t.Fatalf("after exec the kept descriptor reads %q", c)
	}
	cancel()
	_ = cmd.Wait()
	if c := comm(); !strings.HasPrefix(c, "error") {
		t.Errorf("after exit the kept descriptor still reads %q", c)
	}
	if listed() {
		t.Error("exited child still listed")
	}
	if _, kept := src.kept.stats[pid]; kept {
		t.Error("descriptor of the exited child still kept")
	}
	before := openFDs(t)
	n := len(src.kept.stats)
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if after := openFDs(t); before-after != n {
		t.Errorf("Close released %d descriptors, %d were kept", before-after, n)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
