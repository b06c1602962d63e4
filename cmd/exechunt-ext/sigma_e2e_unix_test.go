//go:build unix

package main

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exechunt/exechunt/extension/osquerytest"
)

// chainEvidence holds process creations (cmd.exe and powershell.exe running "iwr"
// at 10:00:00 and 10:00:01, conhost.exe at 10:00:02) and a script block whose text
// holds "DownloadString".
const chainEvidence = "../../tables/eventtables/testdata/chain.jsonl"

// sigmaTestdata holds the rules of sigma_matches' tests (see its README).
const sigmaTestdata = "../../tables/sigmatable/testdata"

// setRules makes dir hold exactly the named rule files of sigmaTestdata.
func setRules(t *testing.T, dir string, names ...string) {
	t.Helper()
	old, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(sigmaTestdata, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// ruleLevels is "rule id prefix/level/name" per row, sorted.
func ruleLevels(rows []map[string]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r["rule_id"][:8]+"/"+r["level"]+"/"+r["name"])
	}
	sort.Strings(out)
	return out
}

// waitLogCount waits until s occurs n times in the extension's log.
func waitLogCount(t *testing.T, p *extProcess, s string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(p.stderr.String(), s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the log says %q %d times, want %d:\n%s", s, strings.Count(p.stderr.String(), s), n, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSigmaMatchesEndToEnd: with sigma_rules set, the extension serves sigma_matches
// through osquery's protocol, pushes level and time constraints down, names a
// refused rule file, and reloads the rules on SIGHUP (a reload of which no rule
// compiles keeps the rules in use).
func TestSigmaMatchesEndToEnd(t *testing.T) {
	evidence, err := filepath.Abs(chainEvidence)
	if err != nil {
		t.Fatal(err)
	}
	rules := t.TempDir()
	setRules(t, rules, "iwr.yml", "conhost.yml", "broken.yml")
	h, ctx := startHarness(t)
	p := startExtensionWithConfig(t, h, "sources:\n  - path: "+evidence+"\nsigma_rules: "+rules+"\n")
	reg, err := h.WaitRegistered(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(reg.Tables(), "sigma_matches") {
		t.Fatalf("tables = %v", reg.Tables())
	}
	if log := p.stderr.String(); !strings.Contains(log, "sigma rule refused") || !strings.Contains(log, "broken.yml") ||
		!strings.Contains(log, `"rules":2`) {
		t.Errorf("the start-up log does not name the refused rule and count the loaded ones:\n%s", log)
	}

	query := func(cs ...osquerytest.Constraint) []string {
		t.Helper()
		rows, err := h.Generate(ctx, "sigma_matches", cs...)
		if err != nil {
			t.Fatal(err)
		}
		return ruleLevels(rows)
	}
	first := []string{"11111111/high/cmd.exe", "11111111/high/powershell.exe", "33333333/low/conhost.exe"}
	if got := query(); !slices.Equal(got, first) {
		t.Fatalf("sigma_matches = %v, want %v", got, first)
	}
	if got := query(osquerytest.Eq("level", "low")); !slices.Equal(got, first[2:]) {
		t.Errorf("level = 'low': %v", got)
	}
	// time >= 10:00:01 UTC
	if got := query(osquerytest.Constraint{Column: "time", Op: osquerytest.GreaterOrEq, Expr: "1709287201"}); !slices.Equal(got, first[1:]) {
		t.Errorf("time >= 1709287201: %v", got)
	}

	// SIGHUP: the new rules replace the old ones whole.
	setRules(t, rules, "conhost.yml", "download.yml")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLogCount(t, p, "sigma rules loaded", 2)
	second := []string{"22222222/medium/", "33333333/low/conhost.exe"}
	if got := query(); !slices.Equal(got, second) {
		t.Errorf("after SIGHUP: %v, want %v", got, second)
	}

	// A reload of which no rule compiles keeps the rules in use and says why.
	setRules(t, rules, "broken.yml")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, p, "sigma rules not reloaded")
	if got := query(); !slices.Equal(got, second) {
		t.Errorf("after a failed reload: %v, want %v", got, second)
	}
	select {
	case <-p.done:
		t.Fatalf("the extension exited: %s", p.stderr.String())
	default:
	}
}
