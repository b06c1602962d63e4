package engine_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/offline"
	"github.com/exechunt/exechunt/offline/sqlengine"
	"github.com/exechunt/exechunt/sigma"
	"github.com/exechunt/exechunt/sigma/engine"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// instantiate returns a text the predicate's pattern matches (wildcards filled in),
// or "" for predicates with no text to build (regexes, field references).
func instantiate(p *sigma.Pred) string {
	switch p.Kind {
	case sigma.PredLike:
		var b strings.Builder
		for _, x := range p.Pattern {
			switch x.Wild {
			case '*':
			case '?':
				b.WriteString("\u2013") // one character, several bytes
			default:
				b.WriteString(x.Lit)
			}
		}
		return b.String()
	case sigma.PredEqual, sigma.PredIntEq:
		return p.Text
	case sigma.PredExists:
		if p.Want {
			return "v"
		}
	case sigma.PredCompare:
		return strconv.FormatFloat(p.Number+1, 'f', -1, 64)
	}
	return ""
}

// fill adds to row what the map's fields would match: each field's first value (a
// value picked by n without all; every value, concatenated, with all). It returns
// the columns it set.
func fill(row map[string]string, m []*sigma.FieldPlan, n int) []string {
	var cols []string
	for _, f := range m {
		var parts []string
		vals := f.Values
		if !f.All && len(vals) > 1 {
			vals = vals[n%len(vals) : n%len(vals)+1]
		}
		col := ""
		for _, alts := range vals {
			a := alts[0]
			col = a.Column.Name
			if a.Kind == sigma.PredFieldRef {
				parts = append(parts, row[a.Other.Name])
				continue
			}
			parts = append(parts, instantiate(a))
		}
		if col == "" {
			continue
		}
		row[col] = strings.TrimSpace(row[col] + " " + strings.Join(parts, ""))
		cols = append(cols, col)
	}
	return cols
}

// syntheticRows builds rows from a rule's plan: one per map of each search, one
// with the first map of every search, and one with those of every search not named
// like a filter; each also in upper and lower case and with its first column
// emptied. They reach the rule's conditions (filters, all of, not) far more often
// than real events do.
func syntheticRows(p *sigma.Plan) []map[string]string {
	var out []map[string]string
	add := func(row map[string]string, cols []string) {
		row["evidence"] = fmt.Sprint(len(out))
		out = append(out, row)
		for _, tf := range []func(string) string{strings.ToUpper, strings.ToLower} {
			v := map[string]string{}
			for k, x := range row {
				v[k] = tf(x)
			}
			v["evidence"] = fmt.Sprint(len(out))
			out = append(out, v)
		}
		if len(cols) > 0 {
			v := maps.Clone(row)
			v[cols[0]] = ""
			v["evidence"] = fmt.Sprint(len(out))
			out = append(out, v)
		}
	}
	n := 0
	all, selections := map[string]string{}, map[string]string{}
	var allCols, selCols []string
	for _, s := range p.Searches {
		for k, m := range s.Maps {
			row := map[string]string{}
			add(row, fill(row, m, n))
			if k == 0 {
				allCols = append(allCols, fill(all, m, n)...)
				if !strings.Contains(strings.ToLower(s.Name), "filter") {
					selCols = append(selCols, fill(selections, m, n)...)
				}
			}
			n++
		}
	}
	add(all, allCols)
	add(selections, selCols)
	return out
}

// TestSyntheticDifferential checks every SigmaHQ rule, engine against SQL, on rows
// built from the rule itself (syntheticRows), which exercise the rule's conditions
// where the corpus has no event for them.
func TestSyntheticDifferential(t *testing.T) {
	res := referenceRules(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	schemas := map[string][]table.ColumnDefinition{}
	current := map[string][]map[string]string{}
	var tables []tablekit.Table
	for _, tb := range offline.Open([]string{}, offline.Options{Logger: log}).Tables {
		if !slices.Contains(eventTables, tb.Name) {
			continue
		}
		schemas[tb.Name] = tb.Columns
		name := tb.Name
		tables = append(tables, tablekit.Table{Name: name, Columns: tb.Columns,
			Generate: func(context.Context, table.QueryContext) ([]map[string]string, error) { return current[name], nil }})
	}
	sq, err := sqlengine.Open(tables, sqlengine.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	e, skipped := engine.New(res.Queries, schemas)
	if len(skipped) > 0 {
		t.Fatalf("skipped %s: %s", skipped[0].Query.Name, skipped[0].Reason)
	}
	agree, rows, matched := 0, 0, 0
	for i, q := range e.Rules() {
		synth := syntheticRows(q.Plan)
		current[q.Table] = synth
		rows += len(synth)
		rs, err := sq.Query(context.Background(), "SELECT evidence FROM "+q.Table+" WHERE "+q.Plan.SQL())
		if err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		var want []string
		for rs.Next() {
			want = append(want, rs.Values()[0].(string))
		}
		rs.Close()
		m := e.Matcher(q.Table)
		var got []string
		for _, row := range synth {
			if slices.Contains(m.Match(row), i) {
				got = append(got, row["evidence"])
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: engine %q, SQL %q", q.Name, got, want)
			continue
		}
		agree++
		if len(want) > 0 {
			matched++
		}
	}
	t.Logf("%d rules on %d rows built from them: %d agree row for row (%d of them match some of their rows)", len(e.Rules()), rows, agree, matched)
}
