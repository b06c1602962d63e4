package main

import (
	"io"
	"testing"
	"time"

	"github.com/exechunt/exechunt/internal/corpus"
)

// BenchmarkScanSigma runs, in one process and alternated, what a user runs over the
// whole corpus: `exechunt events` (reading the evidence), `exechunt scan --sigma`
// with a folder of no rules, and `exechunt scan --sigma` with every SigmaHQ
// process_creation and ps_script rule of ../shared/reference (the compiled engine),
// and reports each one's time and the ratios to reading.
//
//	go test -run '^$' -bench ScanSigma -benchtime 3x ./cmd/exechunt/
func BenchmarkScanSigma(b *testing.B) {
	dir, rules := corpus.SigmaRules(b)
	run := func(args ...string) time.Duration {
		root := newRootCmd()
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		root.SetArgs(args)
		start := time.Now()
		_ = root.Execute() // exit statuses: findings, and a corpus file cut short by its source
		return time.Since(start)
	}
	empty := b.TempDir()
	var read, none, all time.Duration
	for b.Loop() {
		read += run("events", "-q", "--format", "jsonl", dir)
		none += run("scan", "-q", "--format", "json", "--sigma", empty, dir)
		all += run("scan", "-q", "--format", "json", "--sigma", rules, dir)
	}
	n := float64(b.N)
	b.ReportMetric(read.Seconds()/n, "events-s")
	b.ReportMetric(none.Seconds()/n, "scan-norules-s")
	b.ReportMetric(all.Seconds()/n, "scan-sigma-s")
	b.ReportMetric(all.Seconds()/read.Seconds(), "sigma/events")
	b.ReportMetric(none.Seconds()/read.Seconds(), "norules/events")
}
