package event

import (
	"testing"
	"time"
)

func TestValues(t *testing.T) {
	guids := map[string]string{
		"{860BA2E3-9F13-5F52-2603-000000000400}": "860ba2e3-9f13-5f52-2603-000000000400",
		"5AA13A44-0130-68FD-4E35-000000004002":   "5aa13a44-0130-68fd-4e35-000000004002",
		" {abc} ":                                "abc",
		"-":                                      "",
	}
	for in, want := range guids {
		if got := GUID(in); got != want {
			t.Errorf("GUID(%q) = %q, want %q", in, got, want)
		}
	}
	pids := map[string]int64{"0x988": 2440, "0X988": 2440, "2440": 2440, "": 0, "-": 0, "0xzz": 0, "12ab": 0}
	for in, want := range pids {
		if got := PID(in); got != want {
			t.Errorf("PID(%q) = %d, want %d", in, got, want)
		}
	}
	hex := map[string]string{"0x2D5A4B": "0x2d5a4b", "5413603": "0x529ae3", "": "", "-": "", "odd": "odd"}
	for in, want := range hex {
		if got := HexID(in); got != want {
			t.Errorf("HexID(%q) = %q, want %q", in, got, want)
		}
	}
	kw := map[string]uint64{"-9214364837600034816": 9232379236109516800, "0x8000000000000000": 1 << 63, "18446744073709551615": 1<<64 - 1, "x": 0}
	for in, want := range kw {
		if got := ParseUint(in); got != want {
			t.Errorf("ParseUint(%q) = %d, want %d", in, got, want)
		}
	}
	md5, sha1, sha256, imp := Hashes("SHA1=542C,MD5=563E, SHA256=F422 ,IMPHASH=0F71,junk")
	if md5 != "563e" || sha1 != "542c" || sha256 != "f422" || imp != "0f71" {
		t.Errorf("Hashes = %q %q %q %q", md5, sha1, sha256, imp)
	}
	if got := Account("-", "-"); got != "" {
		t.Errorf("Account(-,-) = %q", got)
	}
	if got := IntegrityFromLabel("S-1-16-12288"); got != "High" {
		t.Errorf("IntegrityFromLabel = %q", got)
	}
}

func TestProcessPathsCleaned(t *testing.T) {
	ev := Normalize(rec("Microsoft-Windows-Sysmon", "", 1, map[string]string{
		"Image": `C:\Windows\\system32\\certutil.exe`, "ParentImage": `C:\Windows\\explorer.exe`,
		"CurrentDirectory": `C:\\Users\\bob\\`, "CommandLine": `certutil -urlcache -f http://x/a C:\\a`,
	}), false)
	p := ev.ProcessCreation
	if p.Image != `C:\Windows\system32\certutil.exe` || p.ParentImage != `C:\Windows\explorer.exe` || p.CurrentDirectory != `C:\Users\bob\` {
		t.Errorf("sysmon paths: %q %q %q", p.Image, p.ParentImage, p.CurrentDirectory)
	}
	if p.Cmdline != `certutil -urlcache -f http://x/a C:\\a` {
		t.Errorf("the command line is evidence and must stay as written: %q", p.Cmdline)
	}
	ev = Normalize(rec("Microsoft-Windows-Security-Auditing", "Security", 4688, map[string]string{
		"NewProcessName": `C:\Windows\\System32\\cmd.exe`, "ParentProcessName": `C:\\Windows\\explorer.exe`,
	}), false)
	if ev.Image != `C:\Windows\System32\cmd.exe` || ev.ParentImage != `C:\Windows\explorer.exe` {
		t.Errorf("4688 paths: %q %q", ev.Image, ev.ParentImage)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		provider, channel string
		id                uint32
		want              Kind
	}{
		{"Microsoft-Windows-Sysmon", "Microsoft-Windows-Sysmon/Operational", 1, KindProcessCreation},
		{"Linux-Sysmon", "Linux-Sysmon/Operational", 1, KindProcessCreation},
		{"", "Microsoft-Windows-Sysmon/Operational", 1, KindProcessCreation},
		{"Microsoft-Windows-Sysmon", "", 3, KindOther},
		{"Microsoft-Windows-Security-Auditing", "Security", 4688, KindProcessCreation},
		{"Microsoft-Windows-PowerShell", "Microsoft-Windows-PowerShell/Operational", 4104, KindScriptBlockPart},
		{"Microsoft-Windows-PowerShell", "", 4103, KindPipeline},
		{"PowerShell", "Windows PowerShell", 800, KindPipeline},
		{"Some-Other", "Application", 1, KindOther},
		{"Some-Other", "Security", 4688, KindOther},
	}
	for _, tt := range tests {
		if got := Classify(tt.provider, tt.channel, tt.id); got != tt.want {
			t.Errorf("Classify(%q, %q, %d) = %s, want %s", tt.provider, tt.channel, tt.id, got, tt.want)
		}
	}
}

func rec(provider, channel string, id uint32, data map[string]string) *Record {
	return &Record{Provider: provider, Channel: channel, EventID: id, Time: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), Data: MapFields{Values: data}}
}

func TestNormalize4688(t *testing.T) {
	ev := Normalize(rec("Microsoft-Windows-Security-Auditing", "Security", 4688, map[string]string{
		"NewProcessId": "0x988", "NewProcessName": `C:\Windows\System32\cmd.exe`, "ProcessId": "0x1660",
		"CommandLine": `cmd /c "echo %%1"`, "SubjectUserName": "bob", "SubjectDomainName": "CORP", "SubjectLogonId": "0x3e7",
		"TargetUserName": "-", "TargetDomainName": "-", "MandatoryLabel": "S-1-16-8192", "TokenElevationType": "%%1938",
	}), false)
	p := ev.ProcessCreation
	if ev.Kind != KindProcessCreation || p == nil {
		t.Fatalf("kind %s", ev.Kind)
	}
	if p.PID != 2440 || p.ParentPID != 5728 || p.User != `CORP\bob` || p.LogonID != "0x3e7" || p.IntegrityLevel != "Medium" ||
		p.TokenElevation != "limited" || p.ParentImage != "" || p.Cmdline != `cmd /c "echo %%1"` {
		t.Errorf("4688: %+v", p)
	}
	// The new process runs as the target account when one is given.
	ev = Normalize(rec("Microsoft-Windows-Security-Auditing", "Security", 4688, map[string]string{
		"SubjectUserName": "WS$", "SubjectDomainName": "CORP", "TargetUserName": "alice", "TargetDomainName": "CORP", "TargetLogonId": "0x99",
	}), false)
	if ev.User != `CORP\alice` || ev.ParentUser != `CORP\WS$` || ev.LogonID != "0x99" {
		t.Errorf("target user: %+v", ev.ProcessCreation)
	}
}

func TestNormalizeScriptAndPipeline(t *testing.T) {
	ev := Normalize(rec("Microsoft-Windows-PowerShell", "", 4104, map[string]string{
		"MessageNumber": "2", "MessageTotal": "5", "ScriptBlockText": "iex $x", "ScriptBlockId": "{9D1F7A2B-3C4D-4E5F-8A9B-0C1D2E3F4A5B}", "Path": `C:\a.ps1`,
	}), false)
	s := ev.ScriptBlockPart
	if s == nil || s.MessageNumber != 2 || s.MessageTotal != 5 || s.ScriptBlockID != "9d1f7a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b" || s.ScriptPath != `C:\a.ps1` {
		t.Errorf("4104: %+v", s)
	}
	ev = Normalize(rec("PowerShell", "Windows PowerShell", 800, map[string]string{
		"#0": "Get-Date", "#1": "\tDetailSequence=1\r\n\tUserId=CORP\\bob\r\n\tHostApplication=powershell.exe -enc AAAA\r\n\tScriptName=\r\n\tCommandLine=Get-Date\r\n", "#2": "CommandInvocation(Get-Date)",
	}), false)
	pl := ev.Pipeline
	if pl == nil || pl.HostApplication != "powershell.exe -enc AAAA" || pl.PSUser != `CORP\bob` || pl.CommandLine != "Get-Date" || pl.Payload != "CommandInvocation(Get-Date)" {
		t.Errorf("800: %+v", pl)
	}
	ev = Normalize(rec("Microsoft-Windows-PowerShell", "", 4103, map[string]string{
		"ContextInfo": "        Host Application = powershell.exe -nop\r\n        Script Name = \r\n        User = CORP\\bob\r\n", "Payload": "CommandInvocation(New-Object)",
	}), false)
	if ev.Pipeline == nil || ev.HostApplication != "powershell.exe -nop" || ev.PSUser != `CORP\bob` {
		t.Errorf("4103: %+v", ev.Pipeline)
	}
}

func TestNormalizeOther(t *testing.T) {
	r := rec("X", "Y", 5, map[string]string{"A": "1"})
	if ev := Normalize(r, false); ev.Kind != KindOther || ev.Data != nil {
		t.Errorf("other without keep: %+v", ev)
	}
	if ev := Normalize(r, true); ev.Data["A"] != "1" {
		t.Errorf("other with keep: %+v", ev.Data)
	}
	if ev := Normalize(&Record{Provider: "Microsoft-Windows-Sysmon", EventID: 1}, false); ev.ProcessCreation == nil {
		t.Errorf("nil Data must not break mapping")
	}
}

func TestAuditUser(t *testing.T) {
	for _, c := range []struct{ name, uid, want string }{
		{"alice", "1000", "alice"},
		{"", "0", "root"},
		{"", "1000", "1000"},
		{"unknown(4242)", "4242", "4242"},
		{"unset", "4294967295", ""},
		{"", "-1", ""},
	} {
		if got := auditUser(c.name, c.uid); got != c.want {
			t.Errorf("auditUser(%q, %q) = %q, want %q", c.name, c.uid, got, c.want)
		}
	}
}
