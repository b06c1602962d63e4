package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
)

// TestDatabaseOwnerOnly: the database, its WAL and shared-memory files are 0600,
// also when the file existed with a wider mode (a data folder made beforehand).
func TestDatabaseOwnerOnly(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX modes")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "exechunt.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if os.IsNotExist(err) && p != path {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(p), m)
		}
	}
}

// TestCorruptDatabaseRefused: a database whose pages were damaged is refused at
// Open with ErrCorrupt (it opened, /readyz said ready, writes were acknowledged and
// reads then failed).
func TestCorruptDatabaseRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "exechunt.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 { // enough rows for several pages of a table and its indexes
		if _, err := st.EnrollHost(ctx, store.Enrollment{Host: store.Host{Identifier: fmt.Sprintf("host-%03d", i),
			Hostname: fmt.Sprintf("host-%03d", i), UUID: fmt.Sprintf("U-%03d", i)}, NodeKeyHash: []byte{byte(i), byte(i >> 8)}}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 8*4096 {
		t.Fatalf("database of %d bytes: too small to damage a middle page", len(b))
	}
	for i := len(b) / 2; i < len(b)/2+4096; i++ { // scribble over a page in the middle
		b[i] = 0xA5
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err == nil {
		st.Close()
		t.Fatal("a damaged database opened")
	}
	if !errors.Is(err, sqlite.ErrCorrupt) {
		t.Errorf("damaged database: %v, want ErrCorrupt", err)
	}
}
