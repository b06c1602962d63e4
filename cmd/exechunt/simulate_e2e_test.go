package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// evidenceFixtures is the hand-written evidence of testdata/evidence: a Windows
// workstation where Word starts cmd.exe and an encoded PowerShell, and a Linux web
// server where Java starts a base64 reverse shell.
var evidenceFixtures = filepath.Join("..", "..", "testdata", "evidence")

// TestSimulateEndToEnd runs the built exechunt serve and exechunt simulate with four
// hosts over the hand-written evidence, as the README's quick start does, and checks
// that the hosts enroll with their platforms, that a live query is answered with
// the evidence's rows by the host that holds them, that the pushed pack's results
// make the rare Word → cmd.exe pair an anomaly, that a dispatched hunt finds the
// evidence's high-score processes, that Ctrl-C stops the simulator
// cleanly, and that a wrong enroll secret or an unreachable server ends it with an
// error that says so.
func TestSimulateEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildExechunt(t)
	data := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	startServe(t, bin, data, "127.0.0.1:0")

	env := append(os.Environ(), "EXECHUNT_CLIENT_CONFIG="+filepath.Join(data, "client.json"),
		"EXECHUNT_SERVER=", "EXECHUNT_TOKEN=", "EXECHUNT_CA_FILE=", "EXECHUNT_ENROLL_SECRET=")
	// run runs the binary and returns stdout, stderr and the exit status.
	run := func(args ...string) (string, string, int) {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		cmd.Run()
		return out.String(), errb.String(), cmd.ProcessState.ExitCode()
	}

	sim := exec.CommandContext(ctx, bin, "simulate", "--hosts", "4", "--interval", "300ms", "--data", data, evidenceFixtures)
	sim.Env = env
	var simErr bytes.Buffer
	sim.Stderr = &simErr
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			sim.Process.Kill()
			sim.Wait()
		}
		if t.Failed() {
			t.Logf("simulate stderr:\n%s", tail(simErr.String(), 4000))
		}
	}()

	// The four hosts enroll: sim-001 (the Linux file), sim-002 (the Windows file)
	// and two background hosts, one of each platform.
	wantPlatform := map[string]string{"sim-001": "linux", "sim-002": "windows", "sim-003": "linux", "sim-004": "windows"}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		out, _, code := run("hosts", "--format", "json")
		var hosts []map[string]any
		if code == 0 && json.Unmarshal([]byte(out), &hosts) == nil && len(hosts) == 4 {
			for _, h := range hosts {
				name, _ := h["hostname"].(string)
				if h["platform"] != wantPlatform[name] {
					t.Errorf("host %s: platform %v, want %s", name, h["platform"], wantPlatform[name])
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hosts did not enroll: exit %d %s", code, out)
		}
	}

	// A live query: only sim-002 holds Word's children, from its evidence.
	out, qerr, code := run("query", "--hosts", "all", "--timeout", "60s", "--format", "json",
		"SELECT name, parent_name, cmdline FROM process_creation_events WHERE parent_name = 'winword.exe'")
	if code != 0 {
		t.Fatalf("query: exit %d\n%s", code, qerr)
	}
	type row struct {
		Hostname string            `json:"hostname"`
		Columns  map[string]string `json:"columns"`
	}
	var rows []row
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r row
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("query row %q: %v", line, err)
		}
		rows = append(rows, r)
	}
	if len(rows) != 1 || rows[0].Hostname != "sim-002" || rows[0].Columns["name"] != "cmd.exe" ||
		!strings.Contains(rows[0].Columns["cmdline"], "-enc ") {
		t.Errorf("live query rows = %+v, want sim-002's cmd.exe started by Word", rows)
	}
	if !strings.Contains(qerr, " done: ok 1, no-rows 3; 1 rows") {
		t.Errorf("not every host answered the live query: %s", qerr)
	}

	// The default push pack runs in the Windows hosts' schedule; its results make
	// Word → cmd.exe, seen on one of two hosts, an anomaly.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(300 * time.Millisecond) {
		out, _, code := run("anomalies", "--format", "json")
		if code == 0 && strings.Contains(out, "winword.exe") && strings.Contains(out, "cmd.exe") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no anomaly for winword.exe → cmd.exe: exit %d\n%s", code, out)
		}
	}

	// A dispatched hunt, bounded to the last hour, finds the evidence's high-score
	// processes: the simulator replays the evidence as happening when it started.
	out, errOut, code := run("hunts", "run", "execution-basics", "--wait", "90s", "--format", "json")
	var runs []struct {
		State     string `json:"state"`
		Responded int    `json:"hosts_responded"`
		Rows      int    `json:"rows"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &runs) != nil || len(runs) != 1 {
		t.Fatalf("hunts run: exit %d\n%s%s", code, out, errOut)
	}
	// Word → cmd.exe → powershell.exe (2) and java → bash → bash → id (3) score >= 50.
	if r := runs[0]; r.State != "done" || r.Responded != 4 || r.Rows != 5 {
		t.Errorf("hunt run = %+v, want done, 4 hosts responded, 5 rows", r)
	}

	// Ctrl-C stops it with a last progress line.
	if err := sim.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := sim.Wait()
	stopped = true
	if err != nil {
		t.Errorf("simulate after Ctrl-C: %v", err)
	}
	for _, want := range []string{"4 hosts (2 windows, 2 linux)", "stopped: 4/4 hosts enrolled", "live queries answered"} {
		if !strings.Contains(simErr.String(), want) {
			t.Errorf("simulate stderr lacks %q", want)
		}
	}

	// A wrong enroll secret, and a server that is not there, end it at once.
	wrong := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(wrong, []byte("not-the-secret\n"), 0o600)
	_, errOut, code = run("simulate", "--hosts", "2", "--data", data, "--enroll-secret-file", wrong, evidenceFixtures)
	if code != 1 || !strings.Contains(errOut, "refused the enroll secret from "+wrong) {
		t.Errorf("wrong secret: exit %d\n%s", code, errOut)
	}
	_, errOut, code = run("simulate", "--hosts", "2", "--data", data, "--server", "https://127.0.0.1:1", evidenceFixtures)
	if code != 1 || !strings.Contains(errOut, "cannot reach the server at https://127.0.0.1:1") {
		t.Errorf("unreachable server: exit %d\n%s", code, errOut)
	}
	_, errOut, code = run("simulate", "--hosts", "2", "--data", data, filepath.Join(t.TempDir(), "no-such-evidence"))
	if code != 1 || !strings.Contains(errOut, "no-such-evidence") {
		t.Errorf("missing evidence: exit %d\n%s", code, errOut)
	}
}
