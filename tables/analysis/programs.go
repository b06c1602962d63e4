package analysis

import (
	"strings"

	"github.com/exechunt/exechunt/tables/analysis/cmdline"
)

// Families of programs (Result.Family).
const (
	FamilyPowerShell = "powershell"
	FamilyCmd        = "cmd"
	FamilyScriptHost = "script_host"
	FamilyLOLBin     = "lolbin"
	FamilyPosixShell = "posix_shell"
	FamilyOther      = "other"
)

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

var (
	powershellNames = set("powershell.exe", "pwsh.exe", "powershell_ise.exe", "pwsh", "powershell")
	scriptHosts     = set("wscript.exe", "cscript.exe")
	posixShells     = set("sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "fish", "csh", "tcsh", "busybox")

	// lolbins are Windows binaries with a documented proxy-execution, download or
	// indirect-execution abuse (LOLBAS); their arguments get checked.
	lolbins = set("rundll32.exe", "regsvr32.exe", "mshta.exe", "certutil.exe", "bitsadmin.exe",
		"msiexec.exe", "wmic.exe", "schtasks.exe", "hh.exe", "pcalua.exe", "msxsl.exe",
		"installutil.exe", "regasm.exe", "regsvcs.exe", "msbuild.exe", "csc.exe", "cmstp.exe",
		"control.exe", "forfiles.exe", "desktopimgdownldr.exe", "finger.exe", "certreq.exe",
		"esentutl.exe", "expand.exe", "odbcconf.exe", "ieexec.exe", "msdt.exe", "mavinject.exe",
		"at.exe", "winrm.cmd", "conhost.exe", "curl.exe", "wget.exe", "bash.exe", "wsl.exe",
		"scriptrunner.exe", "syncappvpublishingserver.exe", "infdefaultinstall.exe", "register-cimprovider.exe",
		"presentationhost.exe", "atbroker.exe", "dnscmd.exe", "replace.exe", "extrac32.exe", "makecab.exe")

	// Windows executables commonly named without extension on command lines.
	windowsBare = set("powershell", "pwsh", "cmd", "rundll32", "regsvr32", "mshta", "certutil",
		"bitsadmin", "msiexec", "wmic", "schtasks", "hh", "pcalua", "msxsl", "installutil",
		"regasm", "regsvcs", "msbuild", "csc", "cmstp", "control", "forfiles", "wscript",
		"cscript", "desktopimgdownldr", "finger", "certreq", "esentutl", "expand", "odbcconf",
		"conhost", "winrm", "whoami", "net", "net1", "nltest", "systeminfo", "ipconfig", "quser",
		"calc", "notepad", "reg", "sc", "tasklist", "taskkill", "vssadmin", "bcdedit", "wevtutil",
		"winrs", "psexec", "psexec64", "paexec", "remcom", "plink", "at", "cmdkey")
)

// familyOf classifies a lower-case program base name.
func familyOf(program string) string {
	switch {
	case powershellNames[program]:
		return FamilyPowerShell
	case program == "cmd.exe":
		return FamilyCmd
	case scriptHosts[program]:
		return FamilyScriptHost
	case lolbins[program]:
		return FamilyLOLBin
	case posixShells[program]:
		return FamilyPosixShell
	}
	return FamilyOther
}

// shellLike reports whether a child program is what a document, browser or
// server should not start: shells, script hosts and LOLBins.
func shellLike(program string) bool {
	switch familyOf(program) {
	case FamilyPowerShell, FamilyCmd, FamilyScriptHost, FamilyLOLBin, FamilyPosixShell:
		return true
	}
	return false
}

// programName returns the lower-case base name of the program: from the image
// when known (it is authoritative), else from argv[0], adding .exe to bare
// Windows names ("powershell" → "powershell.exe").
func programName(image string, argv []string) string {
	name := cmdline.BaseName(image)
	if name == "" && len(argv) > 0 {
		name = cmdline.BaseName(argv[0])
	}
	if windowsBare[name] {
		name += ".exe"
	}
	return name
}

// Path classes. Paths are compared lower-case with / turned into \.
var (
	// tempDirs are where downloads, mail attachments and droppers land.
	tempDirs = []string{`\temp\`, `\tmp\`, `%temp%`, `%tmp%`, `\downloads\`, `\inetcache\`,
		`\temporary internet files\`, `\content.outlook\`, `\content.ie5\`, `\$recycle.bin\`,
		`\users\public\`, `%public%`, `\appdata\local\packages\microsoft.outlook`, `\dev\shm\`, `\var\tmp\`}
	// userDirs are other places any user can write.
	userDirs = []string{`\users\`, `\appdata\`, `%appdata%`, `%localappdata%`, `%userprofile%`,
		`\programdata\`, `\progra~3\`, `%programdata%`, `\perflogs\`, `\windows\tasks\`,
		`\windows\tracing\`, `\windows\debug\`, `\windows\fonts\`, `\intel\`, `\home\`, `\documents and settings\`}
	// systemDirs hold binaries that only administrators or installers write.
	systemDirs = []string{`\windows\system32\`, `\windows\syswow64\`, `\windows\winsxs\`,
		`\program files\`, `\program files (x86)\`, `\progra~1\`, `\progra~2\`,
		`\windows\microsoft.net\`, `\windows\servicing\`, `%windir%\system32`, `%systemroot%\system32`}
)

func normPath(p string) string {
	p = strings.ToLower(strings.Trim(strings.TrimSpace(p), `"'`))
	p = cmdline.CleanPath(strings.ReplaceAll(p, "/", `\`))
	if strings.HasPrefix(p, `\`) && !strings.HasPrefix(p, `\\`) {
		return p
	}
	return `\` + p // so a leading "tmp\" or "users\" still matches
}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// inTemp reports a path in Temp, Downloads, browser/mail caches, Public or the
// Recycle Bin (or /tmp, /dev/shm, /var/tmp).
func inTemp(p string) bool {
	n := normPath(p)
	return containsAny(n, tempDirs) || strings.HasPrefix(n, `\tmp\`)
}

// inUserWritable reports a path any user can write: inTemp plus profiles,
// AppData, ProgramData and the writable corners of \Windows; also UNC shares
// and WebDAV, which are remote content.
func inUserWritable(p string) bool {
	n := normPath(p)
	if strings.HasPrefix(n, `\\\`) || strings.HasPrefix(strings.TrimLeft(p, `"' `), `\\`) {
		return true // UNC path
	}
	return inTemp(p) || containsAny(n, userDirs)
}

// inPayloadPlace reports where a proxy-executed payload (a .chm, .cpl, .inf or
// DLL handed to hh, control, cmstp, rundll32, msiexec) is out of place: a
// user-writable folder, or a folder of its own at the root of a drive. Scheduled
// tasks and services keep inUserWritable: administrators run their own tools from
// such folders (C:\Tools\), but Windows' proxies load payloads from them only when
// made to.
func inPayloadPlace(p string) bool {
	return inUserWritable(p) || inRootFolder(normPath(p))
}

// rootFolders are the folders Windows, its setup and its servicing create at the
// root of a drive. Any other folder there (C:\tools\, C:\payloads\, D:\x\) was
// made by a user or a program: the root of a Windows drive lets every
// authenticated user create folders, and what is put in them inherits that access.
var rootFolders = set("windows", "program files", "program files (x86)", "progra~1", "progra~2",
	"programdata", "progra~3", "users", "documents and settings", "perflogs", "$recycle.bin",
	"system volume information", "recovery", "boot", "efi", "config.msi", "windows.old", "$windows.~bt",
	"$windows.~ws", "$winreagent", "$sysreset", "msocache", "inetpub", "windowsapps")

// inRootFolder reports a file in a folder of its own at the root of a drive
// (n is normPath's form: \c:\folder\...\file), other than the rootFolders.
func inRootFolder(n string) bool {
	var rest string
	switch {
	case len(n) > 4 && n[0] == '\\' && n[2] == ':' && n[3] == '\\' && n[1] >= 'a' && n[1] <= 'z':
		rest = n[4:]
	case strings.HasPrefix(n, `\%systemdrive%\`):
		rest = n[len(`\%systemdrive%\`):]
	default:
		return false
	}
	folder, file, ok := strings.Cut(rest, `\`)
	return ok && folder != "" && file != "" && !rootFolders[folder] && !strings.HasPrefix(folder, "$")
}

// inSystemDir reports a path under Windows system folders or Program Files.
func inSystemDir(p string) bool {
	return containsAny(normPath(p), systemDirs)
}

// hasPathSep reports whether p names a directory, not just a file.
func hasPathSep(p string) bool { return strings.ContainsAny(p, `\/`) }

// ext returns the lower-case extension of a path, with the dot ("" if none).
func ext(p string) string {
	b := cmdline.BaseName(p)
	if i := strings.LastIndexByte(b, '.'); i >= 0 {
		return b[i:]
	}
	return ""
}
