package main

import (
	"os"
	"strings"
	"testing"
)

// TestPacksLintOsqueryPacks: osquery's own packs lint with warnings only (three
// queries on tables osquery retired) and exit status 0; --strict fails on them.
func TestPacksLintOsqueryPacks(t *testing.T) {
	dir := "../../../shared/reference/osquery-packs"
	if _, err := os.Stat(dir); err != nil {
		t.Skip("osquery's packs are not here (../shared/reference/osquery-packs):", err)
	}
	out, stderr, code := runCLIErr(t, "packs", "lint", dir)
	if code != 0 || !strings.Contains(stderr, "0 errors, 3 warnings") ||
		strings.Count(out, "was removed from osquery's schema") != 3 {
		t.Errorf("exit %d\n%s%s", code, out, stderr)
	}
	if _, _, code := runCLIErr(t, "packs", "lint", "--strict", dir); code != 1 {
		t.Errorf("--strict: exit %d, want 1", code)
	}
}

// TestReadmeExtensionPath: the README installs the extension where the
// enroll-flags bundle's extensions.load expects it.
func TestReadmeExtensionPath(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range enrollPlatforms {
		if !strings.Contains(string(b), p.ext) {
			t.Errorf("README.md does not name the bundle's extension path %s", p.ext)
		}
	}
}
