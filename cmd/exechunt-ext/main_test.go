package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/extension-spec.json from the current tables")

const specGolden = "../../testdata/extension-spec.json"

// emptyConfig points EXECHUNT_CONFIG at an empty file, so that the test does not
// depend on a configuration installed on the machine.
func emptyConfig(t *testing.T) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "extension.yaml")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EXECHUNT_CONFIG", p)
}

func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// The --spec output is the schema snapshot the orchestrator reads; it changes only
// on purpose (go test ./cmd/exechunt-ext -run TestSpec -update).
func TestSpec(t *testing.T) {
	emptyConfig(t)
	code, out, stderr := runMain(t, "--spec")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if *update {
		if err := os.WriteFile(specGolden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", specGolden)
		return
	}
	want, err := os.ReadFile(specGolden)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if out != string(want) {
		t.Errorf("--spec output differs from %s; if the change is intended, run go test ./cmd/exechunt-ext -run TestSpec -update\ngot:\n%s", specGolden, out)
	}
}

func TestFlags(t *testing.T) {
	emptyConfig(t)
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderr   string
		noStdout bool
	}{
		{name: "version", args: []string{"--version"}, code: 0, stdout: "exechunt.ext dev\n"},
		{name: "unknown flag", args: []string{"--bogus"}, code: 2, stderr: "flag provided but not defined: -bogus", noStdout: true},
		{name: "no socket", args: []string{"--timeout", "3", "--interval", "3"}, code: 2, stderr: "--socket is required", noStdout: true},
		{name: "stray argument", args: []string{"--socket", "/x", "extra"}, code: 2, stderr: "unexpected arguments", noStdout: true},
		{name: "bad timeout", args: []string{"--timeout", "soon"}, code: 2, stderr: "invalid value", noStdout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runMain(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %s)", code, tt.code, stderr)
			}
			if tt.stdout != "" && out != tt.stdout {
				t.Errorf("stdout %q, want %q", out, tt.stdout)
			}
			if tt.noStdout && out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.stderr)
			}
		})
	}
}

// A bad configuration stops the extension with a JSON log line naming file:line.
func TestBadConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "extension.yaml")
	if err := os.WriteFile(p, []byte("cache_mb: 64\ncache_size: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EXECHUNT_CONFIG", p)
	code, _, stderr := runMain(t, "--socket", "/nonexistent/osquery.em")
	if code != 1 || !strings.Contains(stderr, p+":2: field cache_size not found") || !strings.Contains(stderr, `"level":"ERROR"`) {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
	t.Setenv("EXECHUNT_CONFIG", p+".missing")
	if code, _, stderr := runMain(t, "--spec"); code != 1 || !strings.Contains(stderr, "extension.yaml.missing") {
		t.Errorf("missing EXECHUNT_CONFIG file: exit %d, stderr %s", code, stderr)
	}
}

// --help describes the extension and exits 0 (it exited 2 with the flags alone).
func TestHelp(t *testing.T) {
	code, out, stderr := runMain(t, "--help")
	if code != 0 || !strings.Contains(stderr, "osquery extension") || !strings.Contains(stderr, "-socket") ||
		!strings.Contains(stderr, "EXECHUNT_CONFIG") {
		t.Errorf("--help: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

// Sigma rules are checked at start: a sigma_rules path that cannot be read, or of
// which no rule compiles, stops the extension with an error naming the path and a
// refused file; a set with some bad rules starts with the good ones and names each
// bad one (--spec checks them too).
func TestSigmaRulesAtStart(t *testing.T) {
	dir := t.TempDir()
	config := func(rules string) {
		p := filepath.Join(t.TempDir(), "extension.yaml")
		if err := os.WriteFile(p, []byte("sigma_rules: "+rules+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("EXECHUNT_CONFIG", p)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "missing")
	config(missing)
	if code, _, stderr := runMain(t, "--spec"); code != 1 || !strings.Contains(stderr, "cannot load the Sigma rules") || !strings.Contains(stderr, missing) {
		t.Errorf("missing folder: exit %d, stderr %s", code, stderr)
	}
	config(dir)
	write("broken.yml", "title: [unclosed\n")
	if code, _, stderr := runMain(t, "--spec"); code != 1 || !strings.Contains(stderr, "no rule compiled") || !strings.Contains(stderr, "broken.yml") {
		t.Errorf("no good rule: exit %d, stderr %s", code, stderr)
	}
	write("good.yml", `title: whoami
id: 6a0b1d5e-0000-0000-0000-000000000001
level: medium
logsource: {category: process_creation, product: windows}
detection:
  sel: {Image|endswith: '\whoami.exe'}
  condition: sel
`)
	code, out, stderr := runMain(t, "--spec")
	if code != 0 || !strings.Contains(stderr, "sigma rule refused") || !strings.Contains(stderr, "broken.yml") ||
		!strings.Contains(stderr, `"rules":1`) || !strings.Contains(out, `"sigma_matches"`) {
		t.Errorf("one good rule and one bad: exit %d, stderr %s", code, stderr)
	}
}
