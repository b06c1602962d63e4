// Package synth writes synthetic but realistic evidence for benchmarks: Sysmon process
// creations as Winlogbeat JSON lines, built from common command-line shapes with
// varying arguments, spread evenly over a time span.
package synth

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

var shapes = []struct{ image, parent, cmd string }{
	{`C:\Windows\System32\svchost.exe`, `C:\Windows\System32\services.exe`, `C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule%d`},
	{`C:\Windows\System32\conhost.exe`, `C:\Windows\System32\cmd.exe`, `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1 %d`},
	{`C:\Program Files\Google\Chrome\Application\chrome.exe`, `C:\Windows\explorer.exe`, `"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --field-trial-handle=%d`},
	{`C:\Windows\System32\cmd.exe`, `C:\Windows\explorer.exe`, `"C:\Windows\System32\cmd.exe" /c dir C:\Users\user%d`},
	{`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, `C:\Windows\System32\svchost.exe`, `powershell.exe -NoProfile -File C:\Program Files\Agent\check%d.ps1`},
	{`C:\Windows\System32\schtasks.exe`, `C:\Windows\System32\cmd.exe`, `schtasks /query /tn Task%d`},
	{`C:\Windows\System32\rundll32.exe`, `C:\Windows\System32\svchost.exe`, `C:\Windows\system32\rundll32.exe C:\Windows\system32\shell32.dll,Control_RunDLL %d`},
	{`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, `C:\Windows\System32\cmd.exe`, `powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA%d`},
}

// WriteSysmon writes n process creations spread evenly over span, ending at end. Each
// process's parent is the one written before it (a deep chain, the worst case for
// ancestry).
func WriteSysmon(w io.Writer, n int, end time.Time, span time.Duration) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	start := end.Add(-span)
	step := span / time.Duration(n)
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
					"ParentProcessGuid": fmt.Sprintf("{1c2e3f4a-0000-0000-%04x-%012x}", max(i-1, 0)%65536, max(i-1, 0)),
					"ParentProcessId":   strconv.Itoa(1000 + max(i-1, 0)%60000),
					"ParentImage":       sh.parent,
					"User":              `CORP\user`,
					"Hashes":            "MD5=097CE5761C89434367598B34FE32893B,SHA256=908B64B1971A979C7E3E8CE4621945CBA84854CB98D76367B791A6E22B5F6D53",
				},
			},
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		bw.Write(b)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
