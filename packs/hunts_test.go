package packs

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/exechunt/exechunt/offline"
	"github.com/exechunt/exechunt/offline/sqlengine"
	"github.com/exechunt/exechunt/tables/analysis"
)

// huntEvent is one hand-written event: a Sysmon process creation (Script empty)
// or a PowerShell 4104 script block.
type huntEvent struct {
	Image, CommandLine, Parent, Script string
}

// huntRows runs pack/query over the events, written as Winlogbeat JSON lines, and
// returns how many rows it gives.
func huntRows(t *testing.T, pack, query string, events []huntEvent) int {
	t.Helper()
	path := filepath.Join(t.TempDir(), "evidence.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	for i, ev := range events {
		data := map[string]string{}
		w := map[string]any{"computer_name": "WKS-17", "record_id": i + 1, "event_data": data}
		if ev.Script != "" {
			w["channel"], w["provider_name"], w["event_id"] = "Microsoft-Windows-PowerShell/Operational", "Microsoft-Windows-PowerShell", 4104
			data["MessageNumber"], data["MessageTotal"], data["ScriptBlockText"] = "1", "1", ev.Script
			data["ScriptBlockId"] = "{0a1b2c3d-0000-4000-8000-00000000000" + string(rune('a'+i)) + "}"
		} else {
			w["channel"], w["provider_name"], w["event_id"] = "Microsoft-Windows-Sysmon/Operational", "Microsoft-Windows-Sysmon", 1
			data["ProcessGuid"] = "{5c0ffee0-0000-0000-0000-00000000000" + string(rune('a'+i)) + "}"
			data["ProcessId"], data["Image"], data["CommandLine"] = "4242", ev.Image, ev.CommandLine
			data["User"], data["ParentImage"], data["ParentProcessId"] = `CORP\kim`, ev.Parent, "4000"
		}
		if err := enc.Encode(map[string]any{"@timestamp": "2026-10-05T08:00:00Z", "winlog": w}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	ps, err := Load(FS)
	if err != nil {
		t.Fatal(err)
	}
	var sql string
	for _, p := range ps {
		for _, q := range p.Queries {
			if p.Name == pack && q.Name == query {
				sql = q.SQL
			}
		}
	}
	if sql == "" {
		t.Fatalf("no query %s/%s", pack, query)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := sqlengine.Open(offline.Tables([]string{path}, analysis.New(), log), sqlengine.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rows, err := e.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s/%s: %v", pack, query, err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

const (
	huntPS   = `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
	huntWMIC = `C:\Windows\System32\wbem\WMIC.exe`
	huntCmd  = `C:\Windows\System32\cmd.exe`
)

// TestHuntsFindTheirClass runs queries over hand-written events of the technique
// class they hunt, and over benign look-alikes that they must leave alone.
func TestHuntsFindTheirClass(t *testing.T) {
	cases := []struct {
		pack, query string
		hit, benign []huntEvent
	}{
		{"powershell", "decompress_execute_loader",
			[]huntEvent{{Script: "$v = (Get-ItemProperty 'HKCU:\\Software\\Contoso\\Sync').Data\r\nInvoke-Expression ([Text.Encoding]::Unicode.GetString([Convert]::FromBase64String($v)))"}},
			[]huntEvent{{Script: "$bytes = [Convert]::FromBase64String($b64)\r\n[IO.File]::WriteAllBytes(\"$env:TEMP\\logo.png\", $bytes)"}}},
		{"powershell", "alternate_data_stream_execution",
			[]huntEvent{
				{Image: huntWMIC, Parent: huntCmd, CommandLine: `wmic process call create "C:\ProgramData\cache\index.dat:updater.exe"`},
				{Script: "$c = Get-Content -Path C:\\Users\\Public\\readme.txt -Stream cfg\r\nInvoke-Expression $c"},
			},
			[]huntEvent{
				{Image: huntPS, Parent: huntCmd, CommandLine: `powershell.exe -NoProfile -Command "Get-Content .\setup.msi -Stream Zone.Identifier"`},
				{Image: huntCmd, Parent: huntPS, CommandLine: `cmd.exe /c dir /r C:\Users\kim\Downloads`},
			}},
		{"wmi-and-services", "service_binpath_execution",
			[]huntEvent{{Image: `C:\Windows\System32\sc.exe`, Parent: huntCmd, CommandLine: `sc.exe config Spooler binPath= "cmd.exe /c C:\ProgramData\spool\refresh.bat"`}},
			[]huntEvent{
				{Image: `C:\Windows\System32\sc.exe`, Parent: `C:\Windows\System32\msiexec.exe`, CommandLine: `sc.exe create ContosoAgent binPath= "\"C:\Program Files\Contoso\agent.exe\" --service" start= auto`},
				{Image: `C:\Windows\System32\sc.exe`, Parent: huntCmd, CommandLine: `sc config wuauserv start= demand`},
			}},
		{"scheduled-tasks", "scheduled_task_registered_by_cmdlet",
			[]huntEvent{{Script: "$a = New-ScheduledTaskAction -Execute \"$env:APPDATA\\sync\\agent.exe\"\r\n$t = New-ScheduledTaskTrigger -AtLogOn\r\nRegister-ScheduledTask -TaskName 'OneSync' -Action $a -Trigger $t"}},
			[]huntEvent{{Script: "Get-ScheduledTask -TaskName 'OneSync' | Select-Object State, LastRunTime"}}},
		{"wmi-and-services", "msi_install_through_wmi",
			[]huntEvent{
				{Script: "Invoke-CimMethod -ClassName Win32_Product -MethodName Install -Arguments @{PackageLocation = 'C:\\ProgramData\\pkg\\tools.msi'; AllUsers = $true}"},
				{Image: huntWMIC, Parent: huntCmd, CommandLine: `wmic product call install true,"","C:\Users\Public\viewer.msi"`},
			},
			[]huntEvent{
				{Script: "Get-CimInstance -ClassName Win32_Product | Where-Object Name -like 'Contoso*' | Select-Object Name, Version"},
				{Image: huntWMIC, Parent: huntCmd, CommandLine: `wmic product where "name like 'Contoso%'" get name,version`},
			}},
		{"proxy-execution", "framework_msbuild_from_shell",
			[]huntEvent{
				{Image: `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\MSBuild.exe`, Parent: huntCmd, CommandLine: `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\MSBuild.exe D:\build\tasks.xml`},
				{Image: `C:\Windows\Microsoft.NET\Framework\v4.0.30319\MSBuild.exe`, Parent: huntPS, CommandLine: `C:\Windows\Microsoft.NET\Framework\v4.0.30319\MSBuild.exe C:\stage\build.csproj`},
			},
			[]huntEvent{
				{Image: `C:\Program Files\Microsoft Visual Studio\2022\Community\MSBuild\Current\Bin\MSBuild.exe`, Parent: huntCmd, CommandLine: `MSBuild.exe C:\src\app\app.sln /p:Configuration=Release`},
				{Image: `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\MSBuild.exe`, Parent: `C:\Program Files\Jenkins\jenkins.exe`, CommandLine: `MSBuild.exe C:\ci\workspace\app.csproj`},
			}},
		{"proxy-execution", "csc_builds_into_user_folder",
			[]huntEvent{{Image: `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\csc.exe`, Parent: huntCmd, CommandLine: `csc.exe /target:exe /out:"C:\Users\kim\AppData\Local\Temp\svc.exe" D:\x\svc.cs`}},
			[]huntEvent{
				{Image: `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\csc.exe`, Parent: huntPS, CommandLine: `"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\csc.exe" /noconfig /fullpaths @"C:\Users\kim\AppData\Local\Temp\x1y2z3.cmdline"`},
				{Image: `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\csc.exe`, Parent: huntCmd, CommandLine: `csc.exe /out:C:\src\tool\bin\tool.exe C:\src\tool\Program.cs`},
			}},
		{"wmi-and-services", "service_binpath_execution",
			[]huntEvent{{Image: `C:\Users\kim\Downloads\RemCom.exe`, Parent: huntCmd, CommandLine: `RemCom.exe \\fs02 /user:CORP\svc /pwd:* cmd.exe`}},
			[]huntEvent{{Image: `C:\Windows\System32\sc.exe`, Parent: huntCmd, CommandLine: `sc.exe query Spooler`}}},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			if n := huntRows(t, c.pack, c.query, c.hit); n != len(c.hit) {
				t.Errorf("%d rows over %d events of the class, want one each", n, len(c.hit))
			}
			if n := huntRows(t, c.pack, c.query, c.benign); n != 0 {
				t.Errorf("%d rows over benign look-alikes, want none", n)
			}
		})
	}
}
