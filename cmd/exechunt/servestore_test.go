package main

import (
	"context"
	"errors"
	"os"
	"testing"
)

func TestOpenStore(t *testing.T) {
	ctx := context.Background()
	st, err := openStore(ctx, "", t.TempDir())
	if err != nil {
		t.Fatalf("openStore(sqlite): %v", err)
	}
	st.Close()
	if _, err := openStore(ctx, "mysql://db/exechunt", t.TempDir()); !errors.As(err, new(usageError)) {
		t.Errorf("openStore(mysql://) = %v, want a usage error", err)
	}
	dsn := os.Getenv("EXECHUNT_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("EXECHUNT_TEST_POSTGRES_DSN is not set; skipping serve --db postgres://")
	}
	st, err = openStore(ctx, dsn, t.TempDir())
	if err != nil {
		t.Fatalf("openStore(postgres): %v", err)
	}
	defer st.Close()
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}
