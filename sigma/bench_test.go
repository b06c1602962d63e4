package sigma

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	sigmago "github.com/bradleyjkemp/sigma-go"
	"github.com/bradleyjkemp/sigma-go/evaluator"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/internal/sigmabaseline"
	"github.com/exechunt/exechunt/offline/sqlengine"
)

// loadEvents reads a table's rows as Sigma events (field name → value), with
// Sysmon's Hashes field rebuilt for process creations.
func loadEvents(tb testing.TB, e *sqlengine.Engine, table string) []map[string]any {
	tb.Helper()
	rows, err := e.Query(context.Background(), "SELECT * FROM "+table)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	cols := rows.Columns()
	var out []map[string]any
	for rows.Next() {
		row := map[string]any{}
		for i, v := range rows.Values() {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			row[cols[i]] = v
		}
		out = append(out, sigmabaseline.Event(table, row))
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

type benchRule struct {
	q    *Query
	eval *evaluator.RuleEvaluator
}

// BenchmarkVsSigmaGo runs the converted SigmaHQ rules over the corpus with the
// offline engine (one SQL query per rule, as exechunt scan does) and evaluates the
// same rules over the same events with sigma-go in process, and reports both rates
// (events × rules per second) and their ratio. Rules sigma-go cannot evaluate
// (windash, base64offset, wide, exists, fieldref, …) are left out of both sides.
//
//	go test -run '^$' -bench VsSigmaGo -benchtime 1x ./sigma/
func BenchmarkVsSigmaGo(b *testing.B) {
	dir, ok := corpus.Dir()
	if !ok {
		b.Skip(corpus.SkipMessage)
	}
	res := referenceRules(b)
	e := openEngine(b, dir)
	events := map[string][]map[string]any{}
	for _, t := range []string{ProcessCreationTable, ScriptBlockTable} {
		events[t] = loadEvents(b, e, t) // also warms the engine's event store
	}
	ctx := context.Background()
	var rules []benchRule
	excluded := 0
	for _, q := range res.Queries {
		data, err := os.ReadFile(q.File)
		if err != nil {
			b.Fatal(err)
		}
		sr, err := sigmago.ParseRule(data)
		if err != nil {
			excluded++
			continue
		}
		ev := evaluator.ForRule(sr)
		if _, err := ev.Matches(ctx, events[q.Table][0]); err != nil {
			excluded++
			continue
		}
		rules = append(rules, benchRule{q, ev})
	}
	var evals int
	for _, r := range rules {
		evals += len(events[r.q.Table])
	}
	var qs []*Query
	for _, r := range rules {
		qs = append(qs, r.q)
	}
	batch := BatchSQL(qs)
	b.ResetTimer()
	var sqlTime, batchTime, goTime time.Duration
	agree, batchAgree := 0, 0
	for i := 0; i < b.N; i++ {
		agree = 0
		sqlCounts := make([]int, len(rules))
		start := time.Now()
		for j, r := range rules {
			rows, err := e.Query(ctx, r.q.SQL)
			if err != nil {
				b.Fatalf("%s: %v", r.q.Name, err)
			}
			for rows.Next() {
				sqlCounts[j]++
			}
			if err := rows.Err(); err != nil {
				b.Fatalf("%s: %v", r.q.Name, err)
			}
			rows.Close()
		}
		sqlTime += time.Since(start)
		start = time.Now()
		batchCounts := map[string]int{}
		for _, sql := range batch {
			rows, err := e.Query(ctx, sql)
			if err != nil {
				b.Fatalf("batch: %v", err)
			}
			last := len(rows.Columns()) - 1
			for rows.Next() {
				for _, n := range strings.Split(strings.TrimSuffix(rows.Values()[last].(string), ","), ",") {
					batchCounts[n]++
				}
			}
			if err := rows.Err(); err != nil {
				b.Fatalf("batch: %v", err)
			}
			rows.Close()
		}
		batchTime += time.Since(start)
		batchAgree = 0
		for j, r := range rules {
			if batchCounts[r.q.Name] == sqlCounts[j] {
				batchAgree++
			}
		}
		start = time.Now()
		for j, r := range rules {
			n := 0
			for _, ev := range events[r.q.Table] {
				m, err := r.eval.Matches(ctx, ev)
				if err == nil && m.Match {
					n++
				}
			}
			if n == sqlCounts[j] {
				agree++
			} else if i == 0 {
				b.Logf("differs: %s: offline engine %d, sigma-go %d", r.q.Name, sqlCounts[j], n)
			}
		}
		goTime += time.Since(start)
	}
	sqlRate := float64(evals*b.N) / sqlTime.Seconds()
	goRate := float64(evals*b.N) / goTime.Seconds()
	b.ReportMetric(sqlRate, "sql-evals/s")
	b.ReportMetric(goRate, "sigmago-evals/s")
	b.ReportMetric(sqlRate/goRate, "ratio")
	batchRate := float64(evals*b.N) / batchTime.Seconds()
	b.ReportMetric(batchRate, "batch-evals/s")
	b.ReportMetric(batchRate/goRate, "batch-ratio")
	b.Logf("batched (one query per table): %s (%.0f/s), ratio to sigma-go %.2f; same match count as the per-rule queries for %d of %d rules",
		(batchTime / time.Duration(b.N)).Round(time.Millisecond), batchRate, batchRate/goRate, batchAgree, len(rules))
	b.Logf("%d rules (%d left out: sigma-go cannot parse or evaluate them), %d process creations, %d script blocks, %d event×rule evaluations; "+
		"offline engine %s (%.0f/s), sigma-go %s (%.0f/s), ratio %.2f; same match count for %d of %d rules",
		len(rules), excluded, len(events[ProcessCreationTable]), len(events[ScriptBlockTable]), evals,
		(sqlTime / time.Duration(b.N)).Round(time.Millisecond), sqlRate, (goTime / time.Duration(b.N)).Round(time.Millisecond), goRate,
		sqlRate/goRate, agree, len(rules))
}
