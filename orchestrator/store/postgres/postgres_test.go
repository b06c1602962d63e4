package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/postgres"
	"github.com/exechunt/exechunt/orchestrator/store/storetest"
)

// dsnEnv names the database the tests use; each test gets its own schema in it.
const dsnEnv = "EXECHUNT_TEST_POSTGRES_DSN"

// testDSN returns a DSN whose search_path is a fresh schema, dropped when the test
// ends; it skips the test when EXECHUNT_TEST_POSTGRES_DSN is unset.
func testDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		t.Skip(dsnEnv + " is not set; skipping the PostgreSQL store tests " +
			"(e.g. postgres://postgres@127.0.0.1:55432/exechunt_test?sslmode=disable)")
	}
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL: %q", dsnEnv, dsn)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "exechunt_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", dsnEnv, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	if os.Getenv(dsnEnv) == "" {
		t.Skip(dsnEnv + " is not set; skipping the PostgreSQL conformance suite")
	}
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, testDSN(t))
	})
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	dsn := testDSN(t)
	storetest.Reopen(t, func(t *testing.T) store.Store { return open(t, dsn) })
	s := open(t, dsn)
	defer s.Close()
	v, err := s.SchemaVersion(context.Background())
	if err != nil || v != postgres.Migrations() {
		t.Fatalf("schema version %d, %v; want %d", v, err, postgres.Migrations())
	}
}

// TestConcurrentOpenMigratesOnce opens several stores on one empty schema at once,
// as orchestrator replicas starting together would.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	dsn := testDSN(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 2})
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestOpenBadDSN(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://%zz", postgres.Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "postgres: ") {
		t.Fatalf("Open(bad dsn) = %v, want a postgres: error", err)
	}
}
