//go:build !windows

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exechunt/exechunt/extension/osquerytest"
)

// The plugin end-to-end tests build the example plugin (plugins/lolbas) and the
// plugin host's test fixture from the repository, and run the real exechunt.ext
// with a configuration naming them.

var (
	pluginMu    sync.Mutex
	pluginBuilt = map[string]string{}
)

// pluginBinary builds the plugin package pkg (relative to this directory) with
// the given -X settings, once, next to the extension binary.
func pluginBinary(t *testing.T, pkg string, settings ...string) (path, sum string) {
	t.Helper()
	extensionBinary(t) // creates buildDir, removed by TestMain
	pluginMu.Lock()
	defer pluginMu.Unlock()
	key := pkg + " " + strings.Join(settings, " ")
	path, ok := pluginBuilt[key]
	if !ok {
		path = filepath.Join(buildDir, fmt.Sprintf("plugin%d-%s", len(pluginBuilt), filepath.Base(pkg)))
		var ldflags []string
		for _, s := range settings {
			ldflags = append(ldflags, "-X main."+s)
		}
		cmd := exec.Command("go", "build", "-ldflags", strings.Join(ldflags, " "), "-o", path, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
		pluginBuilt[key] = path
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(data)
	return path, hex.EncodeToString(h[:])
}

const (
	lolbasPkg  = "../../plugins/lolbas"
	fixturePkg = "../../extension/pluginhost/testdata/fixture"
)

func pluginsYAML(entries ...[2]string) string {
	var b strings.Builder
	b.WriteString("plugins:\n")
	for _, e := range entries {
		fmt.Fprintf(&b, "  - path: %s\n    sha256: %s\n", e[0], e[1])
	}
	return b.String()
}

// The harness sees the plugins' tables registered beside the built-in ones and
// queries them; a plugin with a wrong checksum is not started and a plugin table
// named like a built-in one is refused, while the rest is served.
func TestPluginsEndToEnd(t *testing.T) {
	lolbas, lolbasSum := pluginBinary(t, lolbasPkg)
	fixture, _ := pluginBinary(t, fixturePkg)
	clash, clashSum := pluginBinary(t, fixturePkg, "tableName=process_lineage")
	h, ctx := startHarness(t)
	p := startExtensionWithConfig(t, h, pluginsYAML(
		[2]string{lolbas, lolbasSum},
		[2]string{fixture, strings.Repeat("0", 64)}, // wrong checksum
		[2]string{clash, clashSum},
	))
	reg, err := h.WaitRegistered(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"command_line_analysis", "lolbas_catalog", "powershell_script_blocks", "process_creation_events", "process_lineage"}
	if got := reg.Tables(); !reflect.DeepEqual(got, want) {
		t.Errorf("tables = %v, want %v", got, want)
	}
	cols, err := h.Columns(ctx, "lolbas_catalog")
	if err != nil || len(cols) != 7 || cols[0] != (osquerytest.Column{Name: "name", Type: "TEXT", Op: osquerytest.OpIndex}) {
		t.Errorf("columns = %+v %v", cols, err)
	}
	rows, err := h.Generate(ctx, "lolbas_catalog", osquerytest.Eq("name", "certutil.exe"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0]["name"] != "certutil.exe" || rows[0]["technique"] != "T1105" {
		t.Errorf("rows = %v", rows)
	}
	// The built-in tables are unaffected.
	if rows, err := h.Generate(ctx, "command_line_analysis", osquerytest.Eq("cmdline", "certutil -urlcache -f http://x/a a")); err != nil || len(rows) != 1 {
		t.Errorf("built-in table: %v %v", rows, err)
	}
	waitLog(t, p, "SHA-256 does not match")
	waitLog(t, p, "process_lineage is a built-in table")
}

// Killing the plugin process mid-query answers the query with an error status;
// the table works again once the extension has restarted the plugin. When the
// extension stops, its plugins stop with it.
func TestPluginRestartEndToEnd(t *testing.T) {
	fixture, sum := pluginBinary(t, fixturePkg)
	h, ctx := startHarness(t)
	p := startExtensionWithConfig(t, h, pluginsYAML([2]string{fixture, sum}))
	if _, err := h.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	pid := fixturePID(t, h)

	errc := make(chan error, 1)
	go func() {
		_, err := h.Generate(ctx, "fixture_echo", osquerytest.Eq("word", "wait 30s"))
		errc <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	select {
	case err := <-errc:
		var se *osquerytest.StatusError
		if !errors.As(err, &se) || se.Code != 1 || !strings.Contains(se.Message, "unavailable") {
			t.Errorf("mid-query kill: err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the query did not end when the plugin was killed")
	}

	var newPID int
	for newPID == 0 || newPID == pid {
		rows, err := h.Generate(ctx, "fixture_echo", osquerytest.Eq("word", "pid"))
		if err == nil {
			newPID, _ = strconv.Atoi(rows[0]["pid"])
			continue
		}
		var se *osquerytest.StatusError
		if !errors.As(err, &se) {
			t.Fatalf("while restarting: %v", err)
		}
		if time.Since(began) > 2*time.Minute { // a hang guard, not a measurement
			t.Fatalf("the plugin did not come back: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("plugin back after %v (pid %d → %d)", time.Since(began).Round(10*time.Millisecond), pid, newPID)

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.exited(t, 15*time.Second); code != 0 {
		t.Errorf("exit code %d", code)
	}
	if syscall.Kill(newPID, 0) == nil {
		t.Errorf("plugin %d still runs after the extension exited", newPID)
	}
}

func fixturePID(t *testing.T, h *osquerytest.Harness) int {
	t.Helper()
	rows, err := h.Generate(t.Context(), "fixture_echo", osquerytest.Eq("word", "pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(rows[0]["pid"])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// waitLog waits until the extension's stderr contains s.
func waitLog(t *testing.T, p *extProcess, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.stderr.String(), s) {
		if time.Now().After(deadline) {
			t.Errorf("the extension's log does not say %q", s)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A plugin exits by itself when the extension is killed without a chance to stop
// it (SIGKILL): it watches its parent.
func TestPluginExitsWithKilledExtension(t *testing.T) {
	fixture, sum := pluginBinary(t, fixturePkg)
	h, ctx := startHarness(t)
	p := startExtensionWithConfig(t, h, pluginsYAML([2]string{fixture, sum}))
	if _, err := h.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	pid := fixturePID(t, h)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.exited(t, 5*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("plugin %d still runs 10 s after its extension was killed", pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
