package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/internal/audittest"
	"github.com/exechunt/exechunt/tables/source/auditlog"
)

// TestAuditEndToEnd runs the built extension with no sources and
// audit_rules: [execve], as on a Linux server without Sysmon: it installs the execve
// rules, reads the kernel's audit stream (and says so in its log), and serves the
// base64-to-shell command back through process_creation_events over Thrift, with its
// bash parent and a score of 50+. The rules it installed are removed at the end.
func TestAuditEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the extension binary")
	}
	audittest.Host(t)
	before, _ := exec.Command("auditctl", "-l").Output()
	t.Cleanup(func() {
		for _, r := range auditlog.ExecveRules {
			if !strings.Contains(string(before), "-k exechunt") {
				exec.Command("auditctl", append([]string{"-d"}, strings.Fields(strings.TrimPrefix(r, "-a "))...)...).Run()
			}
		}
	})
	h, ctx := startHarness(t)
	p := startExtensionWithConfig(t, h, "audit: multicast\naudit_rules: [execve]\n")
	if _, err := h.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	// The first query opens the stream and installs the rules.
	if _, err := h.Generate(ctx, "process_creation_events"); err != nil {
		t.Fatal(err)
	}
	if log := p.stderr.String(); !strings.Contains(log, "reading the kernel audit multicast group") {
		t.Skipf("the extension could not read the audit stream here:\n%s", log)
	}
	audittest.AddExecveRule(t) // the extension's own rules are unscoped; this one makes the test's processes certain
	row := audittest.Attempts(t, func(b64 string) (map[string]string, bool) {
		rows, err := h.Generate(ctx, "process_creation_events")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if strings.HasPrefix(r["cmdline"], "sh -c echo "+b64) {
				return r, true
			}
		}
		return nil, false
	})
	audittest.CheckRow(t, row)
}
