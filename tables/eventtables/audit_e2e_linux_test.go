package eventtables

import (
	"bytes"
	"context"
	"log/slog"
	"os/exec"
	"strings"
	"testing"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/internal/audittest"
)

// seenIn returns a function that finds the sh -c row of a command in
// process_creation_events.
func seenIn(t *testing.T, s *Store) func(string) (map[string]string, bool) {
	tbl := s.ProcessCreationTable()
	return func(b64 string) (map[string]string, bool) {
		rows, err := tbl.Generate(context.Background(), table.QueryContext{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if strings.HasPrefix(r["cmdline"], "sh -c echo "+b64) {
				return r, true
			}
		}
		return nil, false
	}
}

// TestAuditdEndToEnd starts a real auditd writing its own log, adds an execve rule,
// runs a base64-to-shell command under bash, and reads it back through
// process_creation_events tailing that log: with its parent and a score of 50+.
func TestAuditdEndToEnd(t *testing.T) {
	if pid := audittest.Host(t); pid != 0 {
		t.Skipf("an auditd already runs (pid %d): the test starts its own only on a host without one", pid)
	}
	log := audittest.StartAuditd(t, t.TempDir())
	audittest.AddExecveRule(t)
	s := New(Options{Paths: []string{log}})
	defer s.Close()
	audittest.CheckRow(t, audittest.Attempts(t, seenIn(t, s)))
}

// TestAuditMulticastEndToEnd reads the same through the kernel's audit multicast
// group (with or without auditd), as the extension does by default on Linux.
func TestAuditMulticastEndToEnd(t *testing.T) {
	audittest.Host(t)
	audittest.AddExecveRule(t)
	s := New(Options{Paths: []string{}, Audit: "multicast"})
	defer s.Close()
	if _, err := s.Read(context.Background()); err != nil { // opens the stream
		t.Fatal(err)
	}
	if s.multicast == nil {
		t.Skip("the kernel audit multicast group cannot be read here (CAP_AUDIT_READ)")
	}
	audittest.CheckRow(t, audittest.Attempts(t, seenIn(t, s)))
}

// TestAuditWarnsWithoutRule: reading the stream with no execve rule loaded, the
// Store says in its log that no process creation will come and what to do.
func TestAuditWarnsWithoutRule(t *testing.T) {
	audittest.Host(t)
	if out, _ := exec.Command("auditctl", "-l").Output(); strings.Contains(string(out), "execve") {
		t.Skip("an execve rule is loaded on this host")
	}
	var log bytes.Buffer
	s := New(Options{Paths: []string{}, Audit: "multicast", Logger: slog.New(slog.NewTextHandler(&log, nil))})
	defer s.Close()
	if _, err := s.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.multicast == nil {
		t.Skip("the kernel audit multicast group cannot be read here (CAP_AUDIT_READ)")
	}
	if !strings.Contains(log.String(), "no execve rule is loaded") || !strings.Contains(log.String(), "audit_rules: [execve]") {
		t.Errorf("log:\n%s", log.String())
	}
}
