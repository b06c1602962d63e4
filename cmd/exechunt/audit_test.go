package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// auditFixture is a Linux audit log written by hand: an ssh session's shell runs
// sh -c "echo <base64 of curl … | sh> | base64 -d | sh", next to a cron job.
const auditFixture = "../../testdata/audit/base64-to-shell.log"

// TestAuditLogEvidence: events, sql and scan read audit.log like any evidence (by
// content), resolve parents through ppid and time, score the base64-to-shell line
// 50+, and the Linux hunt packs and SigmaHQ's linux/process_creation rules find it.
func TestAuditLogEvidence(t *testing.T) {
	stdout, stderr, code := runCLIErr(t, "events", "-q", auditFixture)
	if code != 0 {
		t.Fatalf("events: exit %d: %s", code, stderr)
	}
	var shell struct {
		Format, Cmdline string
		PID, ParentPID  int64
		Score           int
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var e struct {
			Format    string `json:"format"`
			Cmdline   string `json:"cmdline"`
			PID       int64  `json:"pid"`
			ParentPID int64  `json:"parent_pid"`
			Score     int    `json:"score"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(e.Cmdline, "| base64 -d | sh") {
			shell.Format, shell.Cmdline, shell.PID, shell.ParentPID, shell.Score = e.Format, e.Cmdline, e.PID, e.ParentPID, e.Score
		}
	}
	if shell.Format != "audit" || shell.PID != 4102 || shell.ParentPID != 4100 || shell.Score < 50 {
		t.Errorf("events: the base64-to-shell process: %+v", shell)
	}

	out, stderr, code := runCLIErr(t, "sql", "--evidence", auditFixture, "--format", "csv",
		"SELECT pid, source, user, login_user, tty, parent_name, parent_cmdline, ancestry, score >= 50 FROM process_creation_events WHERE cmdline LIKE '%base64 -d | sh%' OR name = 'curl' ORDER BY pid")
	want := "pid,source,user,login_user,tty,parent_name,parent_cmdline,ancestry,score >= 50\n" +
		"4102,audit,1000,1000,pts0,bash,'-bash,? > bash > dash,1\n" + // CSV guards a leading - +
		"4105,audit,1000,1000,pts0,dash,sh,? > bash > dash > dash > curl,1\n"
	if code != 0 || out != want {
		t.Errorf("sql: exit %d %s\n got %q\nwant %q", code, stderr, out, want)
	}

	for _, tc := range []struct {
		args  []string
		query string
	}{
		{[]string{"--pack", "unix-shells"}, "reverse_shells"},
		{[]string{"--sigma", "../../../shared/reference/sigma/rules/linux/process_creation/proc_creation_lnx_base64_execution.yml"},
			"proc_creation_lnx_base64_execution"},
	} {
		if _, err := os.Stat(tc.args[1]); tc.args[0] == "--sigma" && err != nil {
			t.Logf("%s not here: the Sigma case is skipped", tc.args[1])
			continue
		}
		out, stderr, _ := runCLIErr(t, append(append([]string{"scan", "-q", "--format", "csv"}, tc.args...), auditFixture)...)
		recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatalf("scan %v: %v %s", tc.args, err, stderr)
		}
		found := false
		for _, r := range recs[1:] {
			if strings.Contains(strings.Join(r, ","), tc.query) && strings.Contains(strings.Join(r, ","), "| base64 -d | sh") {
				found = true
			}
		}
		if !found {
			t.Errorf("scan %v: no %s finding of the base64-to-shell line:\n%s", tc.args, tc.query, out)
		}
	}
}

// TestLinuxHuntPacks: each Linux hunt of unix-shells finds its line of a hand-written
// audit log of a container escape (nsenter into pid 1, a hidden binary in /dev/shm,
// LD_PRELOAD, a systemd-run timer) and nothing else of it.
func TestLinuxHuntPacks(t *testing.T) {
	out, stderr, code := runCLIErr(t, "scan", "-q", "--format", "csv", "--pack", "unix-shells", "../../testdata/audit/container-escape.log")
	if code != 1 {
		t.Fatalf("scan: exit %d %s", code, stderr)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range recs[1:] {
		got[r[1]] += r[5] + " "
	}
	want := map[string]string{
		"container_escape_nsenter":     "5201 ",
		"writable_path_execution":      "5203 ",
		"dynamic_linker_hijack_launch": "5204 ",
		"scheduler_launched_shell":     "5205 ",
	}
	for q, ids := range want {
		if got[q] != ids {
			t.Errorf("%s found %q, want %q", q, got[q], ids)
		}
	}
	if len(got) != len(want) {
		t.Errorf("queries with findings: %v", got)
	}
}
