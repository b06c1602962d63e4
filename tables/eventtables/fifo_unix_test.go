//go:build unix

package eventtables

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/osquery/osquery-go/plugin/table"
)

// TestFIFOSourceNotRead: a FIFO named as a source is skipped with a warning, and
// the other sources are served (each query waited out its whole timeout on the
// FIFO, and nothing said why).
func TestFIFOSourceNotRead(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "events.jsonl")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	var logs bytes.Buffer
	s := New(Options{Paths: []string{fifo, "testdata/chain.jsonl"}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a hang guard, not a measurement
	defer cancel()
	rows, err := s.ProcessCreationTable().Generate(ctx, table.QueryContext{})
	if err != nil || len(rows) != 5 {
		t.Fatalf("rows = %d, %v; want the 5 of the regular file", len(rows), err)
	}
	if !strings.Contains(logs.String(), "not a regular file") {
		t.Errorf("no warning about the FIFO:\n%s", logs.String())
	}
	_ = os.Remove(fifo)
}
