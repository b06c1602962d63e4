package analysis

import (
	"strings"

	"github.com/exechunt/exechunt/tables/analysis/cmdline"
)

// lolbasRule is what documented abuse of one program looks like on its command
// line, in the terms of the LOLBAS catalogue (../shared/reference/lolbas): the
// program runs, loads or compiles a payload it is handed, or downloads a URL. The
// rules are keyed by identity (Identify), so a renamed copy is checked too; the
// programs with richer logic (rundll32, regsvr32, mshta, ...) keep their own
// functions in lolbins.go.
type lolbasRule struct {
	tag  string
	when func(l lolbinArgs) bool
}

// payloadExts are extensions of files that run, load or compile as code.
var payloadExts = set(".exe", ".dll", ".bat", ".cmd", ".com", ".pif", ".scr", ".cpl", ".ocx",
	".ps1", ".psm1", ".vbs", ".vbe", ".js", ".jse", ".wsf", ".wsc", ".wsh", ".sct", ".hta",
	".msi", ".msc", ".inf", ".xsl", ".xbap", ".xoml", ".cs", ".csx", ".vb", ".fsx", ".fsscript",
	".jar", ".lnk", ".application", ".appref-ms", ".wds", ".mof", ".ldf", ".bgi")

// isPayload reports a file a program is made to run, load or compile: a URL, a
// share, or a file outside the system folders with an extension of code, or any
// file with an extension in a user-writable folder.
func isPayload(s string) bool {
	s = strings.Trim(strings.TrimSpace(s), `"',;`)
	if s == "" {
		return false
	}
	if hasURL(s) || strings.HasPrefix(s, `\\`) {
		return true
	}
	if hasPathSep(s) && inSystemDir(s) {
		return false
	}
	e := ext(s)
	return payloadExts[e] || (e != "" && hasPathSep(s) && inUserWritable(s))
}

// values are the operands and the values of switches (/x:value, -x=value).
func (l lolbinArgs) values() []string {
	var out []string
	for _, a := range l.args {
		if isSwitch(a) {
			if i := strings.IndexAny(a, ":="); i > 0 && i+1 < len(a) {
				out = append(out, a[i+1:])
			}
			continue
		}
		out = append(out, a)
	}
	// A value may pack several: "Driver=C:\\x\\a.dll|APILevel=2", "Logger,C:\\x\\a.dll;Params".
	for _, v := range out {
		if strings.ContainsAny(v, ",;|=") {
			out = append(out, strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(",;|=", r) })...)
		}
	}
	return out
}

// codeOperand: an operand is a file of code (by extension) outside the system
// folders, for programs that also open ordinary files (explorer, conhost).
func codeOperand(l lolbinArgs) bool {
	for _, op := range l.operands() {
		if payloadExts[ext(op)] && isPayload(op) {
			return true
		}
	}
	return false
}

// noResponseFile: csc/vbc not driven by an @response file, the way PowerShell's
// Add-Type and build systems call them.
func noResponseFile(l lolbinArgs) bool {
	for _, a := range l.low {
		if strings.HasPrefix(strings.Trim(a, `"`), "@") {
			return false
		}
	}
	return true
}

// anyPayload: an operand or switch value is a payload.
func anyPayload(l lolbinArgs) bool {
	for _, v := range l.values() {
		if isPayload(v) {
			return true
		}
	}
	return false
}

// userPayload: a payload in a user-writable folder, on a share or at a URL, for
// programs whose ordinary configuration files also carry code (BGInfo's .bgi).
func userPayload(l lolbinArgs) bool {
	for _, v := range l.values() {
		if isPayload(v) && (hasURL(v) || inUserWritable(v)) {
			return true
		}
	}
	return false
}

// dropperPayload: a payload where droppers and downloads land (Temp, Downloads,
// AppData, ProgramData, Public) or remote, for developer tools that developers
// also point at their own builds under their profile's source folders.
func dropperPayload(l lolbinArgs) bool {
	for _, v := range l.values() {
		if isPayload(v) && (hasURL(v) || strings.HasPrefix(strings.Trim(v, `"' `), `\\`) || inTemp(v) ||
			containsAny(normPath(v), []string{`\appdata\`, `\programdata\`, `\public\`})) {
			return true
		}
	}
	return false
}

// remoteCode: a URL or share whose file is code by its extension, for programs
// that also read ordinary files from shares (findstr, makecab).
func remoteCode(l lolbinArgs) bool {
	for _, v := range l.values() {
		v = strings.Trim(v, `"' `)
		if (hasURL(v) || strings.HasPrefix(v, `\\`)) && (payloadExts[ext(v)] || strings.Contains(strings.ToLower(v), "davwwwroot")) {
			return true
		}
	}
	return false
}

// anyURL: an argument is a URL or a WebDAV/UNC share.
func anyURL(l lolbinArgs) bool {
	for _, v := range l.values() {
		if hasURL(v) || strings.HasPrefix(strings.Trim(v, `"' `), `\\`) {
			return true
		}
	}
	return false
}

// anyCommand: an argument carries a whole command line for the program to run
// (a quoted "cmd.exe /c ..." or a program path with arguments), or a shell and
// its arguments follow unquoted.
func anyCommand(l lolbinArgs) bool {
	for _, v := range l.values() {
		v = strings.Trim(v, `"' `)
		first, _, hasArgs := strings.Cut(v, " ")
		if hasArgs && (shellLike(programName("", []string{first})) || isPayload(first)) {
			return true
		}
	}
	// Unquoted: a shell is the first operand and its arguments follow
	// (wt.exe cmd.exe /c x.bat).
	for i, a := range l.args {
		if isSwitch(a) {
			continue
		}
		return i+1 < len(l.args) && shellLike(programName("", []string{strings.Trim(a, `"' `)}))
	}
	return false
}

// verb: the first operand is one of words.
func verb(words ...string) func(lolbinArgs) bool {
	return func(l lolbinArgs) bool {
		ops := l.operands()
		if len(ops) == 0 {
			return false
		}
		for _, w := range words {
			if strings.EqualFold(ops[0], w) {
				return true
			}
		}
		return false
	}
}

// switchPayload: one of the switches is given a payload.
func switchPayload(names ...string) func(lolbinArgs) bool {
	return func(l lolbinArgs) bool {
		for _, n := range names {
			if isPayload(l.value(n)) {
				return true
			}
		}
		return false
	}
}

// responseFile: odbcconf -f runs the actions of a response file (REGSVR, INSTALLDRIVER
// of a DLL), whatever its name; one outside the system folders is the payload.
func responseFile(l lolbinArgs) bool {
	v := strings.Trim(l.value("f"), `"' `)
	return v != "" && !isSwitch(v) && !(hasPathSep(v) && inSystemDir(v))
}

// hasSwitch: one of the switches is present.
func hasSwitch(names ...string) func(lolbinArgs) bool {
	return func(l lolbinArgs) bool { return l.has(names...) }
}

// textHas: the command line contains one of the lower-case needles.
func textHas(needles ...string) func(lolbinArgs) bool {
	return func(l lolbinArgs) bool {
		for _, n := range needles {
			if strings.Contains(l.lower, n) {
				return true
			}
		}
		return false
	}
}

func either(fs ...func(lolbinArgs) bool) func(lolbinArgs) bool {
	return func(l lolbinArgs) bool {
		for _, f := range fs {
			if f(l) {
				return true
			}
		}
		return false
	}
}

func both(a, b func(lolbinArgs) bool) func(lolbinArgs) bool {
	return func(l lolbinArgs) bool { return a(l) && b(l) }
}

// compileSource: a source file in Temp, AppData, ProgramData or Public (where
// droppers write; developers build in their source folders).
func compileSource(l lolbinArgs) bool {
	if !noResponseFile(l) {
		return false
	}
	for _, v := range l.values() {
		if hasURL(v) || inTemp(v) || containsAny(normPath(v), []string{`\appdata\`, `\programdata\`, `\public\`}) {
			return true
		}
	}
	return false
}

// officeDocExts are what Office applications open from a URL in ordinary use.
var officeDocExts = set(".doc", ".docx", ".docm", ".dot", ".dotx", ".rtf", ".xls", ".xlsx", ".xlsm",
	".xlsb", ".csv", ".ppt", ".pptx", ".pptm", ".pps", ".ppsx", ".vsd", ".vsdx", ".mpp", ".pub",
	".one", ".msg", ".accdb", ".mdb", ".odt", ".ods", ".odp", ".pdf", ".htm", ".html", ".aspx")

// officeFetch: an Office application is handed a URL that is not a document.
func officeFetch(l lolbinArgs) bool {
	for _, v := range l.values() {
		v = strings.Trim(v, `"' `)
		if !hasURL(v) {
			continue
		}
		path := v
		if i := strings.IndexAny(path, "?#"); i >= 0 {
			path = path[:i]
		}
		if !officeDocExts[ext(path)] {
			return true
		}
	}
	return false
}

// Tags of the catalogue rules.
var (
	proxy    = func(f func(lolbinArgs) bool) []lolbasRule { return []lolbasRule{{tagLolbinProxyExec, f}} }
	download = func(f func(lolbinArgs) bool) []lolbasRule { return []lolbasRule{{tagLolbinDownload, f}} }
	compile  = []lolbasRule{{tagLolbinCompile, compileSource}}
)

// lolbasRules maps an identity to its rules. Programs whose only documented use in
// an attack is to start what they are given ("pcwrun.exe payload.exe") are tagged
// when they are handed a payload; programs with an ordinary use are tagged only on
// the switch or verb that the abuse needs.
var lolbasRules = map[string][]lolbasRule{
	// Windows binaries (LOLBAS OSBinaries, OSLibraries).
	"wt.exe":                          proxy(both(anyCommand, anyPayload)),
	"pester.bat":                      proxy(textHas(";")),
	"addinutil.exe":                   proxy(hasSwitch("addinroot", "pipelineroot")),
	"at.exe":                          proxy(func(l lolbinArgs) bool { return len(l.operands()) >= 2 }),
	"atbroker.exe":                    proxy(func(l lolbinArgs) bool { v := strings.ToLower(l.value("start")); return v != "" && !builtinATs[v] }),
	"bash.exe":                        proxy(either(anyCommand, textHas(".exe", "cmd "))),
	"wsl.exe":                         proxy(both(either(hasSwitch("e", "exec"), textHas(" -- ")), textHas(".exe", "/mnt/c/", "cmd "))),
	"certoc.exe":                      append(proxy(switchPayload("loaddll")), download(both(hasSwitch("getcacaps"), anyURL))...),
	"cmdl32.exe":                      download(both(hasSwitch("vpn"), hasSwitch("lan"))),
	"configsecuritypolicy.exe":        download(anyURL),
	"diantz.exe":                      download(remoteCode),
	"makecab.exe":                     download(remoteCode),
	"diskshadow.exe":                  proxy(switchPayload("s")),
	"dnscmd.exe":                      proxy(both(hasSwitch("serverlevelplugindll"), anyPayload)),
	"explorer.exe":                    proxy(either(codeOperand, func(l lolbinArgs) bool { return strings.Contains(l.lower, "/root,") && anyPayload(l) })),
	"extexport.exe":                   proxy(func(l lolbinArgs) bool { return len(l.operands()) > 0 }),
	"findstr.exe":                     download(remoteCode),
	"ftp.exe":                         proxy(hasSwitch("s")),
	"gfxdownloadwrapper.exe":          download(anyURL),
	"ieexec.exe":                      proxy(anyURL),
	"ilasm.exe":                       compile,
	"imewdbld.exe":                    download(anyURL),
	"infdefaultinstall.exe":           proxy(anyPayload),
	"jsc.exe":                         compile,
	"ldifde.exe":                      proxy(both(hasSwitch("i"), func(l lolbinArgs) bool { v := l.value("f"); return isPayload(v) && (inTemp(v) || hasURL(v)) })),
	"mavinject.exe":                   proxy(hasSwitch("injectrunning", "hmodule")),
	"microsoft.workflow.compiler.exe": []lolbasRule{{tagLolbinCompile, func(l lolbinArgs) bool { return len(l.operands()) > 0 }}},
	"mmc.exe":                         proxy(dropperPayload),
	"mofcomp.exe":                     proxy(anyPayload),
	"mpcmdrun.exe":                    download(both(hasSwitch("downloadfile"), anyURL)),
	"msdt.exe": proxy(either(func(l lolbinArgs) bool {
		// The answer file (-af) is the attacker's: one in a user-writable folder or a
		// folder of its own at a drive root, not the \sdiag_ copies msdt makes itself.
		v := l.value("af")
		return (isPayload(v) || hasPathSep(v) && inPayloadPlace(v)) && !strings.Contains(strings.ToLower(v), `\sdiag_`)
	}, switchPayload("path"), textHas("it_browseforfile", "it_rebrowseforfile", "$("))),
	"msoxmled.exe":                 download(anyURL),
	"netsh.exe":                    proxy(both(textHas("add helper"), anyPayload)),
	"ngen.exe":                     download(anyURL),
	"odbcconf.exe":                 proxy(either(textHas("regsvr"), both(textHas("installdriver"), anyPayload), switchPayload("f"), both(hasSwitch("f"), anyPayload), responseFile)),
	"pcwrun.exe":                   proxy(either(anyPayload, textHas("$("))),
	"pnputil.exe":                  proxy(both(both(hasSwitch("i"), hasSwitch("a")), dropperPayload)),
	"presentationhost.exe":         proxy(anyPayload),
	"printbrm.exe":                 download(func(l lolbinArgs) bool { v := l.value("d"); return hasURL(v) || strings.HasPrefix(v, `\\`) }),
	"rasautou.exe":                 proxy(switchPayload("d")),
	"register-cimprovider.exe":     proxy(switchPayload("path")),
	"runexehelper.exe":             proxy(anyPayload),
	"runscripthelper.exe":          proxy(anyPayload),
	"scp.exe":                      proxy(either(textHas("proxycommand", "localcommand"), anyCommand)),
	"sftp.exe":                     proxy(either(textHas("proxycommand", "localcommand"), anyCommand)),
	"ssh.exe":                      proxy(either(textHas("proxycommand", "localcommand", "pkcs11provider", "securitykeyprovider"), both(textHas(" localhost ", " 127.0.0.1 "), anyCommand))),
	"scriptrunner.exe":             proxy(switchPayload("appvscript")),
	"settingsynchost.exe":          proxy(switchPayload("loadandrundiagscript", "loadandrundiagscriptnowait", "loadandrundiagscriptnocab")),
	"syncappvpublishingserver.exe": proxy(textHas(";")),
	"ttdinject.exe":                proxy(switchPayload("launch")),
	"tttracer.exe":                 proxy(dropperPayload),
	"vbc.exe":                      compile,
	"wlrmdr.exe":                   proxy(switchPayload("u")),
	"wuauclt.exe":                  proxy(both(hasSwitch("updatedeploymentprovider"), anyPayload)),
	"xwizard.exe":                  download(both(verb("runwizard"), textHas("http://", "https://"))),

	// Other Microsoft binaries (LOLBAS OtherMSBinaries): SDK, Visual Studio,
	// Sysinternals and Office tools that start, load or fetch what they are given.
	"adplus.exe":           proxy(either(switchPayload("sc"), hasSwitch("c"))),
	"acccheckconsole.exe":  proxy(dropperPayload),
	"agentexecutor.exe":    proxy(switchPayload("powershell", "remediationscript")),
	"applauncher.exe":      proxy(dropperPayload),
	"appcert.exe":          proxy(switchPayload("setuppath")),
	"appvlp.exe":           proxy(either(anyPayload, anyCommand)),
	"bcp.exe":              download(func(l lolbinArgs) bool { return strings.Contains(l.lower, "queryout") && anyPayload(l) }),
	"bginfo.exe":           proxy(userPayload),
	"cdb.exe":              proxy(either(switchPayload("cf"), hasSwitch("pd"), dropperPayload)),
	"ntsd.exe":             proxy(either(switchPayload("cf"), dropperPayload)),
	"windbg.exe":           proxy(either(switchPayload("c", "cf"), dropperPayload, anyCommand)),
	"coregen.exe":          proxy(switchPayload("l")),
	"csi.exe":              compile,
	"rcsi.exe":             compile,
	"fsi.exe":              compile,
	"fsianycpu.exe":        compile,
	"wfc.exe":              compile,
	"aspnet_compiler.exe":  []lolbasRule{{tagLolbinCompile, func(l lolbinArgs) bool { v := l.value("p"); return v != "" && !inSystemDir(v) }}},
	"defaultpack.exe":      proxy(either(switchPayload("c"), anyCommand)),
	"devinit.exe":          download(anyURL),
	"devtoolslauncher.exe": proxy(both(verb("launchfordeploy", "launchfordebug"), dropperPayload)),
	"dnx.exe":              proxy(func(l lolbinArgs) bool { return len(l.operands()) > 0 && compileSource(l) }),
	"dotnet.exe": proxy(either(func(l lolbinArgs) bool {
		ops := l.operands()
		return len(ops) > 0 && (inTemp(ops[0]) || hasURL(ops[0]))
	}, both(verb("msbuild", "build", "run", "fsi"), compileSource))),
	"dxcap.exe":                             proxy(switchPayload("c")),
	"ecmangen.exe":                          download(anyURL),
	"intellitrace.exe":                      proxy(verb("launch")),
	"logger.exe":                            proxy(either(anyPayload, anyCommand)),
	"mftrace.exe":                           proxy(dropperPayload),
	"microsoft.nodejstools.pressanykey.exe": proxy(dropperPayload),
	"mpiexec.exe":                           proxy(dropperPayload),

	"msedge_proxy.exe":    download(anyURL),
	"msdeploy.exe":        proxy(textHas("runcommand")),
	"msohtmed.exe":        download(anyURL),
	"openconsole.exe":     proxy(func(l lolbinArgs) bool { ops := l.operands(); return len(ops) > 0 && isPayload(ops[0]) }),
	"pixtool.exe":         proxy(both(verb("launch"), dropperPayload)),
	"procdump.exe":        proxy(switchPayload("md")),
	"protocolhandler.exe": download(anyURL),
	"remote.exe":          proxy(both(hasSwitch("s"), dropperPayload)),
	"sqltoolsps.exe":      proxy(both(hasSwitch("command", "c"), anyPayload)),
	"sqlps.exe":           proxy(both(hasSwitch("command", "c"), anyPayload)),
	"squirrel.exe":        squirrelRules,
	"update.exe":          squirrelRules,
	"te.exe":              proxy(dropperPayload),
	"tracker.exe": proxy(func(l lolbinArgs) bool {
		d := l.value("d")
		return d != "" && !strings.HasPrefix(cmdline.BaseName(d), "filetracker") && (isPayload(d) || dropperPayload(l))
	}),
	"vsdiagnostics.exe":    proxy(switchPayload("launch")),
	"vsiisexelauncher.exe": proxy(switchPayload("p")),
	"vslaunchbrowser.exe":  append(download(anyURL), proxy(dropperPayload)...),
	"vshadow.exe":          proxy(switchPayload("exec")),
	"vsjitdebugger.exe":    proxy(dropperPayload),
	"vsls-agent.exe":       proxy(switchPayload("agentextensionpath")),
	"vstest.console.exe": proxy(func(l lolbinArgs) bool {
		ops := l.operands()
		return len(ops) > 0 && isPayload(ops[0]) && inUserWritable(ops[0])
	}),
	"winfile.exe":       proxy(anyPayload),
	"wsb.exe":           proxy(textHas("logoncommand", " exec ")),
	"xbootmgr.exe":      proxy(switchPayload("callback", "pretracecmd", "posttracecmd")),
	"xbootmgrsleep.exe": proxy(func(l lolbinArgs) bool { ops := l.operands(); return len(ops) > 1 && isPayload(ops[1]) }),
	"xsd.exe":           download(anyURL),
	"excel.exe":         download(officeFetch),
	"winword.exe":       download(officeFetch),
	"powerpnt.exe":      download(officeFetch),
	"mspub.exe":         download(officeFetch),
	"msaccess.exe":      download(officeFetch),
	"visio.exe":         download(officeFetch),
	"winproj.exe":       download(officeFetch),
	"outlook.exe":       download(officeFetch),
}

// squirrelRules: Squirrel's Update.exe (Teams, Discord, Slack ... ship it) fetches
// and starts packages; apps start themselves with --processStart App.exe, so only a
// URL or a payload in a user path given to it counts.
var squirrelRules = []lolbasRule{
	{tagLolbinDownload, both(hasSwitch("download", "update", "updaterollback", "-download", "-update", "-updaterollback"), anyURL)},
	{tagLolbinProxyExec, func(l lolbinArgs) bool {
		for _, n := range []string{"processstart", "processstartandwait", "-processstart", "-processstartandwait", "createshortcut"} {
			if v := l.value(n); v != "" && hasPathSep(v) && isPayload(v) && inUserWritable(v) {
				return true
			}
		}
		return false
	}},
}

// builtinATs are the assistive technologies Windows registers; atbroker /start of
// any other name runs what an attacker registered.
var builtinATs = set("osk", "magnifierpane", "narrator", "sapisvr", "voiceaccess", "livecaptions",
	"speechrecognition", "onscreenkeyboard", "magnify", "narratorpane", "colorfiltering")

// lolbasCheck applies the catalogue rules of a program, if it has any.
func (st *state) lolbasCheck(program string, l lolbinArgs) {
	for _, r := range lolbasRules[program] {
		if r.when(l) {
			st.tag(r.tag)
		}
	}
}

// chromiumLaunchers are Chromium and Electron switches that make the browser (Edge,
// Chrome, Teams, Code, Copilot, WebView2 ...) start a program of the caller's
// choosing in place of one of its own helpers.
var chromiumLaunchers = []string{"--gpu-launcher", "--utility-cmd-prefix", "--renderer-cmd-prefix",
	"--browser-subprocess-path", "--plugin-launcher", "--ppapi-plugin-launcher"}

// chromiumAbuse: a launcher switch, or a headless browser dumping a page to its
// output (a download with no download).
func (st *state) chromiumAbuse(lower string) {
	if !strings.Contains(lower, "--") {
		return
	}
	if containsAny(lower, chromiumLaunchers) {
		st.tag(tagLolbinProxyExec)
	}
	if strings.Contains(lower, "--headless") && strings.Contains(lower, "--dump-dom") && hasURL(lower) {
		st.tag(tagLolbinDownload)
	}
}

// diagnosticsScripts are functions of scripts Windows ships (troubleshooting packs,
// Visual Studio) that load or start what they are given: a PowerShell command that
// imports them to call these runs unsigned code under a signed script.
var diagnosticsScripts = []string{"loadassemblyfrompath", "regsnapin", "syncinvoke", "runaftercancelprocess",
	"-vswherepath", "-vsinstallationpath"}

// signedScriptProxy tags a PowerShell command that uses a shipped script as a
// proxy (LOLBAS OSScripts: CL_LoadAssembly.ps1, UtilityFunctions.ps1, Launch-VsDevShell.ps1).
func (st *state) signedScriptProxy(lower string) {
	if !containsAny(lower, diagnosticsScripts) {
		return
	}
	if containsAny(lower, []string{`\\diagnostics\\`, "cl_loadassembly", "utilityfunctions", "cl_invocation",
		"cl_mutexverifiers", "launch-vsdevshell"}) {
		st.tag(tagLolbinProxyExec)
	}
}

// appInstallerFetch: the ms-appinstaller: protocol handed a package URL
// (LOLBAS AppInstaller.exe): Windows downloads and installs it.
func (st *state) appInstallerFetch(lower string) {
	if i := strings.Index(lower, "ms-appinstaller:"); i >= 0 && strings.Contains(lower[i:], "source=http") {
		st.tag(tagLolbinDownload)
	}
}
