package sqlengine

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ncruces/go-sqlite3"
	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/tables/tablekit"
)

// Plan costs, in SQLite's abstract units. osquery starts every plan at 1,000,000
// and refuses plans without a required column; here such a plan costs so much that
// SQLite always prefers a plan that pins the column (the table on the inner side of
// a join), yet a table queried alone still runs (and returns no rows).
const (
	costScan       = 1e6  // no index column constrained
	costIndexRange = 1e5  // a range (>, <, …) on an index column
	costIndexEq    = 1e3  // = or IN on an index column
	costRequired   = 10   // every required column pinned by = or IN
	costUnpinned   = 1e15 // a required column without = or IN
	costUnusable   = 10   // per unusable constraint, as osquery
)

// osqueryOps maps SQLite's constraint operators to osquery's codes (the same numbers:
// osquery passes SQLite's values through). Operators osquery does not know (!=, IS,
// IS NULL, LIMIT, …) are not passed; SQLite still applies them.
var osqueryOps = map[sqlite3.IndexConstraintOp]table.Operator{
	sqlite3.INDEX_CONSTRAINT_EQ:     table.OperatorEquals,
	sqlite3.INDEX_CONSTRAINT_GT:     table.OperatorGreaterThan,
	sqlite3.INDEX_CONSTRAINT_LE:     table.OperatorLessThanOrEquals,
	sqlite3.INDEX_CONSTRAINT_LT:     table.OperatorLessThan,
	sqlite3.INDEX_CONSTRAINT_GE:     table.OperatorGreaterThanOrEquals,
	sqlite3.INDEX_CONSTRAINT_MATCH:  table.OperatorMatch,
	sqlite3.INDEX_CONSTRAINT_LIKE:   table.OperatorLike,
	sqlite3.INDEX_CONSTRAINT_GLOB:   table.OperatorGlob,
	sqlite3.INDEX_CONSTRAINT_REGEXP: table.OperatorRegexp,
}

// errDone ends an IN list (SQLITE_DONE, which the driver does not export).
const errDone = sqlite3.ErrorCode(101)

// vtable is one mounted table.
type vtable struct {
	name   string
	cols   []table.ColumnDefinition
	gen    table.GenerateFunc
	engine *Engine
}

func newVTable(t tablekit.Table, o Options) (*vtable, error) {
	if t.Name == "" || len(t.Columns) == 0 || t.Generate == nil {
		return nil, fmt.Errorf("sqlengine: table %q: name, columns and Generate are required", t.Name)
	}
	if len(t.Columns) > 63 {
		return nil, fmt.Errorf("sqlengine: table %q: more than 63 columns", t.Name)
	}
	return &vtable{
		name: t.Name,
		cols: t.Columns,
		gen:  tablekit.Guard(t.Name, t.Generate, tablekit.Options{Timeout: o.Timeout, Logger: o.Logger}),
	}, nil
}

// schema is the CREATE TABLE statement declared to SQLite: osquery's column types
// (which give SQLite the same affinities) and HIDDEN for hidden columns.
func (vt *vtable) schema() string {
	var b strings.Builder
	b.WriteString("CREATE TABLE x(")
	for i, c := range vt.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(c.Name))
		b.WriteByte(' ')
		typ := string(c.Type)
		if typ == "" || c.Type == table.ColumnTypeUnknown {
			typ = "TEXT"
		}
		b.WriteString(typ)
		if c.Hidden {
			b.WriteString(" HIDDEN")
		}
	}
	b.WriteString(")")
	return b.String()
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func mount(conn *sqlite3.Conn, vt *vtable) error {
	return sqlite3.CreateModule(conn, vt.name, nil,
		func(db *sqlite3.Conn, module, schema, name string, arg ...string) (*vtab, error) {
			if err := db.DeclareVTab(vt.schema()); err != nil {
				return nil, err
			}
			return &vtab{t: vt}, nil
		})
}

// vtab is SQLite's view of a vtable (one per connection and schema).
type vtab struct{ t *vtable }

// planTerm is one constraint passed to Generate: the argv slot SQLite fills in
// xFilter, the column, osquery's operator and whether the value is an IN list.
type planTerm struct {
	col int
	op  table.Operator
	in  bool
}

// encodePlan stores the plan in idxStr: "col:op:in;…" in argv order.
func encodePlan(terms []planTerm) string {
	var b strings.Builder
	for _, t := range terms {
		in := 0
		if t.in {
			in = 1
		}
		fmt.Fprintf(&b, "%d:%d:%d;", t.col, int(t.op), in)
	}
	return b.String()
}

func decodePlan(s string) ([]planTerm, error) {
	var out []planTerm
	for _, part := range strings.Split(s, ";") {
		if part == "" {
			continue
		}
		f := strings.Split(part, ":")
		if len(f) != 3 {
			return nil, fmt.Errorf("bad plan %q", s)
		}
		col, err1 := strconv.Atoi(f[0])
		op, err2 := strconv.Atoi(f[1])
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("bad plan %q: %w", s, err)
		}
		out = append(out, planTerm{col: col, op: table.Operator(op), in: f[2] == "1"})
	}
	return out, nil
}

// BestIndex translates SQLite's constraints into a plan and a cost.
func (v *vtab) BestIndex(idx *sqlite3.IndexInfo) error {
	cols := v.t.cols
	var terms []planTerm
	cost := 0.0
	pinned := make([]bool, len(cols)) // = or IN usable on the column
	ranged := make([]bool, len(cols))
	for i, c := range idx.Constraint {
		if !c.Usable {
			cost += costUnusable
			continue
		}
		op, known := osqueryOps[c.Op]
		if !known || c.Column < 0 || c.Column >= len(cols) {
			continue
		}
		term := planTerm{col: c.Column, op: op}
		if c.Op == sqlite3.INDEX_CONSTRAINT_EQ {
			pinned[c.Column] = true
			// All-at-once IN: the whole list reaches one Generate call.
			term.in = idx.In(i, 1)
		} else if c.Op != sqlite3.INDEX_CONSTRAINT_MATCH && c.Op != sqlite3.INDEX_CONSTRAINT_LIKE &&
			c.Op != sqlite3.INDEX_CONSTRAINT_GLOB && c.Op != sqlite3.INDEX_CONSTRAINT_REGEXP {
			ranged[c.Column] = true
		}
		terms = append(terms, term)
		// Omit stays false: SQLite re-checks every row, as under osquery.
		idx.ConstraintUsage[i] = sqlite3.IndexConstraintUsage{ArgvIndex: len(terms)}
	}
	base, rows := costScan, int64(100_000)
	hasRequired, allRequired := false, true
	for i, c := range cols {
		switch {
		case c.Required:
			hasRequired = true
			if !pinned[i] {
				allRequired = false
			}
		case c.Index && pinned[i] && base > costIndexEq:
			base, rows = costIndexEq, 10
		case c.Index && ranged[i] && base > costIndexRange:
			base, rows = costIndexRange, 10_000
		}
	}
	if hasRequired {
		if allRequired {
			base, rows = costRequired, 1
		} else {
			base, rows = costUnpinned, math.MaxInt32
		}
	}
	idx.EstimatedCost = base + cost
	idx.EstimatedRows = rows
	idx.IdxStr = encodePlan(terms)
	return nil
}

// Open starts a cursor.
func (v *vtab) Open() (sqlite3.VTabCursor, error) { return &cursor{t: v.t}, nil }

// cursor holds the rows of one Generate call.
type cursor struct {
	t    *vtable
	rows []map[string]string
	pos  int
}

// Filter builds osquery's query context from the plan and SQLite's values and calls
// Generate.
func (c *cursor) Filter(_ int, idxStr string, arg ...sqlite3.Value) error {
	c.rows, c.pos = nil, 0
	terms, err := decodePlan(idxStr)
	if err != nil {
		return err
	}
	if len(terms) != len(arg) {
		return fmt.Errorf("%s: plan has %d terms, SQLite passed %d values", c.t.name, len(terms), len(arg))
	}
	qc := table.QueryContext{Constraints: map[string]table.ConstraintList{}}
	add := func(t planTerm, v sqlite3.Value) {
		if v.Type() == sqlite3.NULL {
			return // matches nothing; SQLite drops the row anyway
		}
		col := c.t.cols[t.col]
		cl := qc.Constraints[col.Name]
		cl.Affinity = col.Type
		cl.Constraints = append(cl.Constraints, table.Constraint{Operator: t.op, Expression: v.Text()})
		qc.Constraints[col.Name] = cl
	}
	for i, t := range terms {
		if !t.in {
			add(t, arg[i])
			continue
		}
		v, err := arg[i].InFirst()
		for ; err == nil; v, err = arg[i].InNext() {
			add(t, v)
		}
		if !errors.Is(err, errDone) {
			return fmt.Errorf("%s: IN list: %w", c.t.name, err)
		}
	}
	planned := map[int]bool{}
	for _, t := range terms {
		if t.op == table.OperatorEquals {
			planned[t.col] = true
		}
	}
	for i, col := range c.t.cols {
		if col.Required && !planned[i] {
			c.t.engine.log.Warn("table queried without its required column in WHERE; no rows",
				"table", c.t.name, "column", col.Name, "hint", col.Name+" = '…' or "+col.Name+" IN (…)")
		}
	}
	ctx := c.t.engine.conn.GetInterrupt()
	rows, err := c.t.gen(ctx, qc)
	if err != nil {
		return err
	}
	c.rows = rows
	return nil
}

// Next moves to the next row.
func (c *cursor) Next() error {
	c.pos++
	return nil
}

// EOF reports the end of the rows.
func (c *cursor) EOF() bool { return c.pos >= len(c.rows) }

// RowID is the row's position.
func (c *cursor) RowID() (int64, error) { return int64(c.pos), nil }

// Column returns column n of the current row, converted to the column's type
// (tablekit.Value).
func (c *cursor) Column(ctx sqlite3.Context, n int) error {
	col := c.t.cols[n]
	v, ok := c.rows[c.pos][col.Name]
	switch x := tablekit.Value(col.Type, v, ok).(type) {
	case nil:
		ctx.ResultNull()
	case int64:
		ctx.ResultInt64(x)
	case float64:
		ctx.ResultFloat(x)
	case string:
		ctx.ResultText(x)
	}
	return nil
}

// Close drops the rows.
func (c *cursor) Close() error {
	c.rows = nil
	return nil
}
