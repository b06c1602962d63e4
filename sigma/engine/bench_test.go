package engine_test

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	sigmago "github.com/bradleyjkemp/sigma-go"
	"github.com/bradleyjkemp/sigma-go/evaluator"
	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/internal/sigmabaseline"
	"github.com/exechunt/exechunt/sigma"
	"github.com/exechunt/exechunt/sigma/engine"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// baselineEvery picks the events sigma-go evaluates: every baselineEvery-th row of
// each table (sigma-go takes milliseconds per event with all rules; the engine is
// timed on the same rows for the ratio, and on every row for its own figure).
const baselineEvery = 10

// heapAfter returns the live heap after build runs (after a collection), minus the
// live heap before it, and build's result.
func heapAfter[T any](build func() T) (T, uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := build()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if after.HeapAlloc < before.HeapAlloc {
		return v, 0
	}
	return v, after.HeapAlloc - before.HeapAlloc
}

// BenchmarkVsSigmaGo evaluates the SigmaHQ process_creation and ps_script rules
// over the corpus's event-table rows with the compiled engine and with sigma-go
// v0.6.6, alternated in one run, and reports:
//
//   - engine-ns/event: the engine, every rule (1536), every row;
//
//   - same-ns/event and sigmago-ns/event: the engine restricted to the rules
//     sigma-go can parse and evaluate, and sigma-go with those rules, on the same
//     sampled rows; ratio is sigma-go's time over the engine's;
//
//   - B/rule and sigmago-B/rule: the live heap of the compiled rules per rule.
//
//     go test -run '^$' -bench VsSigmaGo -benchtime 3x ./sigma/engine/
func BenchmarkVsSigmaGo(b *testing.B) {
	f := openFixture(b, ".")
	ctx := context.Background()
	all, allHeap := heapAfter(func() *engine.Engine { e, _ := engine.New(f.res.Queries, f.schemas); return e })

	// sigma-go: the rules it parses and evaluates without error.
	type goRule struct {
		q  *sigma.Query
		ev *evaluator.RuleEvaluator
	}
	probe := map[string]map[string]any{}
	for _, tn := range eventTables {
		probe[tn] = event(f.schemas[tn], tn, f.rows[tn][0])
	}
	goRules, goHeap := heapAfter(func() []goRule {
		var out []goRule
		for _, q := range f.res.Queries {
			data, err := os.ReadFile(q.File)
			if err != nil {
				b.Fatal(err)
			}
			sr, err := sigmago.ParseRule(data)
			if err != nil {
				continue
			}
			ev := evaluator.ForRule(sr)
			if _, err := ev.Matches(ctx, probe[q.Table]); err != nil {
				continue
			}
			out = append(out, goRule{q, ev})
		}
		return out
	})
	var sameQs []*sigma.Query
	for _, r := range goRules {
		sameQs = append(sameQs, r.q)
	}
	same, _ := engine.New(sameQs, f.schemas)

	// The rows: every row for the engine's own figure, a sample for the comparison.
	type sample struct {
		table string
		row   map[string]string
		ev    map[string]any
	}
	var rows, sampled []sample
	for _, tn := range eventTables {
		for i, row := range f.rows[tn] {
			s := sample{table: tn, row: row}
			rows = append(rows, s)
			if i%baselineEvery == 0 {
				s.ev = event(f.schemas[tn], tn, row)
				sampled = append(sampled, s)
			}
		}
	}
	matchers := func(e *engine.Engine) map[string]*engine.Matcher {
		out := map[string]*engine.Matcher{}
		for _, tn := range eventTables {
			out[tn] = e.Matcher(tn)
		}
		return out
	}
	mAll, mSame := matchers(all), matchers(same)
	var tAll, tSame, tGo time.Duration
	agree := 0
	for b.Loop() {
		t0 := time.Now()
		for _, s := range rows {
			if m := mAll[s.table]; m != nil {
				m.Match(s.row)
			}
		}
		t1 := time.Now()
		counts := make([]int, len(same.Rules()))
		for _, s := range sampled {
			if m := mSame[s.table]; m != nil {
				for _, r := range m.Match(s.row) {
					counts[r]++
				}
			}
		}
		t2 := time.Now()
		agree = 0
		for i, r := range goRules {
			n := 0
			for _, s := range sampled {
				if s.table != r.q.Table {
					continue
				}
				if res, err := r.ev.Matches(ctx, s.ev); err == nil && res.Match {
					n++
				}
			}
			if n == counts[i] {
				agree++
			}
		}
		t3 := time.Now()
		tAll += t1.Sub(t0)
		tSame += t2.Sub(t1)
		tGo += t3.Sub(t2)
	}
	n := float64(b.N)
	engineNs := float64(tAll.Nanoseconds()) / n / float64(len(rows))
	sameNs := float64(tSame.Nanoseconds()) / n / float64(len(sampled))
	goNs := float64(tGo.Nanoseconds()) / n / float64(len(sampled))
	b.ReportMetric(engineNs, "engine-ns/event")
	b.ReportMetric(sameNs, "same-ns/event")
	b.ReportMetric(goNs, "sigmago-ns/event")
	b.ReportMetric(goNs/sameNs, "ratio")
	b.ReportMetric(float64(allHeap)/float64(len(all.Rules())), "B/rule")
	b.ReportMetric(float64(goHeap)/float64(max(len(goRules), 1)), "sigmago-B/rule")
	st := all.Stats()
	b.Logf("engine: %d rules over %d rows (%d distinct predicates, %d regexes, %d literals, %d rules unguarded), %.1f µs/event, %.1f KiB/rule; "+
		"sigma-go evaluates %d of the rules: on %d sampled rows %.0f µs/event vs the engine with those rules %.1f µs/event, ratio %.0f; same match count for %d of %d rules",
		len(all.Rules()), len(rows), st.Predicates, st.Regexes, st.Literals, st.Unguarded, engineNs/1e3, float64(allHeap)/float64(len(all.Rules()))/1024,
		len(goRules), len(sampled), goNs/1e3, sameNs/1e3, goNs/sameNs, agree, len(goRules))
}

// event is the sigma-go event of a row, its values typed as the SQL engine reads
// them.
func event(cols []table.ColumnDefinition, tn string, row map[string]string) map[string]any {
	typed := make(map[string]any, len(cols))
	for _, c := range cols {
		v, ok := row[c.Name]
		typed[c.Name] = tablekit.Value(c.Type, v, ok)
	}
	return sigmabaseline.Event(tn, typed)
}
