package eventtables

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/internal/audittest"
)

// waitForRow queries process_creation_events until the sh -c line of b64 appears.
func waitForRow(t *testing.T, s *Store, b64 string) map[string]string {
	t.Helper()
	tbl := s.ProcessCreationTable()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rows, err := tbl.Generate(context.Background(), table.QueryContext{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if strings.HasPrefix(r["cmdline"], "sh -c echo "+b64) {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no process_creation_events row of the command after 30 s (%d rows)", len(rows))
		}
		time.Sleep(200 * time.Millisecond)
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
	b64 := audittest.RunBase64ToShell(t)
	audittest.CheckRow(t, waitForRow(t, s, b64))
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
	b64 := audittest.RunBase64ToShell(t)
	audittest.CheckRow(t, waitForRow(t, s, b64))
}
