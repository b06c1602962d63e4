package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/extension/pluginhost"
)

// lolbasPlugin builds the example plugin into the test's temporary folder.
func lolbasPlugin(t *testing.T) (path, sum string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the example plugin; skipped with -short")
	}
	path = filepath.Join(t.TempDir(), "lolbas")
	if runtime.GOOS == "windows" {
		path += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", path, "../../plugins/lolbas")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build plugins/lolbas: %v\n%s", err, out)
	}
	sum, err := pluginhost.FileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, sum
}

// The offline engine mounts plugin tables (--plugin PATH[:SHA256]) beside its own.
func TestSQLWithPlugin(t *testing.T) {
	path, sum := lolbasPlugin(t)
	ev := chainFixture
	const q = "SELECT name, technique FROM lolbas_catalog WHERE name = 'regsvr32.exe'"
	for _, arg := range []string{path + ":" + sum, path} {
		out, stderr, code := runCLIErr(t, "sql", "--evidence", ev, "--plugin", arg, "--format", "csv", q)
		if code != 0 || out != "name,technique\nregsvr32.exe,T1218.010\n" {
			t.Errorf("--plugin %s: exit %d\n%s%s", arg, code, out, stderr)
		}
	}
	_, stderr, code := runCLIErr(t, "sql", "--evidence", ev, "--plugin", path+":"+strings.Repeat("0", 64), q)
	if code != 2 || !strings.Contains(stderr, "SHA-256 does not match") {
		t.Errorf("wrong checksum: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = runCLIErr(t, "sql", "--evidence", ev, "--plugin", filepath.Join(t.TempDir(), "nope"), q)
	if code != 2 || !strings.Contains(stderr, "nope") {
		t.Errorf("missing plugin: exit %d, stderr %q", code, stderr)
	}

	// exechunt scan loads them too: a pack may query a plugin table.
	packs := t.TempDir()
	pack := `{"queries": {"downloaders": {"query": "SELECT count(*) AS n FROM lolbas_catalog WHERE technique = 'T1105'",
	  "interval": 3600, "technique": "T1105", "severity": "low", "description": "plugin table in a pack"}}}`
	if err := os.WriteFile(filepath.Join(packs, "lol.json"), []byte(pack), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCLIErr(t, "scan", "--plugin", path, "--packs-dir", packs, "--pack", "lol", "-q", "--format", "csv", ev)
	if code != 1 || !strings.Contains(out, `lol,downloaders,T1105,low,,,"{""n"":10}"`) {
		t.Errorf("scan: exit %d\n%s%s", code, out, stderr)
	}

	// Joined with the event tables over real evidence.
	f := corpusFile(t, compiledHTML)
	out, stderr, code = runCLIErr(t, "sql", "--evidence", f, "--plugin", path, "--format", "csv",
		"SELECT DISTINCT p.name, l.technique FROM process_creation_events p JOIN lolbas_catalog l ON l.name = lower(p.name) WHERE p.name = 'hh.exe'")
	if code != 0 || out != "name,technique\nhh.exe,T1218.001\n" {
		t.Errorf("join: exit %d\n%s%s", code, out, stderr)
	}
}
