package engine_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/offline"
	"github.com/exechunt/exechunt/offline/sqlengine"
	"github.com/exechunt/exechunt/sigma"
	"github.com/exechunt/exechunt/sigma/engine"
)

// eventTables are the tables Sigma rules read.
var eventTables = []string{sigma.ProcessCreationTable, sigma.ScriptBlockTable}

// fixture is the SigmaHQ reference rules converted, and evidence read into the
// offline tables: their schemas and rows, and the SQL engine over the same tables.
type fixture struct {
	res     *sigma.Result
	schemas map[string][]table.ColumnDefinition
	rows    map[string][]map[string]string
	sql     *sqlengine.Engine // the event tables as virtual tables, as exechunt sql serves them
	// copied holds the same rows in ordinary temporary tables shadowing the virtual
	// ones: the same SQL, without generating the rows again for each of 1,536 rules.
	copied *sqlengine.Engine
}

// referenceRules converts the SigmaHQ rule sets of ../shared/reference/sigma.
func referenceRules(tb testing.TB) *sigma.Result {
	tb.Helper()
	_, rules := corpus.SigmaRules(tb)
	res, err := sigma.ConvertPaths(rules)
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// openFixture reads the evidence of paths (relative to the corpus) with the
// reference rules.
func openFixture(tb testing.TB, paths ...string) *fixture {
	tb.Helper()
	dir, ok := corpus.Dir()
	if !ok {
		tb.Skip(corpus.SkipMessage)
	}
	f := &fixture{res: referenceRules(tb), schemas: map[string][]table.ColumnDefinition{}, rows: map[string][]map[string]string{}}
	var abs []string
	for _, p := range paths {
		abs = append(abs, filepath.Join(dir, p))
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ev := offline.Open(abs, offline.Options{Logger: log})
	ctx := context.Background()
	if _, err := ev.Read(ctx); err != nil {
		tb.Fatal(err)
	}
	for _, t := range ev.Tables {
		if !slices.Contains(eventTables, t.Name) {
			continue
		}
		f.schemas[t.Name] = t.Columns
		rows, err := t.Generate(ctx, table.QueryContext{Constraints: map[string]table.ConstraintList{}})
		if err != nil {
			tb.Fatal(err)
		}
		f.rows[t.Name] = rows
	}
	e, err := sqlengine.Open(ev.Tables, sqlengine.Options{Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close() })
	f.sql = e
	c, err := sqlengine.Open(ev.Tables, sqlengine.Options{Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	for _, name := range eventTables {
		rows, err := c.Query(ctx, "CREATE TEMP TABLE "+name+" AS SELECT * FROM main."+name)
		if err != nil {
			tb.Fatal(err)
		}
		for rows.Next() {
		}
		if err := rows.Close(); err != nil {
			tb.Fatal(err)
		}
	}
	f.copied = c
	return f
}

// sqlMatches runs a rule's SQL and returns the evidence column of its rows, sorted:
// over the copied rows, and when they match some over the virtual tables too.
// SQLite re-checks every constraint it pushes down to a virtual table (osquery's
// way), so the virtual tables can only lose rows the copies have, never add any.
func (f *fixture) sqlMatches(tb testing.TB, q *sigma.Query) []string {
	tb.Helper()
	out := queryEvidence(tb, f.copied, q)
	if len(out) > 0 {
		if direct := queryEvidence(tb, f.sql, q); !slices.Equal(direct, out) {
			tb.Errorf("%s: the virtual tables return %d rows, their copies %d", q.Name, len(direct), len(out))
		}
	}
	return out
}

// queryEvidence runs a rule's SQL on e and returns the evidence column of its rows, sorted.
func queryEvidence(tb testing.TB, e *sqlengine.Engine, q *sigma.Query) []string {
	tb.Helper()
	rows, err := e.Query(context.Background(), q.SQL)
	if err != nil {
		tb.Fatalf("%s: %v", q.Name, err)
	}
	defer rows.Close()
	ev := slices.Index(rows.Columns(), "evidence")
	var out []string
	for rows.Next() {
		out = append(out, rows.Values()[ev].(string))
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("%s: %v", q.Name, err)
	}
	sort.Strings(out)
	return out
}

// engineMatches evaluates every rule over every row and returns, per rule index,
// the evidence column of the rows it matched, sorted.
func (f *fixture) engineMatches(e *engine.Engine) [][]string {
	out := make([][]string, len(e.Rules()))
	for _, tn := range eventTables {
		m := e.Matcher(tn)
		if m == nil {
			continue
		}
		for _, row := range f.rows[tn] {
			for _, r := range m.Match(row) {
				out[r] = append(out[r], row["evidence"])
			}
		}
	}
	for _, l := range out {
		sort.Strings(l)
	}
	return out
}

// TestDifferential checks, for every converted SigmaHQ rule, that the compiled
// engine matches exactly the rows its SQL conversion returns over the whole corpus
// (the SigmaHQ regression samples included).
func TestDifferential(t *testing.T) {
	f := openFixture(t, ".")
	e, skipped := engine.New(f.res.Queries, f.schemas)
	for _, s := range skipped {
		t.Errorf("engine skipped %s: %s", s.Query.Name, s.Reason)
	}
	got := f.engineMatches(e)
	agree, matching := 0, 0
	for i, q := range e.Rules() {
		want := f.sqlMatches(t, q)
		if !slices.Equal(got[i], want) {
			t.Errorf("%s (%s): engine %d rows, SQL %d rows\nengine: %s\nSQL:    %s", q.Name, q.RuleID, len(got[i]), len(want),
				short(got[i]), short(want))
			continue
		}
		agree++
		if len(want) > 0 {
			matching++
		}
	}
	st := e.Stats()
	t.Logf("%d rules compared over %d process creations and %d script blocks: %d agree row for row (%d of them match some row); "+
		"%d distinct predicates, %d regexes, %d prefilter literals, %d rules with no literal guard",
		len(e.Rules()), len(f.rows[sigma.ProcessCreationTable]), len(f.rows[sigma.ScriptBlockTable]), agree, matching,
		st.Predicates, st.Regexes, st.Literals, st.Unguarded)
}

func short(l []string) string {
	s := strings.Join(l, " ")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}
