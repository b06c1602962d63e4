package sqlite_test

import (
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
	"github.com/exechunt/exechunt/orchestrator/store/sqlstore"
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

// TestOpensDatabaseOfEarlierBuild opens testdata/schema-v8.db.gz, made by the
// build before the backends shared sqlstore (commit 3eaffe5: schema version 8, a
// host h1/U1 enrolled and touched, an enroll secret, a hunt hh): it must open
// without migrating again and keep working.
func TestOpensDatabaseOfEarlierBuild(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "exechunt.db")
	gz, err := os.Open("testdata/schema-v8.db.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer gz.Close()
	zr, err := gzip.NewReader(gz)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s := open(t, path)
	defer s.Close()
	if v, err := s.SchemaVersion(ctx); err != nil || v != sqlstore.Migrations() {
		t.Fatalf("schema version %d (%v), want %d", v, err, sqlstore.Migrations())
	}
	hosts, err := s.ListHosts(ctx, store.HostFilter{})
	if err != nil || len(hosts) != 1 || hosts[0].UUID != "U1" || !hosts[0].LastSeen.After(hosts[0].EnrolledAt) {
		t.Fatalf("hosts: %+v, %v", hosts, err)
	}
	if h, err := s.Hunt(ctx, "hh"); err != nil || h.Pack != "p" || !h.Enabled {
		t.Fatalf("hunt: %+v, %v", h, err)
	}
	h, err := s.EnrollHost(ctx, store.Enrollment{Host: store.Host{Identifier: "h1", UUID: "U1"}, NodeKeyHash: []byte("k2")}, time.Now())
	if err != nil || h.ID != hosts[0].ID {
		t.Fatalf("re-enroll: %+v, %v", h, err)
	}
	if err := s.TouchHosts(ctx, map[int64]time.Time{h.ID: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
}
