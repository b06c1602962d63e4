package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/offline/simulate"
	"github.com/exechunt/exechunt/offline/simulate/agentsim"
	"github.com/exechunt/exechunt/orchestrator/agentconfig"
	"github.com/exechunt/exechunt/tables/analysis"
)

// buildExechunt builds the exechunt binary into a temp dir.
func buildExechunt(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "exechunt")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// sysmonFiles returns n Sysmon EVTX files of the corpus, one per simulated host.
func sysmonFiles(t *testing.T, n int) []string {
	dir, ok := corpus.Dir()
	if !ok {
		t.Skip(corpus.SkipMessage)
	}
	var files []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(strings.ToLower(p), ".evtx") &&
			strings.Contains(strings.ToLower(p), "sysmon") {
			files = append(files, p)
		}
		return nil
	})
	slices.Sort(files)
	if len(files) < n {
		t.Skipf("corpus has %d Sysmon EVTX files, need %d", len(files), n)
	}
	return files[:n]
}

// TestServeQueryEndToEnd runs the built exechunt serve in a temp data dir, enrolls
// simulated agents that answer SQL with the offline engine over their own corpus
// file, and checks that exechunt query returns real rows from every host.
func TestServeQueryEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	files := sysmonFiles(t, 3)
	bin := buildExechunt(t)
	data := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	srv := startServe(t, bin, data, "127.0.0.1:0")
	url, hc := srv.url, trustingClient(t, data, 0)
	if !strings.Contains(strings.Join(srv.banner, "\n"), "fingerprint: ") {
		t.Errorf("no fingerprint in the banner:\n%s", strings.Join(srv.banner, "\n"))
	}
	for _, f := range []string{"enroll_secret", "admin_token", "tls/server.key"} {
		if fi, err := os.Stat(filepath.Join(data, f)); err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", f, fi.Mode(), err)
		}
	}
	secret, _ := os.ReadFile(filepath.Join(data, "enroll_secret"))

	agentCtx, stopAgents := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopAgents(); wg.Wait() }()
	for i, f := range files {
		r, err := simulate.NewRunner([]string{f}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		name := strings.TrimSuffix(filepath.Base(f), ".evtx")
		if i == 0 {
			name += "\x1b]52;c;Y2FsYw==\x07\x1b[2J" // a clipboard write and a screen clear in a host name
		}
		a := agentsim.New(agentsim.Config{Server: url, HTTP: hc, EnrollSecret: strings.TrimSpace(string(secret)),
			Host:   agentsim.Host{Hostname: name, UUID: "SIM-" + string(rune('A'+i)), Platform: "windows"},
			Runner: r, DistributedInterval: 500 * time.Millisecond, LogInterval: time.Second, Gzip: true,
			ResultLines: agentsim.EventLines("pack_execution-basics_high_score_process_creations", agentsim.SyntheticRows(2))})
		wg.Add(1)
		go func() { defer wg.Done(); a.Run(agentCtx) }()
	}

	env := append(os.Environ(), "EXECHUNT_CLIENT_CONFIG="+filepath.Join(data, "client.json"),
		"EXECHUNT_SERVER=", "EXECHUNT_TOKEN=", "EXECHUNT_CA_FILE=")
	// Wait for the three hosts.
	deadline := time.Now().Add(30 * time.Second)
	for {
		cmd := exec.CommandContext(ctx, bin, "hosts", "--format", "json")
		cmd.Env = env
		out, err := cmd.Output()
		var hosts []map[string]any
		if err == nil && json.Unmarshal(out, &hosts) == nil && len(hosts) == 3 {
			if hosts[0]["platform"] != "windows" || hosts[0]["osquery_version"] != "5.23.1" {
				t.Errorf("host = %v", hosts[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hosts did not enroll: %v %s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Agent-supplied text reaches the terminal escaped (exechunt hosts and query
	// printed it raw: a host could clear the screen or write the clipboard).
	for _, args := range [][]string{{"hosts"}, {"query", "--hosts", "all", "--timeout", "30s", "SELECT name FROM process_creation_events LIMIT 1"}} {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		var errb strings.Builder
		cmd.Stderr = &errb
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s", args[0], err, errb.String())
		}
		if strings.ContainsAny(string(out)+errb.String(), "\x1b\x07") || !strings.Contains(string(out), `\x1b]52;c;`) {
			t.Errorf("%s printed the host name unescaped:\n%q", args[0], string(out)+errb.String())
		}
	}

	cmd := exec.CommandContext(ctx, bin, "query", "--hosts", "all", "--timeout", "30s", "--format", "json",
		"SELECT name, parent_name, cmdline FROM process_creation_events LIMIT 2")
	cmd.Env = env
	var qerr strings.Builder
	cmd.Stderr = &qerr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("query: %v\nstderr: %s", err, qerr.String())
	}
	perHost := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r struct {
			Hostname string            `json:"hostname"`
			Columns  map[string]string `json:"columns"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("row %q: %v", line, err)
		}
		if r.Columns["name"] == "" || r.Columns["cmdline"] == "" {
			t.Errorf("row without a process: %v", r)
		}
		perHost[r.Hostname]++
	}
	if len(perHost) != 3 {
		t.Errorf("rows per host = %v, want rows from 3 hosts\nstderr: %s", perHost, qerr.String())
	}
	// stderr is not a terminal: the summary line, without the progress line that
	// redraws itself (it would repeat into a log file).
	if !strings.Contains(qerr.String(), " done: ok 3; ") || strings.Contains(qerr.String(), "\r") {
		t.Errorf("stderr is not the summary alone: %q", qerr.String())
	}

	// A query that fails on every agent says the error once, with the number of
	// hosts, and exits 1: no host answered it.
	cmd = exec.CommandContext(ctx, bin, "query", "--hosts", "windows", "--timeout", "30s", "SELECT * FROM no_such_table")
	cmd.Env = env
	combined, err := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(combined), "error on 3 hosts") ||
		strings.Count(string(combined), "no such table") != 1 || !strings.Contains(string(combined), "no host answered it (error 3)") {
		t.Errorf("failing query: %v\n%s", err, combined)
	}
}

// TestFeatureVectorMatchesAnalysis checks the orchestrator's copy of osquery's
// character-frequency vector against the one the extension scores with.
func TestFeatureVectorMatchesAnalysis(t *testing.T) {
	got, _ := agentconfig.FeatureVectors()["character_frequencies"].([]float64)
	if want := analysis.DefaultVector(); !slices.Equal(got, want) {
		t.Errorf("agentconfig vector (%d) differs from analysis.DefaultVector (%d)", len(got), len(want))
	}
}
