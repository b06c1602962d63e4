//go:build linux

// Package audittest is the test harness of the Linux audit end-to-end tests: it
// checks that the host lets a test use the kernel's audit subsystem (skipping with
// the reason when not), starts auditd on a log of the test's own, adds an execve
// rule for the test's lifetime and runs a base64-to-shell command. It leaves the
// kernel's rules and enabled flag as it found them.
package audittest

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Host checks early whether this host lets a test use the kernel's audit
// subsystem, and skips with the reason when it does not: not root, auditd not
// installed (.ci/run installs it), or the kernel refuses audit (a container without
// CAP_AUDIT_CONTROL, a kernel without audit). It returns the pid of the auditd
// already running, 0 when none is. Audit is enabled for the test when it is off, and
// left as it was.
func Host(t *testing.T) int {
	t.Helper()
	if testing.Short() {
		t.Skip("starts auditd and adds a kernel audit rule")
	}
	if os.Geteuid() != 0 {
		t.Skip("the kernel audit end-to-end test needs root (auditd, auditctl)")
	}
	for _, bin := range []string{"auditd", "auditctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed (apt-get install auditd; .ci/run installs it): %v", bin, err)
		}
	}
	lockHost(t)
	out, err := exec.Command("auditctl", "-s").CombinedOutput()
	if err != nil {
		t.Skipf("the kernel refuses audit here (auditctl -s: %v: %s): a container without CAP_AUDIT_CONTROL or a kernel without audit", err, strings.TrimSpace(string(out)))
	}
	pid, enabled, backlog := 0, 0, 0
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "pid "); ok {
			fmt.Sscan(v, &pid)
		}
		if v, ok := strings.CutPrefix(line, "enabled "); ok {
			fmt.Sscan(v, &enabled)
		}
		if v, ok := strings.CutPrefix(line, "backlog_limit "); ok {
			fmt.Sscan(v, &backlog)
		}
	}
	if backlog > 0 && backlog < 8192 {
		// The kernel's default backlog (64) overflows while the machine is busy.
		if exec.Command("auditctl", "-b", "8192").Run() == nil {
			t.Cleanup(func() { exec.Command("auditctl", "-b", fmt.Sprint(backlog)).Run() })
		}
	}
	if enabled == 0 {
		if out, err := exec.Command("auditctl", "-e", "1").CombinedOutput(); err != nil {
			t.Skipf("the kernel refuses to enable audit (auditctl -e 1: %v: %s)", err, strings.TrimSpace(string(out)))
		}
		t.Cleanup(func() { exec.Command("auditctl", "-e", "0").Run() })
	}
	return pid
}

// LoginUID is the login uid RunBase64ToShell gives its processes, so that the test's
// rule audits them and nothing else of the machine.
const LoginUID = 4242

// AddExecveRule adds an execve rule for the processes of login uid LoginUID under a
// key of this test and removes it at the end.
func AddExecveRule(t *testing.T) {
	t.Helper()
	key := fmt.Sprintf("exechunt-e2e-%d", os.Getpid())
	rule := []string{"always,exit", "-F", "arch=b64", "-S", "execve", "-F", fmt.Sprint("auid=", LoginUID), "-F", "key=" + key}
	if out, err := exec.Command("auditctl", append([]string{"-a"}, rule...)...).CombinedOutput(); err != nil {
		t.Skipf("the kernel refuses an audit rule (auditctl -a: %v: %s)", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("auditctl", append([]string{"-d"}, rule...)...).CombinedOutput(); err != nil {
			t.Errorf("removing the test's audit rule: %v: %s", err, out)
		}
	})
}

// StartAuditd starts auditd in the foreground with a configuration that writes to
// dir/audit.log, and stops it at the end.
func StartAuditd(t *testing.T, dir string) string {
	t.Helper()
	conf := filepath.Join(dir, "conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "audit.log")
	text := "local_events = yes\nwrite_logs = yes\nlog_file = " + log + "\nlog_format = ENRICHED\nflush = INCREMENTAL\nfreq = 1\n" +
		"max_log_file = 64\nmax_log_file_action = IGNORE\nspace_left = 8\nspace_left_action = IGNORE\nadmin_space_left = 4\n" +
		"admin_space_left_action = IGNORE\ndisk_full_action = IGNORE\ndisk_error_action = IGNORE\n"
	if err := os.WriteFile(filepath.Join(conf, "auditd.conf"), []byte(text), 0o640); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("auditd", "-n", "-c", conf)
	out, _ := os.Create(filepath.Join(dir, "auditd.out"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Skipf("auditd does not start: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		out.Close()
	})
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(log); err == nil {
			return log
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "auditd.out"))
	t.Skipf("auditd started but wrote no log (the kernel may refuse it): %s", b)
	return ""
}

// RunBase64ToShell runs bash -c 'sh -c "echo <base64> | base64 -d | sh"; true' (the
// decoded command prints a marker; the true keeps bash from exec'ing sh in its
// place, so that sh has bash for parent) as login uid LoginUID, and returns the
// base64 text, unique to this run.
func RunBase64ToShell(t *testing.T) string {
	t.Helper()
	b64 := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("echo exechunt-e2e-%d-%d\n", os.Getpid(), time.Now().UnixNano())))
	script := fmt.Sprintf(`echo %d >/proc/self/loginuid && exec bash -c 'sh -c "echo %s | base64 -d | sh"; true'`, LoginUID, b64)
	out, err := exec.Command("sh", "-c", script).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "exechunt-e2e-") {
		t.Fatalf("the command: %v: %s", err, out)
	}
	return b64
}

// CheckRow checks the process_creation_events row of RunBase64ToShell's sh -c: read
// from audit, bash its parent, run by root, not failed, tagged and scored 50+.
func CheckRow(t *testing.T, r map[string]string) {
	t.Helper()
	score, _ := strconv.Atoi(r["score"])
	if r["source"] != "audit" || r["parent_name"] != "bash" || r["user"] != "root" || r["failed"] != "0" || r["login_user"] != fmt.Sprint(LoginUID) ||
		!strings.Contains(r["ancestry"], "bash > ") || score < 50 || !strings.Contains(r["indicators"], "posix_base64_pipe_shell") {
		t.Errorf("row %v", r)
	}
}

// Attempts runs RunBase64ToShell and waits for seen to find its row, up to three
// times (the kernel drops records when its backlog overflows on a busy machine),
// and returns the row.
func Attempts(t *testing.T, seen func(b64 string) (map[string]string, bool)) map[string]string {
	t.Helper()
	for attempt := 1; attempt <= 3; attempt++ {
		b64 := RunBase64ToShell(t)
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if r, ok := seen(b64); ok {
				return r
			}
		}
		out, _ := exec.Command("auditctl", "-s").CombinedOutput()
		t.Logf("attempt %d: the command's row did not appear within 10 s; auditctl -s:\n%s", attempt, out)
	}
	t.Fatal("the command's row never appeared (3 attempts)")
	return nil
}

// lockHost holds a machine-wide lock for the rest of the test: the kernel's audit
// state (enabled flag, backlog, rules, the one auditd) is shared by every process,
// and go test runs the packages' tests in parallel, so without it one package's
// clean-up (audit off, rule removed) would cut another's events short.
func lockHost(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "exechunt-audittest.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("audit test lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("audit test lock: %v", err)
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock; registered first, so it runs last
}
