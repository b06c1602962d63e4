//go:build !windows

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/extension/osquerytest"
)

// TestExtensionStateAcrossSIGKILL kills the extension after it read part of a
// process chain and of a script block, rotates the first log away and appends the
// rest to the second, then starts it again under a new osqueryd: the extension
// resumes its read positions, still names the ancestors from the rotated log and
// reassembles the script block from the parts it kept.
func TestExtensionStateAcrossSIGKILL(t *testing.T) {
	data, err := os.ReadFile("../../tables/eventtables/testdata/chain.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	logs, state := t.TempDir(), t.TempDir()
	a, b := filepath.Join(logs, "a.jsonl"), filepath.Join(logs, "b.jsonl")
	if err := os.WriteFile(a, []byte(strings.Join(lines[:4], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte(lines[4]), 0o644); err != nil {
		t.Fatal(err)
	}
	yaml := "state_dir: " + state + "\nsources:\n  - path: " + filepath.Join(logs, "*.jsonl") + "\n"

	h1, ctx := startHarness(t)
	p1 := startExtensionWithConfig(t, h1, yaml)
	if _, err := h1.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := h1.Generate(ctx, "process_creation_events")
	if err != nil || len(rows) != 3 {
		t.Fatalf("before the kill: %d rows, %v", len(rows), err)
	}
	if err := p1.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p1.done

	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(b, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(strings.Join(lines[5:], "")); err != nil {
		t.Fatal(err)
	}
	f.Close()

	h2, ctx := startHarness(t)
	p2 := startExtensionWithConfig(t, h2, yaml)
	if _, err := h2.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err = h2.Generate(ctx, "process_creation_events")
	if err != nil || len(rows) != 3 {
		t.Fatalf("after the restart: %d rows, %v", len(rows), err)
	}
	if got, want := rows[2]["ancestry"], "? > userinit.exe > explorer.exe > winword.exe > cmd.exe > powershell.exe > conhost.exe"; got != want {
		t.Errorf("ancestry after the restart = %q, want %q", got, want)
	}
	blocks, err := h2.Generate(ctx, "powershell_script_blocks", osquerytest.Eq("script_block_id", "aaaaaaaa-1111-2222-3333-444444444444"))
	if err != nil || len(blocks) != 1 {
		t.Fatalf("script blocks: %v %v", blocks, err)
	}
	if blocks[0]["complete"] != "1" || !strings.Contains(blocks[0]["script_text"], "DownloadString") {
		t.Errorf("script block after the restart: %v", blocks[0])
	}
	if !strings.Contains(p2.stderr.String(), "resumed from saved state") {
		t.Errorf("the restarted extension did not resume:\n%s", p2.stderr.String())
	}
}
