package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// badEvidence writes the unreadable or damaged inputs of the tests into a
// temporary folder and returns the paths by case name. The truncated EVTX is the
// head of a repository fixture; everything else is written here.
func badEvidence(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	write := func(rel string, b []byte) string {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	whole, err := os.ReadFile("../../tables/source/evtx/testdata/powershell_shapes.evtx")
	if err != nil {
		t.Fatal(err)
	}
	chain, err := os.ReadFile(chainFixture)
	if err != nil {
		t.Fatal(err)
	}
	p := map[string]string{
		"truncated": write("truncated/t.evtx", whole[:5000]), // the header and the start of chunk 0
		"text":      write("text/notes.evtx", []byte("these are notes, not a log\n")),
		"nonlogs":   filepath.Dir(write("nonlogs/a.png", []byte("\x89PNG"))),
		"escape":    write("escape/x\x1b]0;pwned\x07.evtx", []byte("not a log\n")),
		"missing":   filepath.Join(dir, "nope"),
	}
	write("nonlogs/readme.txt", []byte("hello\n"))  // a text file: skipped as not evidence
	write("nonlogs/events.json", []byte("hello\n")) // named as evidence, and is not: unreadable
	p["empty"] = filepath.Join(dir, "empty")
	if err := os.Mkdir(p["empty"], 0o755); err != nil {
		t.Fatal(err)
	}
	// Good evidence beside a damaged file: the findings and rows of the good file
	// are written, the exit status still says the input was damaged. An
	// application's text log in the folder is no evidence, and no problem either.
	write("mixed/chain.jsonl", chain)
	write("mixed/app.log", []byte("12:00 started\n"))
	write("good/app/notes.txt", []byte("12:00 started\n"))
	write("mixed/t.evtx", whole[:5000])
	p["mixed"] = filepath.Join(dir, "mixed")
	p["good"] = filepath.Dir(write("good/chain.jsonl", chain))
	return p
}

// TestUnreadableEvidence: scan and sql name every problem of their input on stderr
// (escaped), say what they read, and fail (exit 2) when some of it could not be
// read: a typo or a folder of other files must not read as "nothing found".
func TestUnreadableEvidence(t *testing.T) {
	p := badEvidence(t)
	const q = "SELECT name FROM process_creation_events"
	for _, tc := range []struct {
		name, path string
		code       int      // scan's exit status; sql's is the same but 0 for 1
		stderr     []string // in scan's and sql's stderr
		stdout     string   // in both stdouts (a finding, a row)
	}{
		{name: "truncated", path: p["truncated"], code: 2, stderr: []string{
			"exechunt: warning: " + p["truncated"] + ": chunk 0 (offset 0x1000): file ends inside the chunk",
			"1 files (0.0 MiB; 0 skipped as not evidence, 0 unreadable, 1 damaged), 0 records, 0 events (none)",
			"exechunt: error: evidence: 1 damaged of 1 files (see the warnings above)"}},
		{name: "text named .evtx", path: p["text"], code: 2, stderr: []string{
			"exechunt: warning: " + p["text"] + ": format not recognised",
			"exechunt: error: no evidence read from " + p["text"] + ": 1 file, not a known format"}},
		{name: "folder of non-logs", path: p["nonlogs"], code: 2, stderr: []string{
			"exechunt: warning: " + filepath.Join(p["nonlogs"], "events.json") + ": format not recognised",
			"exechunt: error: no evidence read from " + p["nonlogs"] + ": 3 files, none a known format"}},
		{name: "empty folder", path: p["empty"], code: 2, stderr: []string{
			"exechunt: error: no evidence read from " + p["empty"] + ": no files in it"}},
		{name: "missing path", path: p["missing"], code: 2, stderr: []string{
			"exechunt: error: evidence path: stat " + p["missing"] + ": no such file or directory"}},
		{name: "escapes in a file name", path: p["escape"], code: 2, stderr: []string{
			`x\x1b]0;pwned\x07.evtx: format not recognised`}},
		{name: "damaged beside good", path: p["mixed"], code: 2, stdout: "powershell.exe", stderr: []string{
			"exechunt: warning: " + filepath.Join(p["mixed"], "t.evtx") + ": chunk 0",
			"2 files (0.0 MiB; 1 skipped as not evidence, 0 unreadable, 1 damaged), 9 records, 9 events (process_creation=5 script_block_part=4)",
			"exechunt: error: evidence: 1 damaged of 2 files"}},
		{name: "good", path: p["good"], code: 1, stdout: "powershell.exe", stderr: []string{
			"1 files (0.0 MiB; 1 skipped as not evidence, 0 unreadable, 0 damaged), 9 records, 9 events"}},
	} {
		for _, cmd := range [][]string{{"scan", "--pack", "execution-basics", tc.path}, {"sql", "--evidence", tc.path, q}} {
			t.Run(tc.name+"/"+cmd[0], func(t *testing.T) {
				stdout, stderr, code := runCLIErr(t, cmd...)
				want := tc.code
				if cmd[0] == "sql" && want == 1 {
					want = 0 // rows are no findings
				}
				if code != want {
					t.Errorf("exit %d, want %d\n%s", code, want, stderr)
				}
				for _, s := range tc.stderr {
					if !strings.Contains(stderr, s) {
						t.Errorf("stderr lacks %q:\n%s", s, stderr)
					}
				}
				if strings.Contains(stderr, "app.log") || strings.Contains(stderr, "notes.txt") {
					t.Errorf("a text file in a folder reported as a problem:\n%s", stderr)
				}
				if strings.ContainsAny(stderr, "\x1b\x07") {
					t.Errorf("stderr carries terminal control characters: %q", stderr)
				}
				if !strings.Contains(stdout, tc.stdout) {
					t.Errorf("stdout lacks %q:\n%s", tc.stdout, stdout)
				}
				if tc.code == 2 && cmd[0] == "scan" && !strings.Contains(stderr, "of the rest were written") && tc.stdout != "" {
					t.Errorf("stderr does not say the findings were written:\n%s", stderr)
				}
			})
		}
	}
}

// TestEvidenceSummaryLine: scan and sql end with what they read and what they
// found; -q drops the summary but not the problems.
func TestEvidenceSummaryLine(t *testing.T) {
	p := badEvidence(t)
	_, stderr, _ := runCLIErr(t, "scan", "--pack", "execution-basics", p["good"])
	if !strings.Contains(stderr, "exechunt: scan: 1 files (") || !strings.Contains(stderr, "; 1 packs, ") {
		t.Errorf("scan summary:\n%s", stderr)
	}
	_, stderr, _ = runCLIErr(t, "sql", "--evidence", p["good"], "SELECT name FROM process_creation_events")
	if !strings.Contains(stderr, "exechunt: sql: 1 files (") || !strings.Contains(stderr, "; 5 rows in ") {
		t.Errorf("sql summary:\n%s", stderr)
	}
	_, stderr, _ = runCLIErr(t, "sql", "-q", "--evidence", p["mixed"], "SELECT name FROM process_creation_events")
	if strings.Contains(stderr, "exechunt: sql: ") || !strings.Contains(stderr, "t.evtx: chunk 0") {
		t.Errorf("sql -q:\n%s", stderr)
	}
}
