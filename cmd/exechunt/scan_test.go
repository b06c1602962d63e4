package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/offline/finding"
)

// exitCode is main's mapping of a command's error to the exit status.
func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	}
	return 1
}

// runCLIErr runs the root command and returns stdout, stderr and the exit status.
func runCLIErr(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errOut.String(), exitCode(err)
}

// corpusFile returns a file of the corpus, skipping without it.
func corpusFile(t *testing.T, rel string) string {
	t.Helper()
	dir, ok := corpus.Dir()
	if !ok {
		t.Skip(corpus.SkipMessage)
	}
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Skipf("corpus file missing: %v", err)
	}
	return p
}

const compiledHTML = "sbousseaden_EVTX-ATTACK-SAMPLES/Execution/Sysmon_Exec_CompiledHTML.evtx"

// chainFixture is a small hand-written JSON-lines evidence file (an Office
// document starting a PowerShell chain) for the commands' tests.
const chainFixture = "../../tables/eventtables/testdata/chain.jsonl"

func TestScanExitCodes(t *testing.T) {
	ev := chainFixture
	if _, stderr, code := runCLIErr(t, "scan", "--pack", "nope", ev); code != 2 || !strings.Contains(stderr, "execution-basics") {
		t.Errorf("unknown pack: exit %d, want 2; stderr %q", code, stderr)
	}
	if _, _, code := runCLIErr(t, "scan", "--format", "xml", ev); code != 2 {
		t.Errorf("bad format: exit %d, want 2", code)
	}
	// A pack whose query does not compile: the others still run, exit 2.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"queries": {"typo": {"query": "SELECT nam FROM process_creation_events"}}}`), 0o644)
	_, stderr, code := runCLIErr(t, "scan", "--packs-dir", dir, "--pack", "bad", ev)
	if code != 2 || !strings.Contains(stderr, "bad/typo") || !strings.Contains(stderr, "no such column: nam") {
		t.Errorf("bad query: exit %d, stderr %q", code, stderr)
	}

	f := corpusFile(t, compiledHTML)
	out, _, code := runCLIErr(t, "scan", "-q", "--pack", "execution-basics", f)
	if code != 1 || !strings.Contains(out, "Sysmon_Exec_CompiledHTML.evtx #") {
		t.Errorf("findings: exit %d, want 1\n%s", code, out)
	}
	if _, _, code := runCLIErr(t, "scan", "-q", "--pack", "execution-basics", "--min-score", "101", f); code != 0 {
		t.Errorf("--min-score 101: exit %d, want 0", code)
	}
}

// TestScanFormats: the flags reach offline/report (whose tests check each format).
func TestScanFormats(t *testing.T) {
	f := corpusFile(t, compiledHTML)
	out, _, code := runCLIErr(t, "scan", "-q", "--pack", "execution-basics", "--format", "json", f)
	var findings []finding.Finding
	if err := json.Unmarshal([]byte(out), &findings); err != nil || code != 1 || len(findings) == 0 {
		t.Fatalf("json: exit %d, err %v\n%s", code, err, out)
	}
	for _, fd := range findings {
		if fd.Pack != "execution-basics" || fd.Technique == "" || fd.Severity == "" || fd.Evidence.File != f ||
			len(fd.Evidence.EventRecordIDs) == 0 || fd.Row["evidence"] == nil {
			t.Errorf("json finding %+v", fd)
		}
	}

	out, _, _ = runCLIErr(t, "scan", "-q", "--pack", "execution-basics", "--format", "csv", f)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != len(findings)+1 || recs[0][0] != "pack" || recs[1][4] != f {
		t.Errorf("csv: %v %v", err, recs)
	}

	out, _, code = runCLIErr(t, "scan", "-q", "--pack", "execution-basics", "--format", "sarif", f)
	if code != 1 || !strings.Contains(out, `"uri":"file://`) || !strings.Contains(out, "Sysmon_Exec_CompiledHTML.evtx") {
		t.Errorf("sarif: exit %d\n%s", code, out)
	}
}

func TestSQLCommand(t *testing.T) {
	ev := chainFixture
	if _, stderr, code := runCLIErr(t, "sql", "--evidence", ev, "SELECT nam FROM process_creation_events"); code != 2 ||
		!strings.Contains(stderr, "line 1, column 8") || !strings.Contains(stderr, "columns of process_creation_events: time,") {
		t.Errorf("bad column: exit %d, stderr %q", code, stderr)
	}
	if _, _, code := runCLIErr(t, "sql", "SELECT 1"); code != 2 {
		t.Errorf("no --evidence: exit %d", code)
	}
	out, _, code := runCLIErr(t, "sql", "--evidence", ev, "--format", "json", "SELECT 1 AS n, 'x' AS s, NULL AS z, 0.5 AS f")
	if code != 0 || strings.TrimSpace(out) != "[\n  {\"n\":1,\"s\":\"x\",\"z\":null,\"f\":0.5}\n]" {
		t.Errorf("json: exit %d\n%s", code, out)
	}
	out, _, _ = runCLIErr(t, "sql", "--evidence", ev, "--format", "csv", "SELECT 1 AS n, 'a,b' AS s")
	if out != "n,s\n1,\"a,b\"\n" {
		t.Errorf("csv: %q", out)
	}
	out, _, _ = runCLIErr(t, "sql", "--evidence", ev, "--format", "json", "SELECT 1 WHERE 0")
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("empty json: %q", out)
	}

	f := corpusFile(t, compiledHTML)
	out, _, code = runCLIErr(t, "sql", "--evidence", f, "--format", "csv",
		"SELECT p.name, c.family FROM process_creation_events p JOIN command_line_analysis c ON c.cmdline = p.cmdline WHERE p.name = 'hh.exe'")
	if code != 0 || !strings.Contains(out, "hh.exe,") {
		t.Errorf("join: exit %d\n%s", code, out)
	}
}
