// Package sqlstore is the SQL both store backends share: the statements, the
// scanning of rows into store types, the arguments' stored forms and the one
// migrator. A backend (orchestrator/store/sqlite, orchestrator/store/postgres)
// opens its database/sql pools, describes its SQL with a Dialect and embeds a
// *Store, keeping only what truly differs: SQLite's group commit and WAL
// handling, PostgreSQL's pool, row locks and single-statement hand-outs.
//
// Statements are written once, with ? placeholders; a numbered dialect rebinds
// them to $1, $2, … when they run. Times are stored as integer microseconds (UTC,
// 0 for the zero time) and JSON documents as text, so both schemas hold the same
// values.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// Dialect is what differs in the SQL of a backend.
type Dialect struct {
	// Name prefixes errors ("sqlite: …").
	Name string
	// Numbered placeholders ($1, $2, …) instead of ?.
	Numbered bool
	// Greatest is the function returning the larger of two values (MAX, GREATEST).
	Greatest string
	// ForUpdate is appended to reads that a transaction then writes (" FOR UPDATE"
	// where rows can be locked; "" where writes are serialised anyway), and
	// SkipLocked to reads of work another writer may be doing at the same moment.
	ForUpdate, SkipLocked string
	// Each returns a table of one column, value, holding the elements of a list
	// parameter (elem is the SQL type of its elements, bigint or text); List turns
	// a Go slice into that parameter. A fleet's worth of ids as separate parameters
	// would pass SQLite's limit of 32,766 variables.
	Each func(elem string) string
	List func(v any) any
	// MultiRowInsert writes many rows with multi-row INSERTs (a round trip each)
	// instead of one prepared statement run per row.
	MultiRowInsert bool
	// Lock, when set, returns a statement taking a transaction-scoped lock on
	// what: "migrate" (applying migrations), "enroll_secrets" (the table, while
	// deleting one) or "enroll.uuid:…"/"enroll.identifier:…" (one host's
	// enrollments). Unset where writers are serialised anyway.
	Lock func(what string) (query string, args []any)
	// Types renders the migrations' column types ({id}, {int64}, {bytes}, {bool},
	// {true}, {false}); Extra holds backend-only schema added to migration n.
	Types *strings.Replacer
	Extra map[int]string
	// HostsFrom is the FROM clause of host reads (alias h) and HostLastSeen the
	// expression of a host's last-seen time in it.
	HostsFrom, HostLastSeen string
	// IsUnique reports a unique-constraint violation, IsFull a write that failed
	// for lack of space.
	IsUnique, IsFull func(error) bool
}

// Runner is where a statement runs: a pool or a transaction.
type Runner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Config is what a backend hands to New.
type Config struct {
	Dialect Dialect
	// Write runs writes outside transactions (and reads that must see them);
	// Read runs reads. They may be the same pool.
	Write, Read *sql.DB
	// Tx runs f in a write transaction, committing when it returns nil. Nil:
	// BeginTx on Write.
	Tx func(ctx context.Context, f func(*sql.Tx) error) error
}

// Store implements store.Store over database/sql. Backends embed it.
type Store struct {
	d          Dialect
	w, r       *sql.DB
	tx         func(ctx context.Context, f func(*sql.Tx) error) error
	hotW, hotR map[string]*sql.Stmt
	q          statements
}

// New returns a Store over c's pools; it neither migrates nor prepares.
func New(c Config) *Store {
	s := &Store{d: c.Dialect, w: c.Write, r: c.Read, tx: c.Tx, hotW: map[string]*sql.Stmt{}, hotR: map[string]*sql.Stmt{}}
	if s.tx == nil {
		s.tx = s.beginTx
	}
	s.q = newStatements(s.d)
	return s
}

// beginTx runs f in a transaction on the writer (READ COMMITTED on PostgreSQL).
func (s *Store) beginTx(ctx context.Context, f func(*sql.Tx) error) (err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Prepare prepares statements run thousands of times a second (the agent
// endpoints'), on the writer for transactions and on the read pool; the helpers
// below then run them prepared. Statements are written with ?, as passed to Exec.
func (s *Store) Prepare(ctx context.Context, writes, reads []string) error {
	for _, p := range []struct {
		db  *sql.DB
		qs  []string
		out map[string]*sql.Stmt
	}{{s.w, writes, s.hotW}, {s.r, reads, s.hotR}} {
		for _, q := range p.qs {
			st, err := p.db.PrepareContext(ctx, s.bind(q))
			if err != nil {
				return fmt.Errorf("%s: prepare %.40q: %w", s.d.Name, q, err)
			}
			p.out[q] = st
		}
	}
	return nil
}

// HotStatements returns the shared statements worth preparing: run in every
// agent's write transactions, and on the read pool.
func (s *Store) HotStatements() (writes, reads []string) {
	q := s.q
	return []string{q.insertResult, q.insertStatus, q.hostQueryState, q.insertLiveRow, q.answer, q.sentToHost,
		q.notRun, q.finishIfDone}, []string{q.hostByNodeKey}
}

// CloseStatements closes the prepared statements.
func (s *Store) CloseStatements() error {
	var errs []error
	for _, m := range []map[string]*sql.Stmt{s.hotW, s.hotR} {
		for q, st := range m {
			errs = append(errs, st.Close())
			delete(m, q)
		}
	}
	return errors.Join(errs...)
}

// stmt returns q's prepared form for on, or nil.
func (s *Store) stmt(ctx context.Context, on Runner, q string) *sql.Stmt {
	switch on := on.(type) {
	case *sql.Tx:
		if st := s.hotW[q]; st != nil {
			return on.StmtContext(ctx, st)
		}
	case *sql.DB:
		if on == s.r {
			return s.hotR[q]
		}
	}
	return nil
}

// Exec runs q on on (prepared when it is hot).
func (s *Store) Exec(ctx context.Context, on Runner, q string, args ...any) (sql.Result, error) {
	if st := s.stmt(ctx, on, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return on.ExecContext(ctx, s.bind(q), args...)
}

// Query runs q on on.
func (s *Store) Query(ctx context.Context, on Runner, q string, args ...any) (*sql.Rows, error) {
	if st := s.stmt(ctx, on, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return on.QueryContext(ctx, s.bind(q), args...)
}

// QueryRow runs q on on.
func (s *Store) QueryRow(ctx context.Context, on Runner, q string, args ...any) *sql.Row {
	if st := s.stmt(ctx, on, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return on.QueryRowContext(ctx, s.bind(q), args...)
}

// bind rewrites q's ? placeholders for a numbered dialect (outside quotes).
func (s *Store) bind(q string) string {
	if !s.d.Numbered || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// scanner is a row being read: *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// collect reads every row of a query with scan.
func collect[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// each calls f on every row of a query.
func each(rows *sql.Rows, err error, f func(scanner) error) error {
	_, err = collect(rows, err, func(r scanner) (struct{}, error) { return struct{}{}, f(r) })
	return err
}

// scanID reads one id column.
func scanID(r scanner) (int64, error) {
	var id int64
	err := r.Scan(&id)
	return id, err
}

// where collects the conditions and arguments of a filtered read.
type where struct {
	conds []string
	args  []any
}

// add appends cond (with its ? placeholders) and their arguments.
func (w *where) add(cond string, args ...any) {
	w.conds, w.args = append(w.conds, cond), append(w.args, args...)
}

// addIf adds cond and its argument when ok.
func (w *where) addIf(ok bool, cond string, arg any) {
	if ok {
		w.add(cond, arg)
	}
}

// String is the WHERE clause, or "" when nothing is filtered.
func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// limitTo is a LIMIT clause for n > 0, otherwise "".
func limitTo(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf(" LIMIT %d", n)
}

// in is "col IN (the list parameter)" for a where.add with d.List(list).
func (s *Store) in(col, elem string) string {
	return col + " IN (SELECT value FROM " + s.d.Each(elem) + ")"
}

// TS converts a time to the stored form (UTC microseconds; 0 for the zero time).
func TS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// FromTS converts a stored time back.
func FromTS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// nullJSON is the stored form of an optional JSON document (NULL when empty).
func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// fromNullJSON reads one back.
func fromNullJSON(v sql.NullString) json.RawMessage {
	if !v.Valid {
		return nil
	}
	return json.RawMessage(v.String)
}

// mapJSON is the stored form of a row's columns (never NULL).
func mapJSON(m map[string]string) (string, error) {
	if m == nil {
		m = map[string]string{}
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// Wrap prefixes err with the backend and op, and maps a missing row to
// store.ErrNotFound and a full disk to store.ErrFull.
func (s *Store) Wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %s: %w", s.d.Name, op, store.ErrNotFound)
	case s.d.IsFull != nil && s.d.IsFull(err):
		return fmt.Errorf("%s: %s: %w (%w)", s.d.Name, op, store.ErrFull, err)
	}
	return fmt.Errorf("%s: %s: %w", s.d.Name, op, err)
}

// errorf is an error of this backend wrapping a store error.
func (s *Store) errorf(format string, args ...any) error {
	return fmt.Errorf(s.d.Name+": "+format, args...)
}

// affected turns an Exec that changed no row into store.ErrNotFound (or the
// given error).
func (s *Store) affected(op string, res sql.Result, err error, none error) error {
	if err != nil {
		return s.Wrap(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.Wrap(op, err)
	} else if n == 0 {
		return s.errorf("%s: %w", op, none)
	}
	return nil
}

// lock runs the dialect's lock on what, if it has one.
func (s *Store) lock(ctx context.Context, tx *sql.Tx, what string) error {
	if s.d.Lock == nil {
		return nil
	}
	q, args := s.d.Lock(what)
	_, err := tx.ExecContext(ctx, s.bind(q), args...)
	return err
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	return s.Wrap("ping", s.r.PingContext(ctx))
}
