// Package postgres is the PostgreSQL store backend, through
// github.com/jackc/pgx/v5 (pgxpool; pure Go, no cgo), with migrations versioned in
// code. It is the only package that imports a PostgreSQL driver.
//
// The schema mirrors the SQLite backend's (same migrations, same numbering, same
// stored forms), and the backend passes the same conformance suite (storetest).
// Writes that read-then-modify lock the rows they read (SELECT … FOR UPDATE, or a
// single UPDATE … RETURNING), so several orchestrators may share one database.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// Options tune the backend; the zero value is usable.
type Options struct {
	// MaxConns is the size of the connection pool (default DefaultMaxConns; a
	// pool_max_conns in the DSN also works).
	MaxConns int32
}

// DefaultMaxConns is the pool size when neither Options nor the DSN set one. pgxpool's
// own default (4 on a small machine) kept every connection busy at 500 simulated
// hosts; 32 is what docs/scaling.md measured. Replicas × 32 must stay below the
// server's max_connections (100 by default), or put pgbouncer in front.
const DefaultMaxConns = 32

// Store is the PostgreSQL backend of store.Store.
type Store struct {
	db *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// migrateLock is the key of the advisory lock held while migrating, so that
// orchestrators starting together apply each migration once.
const migrateLock = 0x65786563 // "exec"

// Open connects to the database named by dsn (a postgres:// URL or a key=value
// connection string; a search_path parameter selects the schema) and migrates it.
func Open(ctx context.Context, dsn string, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	switch {
	case o.MaxConns > 0:
		cfg.MaxConns = o.MaxConns
	case !strings.Contains(dsn, "pool_max_conns"):
		cfg.MaxConns = DefaultMaxConns
	}
	db, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// SchemaVersion returns the number of migrations applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v)
	return v, wrap("schema version", err)
}

func (s *Store) migrate(ctx context.Context) error {
	for {
		var applied bool
		var v int
		err := s.tx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
				return err
			}
			err := tx.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				v = 0
				if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
					return err
				}
			case err != nil:
				return err
			}
			if v > len(migrations) {
				return fmt.Errorf("database schema version %d is newer than this build (%d)", v, len(migrations))
			}
			if v == len(migrations) {
				return nil
			}
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migration %d: %w", v+1, err)
			}
			if _, err := tx.Exec(ctx, `UPDATE schema_version SET version = $1`, v+1); err != nil {
				return fmt.Errorf("migration %d: %w", v+1, err)
			}
			applied = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		if !applied {
			return nil
		}
	}
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close implements store.Store. It waits for connections in use to be released.
func (s *Store) Close() error {
	s.db.Close()
	return nil
}

// tx runs f in a transaction (READ COMMITTED), committing when f returns nil.
func (s *Store) tx(ctx context.Context, f func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.db, f)
}

// ts converts a time to the stored form (UTC microseconds; 0 for the zero time).
func ts(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromTS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// nullJSON is the stored form of an optional JSON document (NULL when empty).
func nullJSON(b json.RawMessage) *string {
	if len(b) == 0 {
		return nil
	}
	v := string(b)
	return &v
}

func mapJSON(m map[string]string) (string, error) {
	if m == nil {
		m = map[string]string{}
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// args collects positional parameters for a query built piece by piece.
type args []any

// add appends v and returns its placeholder ($n).
func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// isUnique reports whether err is a unique-constraint violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, store.ErrNotFound)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "53100" { // disk_full
		return fmt.Errorf("postgres: %s: %w (%w)", op, store.ErrFull, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// Migrations returns the schema version this build migrates to (the number of
// migrations it knows).
func Migrations() int { return len(migrations) }
