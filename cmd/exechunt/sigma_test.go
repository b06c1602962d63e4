package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/packs"
)

const sigmaRule = `title: Whoami Execution
id: e28a5a99-da44-436d-b7a0-2afc20a5f413
status: test
level: low
tags: [attack.discovery, attack.t1033]
logsource: {category: process_creation, product: windows}
detection:
  selection:
    - Image|endswith: '\whoami.exe'
    - OriginalFileName: 'whoami.exe'
  condition: selection
`

const sigmaKeywordRule = `title: Keywords
id: 11111111-2222-3333-4444-555555555555
logsource: {category: process_creation, product: windows}
detection:
  keywords: [mimikatz]
  condition: keywords
`

func writeRules(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{"proc_creation_win_whoami.yml": sigmaRule, "sub/keywords.yml": sigmaKeywordRule} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSigmaConvert(t *testing.T) {
	rules := writeRules(t)
	out := t.TempDir()
	stdout, stderr, code := runCLIErr(t, "sigma", "convert", "--out", out, rules)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "unsupported") || !strings.Contains(stdout, "keyword search") ||
		!strings.Contains(stdout, "1 of 2 rules converted (50.0%)") {
		t.Errorf("report:\n%s", stdout)
	}
	ps, err := packs.Load(os.DirFS(out))
	if err != nil || len(ps) != 1 || ps[0].Name != "sigma-process-creation-windows" || len(ps[0].Queries) != 1 {
		t.Fatalf("packs %+v, %v", ps, err)
	}
	q := ps[0].Queries[0]
	if q.Name != "proc_creation_win_whoami" || q.Technique != "T1033" || q.Severity != "low" || !strings.Contains(q.Description, "e28a5a99") {
		t.Errorf("query %+v", q)
	}

	// --strict fails on the keyword rule; json report.
	stdout, _, code = runCLIErr(t, "sigma", "convert", "--strict", "--format", "json", rules)
	if code != 1 {
		t.Errorf("--strict: exit %d, want 1", code)
	}
	var rep struct {
		Summary   struct{ Converted, Unsupported int }
		Converted []struct{ Query string }
		Skipped   []struct{ Reason string }
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || rep.Summary.Converted != 1 || len(rep.Skipped) != 1 || !strings.Contains(rep.Converted[0].Query, "whoami.exe") {
		t.Errorf("json report %+v, %v\n%s", rep, err, stdout)
	}
	if _, _, code := runCLIErr(t, "sigma", "convert", filepath.Join(rules, "missing.yml")); code != 2 {
		t.Errorf("missing file: exit %d, want 2", code)
	}
}

func TestScanSigma(t *testing.T) {
	sample, rule := renamedBinaryRule(t)
	stdout, stderr, code := runCLIErr(t, "scan", "--format", "json", "--sigma", rule, sample)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (findings): %s", code, stderr)
	}
	var fs []struct {
		Pack, Query, Technique, Severity string
	}
	if err := json.Unmarshal([]byte(stdout), &fs); err != nil || len(fs) != 1 {
		t.Fatalf("findings %+v, %v\n%s", fs, err, stdout)
	}
	if fs[0].Pack != "sigma-process-creation-windows" || fs[0].Query != "proc_creation_win_renamed_binary" || fs[0].Technique != "T1036.003" {
		t.Errorf("finding %+v", fs[0])
	}
	if !strings.Contains(stderr, "1 of 1 rules converted") {
		t.Errorf("stderr: %s", stderr)
	}
}

// renamedBinaryRule returns SigmaHQ's renamed-binary rule and its regression sample,
// skipping without the corpus or the reference folder.
func renamedBinaryRule(t *testing.T) (sample, rule string) {
	t.Helper()
	dir, ok := corpus.Dir()
	if !ok {
		t.Skip(corpus.SkipMessage)
	}
	ref, ok := corpus.ReferenceDir()
	if !ok {
		t.Skip("reference folder not found")
	}
	sample = filepath.Join(dir, "SigmaHQ_sigma/regression_data/rules/windows/process_creation/proc_creation_win_renamed_binary")
	rule = filepath.Join(ref, "sigma/rules/windows/process_creation/proc_creation_win_renamed_binary.yml")
	for _, p := range []string{sample, rule} {
		if _, err := os.Stat(p); err != nil {
			t.Skip(err)
		}
	}
	return sample, rule
}

// TestSQLSigma: exechunt sql --sigma serves sigma_matches over the evidence with
// the rules given, names each refused rule file, and fails when none compiles.
func TestSQLSigma(t *testing.T) {
	const ev = "../../tables/eventtables/testdata/chain.jsonl"
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("broken.yml", "title: [unclosed\n")
	_, stderr, code := runCLIErr(t, "sql", "--evidence", ev, "--sigma", dir, "SELECT * FROM sigma_matches")
	if code != 2 || !strings.Contains(stderr, "no rule compiled") || !strings.Contains(stderr, "broken.yml") {
		t.Errorf("no good rule: exit %d, stderr %s", code, stderr)
	}
	write("cmd.yml", strings.Replace(sigmaRule, `'\whoami.exe'`, `'\cmd.exe'`, 1))
	out, stderr, code := runCLIErr(t, "sql", "--evidence", ev, "--sigma", dir, "--format", "csv",
		"SELECT rule_id, level, technique, kind, name, pid FROM sigma_matches WHERE level = 'low'")
	want := "rule_id,level,technique,kind,name,pid\ne28a5a99-da44-436d-b7a0-2afc20a5f413,low,T1033,process_creation,cmd.exe,300\n"
	if code != 0 || out != want || !strings.Contains(stderr, "sigma rule refused: "+filepath.Join(dir, "broken.yml")) ||
		!strings.Contains(stderr, "1 rules loaded, 1 refused") {
		t.Errorf("exit %d\nstdout %s\nwant   %s\nstderr %s", code, out, want, stderr)
	}
}
