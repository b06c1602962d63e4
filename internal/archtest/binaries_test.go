package archtest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// binaries says, for each program the project ships, what it must not link on any
// operating system it is built for: module packages by path prefix and third-party
// modules by import-path prefix. The extension runs next to osqueryd on production
// hosts and a plugin runs inside it, so they carry neither server, store nor offline
// engine; the CLI may carry everything but the osquery-side extension runtime.
var binaries = []struct {
	main      string
	forbidden []string
	why       string
}{
	// The extension links sigma and sigma/engine for sigma_matches (rule parsing and
	// the compiled engine, neither of which links packs); not the pack building.
	{"cmd/exechunt-ext", []string{
		module + "orchestrator/", module + "sigma/sigmapack", module + "packs", module + "offline",
		module + "internal/",
		"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/prometheus/", "github.com/pressly/goose",
		"github.com/robfig/cron", "github.com/spf13/cobra",
	}, "the extension links only its tables, their readers and the osquery/plugin runtimes"},
	{"plugins/lolbas", []string{
		module + "orchestrator/", module + "extension/host", module + "extension/pluginhost", module + "extension/config",
		module + "tables/evidence", module + "tables/source", module + "tables/eventtables", module + "tables/lineage",
		module + "sigma", module + "packs", module + "internal/",
		"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/prometheus/",
	}, "a plugin links the plugin SDK and its own code: no host side, no readers, no server"},
	{"cmd/exechunt", []string{
		module + "extension/host", module + "internal/", "github.com/Microsoft/go-winio",
	}, "the CLI and server do not carry the extension's osquery runtime or test harnesses"},
}

// TestBinaryDependencies lists each shipped program's dependencies for Linux,
// Windows and macOS and checks them against binaries, and that no non-standard
// package in the extension or a plugin needs cgo.
func TestBinaryDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("go list for 3 programs x 3 systems")
	}
	for _, b := range binaries {
		for _, goos := range []string{"linux", "windows", "darwin"} {
			t.Run(b.main+"/"+goos, func(t *testing.T) {
				cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}} {{len .CgoFiles}}", "../../"+b.main)
				cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=1")
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("go list: %v", err)
				}
				deps := strings.Split(strings.TrimSpace(string(out)), "\n")
				if len(deps) < 20 {
					t.Fatalf("only %d dependencies listed: the listing is wrong", len(deps))
				}
				for _, line := range deps {
					f := strings.Fields(line)
					if len(f) != 3 {
						continue
					}
					pkg, std, cgo := f[0], f[1] == "true", f[2] != "0"
					for _, bad := range b.forbidden {
						if strings.HasPrefix(pkg, bad) {
							t.Errorf("links %s: %s", strings.TrimPrefix(pkg, module), b.why)
						}
					}
					if cgo && !std && b.main != "cmd/exechunt" {
						t.Errorf("links %s, which needs cgo: no cgo next to osqueryd", pkg)
					}
				}
			})
		}
	}
}
