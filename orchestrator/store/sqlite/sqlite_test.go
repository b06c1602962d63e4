package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
	"github.com/exechunt/exechunt/orchestrator/store/storetest"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "exechunt.db"))
	})
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exechunt.db")
	storetest.Reopen(t, func(t *testing.T) store.Store { return open(t, path) })
}

// TestCommitsAreSynced checks the durability setting: a commit fsyncs the WAL
// (synchronous=FULL), so an acknowledged write survives power loss, not only a
// crash of the process.
func TestCommitsAreSynced(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "exechunt.db"))
	defer s.Close()
	mode, sync, err := s.Durability(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || sync != 2 {
		t.Errorf("journal_mode=%s synchronous=%d, want wal and 2 (FULL)", mode, sync)
	}
}
