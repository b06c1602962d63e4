package eventtables

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/internal/synth"
)

// writeSyntheticLog writes n Sysmon process creations over the 24 hours before end.
func writeSyntheticLog(tb testing.TB, n int, end time.Time) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "sysmon.jsonl")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := synth.WriteSysmon(f, n, end, 24*time.Hour); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkLast10Minutes: process_creation_events WHERE time >= now-600 on a
// 100,000-event log after the first read (target <= 20 ms per query).
func BenchmarkLast10Minutes(b *testing.B) {
	end := time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)
	path := writeSyntheticLog(b, 100_000, end)
	s := New(Options{Paths: []string{path}})
	tbl := s.ProcessCreationTable()
	qc := where("time", table.OperatorGreaterThanOrEquals, strconv.FormatInt(end.Add(-10*time.Minute).Unix(), 10))
	t0 := time.Now()
	if _, err := tbl.Generate(context.Background(), table.QueryContext{}); err != nil {
		b.Fatal(err)
	}
	first := time.Since(t0)
	b.ResetTimer()
	var rows int
	for i := 0; i < b.N; i++ {
		r, err := tbl.Generate(context.Background(), qc)
		if err != nil {
			b.Fatal(err)
		}
		rows = len(r)
	}
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(first.Seconds()*1000, "first-read-ms")
	b.ReportMetric(float64(stats(b, s).EventBytes)/(1<<20), "buffer-MiB")
}
