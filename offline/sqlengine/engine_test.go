package sqlengine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/tables/tablekit"
)

// recorder is a fake table that records the query contexts it receives and returns
// fixed rows.
type recorder struct {
	calls []table.QueryContext
	rows  []map[string]string
}

func (r *recorder) table(name string, cols ...table.ColumnDefinition) tablekit.Table {
	return tablekit.Table{Name: name, Columns: cols, Generate: func(_ context.Context, qc table.QueryContext) ([]map[string]string, error) {
		r.calls = append(r.calls, qc)
		return r.rows, nil
	}}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func open(t *testing.T, tables ...tablekit.Table) *Engine {
	t.Helper()
	e, err := Open(tables, Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// all runs query and returns its rows.
func all(t *testing.T, e *Engine, query string) [][]any {
	t.Helper()
	rows, err := e.Query(context.Background(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		out = append(out, append([]any(nil), rows.Values()...))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}

func cons(name string, aff table.ColumnType, cs ...table.Constraint) map[string]table.ConstraintList {
	return map[string]table.ConstraintList{name: {Affinity: aff, Constraints: cs}}
}

func TestQueryContextTranslation(t *testing.T) {
	rec := &recorder{}
	e := open(t, rec.table("fake",
		table.BigIntColumn("pid", table.IndexColumn()),
		table.TextColumn("name"),
		table.DoubleColumn("ratio"),
	))
	c := func(op table.Operator, expr string) table.Constraint {
		return table.Constraint{Operator: op, Expression: expr}
	}
	cases := []struct {
		where string
		want  map[string]table.ConstraintList
	}{
		{"", map[string]table.ConstraintList{}},
		{"pid = 4", cons("pid", table.ColumnTypeBigInt, c(table.OperatorEquals, "4"))},
		{"pid > 4", cons("pid", table.ColumnTypeBigInt, c(table.OperatorGreaterThan, "4"))},
		{"pid <= 4", cons("pid", table.ColumnTypeBigInt, c(table.OperatorLessThanOrEquals, "4"))},
		{"pid < 4", cons("pid", table.ColumnTypeBigInt, c(table.OperatorLessThan, "4"))},
		{"pid >= 4", cons("pid", table.ColumnTypeBigInt, c(table.OperatorGreaterThanOrEquals, "4"))},
		// SQLite's LIKE/GLOB optimisation adds the prefix range, as under osqueryd.
		{"name LIKE 'cmd%'", cons("name", table.ColumnTypeText, c(table.OperatorGreaterThanOrEquals, "CMD"),
			c(table.OperatorLessThan, "cme"), c(table.OperatorLike, "cmd%"))},
		{"name GLOB 'cmd*'", cons("name", table.ColumnTypeText, c(table.OperatorGreaterThanOrEquals, "cmd"),
			c(table.OperatorLessThan, "cme"), c(table.OperatorGlob, "cmd*"))},
		{"name REGEXP '^cmd'", cons("name", table.ColumnTypeText, c(table.OperatorRegexp, "^cmd"))},
		{"name MATCH 'cmd'", cons("name", table.ColumnTypeText, c(table.OperatorMatch, "cmd"))},
		{"ratio >= 0.5", cons("ratio", table.ColumnTypeDouble, c(table.OperatorGreaterThanOrEquals, "0.5"))},
		{"pid BETWEEN 3 AND 9", cons("pid", table.ColumnTypeBigInt,
			c(table.OperatorGreaterThanOrEquals, "3"), c(table.OperatorLessThanOrEquals, "9"))},
		// IN reaches one Generate call as several EQ constraints, as osquery sends it.
		{"pid IN (1, 2, 3)", cons("pid", table.ColumnTypeBigInt,
			c(table.OperatorEquals, "1"), c(table.OperatorEquals, "2"), c(table.OperatorEquals, "3"))},
		{"name = 'a' AND pid = 7", map[string]table.ConstraintList{
			"name": {Affinity: table.ColumnTypeText, Constraints: []table.Constraint{c(table.OperatorEquals, "a")}},
			"pid":  {Affinity: table.ColumnTypeBigInt, Constraints: []table.Constraint{c(table.OperatorEquals, "7")}},
		}},
		// Operators osquery does not know are not passed (SQLite applies them).
		{"pid != 4", map[string]table.ConstraintList{}},
		{"name IS NULL", map[string]table.ConstraintList{}},
		// A constraint SQLite cannot evaluate before the scan is not passed.
		{"pid = length(name)", map[string]table.ConstraintList{}},
	}
	for _, tc := range cases {
		rec.calls = nil
		q := "SELECT * FROM fake"
		if tc.where != "" {
			q += " WHERE " + tc.where
		}
		all(t, e, q)
		if len(rec.calls) != 1 {
			t.Errorf("%s: %d Generate calls, want 1", q, len(rec.calls))
			continue
		}
		got := rec.calls[0].Constraints
		for k, v := range got { // order of BETWEEN terms is SQLite's
			if len(v.Constraints) == 2 && v.Constraints[0].Operator == table.OperatorLessThanOrEquals {
				v.Constraints[0], v.Constraints[1] = v.Constraints[1], v.Constraints[0]
				got[k] = v
			}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", q, got, tc.want)
		}
	}
}

func TestColumnTypes(t *testing.T) {
	rec := &recorder{rows: []map[string]string{
		{"i": "42", "b": "-7", "d": "0.25", "s": "x", "u": "18446744073709551615"},
		{"i": "", "b": "nope", "d": "", "s": ""}, // unparsable numbers are NULL, '' stays ''
		{},                                       // missing keys are NULL
	}}
	e := open(t, rec.table("typed",
		table.IntegerColumn("i"), table.BigIntColumn("b"), table.DoubleColumn("d"), table.TextColumn("s"),
		table.ColumnDefinition{Name: "u", Type: table.ColumnTypeUnsignedBigInt},
	))
	got := all(t, e, "SELECT i, b, d, s, u, typeof(i), typeof(s) FROM typed")
	want := [][]any{
		{int64(42), int64(-7), 0.25, "x", int64(-1), "integer", "text"},
		{nil, nil, nil, "", nil, "null", "text"},
		{nil, nil, nil, nil, nil, "null", "null"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

// TestRequiredColumn: a table with a required column returns nothing alone, one
// row when pinned, and is put on the inner side of a join, receiving each outer
// row's value.
func TestRequiredColumn(t *testing.T) {
	outer := &recorder{rows: []map[string]string{{"id": "1", "cmd": "a"}, {"id": "2", "cmd": "b"}, {"id": "3", "cmd": "a"}}}
	inner := &recorder{}
	innerTable := tablekit.Table{Name: "analysis", Columns: []table.ColumnDefinition{
		table.TextColumn("cmd", table.RequiredColumn()), table.IntegerColumn("len"),
	}, Generate: func(_ context.Context, qc table.QueryContext) ([]map[string]string, error) {
		inner.calls = append(inner.calls, qc)
		vals, _ := tablekit.Equals(qc, "cmd")
		var rows []map[string]string
		for _, v := range vals {
			rows = append(rows, map[string]string{"cmd": v, "len": fmt.Sprint(len(v))})
		}
		return rows, nil
	}}
	e := open(t, outer.table("events", table.IntegerColumn("id"), table.TextColumn("cmd")), innerTable)

	if rows := all(t, e, "SELECT * FROM analysis"); len(rows) != 0 {
		t.Errorf("without constraint: %v", rows)
	}
	if rows := all(t, e, "SELECT cmd, len FROM analysis WHERE cmd = 'abc'"); !reflect.DeepEqual(rows, [][]any{{"abc", int64(3)}}) {
		t.Errorf("pinned: %v", rows)
	}
	inner.calls = nil
	for _, q := range []string{
		"SELECT e.id, a.len FROM events e JOIN analysis a ON a.cmd = e.cmd ORDER BY e.id",
		"SELECT e.id, a.len FROM analysis a JOIN events e ON a.cmd = e.cmd ORDER BY e.id", // written the other way round
		"SELECT e.id, a.len FROM analysis a, events e WHERE e.cmd = a.cmd ORDER BY e.id",
	} {
		outer.calls, inner.calls = nil, nil
		rows := all(t, e, q)
		if want := [][]any{{int64(1), int64(1)}, {int64(2), int64(1)}, {int64(3), int64(1)}}; !reflect.DeepEqual(rows, want) {
			t.Errorf("%s: %v", q, rows)
		}
		if len(outer.calls) != 1 || len(inner.calls) != 3 {
			t.Errorf("%s: %d outer and %d inner Generate calls, want 1 and 3", q, len(outer.calls), len(inner.calls))
		}
	}
	rows := all(t, e, "SELECT cmd FROM analysis WHERE cmd IN ('x', 'yy', 'x') ORDER BY cmd")
	if !reflect.DeepEqual(rows, [][]any{{"x"}, {"yy"}}) {
		t.Errorf("IN: %v", rows)
	}
}

// TestIndexCost: a table pinned by an index column is the inner side of a join.
func TestIndexCost(t *testing.T) {
	a := &recorder{rows: []map[string]string{{"pid": "1"}, {"pid": "2"}}}
	b := &recorder{rows: []map[string]string{{"pid": "1", "n": "x"}}}
	e := open(t, a.table("a", table.BigIntColumn("pid")), b.table("b", table.BigIntColumn("pid", table.IndexColumn()), table.TextColumn("n")))
	all(t, e, "SELECT * FROM b JOIN a USING (pid)")
	if len(a.calls) != 1 || len(b.calls) != 2 {
		t.Fatalf("a called %d times, b %d times; want 1 and 2", len(a.calls), len(b.calls))
	}
	if got, _ := tablekit.IntEquals(b.calls[1], "pid"); !reflect.DeepEqual(got, []int64{2}) {
		t.Errorf("b's second call: %v", b.calls[1])
	}
}

func TestErrors(t *testing.T) {
	rec := &recorder{}
	e := open(t, rec.table("fake", table.BigIntColumn("pid"), table.TextColumn("name")), rec.table("other", table.TextColumn("x")))
	cases := []struct {
		query string
		want  []string
	}{
		{"SELECT * FORM fake", []string{`line 1, column 10: near "FORM": syntax error`, "    SELECT * FORM fake\n             ^"}},
		{"SELECT *\nFROM nope", []string{"no such table: nope", "known tables: fake, other"}},
		{"SELECT pidd FROM fake", []string{"no such column: pidd", "line 1, column 8", "columns of fake: pid, name"}},
		{"SELECT 1; SELECT 2", []string{"only one statement", "column 11"}},
		{"  ", []string{"empty query"}},
		{"SELECT regex_match(name, '(', 0) FROM (SELECT 'x' AS name)", []string{"Invalid regex"}},
	}
	for _, tc := range cases {
		rows, err := e.Query(context.Background(), tc.query)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
		}
		var se *Error
		if !errors.As(err, &se) {
			t.Errorf("%q: err = %v (%T), want *Error", tc.query, err, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error\n%s\nlacks %q", tc.query, err, w)
			}
		}
	}
	// A table's error reaches the caller.
	bad := open(t, tablekit.Table{Name: "bad", Columns: []table.ColumnDefinition{table.TextColumn("x")},
		Generate: func(context.Context, table.QueryContext) ([]map[string]string, error) {
			return nil, errors.New("disk on fire")
		}})
	rows, err := bad.Query(context.Background(), "SELECT * FROM bad")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
	}
	if err := rows.Err(); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("generate error: %v", err)
	}
	rows.Close()
	if _, err := Open([]tablekit.Table{rec.table("t", table.TextColumn("x")), rec.table("T", table.TextColumn("x"))}, Options{}); err == nil {
		t.Error("duplicate table names accepted")
	}
}

func TestBusyAndCancel(t *testing.T) {
	rec := &recorder{rows: []map[string]string{{"x": "1"}}}
	e := open(t, rec.table("t", table.TextColumn("x")))
	rows, err := e.Query(context.Background(), "SELECT * FROM t")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Query(context.Background(), "SELECT 1"); !errors.Is(err, ErrBusy) {
		t.Errorf("second query: %v", err)
	}
	rows.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Query(ctx, "SELECT * FROM t"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// Generate sees the query's context.
	var seen context.Context
	e2 := open(t, tablekit.Table{Name: "c", Columns: []table.ColumnDefinition{table.TextColumn("x")},
		Generate: func(ctx context.Context, _ table.QueryContext) ([]map[string]string, error) {
			seen = ctx
			return nil, ctx.Err()
		}})
	type key struct{}
	ctx = context.WithValue(context.Background(), key{}, "q")
	all2 := func() {
		rows, err := e2.Query(ctx, "SELECT * FROM c")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
		}
	}
	all2()
	if seen == nil || seen.Value(key{}) != "q" {
		t.Error("Generate did not get the query's context")
	}
}
