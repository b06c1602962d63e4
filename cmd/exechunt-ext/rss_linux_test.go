package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/extension/osquerytest"
	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/internal/synth"
)

// statusKB reads a kB field of /proc/<pid>/status.
func statusKB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// peakRSS reads a live process's peak resident set size (VmHWM) in bytes.
func peakRSS(pid int) (int64, error) {
	kb, err := statusKB(pid, "VmHWM:")
	return kb << 10, err
}

// BenchmarkExtensionPeakRSS runs the real extension with default caches, queries the
// event tables and process_lineage b.N times through the Thrift harness, and reports the extension
// process's peak RSS (target <= 64 MB): over the whole corpus (every row), and over a
// 100,000-event log asked for its last 10 minutes, as a scheduled hunt does.
func BenchmarkExtensionPeakRSS(b *testing.B) {
	dir, ok := corpus.Dir()
	if !ok {
		b.Skip(corpus.SkipMessage)
	}
	b.Run("corpus", func(b *testing.B) { benchPeakRSS(b, dir) })
	b.Run("100k-events", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "sysmon.jsonl")
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		end := time.Now().UTC()
		if err := synth.WriteSysmon(f, 100_000, end, 24*time.Hour); err != nil {
			b.Fatal(err)
		}
		f.Close()
		// What a scheduled hunt asks: the last 10 minutes (the first query reads the
		// whole log into the bounded buffers).
		since := osquerytest.Constraint{Column: "time", Op: osquerytest.GreaterOrEq, Expr: strconv.FormatInt(end.Add(-10*time.Minute).Unix(), 10)}
		benchPeakRSS(b, path, since)
	})
}

func benchPeakRSS(b *testing.B, source string, constraints ...osquerytest.Constraint) {
	h, ctx := startHarness(b)
	p := startExtensionWithConfig(b, h, fmt.Sprintf("sources:\n  - path: %q\n", source))
	if _, err := h.WaitRegistered(ctx); err != nil {
		b.Fatal(err)
	}
	var rows int
	for i := 0; i < b.N; i++ {
		for _, table := range []string{"process_creation_events", "powershell_script_blocks"} {
			r, err := h.Generate(ctx, table, constraints...)
			if err != nil {
				b.Fatal(err)
			}
			rows += len(r)
		}
		// And every live process (with the lineage index the events built).
		r, err := h.Generate(ctx, "process_lineage")
		if err != nil {
			b.Fatal(err)
		}
		rows += len(r)
	}
	rss, err := peakRSS(p.cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
	// The program's code mapped from the executable is resident too, outside the Go
	// memory limit (config.CodeMB).
	if file, err := statusKB(p.cmd.Process.Pid, "RssFile:"); err == nil {
		b.ReportMetric(float64(file)/(1<<10), "code-RSS-MiB")
	}
	b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
}
