package analysis

import (
	"regexp"
	"strings"
)

// contentRules tags what the collected texts say, whatever program ran them.
// PowerShell-specific aliases (iwr, curl, wget as cmdlets) are only read in
// PowerShell text; everything else in all text.
func (st *state) contentRules() {
	all := newHay(st.texts)
	ps := newHay(st.psTexts)
	st.network()

	// Downloads. A method called through .Invoke( (Invoke-Obfuscation's
	// $wc.'DownloadString'.Invoke(…)) reads as the call itself.
	calls := all
	if strings.Contains(all.compact, ".invoke(") {
		calls.compact = strings.ReplaceAll(all.compact, ".invoke(", "(")
	}
	cradle := calls.has("downloadstring(", "downloadfile(", "downloaddata(", "downloadstringasync(",
		"downloadfileasync(", "downloaddataasync(", "start-bitstransfer", "msxml2.xmlhttp",
		"msxml2.serverxmlhttp", "microsoft.xmlhttp", "winhttp.winhttprequest", "invoke-webrequest",
		"invoke-restmethod", "net.http.httpclient", "getstringasync(", "bitstransfer]::", "openread(http",
		"system.net.webrequest]::create(", "net.webrequest]::create(", "[net.webclient]", "new-objectnet.webclient).open") ||
		reAliasDownload.match(ps.lower)
	if cradle {
		st.tag(tagDownloadCradle)
	}
	iex := reIEX.match(ps.lower) || ps.has("invoke-expression", "scriptblock]::create(", "invokecommand.invokescript(",
		"invokecommand).invokescript(", "newscriptblock(")
	if iex {
		st.tag(tagInvokeExpression)
	}
	if reObfIEX.match(ps.lower) || reGcmWildcard.match(ps.lower) || reIndexedName.match(ps.lower) {
		st.tag(tagObfuscatedIEX)
	}
	st.decompressExecute(all)
	st.base64Execute(all)
	if reADSPayload.match(all.lower) || iex && adsRead(ps.lower) {
		st.tag(tagADSExecute)
	}
	if cradle && (iex || all.has("start-process", "invoke-item", ".shellexecute(", "wscript.shell", "|sh", "|bash", "[system.reflection.assembly]::load")) {
		st.tag(tagDownloadExecute)
	}

	// Defence evasion in PowerShell.
	if all.has("amsiinitfailed", "amsiutils", "amsiscanbuffer", "amsicontext", "amsisession", "amsiopensession",
		"system.management.automation.amsi", "amsi.dll") ||
		(all.has("[ref].assembly.gettype(system.management.automation", "[ref].assembly.gettype((system.management.automation") && all.has("getfield(")) {
		st.tag(tagAMSIBypass)
	}
	if all.has("cachedgrouppolicy", "psetwlogprovider", "etwprovider).getfield(m_enabled", "disablescriptblocklogging") ||
		reLoggingOff.match(all.compact) {
		st.tag(tagLoggingTamper)
	}
	if all.has("reflection.assembly]::load(", "assembly]::load(", "assembly]::loadfrom(http", "currentdomain.load(",
		".assembly.load(", "assembly]::load([convert]") {
		st.tag(tagReflectionLoad)
	}
	if all.has("getdelegateforfunctionpointer", "definedynamicassembly", "definepinvokemethod", "getprocaddress", "unsafenativemethods") {
		st.tag(tagDynamicAPI)
	}
	if all.has("virtualalloc", "virtualprotect", "writeprocessmemory", "createremotethread", "ntallocatevirtualmemory",
		"queueuserapc", "ntcreatethreadex", "rtlcreateuserthread", "ntmapviewofsection") {
		st.tag(tagMemoryInjection)
	}
	if all.has("minidumpwritedump", "sekurlsa::", "lsadump::", "invoke-mimikatz", "out-minidump", "kerberos::ptt", "dcsync") ||
		reLsassDump.match(all.lower) {
		st.tag(tagCredentialDump)
	}
	if reDefender.match(all.compact) {
		st.tag(tagDefenderTamper)
	}
	if hasTool(all.lower) {
		st.tag(tagOffensiveTool)
	}
	// LOLBAS OneDriveStandaloneUpdater: a URL planted in its UpdateOfficeConfig key is
	// what the updater downloads next time it runs (with no telling arguments).
	if all.has("onedrive\\updateofficeconfig") && all.has("updateringsettingurlfromoc") && hasURL(all.lower) {
		st.tag(tagLolbinDownload)
	}
	if all.has("script:http", "script:ftp", `script:\\`, "getobject(script:") {
		st.tag(tagScriptMoniker)
	}
	if all.has("mshtml,runhtmlapplication", "mshtml.dll,runhtmlapplication") {
		st.tag(tagRundll32Script)
	}

	// Execution through WMI/WinRM and shells wired to sockets.
	if reWin32Create.match(all.lower) {
		st.tag(tagWMIProcessCreate)
	}
	if reWin32ProductInstall.match(all.lower) {
		st.tag(tagWMIMSIInstall)
	}
	if reReverseShell.match(all.lower) || (all.has("net.sockets.tcpclient", "sockets.tcpclient(") && all.has("getstream(")) {
		st.tag(tagReverseShell)
	}
	if reSetExecPolicy.match(ps.lower) {
		st.tag(tagExecPolicyBypass)
	}
	if reRecon.match(reconText(all.lower)) {
		st.tag(tagReconCommand)
	}
	st.tamperRules(all)
}

var (
	// PowerShell aliases that download when given a URL.
	reAliasDownload = rule(`(?:^|[\s;|(&{=])(?:iwr|irm|wget|curl)\s+(?:-[a-z]+\s+)*['"(]?(?:https?|ftp)://`, "iwr", "irm", "wget", "curl")
	// iex as a command, not inside another word (iexplore, windex).
	reIEX = rule(`(?:^|[^\w$.-])iex(?:[^\w-]|$)`, "iex")
	// A decoded 'iex' literal invoked with &, dot or Get-Command.
	reObfIEX = rule(`(?:[&.]|get-command|gcm)\s*\(?\s*'(?:iex|invoke-expression)'`, "'iex'", "'invoke-expression'")
	// A command invoked by a name built from characters picked out of a string:
	// .( ''.IndexOf.ToString()[106,482,184] -join '').
	reIndexedName = rule(`[&.]\s*\(\s*[^\n]{0,80}?\[\s*\d+\s*(?:,\s*\d+\s*)+\]\s*-join`, "-join")
	// Get-Command/gcm with wildcards that resolve to Invoke-Expression.
	reGcmWildcard = rule(`(?:gcm|get-command|get-alias|gal)\s+['"(]*[i*][a-z*-]*\*[a-z*-]*(?:e|x)[a-z*-]*['")]*`, "gcm", "get-command", "get-alias", "gal ")
	reLoggingOff  = rule(`enablescriptblock(?:invocation)?logging\]?[,=]?(?:-value)?(?:\$false|0)|scriptblocklogging[^;\n]{0,80}(?:-value0|=0|,0|\$false)`, "scriptblocklogging")
	reLsassDump   = rule(`lsass[^\n]{0,120}(?:minidump|\.dmp|dump|procdump|-ma\b)|(?:procdump|minidump|sqldumper|createdump)[^\n]{0,120}lsass`, "lsass")
	reDefender    = rule(`add-mppreference-exclusion(?:path|process|extension|ipaddress)|set-mppreference-(?:exclusion(?:path|process|extension)|disable(?:realtimemonitoring|ioavprotection|behaviormonitoring|scriptscanning|blockatfirstseen|intrusionpreventionsystem|archivescanning)(?::)?(?:\$true|1)|mapsreporting(?:0|disabled)|submitsamplesconsent(?:2|neversend))|disableantispyware/t?r?e?g?_?d?w?o?r?d?/d1|disableantispyware-value1|disablerealtimemonitoring/t?r?e?g?_?d?w?o?r?d?/d1`, "mppreference", "disableantispyware", "disablerealtimemonitoring")
	// Set-ExecutionPolicy Bypass or Unrestricted in script text.
	reSetExecPolicy = rule(`set-executionpolicy\s+(?:-executionpolicy\s+)?["']?(?:bypass|unrestricted)\b`, "set-executionpolicy")
	// Win32_Product's Install/Admin/Advertise method, named either way round.
	reWin32ProductInstall = rule(`win32_product[^\n;]{0,120}(?:-(?:methodname|name)\s+['"]?|\.)(?:install|admin|advertise)\b|-(?:methodname|name)\s+['"]?(?:install|admin|advertise)\b[^\n;]{0,120}win32_product|product\s+call\s+(?:install|admin|advertise)\b`, "win32_product", "product call")
	reWin32Create         = rule(`win32_process[^\n]{0,60}(?:create|commandline)|(?:invoke-wmimethod|invoke-cimmethod|iwmi)[^\n]{0,120}-(?:class|classname)\s+win32_process|\[wmiclass\][^\n]{0,60}win32_process[^\n]{0,60}\.create\(`, "win32_process")
	reReverseShell        = rule(`/dev/(?:tcp|udp)/[^\s/]+/\d+|\bn(?:c|cat|etcat)\b[^|;&\n]{0,80}\s-[a-z]*[ec]\s+[^\s]*(?:sh|cmd)|socat\b[^\n]{0,120}exec:|mkfifo\b[^\n]{0,160}\bn(?:c|cat)\b|\bsh\s+-i\s*[<>]|\bbash\s+-i\s*>&|pty\.spawn\(|socket\.socket\([^\n]{0,300}(?:dup2|subprocess|pty)|fsockopen\([^\n]{0,200}(?:exec|shell_exec|system|/bin/sh)|\bexec\s+\d+<>/dev/tcp`+
		// GTFOBins reverse shells of other interpreters: gawk's /inet/tcp special
		// files, ruby TCPSocket, perl socket(PF_INET)/IO::Socket::INET, node net,
		// lua socket, julia Sockets, zsh ztcp, each wired to a command runner; and a
		// network client piped into a shell.
		`|/inet[46]?/(?:tcp|udp)/\d+/|tcpsocket\.(?:new|open)\([^\n]{0,300}(?:popen|exec|spawn|system|/bin/)`+
		`|socket\(\s*\w+\s*,\s*pf_inet[^\n]{0,300}(?:exec|system|open\(stdin)|io::socket::inet[^\n]{0,300}(?:exec|system|open\(stdin|/bin/)`+
		`|\bnet\.(?:connect|socket|createconnection)\b[^\n]{0,300}(?:child_process|spawn\(|exec\()|child_process[^\n]{0,300}require\(\s*["']net["']\s*\)\.(?:connect|socket|createconnection)|require\(\s*["']socket["']\s*\)[^\n]{0,300}(?:io\.popen|os\.execute)`+
		`|using\s+sockets[^\n]{0,200}connect\([^\n]{0,300}\brun\(|\bztcp\b[^\n]{0,200}\b(?:z|ba|da|k)?sh\b[^\n]{0,20}>&\s*\$reply`+
		`|\b(?:telnet|nc|ncat|netcat|openssl\s+s_client)\b[^|;&\n]{0,120}\|\s*(?:/usr)?(?:/bin/)?(?:ba|da|z|k)?sh\b`,
		"/dev/tcp/", "/dev/udp/", "nc ", "ncat", "netcat", "socat", "mkfifo", "sh -i", "pty.spawn", "socket.socket", "fsockopen",
		"/inet", "tcpsocket", "pf_inet", "io::socket", "net.", "socket", "ztcp", "telnet", "s_client", "child_process")
	// A payload named file.ext:stream.ext (an alternate data stream) on a command line.
	reADSPayload = rule(`[\w-]\.[a-z0-9]{1,5}:[\w-][\w.-]*\.(?:exe|dll|vbs|vbe|js|jse|wsf|ps1|bat|cmd|hta|sct|cpl|scr|com)(?:[\s"',)]|$)`, ":")
	// Get-Content (gc, type, cat) reading a named stream.
	reADSRead = regexp.MustCompile(`(?:get-content|\bgc|\btype|\bcat)\b[^\n|;]{0,200}?-stream\s+['"]?([\w.]+)`)
	reRecon   = rule(`(?:^|[\s"'&|(/\\])(?:whoami(?:\.exe)?(?:\s|$|")|systeminfo(?:\.exe)?(?:\s|$|")|nltest(?:\.exe)?\s|quser(?:\s|$)|net1?(?:\.exe)?\s+(?:user|group|localgroup|view|accounts|share)\b|ipconfig(?:\.exe)?\s+/all|cmdkey\s+/list|klist\b)`,
		"whoami", "systeminfo", "nltest", "quser", "net", "ipconfig", "cmdkey", "klist")
)

// offensiveTools are names of public offensive frameworks and tools; seeing
// one in a command line or script is a strong signal on its own.
var offensiveTools = []string{"mimikatz", "invoke-shellcode", "invoke-reflectivepeinjection",
	"invoke-dllinjection", "powersploit", "powerview", "invoke-kerberoast", "invoke-bloodhound",
	"sharphound", "rubeus", "invoke-empire", "invoke-powershelltcp", "powercat", "nishang",
	"invoke-allchecks", "invoke-obfuscation", "psattack", "winpwnage", "winpwn", "lazagne",
	"seatbelt", "sharpup", "safetykatz", "invoke-wmiexec", "invoke-smbexec", "invoke-thehash",
	"get-gpppassword", "invoke-portscan", "invoke-tokenmanipulation", "invoke-credentialinjection",
	"invoke-ninjacopy", "get-keystrokes", "inveigh", "find-localadminaccess", "invoke-userhunter",
	"invoke-sharefinder", "bloodhound", "pypykatz", "nanodump", "kekeo", "invoke-runas",
	"invoke-psinject", "invoke-eventvwrbypass", "invoke-fodhelperbypass", "invoke-bypassuac",
	"get-system", "invoke-mimidogz", "out-minidump", "invoke-dcsync", "invoke-smbclient",
	"invoke-phant0m", "invoke-silenttrinity", "sharpview", "sharpwmi", "sharpexec", "crackmapexec",
	"impacket", "cobaltstrike", "meterpreter", "metasploit", "empire_stager", "koadic", "pupy",
	"phant0m", "adidnsdump", "adrecon", "trufflesnout", "badpotato", "juicypotato", "sweetpotato",
	"printspoofer", "godpotato", "roguepotato", "evil-winrm", "wce", "dumpert", "handlekatz",
	"sharpsecdump", "sharpdpapi", "sharpchrome", "sharpgpoabuse", "powerupsql", "invoke-mimikittenz",
	"kerbrute", "lsassy", "snaffler", "sharpshares", "invoke-privesccheck", "winpeas", "nsudo", "nsudolg"}

// hasTool reports an offensive tool name not glued into a longer word.
func hasTool(lower string) bool {
	for _, t := range offensiveTools {
		for off := 0; off < len(lower); {
			i := strings.Index(lower[off:], t)
			if i < 0 {
				break
			}
			i += off
			before := i == 0 || !isWordByte(lower[i-1])
			after := i+len(t) >= len(lower) || !isWordByte(lower[i+len(t)]) || strings.HasPrefix(lower[i+len(t):], ".exe") || strings.HasPrefix(lower[i+len(t):], ".ps1")
			if before && after {
				return true
			}
			off = i + len(t)
		}
	}
	return false
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
}

// adsRead reports Get-Content reading an alternate data stream other than the
// Zone.Identifier that browsers write (its content is data, never code).
func adsRead(lower string) bool {
	for _, m := range reADSRead.FindAllStringSubmatch(lower, 4) {
		if m[1] != "zone.identifier" {
			return true
		}
	}
	return false
}
