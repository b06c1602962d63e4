package eventtables

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/osquery/osquery-go/plugin/table"
)

// writeSyntheticLog writes n Sysmon process creations (Winlogbeat JSON lines) spread
// evenly over 24 hours ending at end, built from a few hundred realistic command-line
// shapes with varying arguments, and returns its path.
func writeSyntheticLog(tb testing.TB, n int, end time.Time) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "sysmon.jsonl")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	shapes := []struct{ image, parent, cmd string }{
		{`C:\Windows\System32\svchost.exe`, `C:\Windows\System32\services.exe`, `C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule%d`},
		{`C:\Windows\System32\conhost.exe`, `C:\Windows\System32\cmd.exe`, `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1 %d`},
		{`C:\Program Files\Google\Chrome\Application\chrome.exe`, `C:\Windows\explorer.exe`, `"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --field-trial-handle=%d`},
		{`C:\Windows\System32\cmd.exe`, `C:\Windows\explorer.exe`, `"C:\Windows\System32\cmd.exe" /c dir C:\Users\user%d`},
		{`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, `C:\Windows\System32\svchost.exe`, `powershell.exe -NoProfile -File C:\Program Files\Agent\check%d.ps1`},
		{`C:\Windows\System32\schtasks.exe`, `C:\Windows\System32\cmd.exe`, `schtasks /query /tn Task%d`},
		{`C:\Windows\System32\rundll32.exe`, `C:\Windows\System32\svchost.exe`, `C:\Windows\system32\rundll32.exe C:\Windows\system32\shell32.dll,Control_RunDLL %d`},
		{`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, `C:\Windows\System32\cmd.exe`, `powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA%d`},
	}
	start := end.Add(-24 * time.Hour)
	step := 24 * time.Hour / time.Duration(n)
	for i := 0; i < n; i++ {
		sh := shapes[i%len(shapes)]
		rec := map[string]any{
			"@timestamp": start.Add(time.Duration(i) * step).Format(time.RFC3339Nano),
			"winlog": map[string]any{
				"channel": "Microsoft-Windows-Sysmon/Operational", "computer_name": "WS1", "event_id": 1,
				"provider_name": "Microsoft-Windows-Sysmon", "record_id": i + 1,
				"event_data": map[string]string{
					"ProcessGuid":       fmt.Sprintf("{1c2e3f4a-0000-0000-%04x-%012x}", i%65536, i),
					"ProcessId":         strconv.Itoa(1000 + i%60000),
					"Image":             sh.image,
					"CommandLine":       fmt.Sprintf(sh.cmd, i%300),
					"ParentProcessGuid": fmt.Sprintf("{1c2e3f4a-0000-0000-%04x-%012x}", (i-1)%65536, max(i-1, 0)),
					"ParentProcessId":   strconv.Itoa(1000 + (i-1)%60000),
					"ParentImage":       sh.parent,
					"User":              `CORP\user`,
					"Hashes":            "MD5=097CE5761C89434367598B34FE32893B,SHA256=908B64B1971A979C7E3E8CE4621945CBA84854CB98D76367B791A6E22B5F6D53",
				},
			},
		}
		b, _ := json.Marshal(rec)
		w.Write(b)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
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
	b.ReportMetric(float64(s.Stats().EventBytes)/(1<<20), "buffer-MiB")
}
