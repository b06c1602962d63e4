package scan

import (
	"context"
	"fmt"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/offline/finding"
	"github.com/exechunt/exechunt/packs"
	"github.com/exechunt/exechunt/sigma"
	"github.com/exechunt/exechunt/sigma/engine"
	"github.com/exechunt/exechunt/tables/evidenceref"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// Sigma evaluates the rules of a compiled Sigma engine over the rows of the tables
// (each table read once, every rule evaluated in one pass per row) and passes each
// (rule, row) match to fn as a finding, grouped by rule in the engine's order: the
// findings `exechunt scan` gave when it ran each converted rule as a query (pack,
// query name, technique, severity, the query's columns and the evidence locator).
// Options.MinScore applies; OnQuery is called before each rule's findings. It
// returns an error when a table cannot be read, ctx ends, or fn fails (an
// *OutputError).
func Sigma(ctx context.Context, e *engine.Engine, tables []tablekit.Table, opt Options, fn func(*finding.Finding) error) (Stats, error) {
	rules := e.Rules()
	st := Stats{Queries: len(rules)}
	byRule := make([][]map[string]string, len(rules))
	types := map[string]map[string]table.ColumnType{}
	for _, t := range tables {
		m := e.Matcher(t.Name)
		if m == nil {
			continue
		}
		types[t.Name] = map[string]table.ColumnType{}
		for _, c := range t.Columns {
			types[t.Name][c.Name] = c.Type
		}
		// As the SQL engine reads a table: bounded in time, a panic is an error.
		gen := tablekit.Guard(t.Name, t.Generate, tablekit.Options{})
		rows, err := gen(ctx, table.QueryContext{Constraints: map[string]table.ConstraintList{}})
		if err != nil {
			return st, fmt.Errorf("%s: %w", t.Name, err)
		}
		for i, row := range rows {
			if i%1024 == 0 && ctx.Err() != nil {
				return st, ctx.Err()
			}
			for _, r := range m.Match(row) {
				byRule[r] = append(byRule[r], row)
			}
		}
	}
	for i, q := range rules {
		if opt.OnQuery != nil {
			opt.OnQuery(i, Query{Pack: q.Pack, Query: packs.Query{Name: q.Name}}, st.Findings)
		}
		outs := sigma.Outputs(q.Table)
		for _, row := range byRule[i] {
			fd := sigmaFinding(q, outs, types[q.Table], row)
			if opt.MinScore > 0 {
				if sc, ok := fd.Row["score"].(int64); ok && sc < int64(opt.MinScore) {
					continue
				}
			}
			if err := fn(fd); err != nil {
				return st, &OutputError{err}
			}
			st.Findings++
		}
	}
	return st, nil
}

// sigmaFinding is the finding of one rule's match on one row: the rule query's
// columns, typed as the SQL engine returns them.
func sigmaFinding(q *sigma.Query, outs []sigma.Output, types map[string]table.ColumnType, row map[string]string) *finding.Finding {
	fd := &finding.Finding{Pack: q.Pack, Query: q.Name, Technique: q.Technique, Severity: q.Severity,
		Columns: make([]string, len(outs)), Row: make(map[string]any, len(outs))}
	for i, o := range outs {
		v, ok := row[o.From]
		val := tablekit.Value(types[o.From], v, ok)
		if s, isText := val.(string); isText {
			val = o.Cut(s)
		}
		fd.Columns[i] = o.Name
		fd.Row[o.Name] = val
	}
	parts, _ := evidenceref.Decode(finding.Text(fd.Row["evidence"]))
	fd.Evidence = evidenceref.RefOf(parts)
	return fd
}
