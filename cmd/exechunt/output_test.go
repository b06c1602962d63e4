package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

func TestCountWords(t *testing.T) {
	for _, tc := range []struct {
		counts map[string]int
		want   string
	}{
		{map[string]int{"no-rows": 7}, "no-rows 7"},
		{map[string]int{"error": 2, "ok": 3, "no-rows": 0, "offline": 1}, "ok 3, error 2, offline 1"},
		{map[string]int{"zzz": 1, "ok": 1, "odd\x1b[2J": 1}, `ok 1, odd\x1b[2J 1, zzz 1`},
		{nil, "-"},
	} {
		if got := countWords(tc.counts); got != tc.want {
			t.Errorf("countWords(%v) = %q, want %q", tc.counts, got, tc.want)
		}
	}
}

// TestCLILogger: library warnings come out in the CLI's one style, with their
// attributes escaped; less severe records are dropped.
func TestCLILogger(t *testing.T) {
	var b bytes.Buffer
	log := cliLogger(&b)
	log.Info("not shown")
	log.With("plugin", "p1").WithGroup("table").Warn("refused\x1b]0;x\x07", "name", "a\nb")
	log.Error("failed", "err", "boom")
	want := "exechunt: warning: refused\\x1b]0;x\\x07 (plugin=p1, table.name=a b)\n" +
		"exechunt: error: failed (err=boom)\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

// TestVersion: exechunt version and --version print the same version, commit and
// Go version.
func TestVersion(t *testing.T) {
	out, _, code := runCLIErr(t, "version")
	flag, _, code2 := runCLIErr(t, "--version")
	if code != 0 || code2 != 0 || out != flag {
		t.Fatalf("version (exit %d):\n%s--version (exit %d):\n%s", code, out, code2, flag)
	}
	for _, want := range []string{"exechunt " + version + "\n", "\ncommit: ", "\ngo: " + runtime.Version()} {
		if !strings.Contains(out, want) {
			t.Errorf("version output lacks %q:\n%s", want, out)
		}
	}
}
