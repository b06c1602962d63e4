package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/exechunt/exechunt/orchestrator/server"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/postgres"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
)

// openStore opens serve's store: the SQLite file in the data directory when db is
// empty, PostgreSQL when db is a postgres:// or postgresql:// URL.
func openStore(ctx context.Context, db, data string) (store.Store, error) {
	switch {
	case db == "":
		return sqlite.Open(ctx, filepath.Join(data, server.DBFile), sqlite.Options{})
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		return postgres.Open(ctx, db, postgres.Options{})
	default:
		return nil, usageError{fmt.Errorf("--db: want empty (SQLite in --data) or a postgres:// URL")}
	}
}
