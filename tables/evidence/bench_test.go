package evidence

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source"
	"github.com/exechunt/exechunt/tables/source/auditlog"
	"github.com/exechunt/exechunt/tables/source/evtx"
)

// syntheticAuditLog repeats the hand-written audit log of testdata/audit (nine
// execve events of six records each, a login) with fresh serials until it holds at
// least n process creations, interleaving each event's records with the next one's
// as a busy multi-CPU host does.
func syntheticAuditLog(tb testing.TB, n int) ([]byte, int) {
	tb.Helper()
	src, err := os.ReadFile("../../testdata/audit/base64-to-shell.log")
	if err != nil {
		tb.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(src)), "\n")
	var out bytes.Buffer
	events := 0
	for round := 0; events < n; round++ {
		// Serials 3101… become round*1000+3101…; odd and even events interleave.
		var prev []string
		for i := 0; i < len(lines); {
			j := i + 1
			for j < len(lines) && serialOf(lines[j]) == serialOf(lines[i]) {
				j++
			}
			cur := make([]string, 0, j-i)
			for _, l := range lines[i:j] {
				cur = append(cur, strings.Replace(l, fmt.Sprintf(":%s)", serialOf(l)), fmt.Sprintf(":%d%s)", round, serialOf(l)), 1))
			}
			if strings.Contains(lines[i], "type=SYSCALL") {
				events++
			}
			if prev == nil {
				prev = cur
			} else {
				for k := range max(len(prev), len(cur)) {
					if k < len(prev) {
						out.WriteString(prev[k] + "\n")
					}
					if k < len(cur) {
						out.WriteString(cur[k] + "\n")
					}
				}
				prev = nil
			}
			i = j
		}
		for _, l := range prev {
			out.WriteString(l + "\n")
		}
	}
	return out.Bytes(), events
}

func serialOf(line string) string {
	i := strings.Index(line, "msg=audit(")
	j := strings.Index(line[max(i, 0):], ")")
	if i < 0 || j < 0 {
		return ""
	}
	stamp := line[i+len("msg=audit(") : i+j]
	_, serial, _ := strings.Cut(stamp, ":")
	return serial
}

// BenchmarkAuditVsEVTX reads, in one run, a synthetic audit.log and the corpus's
// Sysmon EVTX files, each into normalised process creations, and reports the cost per
// process creation (and per record) of each. An audit process creation is six records
// (SYSCALL, EXECVE, CWD, two PATH, PROCTITLE); an EVTX one is one record among the
// other event IDs the reader skips.
func BenchmarkAuditVsEVTX(b *testing.B) {
	dir, ok := corpus.Dir()
	if !ok {
		b.Skip(corpus.SkipMessage)
	}
	var evtxFiles [][]byte
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && filepath.Ext(p) == ".evtx" && strings.Contains(strings.ToLower(filepath.Base(p)), "sysmon") {
			if data, err := os.ReadFile(p); err == nil {
				evtxFiles = append(evtxFiles, data)
			}
		}
		return nil
	})
	audit, _ := syntheticAuditLog(b, 20_000)
	want := func(p, c string, id uint32) bool { return event.Classify(p, c, id) == event.KindProcessCreation }
	var evtxTime, auditTime time.Duration
	var evtxEvents, evtxRecords, auditEvents, auditRecords int64
	count := func(n *int64) source.Emit {
		return func(r *event.Record) error {
			if e := event.Normalize(r, false); e.ProcessCreation != nil {
				*n++
			}
			return nil
		}
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		for _, d := range evtxFiles {
			st, err := evtx.Read(context.Background(), bytes.NewReader(d), int64(len(d)), "bench.evtx", &source.Options{Want: want}, count(&evtxEvents))
			if err != nil {
				b.Fatal(err)
			}
			evtxRecords += st.Records
		}
		t1 := time.Now()
		st, err := auditlog.Read(context.Background(), bytes.NewReader(audit), "audit.log", &source.Options{Want: want}, count(&auditEvents))
		if err != nil {
			b.Fatal(err)
		}
		auditRecords += st.Records
		t2 := time.Now()
		evtxTime += t1.Sub(t0)
		auditTime += t2.Sub(t1)
	}
	if evtxEvents == 0 || auditEvents == 0 {
		b.Fatalf("no process creations read: evtx %d, audit %d", evtxEvents, auditEvents)
	}
	b.ReportMetric(float64(auditTime.Nanoseconds())/float64(auditEvents), "audit-ns/event")
	b.ReportMetric(float64(evtxTime.Nanoseconds())/float64(evtxEvents), "evtx-ns/event")
	b.ReportMetric(float64(auditTime.Nanoseconds())/float64(auditRecords), "audit-ns/record")
	b.ReportMetric(float64(evtxTime.Nanoseconds())/float64(evtxRecords), "evtx-ns/record")
	b.ReportMetric(float64(auditEvents)/float64(b.N), "audit-events")
	b.ReportMetric(float64(evtxEvents)/float64(b.N), "evtx-events")
}

// TestSyntheticAuditLog: the benchmark's log is read whole, interleaving and all.
func TestSyntheticAuditLog(t *testing.T) {
	data, want := syntheticAuditLog(t, 100)
	var got int
	st, err := auditlog.Read(context.Background(), bytes.NewReader(data), "audit.log", nil, func(r *event.Record) error {
		if e := event.Normalize(r, false); e.ProcessCreation != nil && e.ProcessCreation.Cmdline != "" {
			got++
		}
		return nil
	})
	if err != nil || got != want || st.Problems != 0 {
		t.Fatalf("%d of %d process creations, %d problems, %v", got, want, st.Problems, err)
	}
}
