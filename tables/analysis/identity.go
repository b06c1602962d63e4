package analysis

import (
	"strings"

	"github.com/exechunt/exechunt/tables/analysis/cmdline"
)

// Identity is what a process is, judged from every field its event carries: the
// PE header's original file name and description (Sysmon), the image path, and
// argv[0]. Attackers rename binaries (certutil.exe → cu.exe) to slip past rules that
// match file names; the rules in this package apply to the identity, so a renamed
// regsvr32 is still checked as regsvr32.
type Identity struct {
	// Name is the lower-case base name the rules know the program by, e.g.
	// "rundll32.exe"; the file name when nothing better is known.
	Name string
	// FileName is the lower-case base name of the image (or argv[0]) as run.
	FileName string
	// Source says what Name came from: "original_file_name", "description", or
	// "file_name".
	Source string
}

// Renamed reports whether the program runs under another name than its identity.
// Vendors ship 64-bit builds under their own names (procdump64.exe is "procdump")
// and some catalogue tools under the name of another (Squirrel's Update.exe): a
// tool outside the shells, script hosts, LOLBins and offensive tools counts as
// renamed only under a name no known program has.
func (id Identity) Renamed() bool {
	if id.Source == "file_name" || id.FileName == "" || sameProgram(id.Name, id.FileName) {
		return false
	}
	return familyOf(id.Name) != FamilyOther || identityOnly[id.Name] || !knownProgram(id.FileName)
}

// Identify says what a process is. The PE's OriginalFileName is trusted when it
// names a program the rules know (a shell, script host or LOLBin); the PE
// description stands in for it on older Sysmon schemas (< 4.21) that do not log the
// original name; otherwise the file name is the identity.
func Identify(p Process, argv []string) Identity {
	file := programName(cmdline.CleanPath(p.Image), argv)
	id := Identity{Name: file, FileName: file, Source: "file_name"}
	if n := originalName(p.OriginalFileName); n != "" && knownProgram(n) {
		id.Name, id.Source = n, "original_file_name"
		return id
	}
	if n := descriptionNames[normDescription(p.Description)]; n != "" {
		id.Name, id.Source = n, "description"
	}
	return id
}

// originalName maps a PE OriginalFileName to the base name rules use: lower case,
// without the ".mui" some binaries carry, pwsh's "pwsh.dll" as pwsh.exe.
func originalName(ofn string) string {
	n := strings.ToLower(strings.TrimSpace(ofn))
	n = strings.TrimSuffix(n, ".mui")
	switch n {
	case "", "-", "?":
		return ""
	case "pwsh.dll":
		return "pwsh.exe"
	case "psexec.c":
		return "psexec.exe"
	}
	if i := strings.LastIndexAny(n, `\/`); i >= 0 {
		n = n[i+1:]
	}
	if !strings.Contains(n, ".") {
		n += ".exe"
	}
	return n
}

// knownProgram reports a program some rule of this package is about.
func knownProgram(name string) bool {
	_, lolbas := lolbasRules[name]
	return familyOf(name) != FamilyOther || identityOnly[name] || lolbas
}

// identityOnly are programs outside the families whose identity still matters:
// tools attackers rename to hide (remote execution, dumping, tunnelling).
var identityOnly = set("ftp.exe", "psexec.exe", "paexec.exe", "procdump.exe", "mimikatz.exe", "rclone.exe",
	"nc.exe", "ncat.exe", "plink.exe", "autoit3.exe", "adfind.exe")

// sameProgram reports two base names of one program ("powershell.exe" and
// "powershell", "pwsh.exe" and "pwsh.dll", "procdump.exe" and "procdump64.exe").
func sameProgram(a, b string) bool {
	stem := func(s string) string {
		if i := strings.LastIndexByte(s, '.'); i > 0 {
			s = s[:i]
		}
		return strings.TrimSuffix(strings.TrimSuffix(s, "64"), "32") // Bginfo64, procdump64
	}
	return stem(a) == stem(b)
}

// normDescription lower-cases a PE description and drops the trademark signs and
// spacing that differ between Windows versions ("Microsoft ® Console Based Script
// Host", "Microsoft(R) Console Based Script Host").
func normDescription(d string) string {
	if d == "" || d == "-" {
		return ""
	}
	d = strings.ToLower(d)
	d = strings.NewReplacer("®", " ", "©", " ", "™", " ", "(r)", " ", "(c)", " ", "(tm)", " ").Replace(d)
	return strings.Join(strings.Fields(d), " ")
}

// descriptionNames maps normalised PE descriptions of Windows binaries to their names.
var descriptionNames = func() map[string]string {
	m := map[string]string{}
	for name, descs := range map[string][]string{
		"powershell.exe":     {"Windows PowerShell"},
		"pwsh.exe":           {"pwsh"},
		"powershell_ise.exe": {"Windows PowerShell ISE"},
		"cmd.exe":            {"Windows Command Processor"},
		"rundll32.exe":       {"Windows host process (Rundll32)"},
		"regsvr32.exe":       {"Microsoft(C) Register Server", "Microsoft Register Server"},
		"mshta.exe":          {"Microsoft (R) HTML Application host", "Microsoft HTML Application host"},
		"certutil.exe":       {"CertUtil.exe"},
		"cscript.exe":        {"Microsoft ® Console Based Script Host"},
		"wscript.exe":        {"Microsoft ® Windows Based Script Host"},
		"bitsadmin.exe":      {"BITS administration utility"},
		"msiexec.exe":        {"Windows® installer"},
		"wmic.exe":           {"WMI Commandline Utility"},
		"schtasks.exe":       {"Task Scheduler Configuration Tool", "Manages scheduled tasks"},
		"hh.exe":             {"Microsoft® HTML Help Executable"},
		"msbuild.exe":        {"MSBuild.exe"},
		"installutil.exe":    {"Microsoft .NET Framework installation utility"},
		"regasm.exe":         {"Microsoft .NET Assembly Registration Utility"},
		"regsvcs.exe":        {"Microsoft .NET Services Installation Utility"},
		"csc.exe":            {"Visual C# Command Line Compiler"},
		"cmstp.exe":          {"Microsoft Connection Manager Profile Installer"},
		"ftp.exe":            {"File Transfer Program"},
		"conhost.exe":        {"Console Window Host"},
		"control.exe":        {"Windows Control Panel"},
		"forfiles.exe":       {"ForFiles - Executes a command on selected files"},
		"pcalua.exe":         {"Program Compatibility Assistant"},
		"msxsl.exe":          {"msxsl", "Command Line XSLT Transformation Utility"},
		"odbcconf.exe":       {"ODBC Driver Configuration Program"},
		"certreq.exe":        {"CertReq.exe"},
		"esentutl.exe":       {"Extensible Storage Engine Utilities"},
		"expand.exe":         {"LZ Expansion Utility"},
		"extrac32.exe":       {"Microsoft® CAB File Extract Utility"},
		"msdt.exe":           {"Diagnostics Troubleshooting Wizard"},
		"mavinject.exe":      {"Microsoft Application Virtualization Injector"},
		"finger.exe":         {"TCPIP Finger Command"},
		"psexec.exe":         {"Execute processes remotely"},
		"procdump.exe":       {"Sysinternals process dump utility"},
		"net.exe":            {"Net Command"},
		"curl.exe":           {"The curl executable"},
	} {
		for _, d := range descs {
			m[normDescription(d)] = name
		}
	}
	return m
}()
