package simulate

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var evidenceDir = filepath.Join("..", "..", "testdata", "evidence")

// TestFleetSpreadsEvidence checks that with more hosts than files each file
// belongs to one host of its platform and the others answer from the benign
// background, and that with fewer hosts every file still belongs to a host.
func TestFleetSpreadsEvidence(t *testing.T) {
	ctx := context.Background()
	f, err := Open([]string{evidenceDir}, 4, "sim-", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names, platforms []string
	for _, h := range f.Hosts {
		names, platforms = append(names, h.Host.Hostname), append(platforms, h.Host.Platform)
	}
	if want := []string{"sim-001", "sim-002", "sim-003", "sim-004"}; !slices.Equal(names, want) {
		t.Errorf("hostnames = %v, want %v", names, want)
	}
	// Files in lexical order: linux-web-shell.jsonl, windows-office-macro.jsonl.
	if want := []string{"linux", "windows", "linux", "windows"}; !slices.Equal(platforms, want) {
		t.Errorf("platforms = %v, want %v", platforms, want)
	}
	if len(f.Hosts[0].Files) != 1 || len(f.Hosts[1].Files) != 1 || len(f.Hosts[2].Files)+len(f.Hosts[3].Files) != 0 {
		t.Errorf("files = %v", f.Hosts)
	}
	again, err := Open([]string{evidenceDir}, 4, "sim-", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.Hosts[2].Host.UUID != f.Hosts[2].Host.UUID || f.Hosts[2].Host.UUID == f.Hosts[3].Host.UUID {
		t.Errorf("host UUIDs not stable per name and distinct: %v %v", f.Hosts, again.Hosts)
	}

	q := "SELECT parent_name, name FROM process_creation_events WHERE parent_name = 'winword.exe'"
	attacked, err := f.runners[1].Run(ctx, q)
	if err != nil || len(attacked) != 1 || attacked[0]["name"] != "cmd.exe" {
		t.Errorf("the evidence host: %v, %v", attacked, err)
	}
	benign, err := f.runners[3].Run(ctx, "SELECT parent_name, name FROM process_creation_events")
	if err != nil || len(benign) < 10 || slices.ContainsFunc(benign, func(r map[string]string) bool { return r["name"] == "cmd.exe" }) {
		t.Errorf("the background host: %v, %v", benign, err)
	}
	lin, err := f.runners[2].Run(ctx, "SELECT source FROM process_creation_events LIMIT 1")
	if err != nil || len(lin) != 1 || lin[0]["source"] != "sysmon_linux" {
		t.Errorf("the linux background host: %v, %v", lin, err)
	}

	one, err := Open([]string{evidenceDir}, 1, "sim-", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	if len(one.Hosts) != 1 || len(one.Hosts[0].Files) != 2 {
		t.Errorf("one host: %v", one.Hosts)
	}
	// Fewer hosts than files: a platform's files stay on hosts of that platform.
	dir := t.TempDir()
	for _, name := range []string{"linux-web-shell.jsonl", "windows-office-macro.jsonl"} {
		b, err := os.ReadFile(filepath.Join(evidenceDir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, copyName := range []string{"a-" + name, "b-" + name} {
			os.WriteFile(filepath.Join(dir, copyName), b, 0o600)
		}
	}
	os.WriteFile(filepath.Join(dir, "c-windows.jsonl"), []byte("{}\n"), 0o600)
	two, err := Open([]string{dir}, 2, "sim-", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer two.Close()
	if h := two.Hosts; h[0].Host.Platform != "linux" || len(h[0].Files) != 2 || h[1].Host.Platform != "windows" || len(h[1].Files) != 3 {
		t.Errorf("two hosts over 2 linux and 3 windows files: %+v", h)
	}
	if _, err := Open([]string{filepath.Join(evidenceDir, "nope")}, 2, "sim-", nil); err == nil {
		t.Error("a missing evidence path opened")
	}
}
