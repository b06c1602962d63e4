package sqlengine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/exechunt/exechunt/tables/tablekit"
)

// Options tune an Engine.
type Options struct {
	// Timeout bounds one Generate call (tablekit.Guard); zero means
	// tablekit.DefaultTimeout.
	Timeout time.Duration
	// Logger receives the warnings osquery would log (a required column left
	// unconstrained). Nil means slog.Default().
	Logger *slog.Logger
}

// Engine is one SQLite connection with tables mounted. It is not safe for concurrent
// use: run one query at a time and Close its Rows before the next.
type Engine struct {
	conn   *sqlite3.Conn
	log    *slog.Logger
	tables []*vtable // sorted by name
	byName map[string]*vtable
	funcs  *functions
	busy   bool
}

// Open returns an engine with tables mounted as eponymous virtual tables and
// osquery's SQL functions registered. Table names must be unique.
func Open(tables []tablekit.Table, o Options) (*Engine, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	conn, err := sqlite3.Open(":memory:")
	if err != nil {
		return nil, fmt.Errorf("sqlengine: open: %w", err)
	}
	e := &Engine{conn: conn, log: o.Logger, byName: map[string]*vtable{}, funcs: newFunctions()}
	if err := e.funcs.register(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("sqlengine: functions: %w", err)
	}
	for _, t := range tables {
		key := strings.ToLower(t.Name)
		if _, dup := e.byName[key]; dup {
			conn.Close()
			return nil, fmt.Errorf("sqlengine: table %q mounted twice", t.Name)
		}
		vt, err := newVTable(t, o)
		if err != nil {
			conn.Close()
			return nil, err
		}
		vt.engine = e
		if err := mount(conn, vt); err != nil {
			conn.Close()
			return nil, fmt.Errorf("sqlengine: mount %s: %w", t.Name, err)
		}
		e.byName[key] = vt
		e.tables = append(e.tables, vt)
	}
	sort.Slice(e.tables, func(i, j int) bool { return e.tables[i].name < e.tables[j].name })
	return e, nil
}

// Close releases the connection.
func (e *Engine) Close() error { return e.conn.Close() }

// Tables returns the names of the mounted tables, sorted.
func (e *Engine) Tables() []string {
	out := make([]string, len(e.tables))
	for i, t := range e.tables {
		out[i] = t.name
	}
	return out
}

// Columns returns the column names of a mounted table, in order, and whether the
// table exists.
func (e *Engine) Columns(table string) ([]string, bool) {
	vt, ok := e.byName[strings.ToLower(table)]
	if !ok {
		return nil, false
	}
	out := make([]string, len(vt.cols))
	for i, c := range vt.cols {
		out[i] = c.Name
	}
	return out, true
}

// ErrBusy is returned by Query while the Rows of an earlier query are open.
var ErrBusy = errors.New("sqlengine: a query is still open (close its Rows first)")

// Query prepares and starts one SQL statement. ctx bounds the statement: it is
// passed to every Generate call and interrupts SQLite when done. Errors in the SQL
// are *Error values naming the position and the known tables or columns.
func (e *Engine) Query(ctx context.Context, query string) (*Rows, error) {
	if e.busy {
		return nil, ErrBusy
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e.conn.SetInterrupt(ctx)
	stmt, tail, err := e.conn.Prepare(query)
	if err != nil {
		e.conn.SetInterrupt(context.Background())
		return nil, e.sqlError(query, err)
	}
	if stmt == nil { // only whitespace or comments
		e.conn.SetInterrupt(context.Background())
		return nil, &Error{Msg: "empty query", Offset: -1, Query: query}
	}
	if rest := strings.TrimSpace(strings.Trim(strings.TrimSpace(tail), ";")); rest != "" {
		stmt.Close()
		e.conn.SetInterrupt(context.Background())
		return nil, e.newError(query, len(query)-len(strings.TrimLeft(tail, " \t\r\n;")), "only one statement per query", nil)
	}
	e.busy = true
	n := stmt.ColumnCount()
	cols := make([]string, n)
	for i := range cols {
		cols[i] = stmt.ColumnName(i)
	}
	return &Rows{e: e, stmt: stmt, cols: cols, query: query, vals: make([]any, n)}, nil
}

// Check compiles query without running it and returns the same errors as Query.
func (e *Engine) Check(query string) error {
	if e.busy {
		return ErrBusy
	}
	stmt, tail, err := e.conn.Prepare(query)
	if err != nil {
		return e.sqlError(query, err)
	}
	if stmt == nil {
		return &Error{Msg: "empty query", Offset: -1, Query: query}
	}
	defer stmt.Close()
	if rest := strings.TrimSpace(strings.Trim(strings.TrimSpace(tail), ";")); rest != "" {
		return e.newError(query, len(query)-len(strings.TrimLeft(tail, " \t\r\n;")), "only one statement per query", nil)
	}
	return nil
}

// Rows is the cursor of a running query. Values are valid until the next call to
// Next.
type Rows struct {
	e     *Engine
	stmt  *sqlite3.Stmt
	cols  []string
	vals  []any
	query string
	err   error
	done  bool
}

// Columns returns the result's column names.
func (r *Rows) Columns() []string { return r.cols }

// Next advances to the next row; it returns false at the end or on an error (see Err).
func (r *Rows) Next() bool {
	if r.done {
		return false
	}
	if !r.stmt.Step() {
		r.done = true
		if err := r.stmt.Err(); err != nil {
			r.err = r.e.runError(r.query, err)
		}
		return false
	}
	for i := range r.vals {
		switch r.stmt.ColumnType(i) {
		case sqlite3.INTEGER:
			r.vals[i] = r.stmt.ColumnInt64(i)
		case sqlite3.FLOAT:
			r.vals[i] = r.stmt.ColumnFloat(i)
		case sqlite3.TEXT:
			r.vals[i] = r.stmt.ColumnText(i)
		case sqlite3.BLOB:
			r.vals[i] = r.stmt.ColumnBlob(i, nil)
		default:
			r.vals[i] = nil
		}
	}
	return true
}

// Values returns the current row: int64, float64, string, []byte or nil per column.
// The slice is reused by Next.
func (r *Rows) Values() []any { return r.vals }

// Err returns the error that ended the iteration, if any.
func (r *Rows) Err() error { return r.err }

// Close ends the query; it is safe to call more than once.
func (r *Rows) Close() error {
	if r.stmt == nil {
		return nil
	}
	err := r.stmt.Close()
	r.stmt = nil
	r.done = true
	r.e.busy = false
	r.e.conn.SetInterrupt(context.Background())
	if err != nil && r.err == nil {
		return r.e.runError(r.query, err)
	}
	return nil
}
