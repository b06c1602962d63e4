package offline

import (
	"context"
	"testing"
	"time"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/offline/sqlengine"
	"github.com/exechunt/exechunt/packs"
	"github.com/exechunt/exechunt/tables/analysis"
)

func drain(b *testing.B, e *sqlengine.Engine, q string) int {
	rows, err := e.Query(context.Background(), q)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		_ = rows.Values()
		n++
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkSQLOverhead: the same full scan of process_creation_events over the corpus
// through SQL (every column of every row converted) and through the table's Generate,
// alternated in one run; sql/direct is the cost of the SQLite layer (target ≤ 1.5).
func BenchmarkSQLOverhead(b *testing.B) {
	dir, ok := corpus.Dir()
	if !ok {
		b.Skip(corpus.SkipMessage)
	}
	tables := Tables([]string{dir}, analysis.New(), quiet())
	e, err := sqlengine.Open(tables, sqlengine.Options{Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	var gen table.GenerateFunc
	for _, t := range tables {
		if t.Name == "process_creation_events" {
			gen = t.Generate
		}
	}
	direct := func() int {
		rows, err := gen(context.Background(), table.QueryContext{Constraints: map[string]table.ConstraintList{}})
		if err != nil {
			b.Fatal(err)
		}
		return len(rows)
	}
	// SELECT * converts every cell (the worst case); a pack-style query reads the few
	// columns it names, as hunts do.
	for _, q := range []struct{ name, sql string }{
		{"select-star", "SELECT * FROM process_creation_events"},
		{"pack-style", "SELECT datetime, computer, name, parent_name, cmdline, score, indicators, evidence FROM process_creation_events WHERE score >= 0"},
	} {
		b.Run(q.name, func(b *testing.B) {
			if n, m := direct(), drain(b, e, q.sql); n != m || n == 0 { // also warms the Store
				b.Fatalf("direct %d rows, SQL %d", n, m)
			}
			var tDirect, tSQL time.Duration
			for b.Loop() {
				t0 := time.Now()
				direct()
				t1 := time.Now()
				drain(b, e, q.sql)
				tSQL += time.Since(t1)
				tDirect += t1.Sub(t0)
			}
			n := float64(b.N)
			b.ReportMetric(float64(tDirect.Nanoseconds())/n, "direct-ns/scan")
			b.ReportMetric(float64(tSQL.Nanoseconds())/n, "sql-ns/scan")
			b.ReportMetric(float64(tSQL)/float64(tDirect), "sql/direct")
		})
	}
}

// BenchmarkScanPacks: every query of the embedded packs over the whole corpus with a
// fresh engine each time (evidence read from disk), as `exechunt scan --pack all`.
func BenchmarkScanPacks(b *testing.B) {
	dir, ok := corpus.Dir()
	if !ok {
		b.Skip(corpus.SkipMessage)
	}
	ps, err := packs.Load(packs.FS)
	if err != nil {
		b.Fatal(err)
	}
	events := 0
	findings := 0
	for b.Loop() {
		e, err := sqlengine.Open(Tables([]string{dir}, analysis.New(), quiet()), sqlengine.Options{Logger: quiet()})
		if err != nil {
			b.Fatal(err)
		}
		findings = 0
		for _, p := range ps {
			for _, q := range p.Queries {
				findings += drain(b, e, q.SQL)
			}
		}
		if events == 0 {
			b.StopTimer()
			events = drain(b, e, "SELECT 1 FROM process_creation_events") + drain(b, e, "SELECT 1 FROM powershell_script_blocks")
			b.StartTimer()
		}
		e.Close()
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(findings), "findings")
}
