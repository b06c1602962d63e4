package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// TestDiskFullSaysSo: a write that finds no room fails with store.ErrFull (and
// says "disk full"), not an anonymous I/O error. SQLite's page limit stands in for
// a full disk.
func TestDiskFullSaysSo(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, err := s.EnrollHost(ctx, store.Enrollment{Host: store.Host{Identifier: "h", UUID: "U"}, NodeKeyHash: []byte("k")}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var pages int
	if err := s.w.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+2)); err != nil {
		t.Fatal(err)
	}
	var werr error
	for i := 0; i < 200 && werr == nil; i++ {
		_, werr = s.InsertResults(ctx, []store.ResultRow{{ID: fmt.Sprintf("r%d", i), HostID: h.ID, Name: "q", Action: store.ActionAdded,
			Columns: map[string]string{"pad": strings.Repeat("x", 4000)}, ReceivedAt: time.Now()}})
	}
	if !errors.Is(werr, store.ErrFull) || !strings.Contains(werr.Error(), "disk full") {
		t.Errorf("write into a full database: %v, want store.ErrFull", werr)
	}
}
