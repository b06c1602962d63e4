package catalogeval

import (
	"path"
	"strings"
)

// index finds catalog entries by the names commands use for them.
type index struct {
	byName map[string]*Entry // lower-case file name: certutil.exe
	byStem map[string]*Entry // lower-case name without extension: certutil, winrm
}

func newIndex(entries []*Entry) *index {
	x := &index{byName: map[string]*Entry{}, byStem: map[string]*Entry{}}
	for _, e := range entries {
		n := strings.ToLower(e.Name)
		if _, dup := x.byName[n]; !dup {
			x.byName[n] = e
		}
		stem := strings.TrimSuffix(n, path.Ext(n))
		// PATHEXT order: a program wins over a script of the same stem.
		if old, dup := x.byStem[stem]; !dup || (path.Ext(strings.ToLower(old.Name)) != ".exe" && path.Ext(n) == ".exe") {
			x.byStem[stem] = e
		}
	}
	return x
}

// lookup finds the entry a bare program name runs, own first.
func (x *index) lookup(name string, own *Entry) *Entry {
	n := strings.ToLower(name)
	if own != nil {
		o := strings.ToLower(own.Name)
		if n == o || (path.Ext(n) == "" && n == strings.TrimSuffix(o, path.Ext(o))) {
			return own
		}
	}
	if e := x.byName[n]; e != nil {
		return e
	}
	if path.Ext(n) == "" {
		return x.byStem[n]
	}
	return nil
}

// identity is the original file name (the PE version resource's OriginalFilename,
// which Sysmon writes as OriginalFileName) of a known program file name, or "".
func (x *index) identity(file string) string {
	n := strings.ToLower(file)
	if id, ok := originalNames[n]; ok {
		return id
	}
	if e := x.byName[n]; e != nil {
		return e.Name
	}
	if _, ok := windowsPrograms[n]; ok {
		return file
	}
	return ""
}

// originalNames are the OriginalFileName values real Sysmon events carry where they
// differ from the file name's case as the catalog writes it (from public Sysmon logs
// and the OriginalFileName selections of SigmaHQ rules). Other programs use the
// catalog's Name, the PE name of most of them.
var originalNames = map[string]string{
	"rundll32.exe":                    "RUNDLL32.EXE",
	"regsvr32.exe":                    "REGSVR32.EXE",
	"mshta.exe":                       "MSHTA.EXE",
	"powershell.exe":                  "PowerShell.EXE",
	"cmd.exe":                         "Cmd.Exe",
	"certutil.exe":                    "CertUtil.exe",
	"certreq.exe":                     "CertReq.exe",
	"certoc.exe":                      "CertOC.exe",
	"cscript.exe":                     "cscript.exe",
	"wscript.exe":                     "wscript.exe",
	"msiexec.exe":                     "msiexec.exe",
	"bitsadmin.exe":                   "bitsadmin.exe",
	"wmic.exe":                        "wmic.exe",
	"cmstp.exe":                       "CMSTP.EXE",
	"msbuild.exe":                     "MSBuild.exe",
	"installutil.exe":                 "InstallUtil.exe",
	"regasm.exe":                      "RegAsm.exe",
	"regsvcs.exe":                     "RegSvcs.exe",
	"hh.exe":                          "HH.exe",
	"control.exe":                     "CONTROL.EXE",
	"odbcconf.exe":                    "odbcconf.exe",
	"forfiles.exe":                    "forfiles.exe",
	"schtasks.exe":                    "schtasks.exe",
	"explorer.exe":                    "EXPLORER.EXE",
	"mmc.exe":                         "MMC.exe",
	"ieexec.exe":                      "IEExec.exe",
	"presentationhost.exe":            "PresentationHost.exe",
	"infdefaultinstall.exe":           "InfDefaultInstall.exe",
	"atbroker.exe":                    "AtBroker.exe",
	"findstr.exe":                     "FINDSTR.EXE",
	"finger.exe":                      "finger.exe",
	"ftp.exe":                         "ftp.exe",
	"mpcmdrun.exe":                    "MpCmdRun.exe",
	"ie4uinit.exe":                    "IE4UINIT.EXE",
	"conhost.exe":                     "CONHOST.EXE",
	"netsh.exe":                       "netsh.exe",
	"bash.exe":                        "Bash.exe",
	"winword.exe":                     "WinWord.exe",
	"excel.exe":                       "Excel.exe",
	"powerpnt.exe":                    "POWERPNT.EXE",
	"outlook.exe":                     "OUTLOOK.EXE",
	"mspub.exe":                       "MSPUB.EXE",
	"msaccess.exe":                    "MSACCESS.EXE",
	"scriptrunner.exe":                "ScriptRunner.exe",
	"microsoft.workflow.compiler.exe": "Microsoft.Workflow.Compiler.exe",
	"msdt.exe":                        "msdt.exe",
	"msxsl.exe":                       "msxsl.exe",
	"csc.exe":                         "csc.exe",
	"wuauclt.exe":                     "wuauclt.exe",
	"more.com":                        "more.com",
	"calc.exe":                        "CALC.EXE",
}
