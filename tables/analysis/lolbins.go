package analysis

import (
	"net"
	"strings"

	"github.com/exechunt/exechunt/tables/analysis/cmdline"
)

// lolbinArgs is a LOLBin command line prepared for the per-program rules.
type lolbinArgs struct {
	cl    string   // normalised command line
	lower string   // cl lower-case
	rest  string   // raw text after the program
	args  []string // argv[1:]
	low   []string // args lower-case
}

// isSwitch reports an argument that is a switch (/x, -x, //x), not a path.
func isSwitch(a string) bool {
	if len(a) < 2 || (a[0] != '-' && a[0] != '/') {
		return false
	}
	if a[0] == '-' {
		return true
	}
	name := a[1:]
	if i := strings.IndexAny(name, ":="); i >= 0 {
		name = name[:i]
	}
	return !strings.Contains(name, "/") || strings.HasPrefix(a, "//")
}

// operands returns the non-switch arguments.
func (l lolbinArgs) operands() []string {
	var out []string
	for _, a := range l.args {
		if !isSwitch(a) {
			out = append(out, a)
		}
	}
	return out
}

// has reports a switch in either - or / form (lower-case name without dash).
func (l lolbinArgs) has(names ...string) bool {
	for _, a := range l.low {
		if !isSwitch(a) {
			continue
		}
		a = strings.TrimLeft(a, "-/")
		for _, n := range names {
			if a == n || strings.HasPrefix(a, n+":") || strings.HasPrefix(a, n+"=") {
				return true
			}
		}
	}
	return false
}

// value returns the value of a switch given as /x value, /x:value or /x=value.
func (l lolbinArgs) value(name string) string {
	for i, a := range l.low {
		if !isSwitch(a) {
			continue
		}
		b := strings.TrimLeft(a, "-/")
		switch {
		case b == name && i+1 < len(l.args):
			return l.args[i+1]
		case strings.HasPrefix(b, name+":"), strings.HasPrefix(b, name+"="):
			raw := strings.TrimLeft(l.args[i], "-/")
			return strings.Trim(raw[len(name)+1:], `"`)
		}
	}
	return ""
}

func hasURL(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "http://") || strings.Contains(s, "https://") || strings.Contains(s, "ftp://") ||
		strings.Contains(s, "\\\\") && strings.Contains(s, "@ssl") || strings.HasPrefix(strings.Trim(s, `"' `), `\\`)
}

// lolbin dispatches the per-program argument rules.
func (st *state) lolbin(program, cl string, argv []string, p Process, depth int) {
	if len(argv) == 0 {
		return
	}
	l := lolbinArgs{cl: cl, lower: strings.ToLower(cl), rest: cmdline.RestAfterArgs(cl, 1), args: argv[1:]}
	for _, a := range l.args {
		l.low = append(l.low, strings.ToLower(a))
	}
	if depth == 0 {
		for _, a := range l.low {
			if isSwitch(a) {
				st.res.Flags = append(st.res.Flags, a)
			}
		}
	}
	switch program {
	case "regsvr32.exe":
		st.regsvr32(l)
	case "rundll32.exe":
		st.rundll32(l)
	case "mshta.exe":
		st.mshta(l)
	case "schtasks.exe":
		st.schtasks(l, depth)
	case "wmic.exe":
		st.wmic(l, depth)
	case "certutil.exe":
		st.certutil(l)
	case "bitsadmin.exe":
		if l.has("transfer", "addfile", "setnotifycmdline", "download") {
			st.tag(tagBitsadminTransfer)
		}
	case "msiexec.exe":
		st.msiexec(l)
	case "wscript.exe", "cscript.exe":
		st.scriptHost(l, p)
	case "hh.exe":
		if hasURL(l.rest) || strings.Contains(l.lower, "ms-its:http") || (inPayloadPlace(l.rest) && hasPathSep(l.rest)) {
			st.tag(tagHH)
		}
	case "pcalua.exe":
		if l.has("a") {
			st.tag(tagPcalua)
		}
	case "forfiles.exe":
		// Housekeeping passes @file/@path to the command; running a program
		// with no placeholder is indirect execution.
		if c := l.value("c"); c != "" && !strings.Contains(c, "@") {
			st.tag(tagForfiles)
		}
	case "msxsl.exe":
		if len(l.operands()) > 0 {
			st.tag(tagMsxsl)
		}
	case "installutil.exe":
		if ops := l.operands(); (len(ops) > 0 && !inSystemDir(ops[0])) || (l.has("logfile") && strings.Contains(l.lower, "/logtoconsole=false")) {
			st.tag(tagInstallUtil)
		}
	case "regasm.exe", "regsvcs.exe":
		if ops := l.operands(); len(ops) > 0 && !inSystemDir(ops[0]) {
			st.tag(tagRegasm)
		}
	case "msbuild.exe":
		st.msbuild(l)
	case "csc.exe":
		st.csc(l)
	case "cmstp.exe":
		if ops := l.operands(); len(ops) > 0 && (hasURL(ops[0]) || inPayloadPlace(ops[0]) || !hasPathSep(ops[0])) && l.has("s", "ni", "au") {
			st.tag(tagCmstp)
		}
	case "control.exe":
		if ops := l.operands(); len(ops) > 0 && hasPathSep(ops[0]) && inPayloadPlace(ops[0]) {
			st.tag(tagControlCPL)
		}
	case "desktopimgdownldr.exe":
		if strings.Contains(l.lower, "/lockscreenurl:") {
			st.tag(tagLolbinDownload)
		}
	case "finger.exe":
		st.tag(tagLolbinDownload)
	case "certreq.exe":
		if l.has("post", "config") && hasURL(l.rest) {
			st.tag(tagLolbinDownload)
		}
	case "esentutl.exe", "expand.exe", "extrac32.exe", "replace.exe":
		if hasURL(l.rest) {
			st.tag(tagLolbinDownload)
		}
	case "conhost.exe":
		st.conhost(l, depth)
	case "curl.exe", "wget.exe", "curl", "wget":
		st.toolDownload(l)
		if program == "curl.exe" {
			st.curlPayload(l)
		}
	}
	st.lolbasCheck(program, l)
}

// regsvr32: Squiblydoo (/i:URL scrobj.dll), local scriptlets, user DLLs.
func (st *state) regsvr32(l lolbinArgs) {
	i := l.value("i")
	scrobj := strings.Contains(l.lower, "scrobj")
	switch {
	case i != "" && hasURL(i):
		st.tag(tagRegsvr32RemoteSCT)
	case scrobj || strings.HasSuffix(strings.ToLower(i), ".sct"):
		st.tag(tagRegsvr32Scriptlet)
	}
	for _, op := range l.operands() {
		e := ext(op)
		if (hasPathSep(op) && inPayloadPlace(op)) || (e != ".dll" && e != ".ocx" && e != ".ax" && e != ".cpl" && !strings.Contains(strings.ToLower(op), "scrobj")) {
			st.tag(tagRegsvr32UserDLL)
		}
		if hasPathSep(op) && inTemp(op) || hasURL(op) {
			st.tag(tagLolbinProxyExec) // a DLL registered from Temp, Public, Downloads or a share
		}
	}
}

// systemDLLs are DLLs rundll32 commonly loads by bare name from System32.
var systemDLLs = set("shell32", "user32", "kernel32", "advapi32", "url", "ieframe", "shdocvw",
	"zipfldr", "advpack", "ieadvpack", "pcwutl", "setupapi", "syssetup", "printui", "mshtml",
	"comsvcs", "davclnt", "dfshim", "keymgr", "appwiz", "desk", "inetcpl", "timedate", "sysdm",
	"powrprof", "themeui", "display", "cryptext", "photoviewer", "shimgvw", "msi", "apphelp",
	"dsquery", "ndfapi", "acproxy", "werconcpl", "shwebsvc", "cryptui", "netplwiz", "mscoree",
	"tsworkspace", "edgehtml", "windows.storage", "twinui", "devmgr", "rasdlui", "iesetup",
	"wininet", "fontext", "cscui", "newdev", "srclient", "uxtheme", "aepdu", "aeinv",
	"appxdeploymentclient", "hotplug", "certcli", "certmgr", "mmsys", "main", "ncpa", "hdwwiz",
	"intl", "joy", "mmsys", "wscui", "firewall", "bthprops", "sensorscpl", "tabletpc", "telephon",
	"access", "irprops", "input", "openurl", "dwmapi", "msrating", "mycomput", "netshell",
	"networkexplorer", "shdocvw", "scrptadm", "spwizui", "syncui", "tcpmonui", "usbui", "van",
	"winethc", "sfc", "sfc_os", "storprop", "dxdiagn", "gameux", "inetcomm", "migwiz",
	"sysmain", "winlogon", "dfdts", "fdprint", "pla", "printfilterpipelineprxy", "ntshrui",
	"wpcrbp", "edgemanager", "sechost", "cmdial32", "pnpclean", "wlanpref", "wuaueng",
	"wuapi", "webcheck", "libsmartscreen", "shunimpl", "ieadvpack", "mfc42u", "thumbcache")

// urlHandlers are DLL exports that open or run what they are given.
var urlHandlers = set("openurl", "openurla", "fileprotocolhandler", "fileprotocolhandlera",
	"routethecall", "launchinfsection", "launchinfsectionex", "registerocx", "launchapplication",
	"shellexec_rundll", "shellexec_rundlla", "installhinfsection", "setupinfobjectinstallaction",
	"rundll32_shellexec")

// rundll32: script, URL/file handlers, MiniDump, DLLs from odd places.
func (st *state) rundll32(l lolbinArgs) {
	if strings.Contains(l.lower, "javascript:") || strings.Contains(l.lower, "vbscript:") ||
		strings.Contains(l.lower, "runhtmlapplication") {
		st.tag(tagRundll32Script)
		return
	}
	ops := l.operands()
	if len(ops) == 0 {
		return
	}
	target := ops[0]
	rest := ops[1:]
	if !strings.Contains(target, ",") && len(rest) > 0 && strings.HasPrefix(rest[0], ",") {
		target += rest[0]
		rest = rest[1:]
	}
	dll, export, _ := strings.Cut(target, ",")
	dll = strings.TrimSpace(strings.Trim(dll, `"`))
	export = strings.ToLower(strings.TrimSpace(strings.Trim(export, `" `)))
	if f := strings.Fields(export); len(f) > 0 {
		export = f[0]
	}
	// rundll32 also takes the export after a blank: "x.dll, MiniDump", "x.dll #24".
	if export == "" && len(rest) > 0 {
		export, rest = strings.ToLower(strings.Trim(rest[0], `",`)), rest[1:]
	}
	hasExport := export != ""
	base := cmdline.BaseName(dll)
	stem := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(base, ".dll"), ".cpl"), ".ocx")
	arg := strings.ToLower(strings.Join(rest, " "))
	switch {
	case stem == "comsvcs" && (strings.Contains(export, "minidump") || strings.HasPrefix(strings.TrimLeft(export, "#+0"), "24")):
		st.tag(tagRundll32MiniDump, tagCredentialDump)
		return
	case stem == "dfshim" && strings.HasPrefix(export, "shopenverbapplication") && hasURL(arg),
		(stem == "photoviewer" || stem == "shimgvw") && strings.HasPrefix(export, "imageview_fullscreen") && hasURL(arg),
		stem == "scrobj" && export == "generatetypelib" && hasURL(arg):
		st.tag(tagLolbinDownload)
		return
	case stem == "mshtml" && export == "printhtml" && len(rest) > 0 && isPayload(rest[0]),
		stem == "desk" && export == "installscreensaver" && len(rest) > 0 && isPayload(rest[0]):
		st.tag(tagLolbinProxyExec)
		return
	case urlHandlers[export]:
		if arg != "" && !strings.HasPrefix(arg, "http://") && !strings.HasPrefix(arg, "https://") && !strings.HasPrefix(arg, "mailto:") {
			st.tag(tagRundll32URL)
		}
		return
	case stem == "shell32" && (export == "control_rundll" || export == "control_rundlla" || export == "#44"):
		if len(rest) > 0 && (hasPathSep(rest[0]) && inPayloadPlace(rest[0]) || !hasPathSep(rest[0]) && isPayload(rest[0])) {
			st.tag(tagControlCPL)
		}
		return
	}
	e := ext(dll)
	inSys := hasPathSep(dll) && inSystemDir(dll)
	switch {
	case hasPathSep(dll) && inPayloadPlace(dll):
		st.tag(tagRundll32UserDLL)
	case inSys:
	case e != "" && e != ".dll" && e != ".cpl" && e != ".ocx" && e != ".drv" && e != ".exe":
		st.tag(tagRundll32UserDLL) // odd extension: .tmp, .dat, .png, ...
	case !hasPathSep(dll) && !systemDLLs[stem]:
		st.tag(tagRundll32UserDLL) // relative, not a system DLL: loaded from the working directory
	case !hasExport && e != "":
		st.tag(tagRundll32UserDLL) // no export named
	case strings.HasPrefix(export, "#") && !systemDLLs[stem]:
		st.tag(tagRundll32UserDLL)
	}
}

// mshta: URLs, inline script, HTAs outside system folders.
func (st *state) mshta(l lolbinArgs) {
	if strings.Contains(l.lower, "javascript:") || strings.Contains(l.lower, "vbscript:") || strings.Contains(l.lower, "about:") {
		st.tag(tagMshta)
		return
	}
	for _, op := range l.operands() {
		if strings.HasPrefix(op, "{") { // a GUID argument passed to the HTA
			continue
		}
		if hasURL(op) || !hasPathSep(op) || inUserWritable(op) || ext(op) != ".hta" || !inSystemDir(op) {
			st.tag(tagMshta)
		}
		return
	}
}

// shellNames are programs that run arbitrary code when a task starts them.
var shellNames = []string{"powershell", "pwsh", "cmd.exe", "cmd /", "mshta", "wscript", "cscript",
	"rundll32", "regsvr32", "certutil", "bitsadmin", "msbuild", "installutil", "regasm", "javascript:", "vbscript:"}

// schtasks: task creation and what the task runs.
func (st *state) schtasks(l lolbinArgs, depth int) {
	if !l.has("create", "change") {
		return
	}
	st.tag(tagSchtasksCreate)
	tr := l.value("tr")
	if tr != "" {
		low := strings.ToLower(tr)
		if inUserWritable(tr) || hasURL(tr) || containsAny(low, shellNames) {
			st.tag(tagSchtasksAction)
		}
		st.commandLine(tr, Process{ParentImage: "svchost.exe"}, depth+1)
	}
	if x := l.value("xml"); x != "" && inUserWritable(x) {
		st.tag(tagSchtasksAction)
	}
	if ru := strings.ToLower(strings.Trim(l.value("ru"), `"`)); ru == "system" || ru == `nt authority\system` || ru == "localsystem" {
		st.tag(tagSchtasksSystem)
	}
	if s := strings.ToLower(l.value("s")); s != "" && s != "localhost" && s != "127.0.0.1" && s != "." {
		st.tag(tagSchtasksRemote)
		if l.has("p") {
			st.cleartextPassword(l.value("p"))
		}
	}
	if tn := strings.ToLower(strings.Trim(l.value("tn"), `"`)); strings.HasPrefix(strings.TrimLeft(tn, `\`), `microsoft\windows\`) {
		st.tag(tagSchtasksMasquerade)
	}
}

// serviceBinPath: sc create or sc config with a binPath= that runs a shell, script
// host or LOLBin, or a program from Temp, Downloads, Public, the Desktop or
// Startup. Installers and management agents register their own service
// executables (Program Files, System32, ProgramData); a service whose binary is
// "cmd /c powershell …" or a file in Temp is how PsExec-style tools, Metasploit
// and ransomware run a command as SYSTEM. The binPath is analysed as a command
// line of its own, as services.exe will run it.
func (st *state) serviceBinPath(argv []string, depth int) {
	verb := -1
	for i, a := range argv[1:] {
		if l := strings.ToLower(a); l == "create" || l == "config" {
			verb = i + 1
			break
		}
	}
	if verb < 0 {
		return
	}
	for i := verb + 1; i < len(argv); i++ {
		a := strings.ToLower(argv[i])
		if !strings.HasPrefix(a, "binpath=") {
			continue
		}
		bin := argv[i][len("binpath="):]
		if bin == "" && i+1 < len(argv) {
			bin = argv[i+1]
		}
		st.serviceBinary(bin, depth)
		return
	}
}

// serviceBinary judges the command line a service will run (an sc binPath=, a
// registry ImagePath or ServiceDll) and analyses it as services.exe will start it.
func (st *state) serviceBinary(bin string, depth int) {
	bin = strings.TrimSpace(bin)
	if bin == "" {
		return
	}
	low := strings.ToLower(bin)
	first := strings.Trim(firstField(low), `"'`)
	// Where droppers land (Temp, Downloads, Public, caches), the Desktop, the
	// Startup folder, or the component store (WinSxS, copies of system binaries no
	// service runs from: a service there hides behind a genuine file, as Snake's
	// does); not ProgramData or AppData, where management agents and per-user
	// software install their own services.
	if containsAny(low, shellNames) || hasURL(bin) || strings.HasPrefix(first, "%comspec%") ||
		hasPathSep(first) && (inTemp(first) || containsAny(normPath(first), []string{`\desktop\`, `\start menu\programs\startup\`, `\winsxs\`})) {
		st.tag(tagServiceBinPath)
	}
	if strings.HasPrefix(low, "%comspec%") {
		bin = "cmd.exe" + bin[len("%comspec%"):]
	}
	st.commandLine(bin, Process{ParentImage: `C:\Windows\System32\services.exe`}, depth+1)
}

// broadTrustees are SDDL trustees that stand for many or unknown principals
// (Everyone, Authenticated Users, Builtin Users, Interactive, Service, Anonymous)
// and, for deny entries, the ones a defender works as (Administrators, SYSTEM).
var (
	broadTrustees = set("wd", "au", "bu", "iu", "su", "an", "bg")
	denyTrustees  = set("wd", "au", "bu", "iu", "su", "ba", "sy")
)

// serviceDACL: sc sdset giving a service (or scmanager) a descriptor whose DACL
// allows broad trustees or denies access to defenders. Services are created with
// a descriptor that only administrators and SYSTEM may change; rewriting it is how
// a service is opened to everyone (privilege escalation, persistence) or hidden.
func (st *state) serviceDACL(argv []string) {
	for i, a := range argv[1:] {
		if !strings.EqualFold(a, "sdset") {
			continue
		}
		if i+3 < len(argv) && sddlWeakened(argv[i+3]) {
			st.tag(tagServiceDACL)
		}
		return
	}
}

// controlRights are SDDL rights that hand over a service: change its
// configuration (DC), its DACL (WD) or owner (WO), delete it (SD), or all rights
// (KA, GA, GW). Query, start and stop rights are how administrators delegate.
var controlRights = set("dc", "wd", "wo", "sd", "ka", "ga", "gw")

// grantsControl reports an SDDL rights string (two letters per right) with a
// control right in it.
func grantsControl(rights string) bool {
	for i := 0; i+2 <= len(rights); i += 2 {
		if controlRights[rights[i:i+2]] {
			return true
		}
	}
	return false
}

// sddlWeakened reports an SDDL string whose DACL holds an allow entry for a
// broad trustee with a control right, or a deny entry for the trustees above.
func sddlWeakened(sddl string) bool {
	sddl = strings.ToLower(strings.Trim(sddl, `"'`))
	dacl, ok := strings.CutPrefix(sddl, "d:")
	if !ok {
		_, dacl, ok = strings.Cut(sddl, "d:")
		if !ok {
			return false
		}
	}
	if i := strings.Index(dacl, "s:"); i >= 0 && !strings.Contains(dacl[:i], "(") {
		return false
	}
	for _, ace := range strings.Split(dacl, "(")[1:] {
		ace, _, _ = strings.Cut(ace, ")")
		f := strings.Split(ace, ";")
		if len(f) < 6 {
			continue
		}
		typ, rights, trustee := f[0], f[2], f[5]
		switch {
		case typ == "a" && broadTrustees[trustee] && grantsControl(rights):
			return true
		case typ == "d" && denyTrustees[trustee]:
			return true
		}
	}
	return false
}

// wmicFormats are wmic's built-in /format: stylesheets.
var wmicFormats = set("csv", "htable", "hform", "list", "table", "xml", "rawxml", "textvaluelist",
	"value", "mof", "texttable", "wmiclimofformat", "wmiclitableformat", "wmiclivalueformat")

var wmicRecon = []string{"product", "qfe", "service", "csproduct", "useraccount", "group", "nicconfig",
	"computersystem", "startup", "share", "logicaldisk", "securitycenter", "antivirusproduct", "os get", "bios", "sysaccount", "ntdomain",
	"process get", "process list"}

// wmicDiscovery are the wmic queries an intruder plans with, which hardware and
// OS inventory (csproduct, bios, os, computersystem, logicaldisk) are not: the
// patch level (qfe), accounts, groups, shares, startup entries, the domain, the
// security products, every process's command line.
var wmicDiscovery = set("qfe", "useraccount", "group", "sysaccount", "ntdomain", "share", "netuse", "startup",
	"antivirusproduct", "securitycenter", "firewallproduct")

// securityVendors are words in the names of security products and monitoring
// agents, as installed-software lists show them.
var securityVendors = []string{"sophos", "symantec", "norton", "mcafee", "trellix", "eset", "kaspersky", "trend micro",
	"bitdefender", "crowdstrike", "falcon", "sentinel", "carbon black", "cylance", "malwarebytes", "webroot", "avast",
	"avg ", "defender", "cortex", "traps", "tanium", "sysmon", "aurora", "elastic", "wazuh", "ossec", "qualys",
	"rapid7", "insight agent", "cybereason", "fireeye", "f-secure", "withsecure", "panda", "vipre",
	"huntress", "deep security", "apex one", "endpoint protection", "antivirus", "anti-virus", "edr", "osquery",
	"splunk", "nxlog", "winlogbeat", "velociraptor"}

// wmicDiscovers reports wmic reading or changing what wmicDiscovery names, a
// security product looked up by name or uninstalled (other products are how
// deployment scripts check versions and remove old ones), services' binary paths
// (unquoted-path privilege escalation), services changed or stopped through WMI
// (starting one is ordinary), a remote node's services, or any method called on
// a node named with /node:.
func wmicDiscovers(low string, remote bool) bool {
	for _, w := range strings.Fields(low) {
		if wmicDiscovery[strings.Trim(w, `"'`)] {
			return true
		}
	}
	switch {
	case strings.Contains(low, "process list full"),
		strings.Contains(low, "process") && strings.Contains(low, "commandline") && !strings.Contains(low, "call create"):
		return true
	case strings.Contains(low, "product") && (strings.Contains(low, " where ") || strings.Contains(low, " call ")) &&
		containsAny(low, securityVendors):
		return true // is a security product installed (T1518.001)? uninstall it (T1562.001)
	case remote && strings.Contains(low, " call "):
		return true // a method called on a node named with /node: (T1047 remote)
	case strings.Contains(low, "service") && (strings.Contains(low, "pathname") || remote ||
		strings.Contains(low, " call ") && !strings.Contains(low, "call startservice")):
		return true
	}
	return false
}

// wmic: process creation, remote XSL, remote nodes, reconnaissance.
func (st *state) wmic(l lolbinArgs, depth int) {
	low := strings.Join(l.low, " ")
	if i := strings.Index(low, "process call create"); i >= 0 || strings.Contains(low, "process call create") {
		st.tag(tagWMIProcessCreate)
		if j := strings.Index(asciiLower(l.rest), "create"); j >= 0 {
			inner := strings.Trim(strings.TrimSpace(l.rest[j+len("create"):]), `"`)
			inner = strings.ReplaceAll(inner, `\"`, `"`)
			st.commandLine(inner, Process{ParentImage: "wmiprvse.exe"}, depth+1)
		}
	}
	if f := strings.ToLower(strings.Trim(l.value("format"), `"'`)); f != "" {
		if hasURL(f) || hasPathSep(f) || (!wmicFormats[strings.TrimSuffix(f, ".xsl")] && !strings.Contains(f, ":")) {
			st.tag(tagWmicXSL)
		}
	}
	if n := strings.ToLower(strings.Trim(l.value("node"), `"'`)); n != "" && n != "localhost" && n != "127.0.0.1" && n != "." {
		st.tag(tagWmicRemote)
	}
	if l.has("password") {
		st.cleartextPassword(l.value("password"))
	}
	if containsAny(low, wmicRecon) {
		st.tag(tagWmicRecon)
	}
	if wmicDiscovers(low, l.value("node") != "") {
		st.tag(tagWmicDiscovery)
	}
}

// certutil: downloads, decoding, encoding.
func (st *state) certutil(l lolbinArgs) {
	if l.has("urlcache", "verifyctl", "url") && (hasURL(l.rest) || l.has("f", "split")) {
		st.tag(tagCertutilDownload)
	}
	// -syncWithWU reads certificate files from the folder it is given: a share or a
	// URL makes certutil fetch from (and authenticate to) an attacker's host.
	if v := l.value("syncwithwu"); v != "" && (hasURL(v) || strings.HasPrefix(strings.Trim(v, `"'`), `\\`)) {
		st.tag(tagCertutilDownload)
	}
	if l.has("decode", "decodehex") {
		st.tag(tagCertutilDecode)
	}
	if l.has("encode", "encodehex") {
		st.tag(tagCertutilEncode)
		// Encoding certificates is what the switch is for; encoding anything else (a
		// script, an executable, a document) prepares a payload or data to smuggle.
		if ops := l.operands(); len(ops) > 0 && ext(ops[0]) != "" && !certExts[ext(ops[0])] {
			st.tag(tagCertutilEncodePayload)
		}
	}
}

// certExts are the files certutil -encode is meant for.
var certExts = set(".cer", ".crt", ".pem", ".der", ".p7b", ".p7c", ".p7s", ".pfx", ".p12", ".req", ".csr", ".crl", ".sst", ".key", ".spc")

// msiexec: remote packages, DLL registration from user paths.
func (st *state) msiexec(l lolbinArgs) {
	// A property given a URL: TRANSFORMS="https://…" fetches a transform.
	for _, v := range l.values() {
		if _, val, ok := strings.Cut(v, "="); ok && remotePackage(val) {
			st.tag(tagMsiexecRemote)
			return
		}
	}
	for _, sw := range []string{"i", "package", "a", "j", "update", "fa", "fu"} {
		if v := l.value(sw); v != "" && remotePackage(v) {
			st.tag(tagMsiexecRemote)
			return
		}
	}
	if strings.Contains(l.lower, "/i http") || strings.Contains(l.lower, "-i http") {
		st.tag(tagMsiexecRemote)
		return
	}
	// A package installed quietly from where no installer stages one (Public,
	// PerfLogs, the Recycle Bin): bootstrappers extract into Temp, deployment
	// tools into their caches or a share.
	if l.has("q", "qn", "qb", "quiet", "passive") {
		for _, sw := range []string{"i", "package"} {
			if v := strings.Trim(l.value(sw), `"' `); v != "" && containsAny(normPath(v), stagingOnlyDirs) {
				st.tag(tagLolbinProxyExec)
				return
			}
		}
	}
	// /y and /z call a DLL's DllRegisterServer or DllUnregisterServer: Windows
	// Installer's own DLLs live in the system folders, anything else is a payload.
	for _, sw := range []string{"y", "z"} {
		if v := strings.Trim(l.value(sw), `"' `); v != "" && !isSwitch(v) && (inUserWritable(v) || hasPathSep(v) && !inSystemDir(v)) {
			st.tag(tagMsiexecRemote)
		}
	}
}

// stagingOnlyDirs are folders any user can write that no installer or updater
// uses: what is run from them was put there to be run.
var stagingOnlyDirs = []string{`\users\public\`, `%public%`, `\perflogs\`, `\$recycle.bin\`}

// remotePackage reports a package Windows Installer would fetch from outside the
// organisation: a URL, WebDAV (\\host@SSL\…, DavWWWRoot) or a share named by a bare
// IP address. A file server's share (\\fs01\deploy\app.msi) is how software
// deployment and Group Policy install packages, not a remote payload.
func remotePackage(v string) bool {
	v = strings.ToLower(strings.Trim(strings.TrimSpace(v), `"'`))
	if strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "ftp://") {
		return true
	}
	host, ok := strings.CutPrefix(v, `\\`)
	if !ok {
		return false
	}
	host, _, _ = strings.Cut(host, `\`)
	return strings.Contains(host, "@") || strings.Contains(v, "davwwwroot") || net.ParseIP(host) != nil
}

// scriptExts are what wscript/cscript run without an engine override.
var scriptExts = set(".vbs", ".vbe", ".js", ".jse", ".wsf", ".wsh", ".wsc")

// jscriptExts are script files administrators do not write: JScript and the
// encoded (screnc) forms of either language.
var jscriptExts = set(".js", ".jse", ".vbe")

// scriptHost: engine overrides, odd extensions, scripts in user paths.
func (st *state) scriptHost(l lolbinArgs, p Process) {
	for _, a := range l.low {
		if strings.HasPrefix(a, "//e:") || strings.HasPrefix(a, "/e:") || strings.HasPrefix(a, "-e:") {
			st.tag(tagScriptHostEngine)
		}
	}
	for _, op := range l.operands() {
		if strings.HasPrefix(op, "//") {
			continue
		}
		if e := ext(op); e != "" && !scriptExts[e] {
			st.tag(tagScriptHostEngine)
		}
		userFile := false
		switch {
		case inTemp(op):
			st.tag(tagScriptHostTemp)
			userFile = true
		case hasPathSep(op) && inUserWritable(op):
			st.tag(tagScriptHostUser)
			userFile = true
		case hasPathSep(op) && inRootFolder(normPath(op)):
			st.tag(tagScriptHostUser) // C:\payloads\x.js: any user may create such a folder
		}
		if jscriptExts[ext(op)] && !(hasPathSep(op) && inSystemDir(op)) {
			st.tag(tagScriptHostJScript)
		}
		switch base := cmdline.BaseName(op); {
		case base == "winrm.vbs" && strings.Contains(l.lower, "invoke") && strings.Contains(l.lower, "create") &&
			(strings.Contains(l.lower, "win32_process") || strings.Contains(l.lower, "win32_service")):
			st.tag(tagWMIProcessCreate)
		case base == "winrm.vbs" && strings.Contains(l.lower, "-format:") && hasPathSep(p.Image) && !inSystemDir(p.Image):
			st.tag(tagLolbinProxyExec) // a script host copied beside a planted WsmPty.xsl (T1220)
		case (base == "syncappvpublishingserver.vbs" || base == "pubprn.vbs") && strings.Contains(l.lower, ";") ||
			base == "pubprn.vbs" && strings.Contains(l.lower, "script:"):
			st.tag(tagLolbinProxyExec)
		}
		// Explorer as the parent means the user opened the script file (a double-click
		// on a mail attachment or a download), the delivery step of T1204.002.
		unc := strings.HasPrefix(strings.TrimLeft(op, `"' `), `\\`)
		if userFile && !unc && programName(p.ParentImage, nil) == "explorer.exe" {
			st.tag(tagScriptOpenedByUser)
		}
		return // arguments after the script belong to the script
	}
}

var projectExts = set(".proj", ".csproj", ".vbproj", ".fsproj", ".vcxproj", ".sln", ".targets",
	".props", ".msbuildproj", ".sqlproj", ".wixproj", ".nuproj", ".shproj", ".slnf", ".rsp", ".binlog")

// msbuild: inline-task projects from Temp, user data folders or odd files.
func (st *state) msbuild(l lolbinArgs) {
	// A logger DLL of the caller's choosing (/logger:Class,C:\x\a.dll).
	for _, sw := range []string{"logger", "l", "distributedlogger", "dl"} {
		if switchPayload(sw)(l) {
			st.tag(tagLolbinProxyExec)
			return
		}
	}
	for _, op := range l.operands() {
		n := normPath(op)
		if inTemp(op) || (ext(op) != "" && !projectExts[ext(op)]) ||
			(inUserWritable(op) && containsAny(n, []string{`\appdata\`, `\programdata\`, `\public\`})) {
			st.tag(tagMSBuild)
		}
		return
	}
}

// csc: compiling sources from user data folders, except PowerShell Add-Type
// (which passes an @...cmdline response file).
//
// A program compiled straight into Temp (/out:%TEMP%\x.exe) from a command line is
// a payload built on the host to run next (T1027.004); build systems write to
// their own output folders, and .NET's runtime compilation uses a response file.
func (st *state) csc(l lolbinArgs) {
	for _, a := range l.low {
		if strings.HasPrefix(strings.Trim(a, `"`), "@") {
			return
		}
	}
	if out := l.value("out"); out != "" && inTemp(out) && (ext(out) == ".exe" || ext(out) == ".dll" || ext(out) == ".scr") {
		st.tag(tagLolbinCompile)
	}
	for _, op := range l.operands() {
		if strings.HasSuffix(strings.ToLower(op), ".cs") && (inTemp(op) || containsAny(normPath(op), []string{`\appdata\`, `\programdata\`, `\public\`})) {
			st.tag(tagCscUser)
			return
		}
	}
}

// conhostOptions are conhost switches that take a value.
var conhostOptions = set("--width", "--height", "--signal", "--server", "--vtmode", "--feature")

// conhost: --headless followed by a command (ConPTY's own use has none).
func (st *state) conhost(l lolbinArgs, depth int) {
	if !contains(l.low, "--headless") {
		if codeOperand(l) { // conhost.exe payload.exe: the console host as a launcher
			st.tag(tagLolbinProxyExec)
		}
		return
	}
	for i := 0; i < len(l.args); i++ {
		a := l.low[i]
		if conhostOptions[a] {
			i++
			continue
		}
		if strings.HasPrefix(a, "-") || strings.HasPrefix(a, "0x") {
			continue
		}
		st.tag(tagConhostHeadless)
		st.commandLine(strings.Join(l.args[i:], " "), Process{ParentImage: "conhost.exe"}, depth+1)
		return
	}
}

// toolDownload: curl/wget fetching a URL into a file.
// curlPayload: Windows' own curl.exe (LOLBAS Curl) writes a downloaded program,
// DLL or script into a user-writable folder (-o/--output): the ingress step of
// loaders that then run it. Administrators fetch archives and documents, or save
// to their tool folders.
func (st *state) curlPayload(l lolbinArgs) {
	if !hasURL(l.rest) {
		return
	}
	for i, a := range l.args {
		var out string
		switch {
		case (a == "-o" || a == "--output") && i+1 < len(l.args):
			out = l.args[i+1]
		case strings.HasPrefix(a, "--output="):
			out = a[len("--output="):]
		default:
			continue
		}
		out = strings.Trim(out, `"'`)
		if hasPathSep(out) && inUserWritable(out) && payloadExts[ext(out)] {
			st.tag(tagLolbinDownload)
			return
		}
	}
}

func (st *state) toolDownload(l lolbinArgs) {
	if !hasURL(l.rest) {
		return
	}
	name := cmdline.BaseName(strings.TrimSuffix(l.cl[:len(l.cl)-len(l.rest)], " "))
	if strings.HasPrefix(name, "wget") {
		if !strings.Contains(l.lower, "-o -") && !strings.Contains(l.lower, "-qo-") && !strings.Contains(l.lower, "-o-") {
			st.tag(tagToolDownload)
		}
		return
	}
	for _, a := range l.args {
		if a == "-o" || a == "-O" || a == "--output" || a == "--remote-name" || a == "-OutFile" || strings.HasPrefix(a, "--output=") ||
			(strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.ContainsAny(a, "oO")) {
			st.tag(tagToolDownload)
			return
		}
	}
}
