package analysis

import (
	"regexp"
	"strings"
)

// What intruders run besides their payload: destroy backups, clear logs, copy
// credential stores, switch defences off, persist and escalate. Each rule is the
// documented shape of one ATT&CK technique (SigmaHQ's process-creation rules and
// Atomic Red Team's tests describe the same command lines), read from the whole
// text the way the content rules are: a command line, every command of a cmd /c
// chain, a script block. Registry rules need the write (reg add, Set-ItemProperty,
// New-ItemProperty, RegWrite, .SetValue) or the value being set, never just the
// key named, so a script that reads or audits the key is not tagged.

// regWrite is the verbs that set a registry value, from reg.exe, PowerShell
// (including the sp alias), WSH and .NET.
const regWrite = `(?:\breg(?:\.exe)?["']?\s+add|set-itemproperty|new-itemproperty|new-item|\bsp\s|regwrite|\.setvalue\(|setstringvalue|setdwordvalue)`

// accessibilityBins are the programs Windows starts from the logon screen as
// SYSTEM (sticky keys, utility manager, on-screen keyboard, magnifier, narrator,
// display switch, ease of access).
const accessibilityBins = `(?:sethc|utilman|osk|magnify|narrator|displayswitch|atbroker)\.exe`

var (
	// Backups and recovery destroyed before encryption (T1490).
	// Deleting every shadow copy (/all, /for=) is the ransomware step; /oldest and
	// /shadow={id} are how maintenance frees space.
	reInhibitRecovery = rule(`vssadmin(?:\.exe)?["']?\s+delete\s+shadows(?:\s+/(?:all|quiet|for=[^\s&|;"']+))*\s*(?:["'&|;\n]|$)|vssadmin(?:\.exe)?["']?\s+resize\s+shadowstorage\b[^\n]{0,120}/maxsize=\s*\d+\s*(?:mb|kb|b)\b`+
		`|shadowcopy\s+delete|win32_shadowcopy[^\n]{0,200}(?:\.delete\(|remove-(?:wmiobject|ciminstance)|\bdelete\b)|remove-(?:wmiobject|ciminstance)[^\n]{0,120}win32_shadowcopy`+
		`|bcdedit(?:\.exe)?["']?[^\n]{0,60}/set\b[^\n]{0,60}(?:recoveryenabled\s+(?:no|off|0|false)\b|bootstatuspolicy\s+ignoreallfailures)`+
		`|wbadmin(?:\.exe)?["']?\s+delete\s+(?:catalog|systemstatebackup|backup)\b`+
		// Backup files deleted across a drive by type, System Restore's task disabled.
		`|\b(?:del|erase|remove-item)\b[^\n&|;]{0,60}\*\.(?:vhdx?|bak|bac|wbcat|bkf|bkp|vbk|vib|tib)\b[^\n&|;]{0,80}\*\.(?:vhdx?|bak|bac|wbcat|bkf|bkp|vbk|vib|tib|set|win|dsk)\b`+
		`|schtasks(?:\.exe)?["']?[^\n&|;]{0,40}/change\b[^\n&|;]{0,80}\\systemrestore\\sr\b[^\n&|;]{0,40}/disable|disable-scheduledtask[^\n]{0,120}systemrestore`,
		"vssadmin", "shadowcopy", "bcdedit", "wbadmin", "*.bak", "*.vhd", "*.bkf", "*.wbcat", "systemrestore")
	// Event logs cleared or switched off, audit policy cleared, Sysmon unloaded (T1070.001, T1562.002).
	reLogTamper = rule(`wevtutil(?:\.exe)?["']?\s+(?:cl|clear-log)\s|wevtutil(?:\.exe)?["']?\s+(?:sl|set-log)\s[^\n]{0,120}/e(?:nabled)?:(?:false|0)\b`+
		`|\b(?:clear-eventlog|remove-eventlog)\b|\.clearlog\(|eventlog[^\n]{0,120}\.clear\(\)`+
		`|auditpol(?:\.exe)?["']?\s+[/-](?:clear|remove)\b|auditpol(?:\.exe)?["']?[^\n]{0,200}/(?:success|failure):disable`+
		`|fltmc(?:\.exe)?["']?\s+(?:unload|detach)\s+sysmondrv|\bsysmon(?:64)?(?:\.exe)?["']?\s+-u\b`+
		`|appcmd(?:\.exe)?["']?[^\n]{0,160}httplogging[^\n]{0,120}dontlog:\s*["']?true`+
		// Linux: the audit daemon or syslog stopped, audit rules deleted or auditing
		// disabled, shell history and login records wiped (T1070.002, T1070.003).
		`|(?:systemctl\s+(?:stop|disable|mask|kill)|service)\s+(?:auditd|rsyslog|syslog-ng|systemd-journald|sysmon)\b(?:\s+stop)?`+
		`|auditctl\s+(?:-d\b|-e\s*0\b)|(?:^|[\s;&|(])history\s+-c\b|\bunset\s+histfile\b|\bhistfile=/dev/null`+
		`|\bln\s+-sf?\s+/dev/null\s+\S*_history\b|(?:\brm|shred|truncate)\b[^\n;&|]{0,60}(?:/var/log/(?:auth\.log|secure|wtmp|btmp|lastlog|syslog|messages|audit/audit\.log)|\.(?:bash|zsh)_history)\b`,
		"wevtutil", "eventlog", "clearlog(", "auditpol", "sysmon", "httplogging", "auditd", "rsyslog", "syslog-ng", "journald", "auditctl",
		"history", "histfile", "/var/log/")
	// Credential stores copied: registry hives, NTDS.dit (T1003.002, T1003.003).
	reHiveDump = rule(`\breg(?:\.exe)?["']?\s+(?:save|export)\s+["']?(?:hklm|hkey_local_machine)\\(?:sam|system|security)["'\s]`+
		`|ntdsutil(?:\.exe)?["']?[^\n]{0,200}\b(?:ifm|create\s+full)\b`+
		`|(?:copy|xcopy|robocopy|esentutl|copy-item|\bcp)\b[^\n]{0,200}(?:ntds\.dit|[\\/]system32[\\/]config[\\/](?:sam|system|security)\b)`+
		`|harddiskvolumeshadowcopy\d*\\windows\\(?:ntds\\ntds\.dit|system32\\config\\(?:sam|system|security)\b)`,
		"hklm\\sam", "hklm\\system", "hklm\\security", "hkey_local_machine\\sam", "hkey_local_machine\\system",
		"hkey_local_machine\\security", "ntdsutil", "ntds.dit", "harddiskvolumeshadowcopy", "config\\sam", "config\\system", "config\\security", "config/sam", "config/system", "config/security")
	// Process memory dumped by Windows and SQL Server tools the LOLBAS catalogue
	// lists for it, whose process id is LSASS's on an intrusion (T1003.001).
	reToolDump = rule(`rdrleakdiag(?:\.exe)?["']?[^\n]{0,120}/fullmemdmp|sqldumper(?:\.exe)?["']?\s+\d+\s+0\s+0x0?1100`,
		"rdrleakdiag", "sqldumper")
	// Microsoft Defender's definitions removed (T1562.001).
	reDefenderStop = rule(`mpcmdrun(?:\.exe)?["']?[^\n]{0,80}-removedefinitions`, "removedefinitions")
	// The host firewall switched off (T1562.004).
	reFirewallOff = rule(`netsh(?:\.exe)?["']?[^\n]{0,40}advfirewall\s+set\s+\w+\s+state\s+off\b|netsh(?:\.exe)?["']?[^\n]{0,40}firewall\s+set\s+opmode\s+(?:mode=)?disable`+
		`|set-netfirewallprofile[^\n]{0,120}-enabled\s+(?:\$?false|0)\b`+
		`|\\(?:firewallpolicy|windowsfirewall)\\(?:standard|domain|public|private)profile\b[^\n]{0,120}\benablefirewall\b[^\n]{0,60}(?:/d\s*|-value\s*|,\s*)["']?0\b`,
		"advfirewall", "opmode", "set-netfirewallprofile", "enablefirewall")
	// A debugger or exit monitor attached to a program through Image File
	// Execution Options: it runs instead of, or after, the program (T1546.012).
	reIFEO = rule(regWrite+`[^\n]{0,80}image file execution options\\[^\n]{0,160}\b(?:debugger|globalflag)\b|silentprocessexit\\[^\n]{0,160}\bmonitorprocess\b`,
		"image file execution options", "silentprocessexit")
	// The logon-screen accessibility programs replaced by a shell or given a
	// debugger (T1546.008).
	reAccessibility = rule(regWrite+`[^\n]{0,80}image file execution options\\`+accessibilityBins+`[^\n]{0,120}\bdebugger\b`+
		`|(?:copy|move|xcopy|copy-item|move-item|\bren|rename|replace)\b[^\n&|;]{0,200}\b(?:cmd|powershell|pwsh|explorer)\.exe[^\n&|;]{0,200}\b`+accessibilityBins+
		`|(?:takeown|icacls)(?:\.exe)?["']?[^\n&|;]{0,80}\\`+accessibilityBins,
		"sethc", "utilman", "osk.exe", "magnify", "narrator", "displayswitch", "atbroker")
	// UAC bypasses through the handlers and paths auto-elevating programs read
	// from the user's own hive (T1548.002).
	reUACBypass = rule(regWrite+`[^\n]{0,80}\\software\\classes\\(?:ms-settings|mscfile|exefile|folder|launcher\.systemsettings|appx82a6gwre4fdg3bt635tn5ctqjf8msdd2)\\shell\\open\\command`+
		`|`+regWrite+`[^\n]{0,80}(?:hkcu|hkey_current_user)[:\\]+environment\b[^\n]{0,80}\b(?:windir|systemroot)\b`+
		`|`+regWrite+`[^\n]{0,80}\\app paths\\control\.exe|sdclt(?:\.exe)?["']?\s+/kickoffelev`,
		"ms-settings", "mscfile", "exefile", "\\folder\\shell", "launcher.systemsettings", "appx82a6gwre4fdg3bt635tn5ctqjf8msdd2",
		"environment", "app paths\\control.exe", "kickoffelev")
	// Security settings weakened in the registry (T1112): WDigest cleartext
	// passwords, LSA protection off, UAC off, remote admin token filtering off,
	// Restricted Admin (pass-the-hash over RDP) on.
	reSecuritySetting = rule(`\b(?:uselogoncredential|localaccounttokenfilterpolicy)\b[^\n]{0,60}(?:/d\s*|-value\s*|,\s*)["']?1\b`+
		`|\b(?:runasppl|enablelua|disablerestrictedadmin|consentpromptbehavioradmin)\b[^\n]{0,60}(?:/d\s*|-value\s*|,\s*)["']?0\b`,
		"uselogoncredential", "localaccounttokenfilterpolicy", "runasppl", "enablelua", "disablerestrictedadmin", "consentpromptbehavioradmin")
	// Values written to keys whose command lines Windows runs at logon or boot (T1547.001).
	reAutorun = rule(regWrite+`[^\n]{0,80}(?:\\currentversion\\(?:run|runonce|runonceex|runservices|runservicesonce)\b|\\policies\\explorer\\run\b`+
		`|\\winlogon\b[^\n]{0,80}\b(?:userinit|shell|notify)\b|\\windows nt\\currentversion\\windows\b[^\n]{0,80}\b(?:load|run|appinit_dlls)\b`+
		`|\\active setup\\installed components\\[^\n]{0,120}\bstubpath\b|\\session manager\b[^\n]{0,80}\bbootexecute\b)`,
		"\\run", "winlogon", "currentversion\\windows", "stubpath", "bootexecute")
	// Local or domain accounts created or added to privileged groups (T1136, T1098).
	reAccountChange = rule(`\bnet1?(?:\.exe)?["']?\s+user\b[^\n&|;]{0,120}\s/add\b`+
		`|\bnet1?(?:\.exe)?["']?\s+(?:localgroup|group)\s+["']?(?:administrators|remote desktop users|domain admins|enterprise admins|backup operators)["']?\s+[^\n&|;]{1,80}\s/add\b`+
		`|\bnew-localuser\b|add-localgroupmember[^\n]{0,80}(?:administrators|remote desktop users)|add-adgroupmember[^\n]{0,80}(?:domain|enterprise) admins`,
		"/add", "new-localuser", "add-localgroupmember", "add-adgroupmember")
	// A permanent WMI event subscription: a filter bound to a consumer that runs a
	// command or script whenever the filter fires (T1546.003).
	reWMISubscription = rule(`(?:root\\subscription|__eventfilter|__filtertoconsumerbinding|commandlineeventconsumer|activescripteventconsumer)[^\n]{0,300}(?:\bcreate\b|set-wmiinstance|new-ciminstance|\.put\(|\.createinstance\(|spawninstance_)`+
		`|(?:set-wmiinstance|new-ciminstance|\bcreate\b)[^\n]{0,200}(?:__eventfilter|__filtertoconsumerbinding|commandlineeventconsumer|activescripteventconsumer)`,
		"subscription", "__eventfilter", "__filtertoconsumerbinding", "commandlineeventconsumer", "activescripteventconsumer")
	// Code run on another host through DCOM objects that execute commands
	// (MMC20.Application ExecuteShellCommand, ShellWindows and ShellBrowserWindow
	// ShellExecute) (T1021.003).
	reDCOMExec = rule(`gettypefromprogid\(\s*["']mmc20\.application["']\s*,|\.executeshellcommand\(|gettypefromclsid\(\s*["']\{?(?:9ba05972-f6a8-11cf-a442-00a0c90a8f39|c08afd90-f2a1-11d1-8455-00a0c91f3880)\b(?s:.{0,300})\.shellexecute\(`,
		"mmc20.application", "executeshellcommand", "9ba05972-f6a8-11cf-a442-00a0c90a8f39", "c08afd90-f2a1-11d1-8455-00a0c91f3880")
	// PowerShell remoting to another computer (T1021.006).
	rePSRemoting = rule(`\b(?:invoke-command|icm|enter-pssession|new-pssession|etsn|nsn)\b[^\n|;]{0,200}-(?:computername|cn|hostname)\b`, "invoke-command", "icm", "pssession", "etsn", "nsn")
	// AMSI providers removed from the registry (T1562.001).
	reAMSIProviderRemoved = rule(`(?:remove-item|\breg(?:\.exe)?["']?\s+delete|deletesubkey)[^\n]{0,120}\\microsoft\\amsi\\providers\b`, "amsi\\providers")
	// A new svchost group or a new assistive technology registered: what svchost or
	// the logon screen's accessibility manager then loads (T1543.003, T1546.008).
	reSvchostGroup    = rule(regWrite+`[^\n]{0,80}\\windows nt\\currentversion\\svchost\b`, "currentversion\\svchost")
	reAccessibilityAT = rule(regWrite+`[^\n]{0,80}\\windows nt\\currentversion\\accessibility\\ats\\`, "accessibility\\ats\\")
	// Scripts put in a Startup folder; installers put shortcuts there, not scripts.
	reStartupScript = rule(`(?:copy|move|xcopy|copy-item|move-item|set-content|add-content|out-file|>)[^\n&|;]{0,240}\\start menu\\programs\\startup\\[^\n&|;"']{0,120}\.(?:bat|cmd|vbs|vbe|js|jse|wsf|ps1|hta)\b`, "\\startup\\")
	// A literal password turned into a SecureString (-AsPlainText): the password is
	// in the script, and in every log of it.
	rePlainSecureString = rule(`convertto-securestring\s+(?:-string\s+)?["'][^"'$\n]{1,128}["'][^\n]{0,40}-asplaintext`, "convertto-securestring")
	// A port forwarded through the host by netsh portproxy (T1090.001).
	rePortProxy = rule(`portproxy\s+(?:add|set)\s+v[46]tov[46]\b|\\services\\portproxy\\v[46]tov[46]\b`, "portproxy")
	// UAC bypass by a mock trusted folder: "C:\Windows \System32\" with a space
	// passes the auto-elevation path check (T1548.002).
	reMockFolder = rule(`[a-z]:\\windows \\(?:system32|syswow64)\\`, "windows \\")
	// Services that watch the host stopped, disabled or deleted, or their processes
	// killed: the event log and Sysmon (T1562.002), Microsoft Defender, the
	// firewall, other security products and log shippers (T1562.001, T1562.004).
	reLogServiceStop      = serviceStopRule(`eventlog|sysmon64|sysmon|sysmondrv`)
	reDefenderServiceStop = serviceStopRule(`windefend|wdnissvc|wdboot|wdfilter|sense|msmpsvc|securityhealthservice|wscsvc|"?windows defender`)
	reFirewallServiceStop = serviceStopRule(`mpssvc`)
	reSecurityServiceStop = serviceStopRule(securityServices)
	// Files put in a Startup folder, run at every logon (T1547.001).
	reStartupFolder = rule(`(?:copy|move|xcopy|copy-item|move-item|set-content|add-content|out-file|createshortcut|>)[^\n&|;]{0,240}\\start menu\\programs\\startup\\`+
		`|\\start menu\\programs\\startup\\[^\n&|;]{0,120}\.(?:bat|cmd|vbs|vbe|js|jse|wsf|ps1|hta|exe|scr|lnk)\b[^\n&|;]{0,40}(?:>|-value)`, "\\startup\\")
	// Administrative shares of another host (T1021.002).
	reAdminShare = rule(`\\\\[^\\\s"']+\\(?:admin|[a-z]|ipc)\$`, "admin$", "ipc$", "c$", "d$", "e$")
	// Files and the registry searched for stored passwords (T1552.001, T1552.002).
	reCredentialSearch = rule(`findstr(?:\.exe)?["']?\s[^\n&|;]{0,40}/[a-z]*s[a-z]*\s[^\n&|;]{0,40}\b(?:pass|password|passwd|pwd|cpassword)\b`+
		`|select-string[^\n]{0,80}(?:password|cpassword)[^\n]{0,80}-(?:recurse|path\s+[^\n]{0,40}\*)`,
		"findstr", "select-string")
	// Credential stores read: Windows Credential Manager (vaultcmd, the
	// PasswordVault API), the registry searched for passwords, saved PuTTY
	// sessions, the setup answer files that keep the administrator's password
	// (T1555.004, T1552.002, T1552.001).
	reCredentialStore = rule(`(?:\btype|\bmore|get-content|\bgc|\bcat|\bcopy|copy-item|findstr|select-string|notepad)\b[^\n&|;]{0,120}\\(?:panther(?:\\unattend)?\\(?:unattend|autounattend)|sysprep\\(?:sysprep|unattend))\.(?:xml|inf)\b|\\simontatham\\putty\\sessions\b`+
		`|vaultcmd(?:\.exe)?["']?\s+/list(?:creds|properties)\b|passwordvault\b[^\n]{0,200}\.retrieveall\(`+
		`|\breg(?:\.exe)?["']?\s+query\s[^\n&|;]{0,120}/f\s+["']?(?:password|passwd|pwd)\b`,
		"unattend", "sysprep", "simontatham", "vaultcmd", "passwordvault", "reg query", "reg.exe query", "reg  query")
	// Wi-Fi keys shown in clear (T1555).
	reWifiKeys = rule(`netsh(?:\.exe)?["']?\s+wlan\s+show\s+profiles?\b[^\n]{0,120}\bkey\s*=\s*clear\b`, "key=clear", "key = clear")
)

// securityServices are service and process names of security products and log
// shippers (alternation for reSecurityServiceStop; Defender's are in reDefenderStop).
const securityServices = `mcafee\w*|masvc|macmnsvc|mfemms|mfefire|symantec\w*|sepmasterservice|ccsvchst|smcservice|sophos\w*|savservice|csfalconservice|csagent|sentinelagent|sentinelone|carbonblack|cbdefense|cbcomms|cylancesvc|ekrn|avp|kavfs\w*|klnagent|tmccsf|ntrtscan|tmlisten|ds_agent|bdagent|vsserv|epsecurityservice|cyserver|cortex\w*|traps\w*|xagt|elastic-agent|elastic-endpoint|taniumclient|qualysagent|wazuhsvc|ossecsvc|splunkforwarder|nxlog|winlogbeat|osqueryd|msmpeng`

// reFirewallAllowTemp: a firewall rule that lets a program from Temp, Downloads,
// Public or straight from a profile folder through (T1562.004); installers add
// rules for programs they install into Program Files or AppData.
var reFirewallAllowTemp = rule(`(?:advfirewall\s+firewall\s+add\s+rule|new-netfirewallrule)\b[^\n]{0,240}(?:program=|-program\s+)["']?[^"'\s]*\\(?:temp|tmp|downloads|users\\public|appdata\\local\\temp)\\`+
	`|(?:advfirewall\s+firewall\s+add\s+rule|new-netfirewallrule)\b[^\n]{0,240}(?:program=|-program\s+)["']?[a-z]:\\users\\[^\\"'\s]+\\[^\\"'\s]+\.exe\b`, "add rule", "new-netfirewallrule")

// serviceStopRule matches a service named by one of names (an alternation) being
// stopped, disabled or deleted (net stop, sc stop/config/delete, Stop-Service,
// Set-Service) or its process killed (taskkill /im), in one command.
func serviceStopRule(names string) nearRule {
	return rule(`(?:\bnet1?(?:\.exe)?["']?\s+stop|\bsc(?:\.exe)?["']?\s+(?:stop|delete|config)|stop-service|set-service|taskkill(?:\.exe)?["']?[^\n]{0,20}/im)\s[^\n&|;]{0,60}\b(?:`+names+`)`,
		"stop", "config", "delete", "set-service", "taskkill")
}

// reServiceStart: a text that starts a service again after stopping it restarts
// it, as administrators do after changing an agent's configuration.
var reServiceStart = regexp.MustCompile(`\bnet1?(?:\.exe)?["']?\s+start\s|\bsc(?:\.exe)?["']?\s+start\s|\bstart-service\b`)

// tamperSet holds the rules of this file in one ruleSet; tamperTags are their
// tags and tamperStops which are service stops, in the same order.
var tamperSet, tamperTags, tamperStops = func() (*ruleSet, []string, []bool) {
	pairs := []struct {
		re      nearRule
		tag     string
		stopped bool // a service stop: a restart in the same text is not one
	}{
		{reInhibitRecovery, tagInhibitRecovery, false},
		{reLogTamper, tagEventLogTamper, false},
		{reHiveDump, tagCredentialDump, false},
		{reToolDump, tagCredentialDump, false},
		{reDefenderStop, tagDefenderTamper, false},
		{reFirewallOff, tagFirewallTamper, false},
		{reIFEO, tagIFEOInjection, false},
		{reAccessibility, tagAccessibilityBackdoor, false},
		{reUACBypass, tagUACBypass, false},
		{reSecuritySetting, tagSecuritySetting, false},
		{reAutorun, tagAutorunRegistry, false},
		{reAccountChange, tagAccountChange, false},
		{reAdminShare, tagAdminShare, false},
		{reCredentialSearch, tagCredentialSearch, false},
		{reWifiKeys, tagCredentialStore, false},
		{reCredentialStore, tagCredentialStore, false},
		{reDCOMExec, tagDCOMExec, false},
		{rePSRemoting, tagRemoteExecTool, false},
		{reAMSIProviderRemoved, tagAMSIBypass, false},
		{reSvchostGroup, tagServiceBinPath, false},
		{reAccessibilityAT, tagAccessibilityBackdoor, false},
		{reStartupScript, tagStartupScript, false},
		{reWMISubscription, tagWMISubscription, false},
		{rePortProxy, tagTunnelForward, false},
		{rePlainSecureString, tagCleartextCred, false},
		{reMockFolder, tagUACBypass, false},
		{reSecurityServiceStop, tagSecurityServiceStop, true},
		{reDefenderServiceStop, tagDefenderTamper, true},
		{reFirewallServiceStop, tagFirewallTamper, true},
		{reLogServiceStop, tagEventLogTamper, true},
		{reStartupFolder, tagStartupFolder, false},
		{reFirewallAllowTemp, tagFirewallTamper, false},
	}
	rules, tags := make([]nearRule, len(pairs)), make([]string, len(pairs))
	stops := make([]bool, len(pairs))
	for i, p := range pairs {
		rules[i], tags[i], stops[i] = p.re, p.tag, p.stopped
	}
	return newRuleSet(rules...), tags, stops
}()

// tamperRules tags what intruders do besides running their payload.
func (st *state) tamperRules(all hay) {
	text := all.lower
	for i, ok := range tamperSet.match(text) {
		if ok && !(tamperStops[i] && reServiceStart.MatchString(text)) {
			st.tag(tamperTags[i])
		}
	}
	// A script that builds the key in a variable: the IFEO path, a Debugger value
	// and a registry write anywhere in the text.
	if all.has("imagefileexecutionoptions") && all.has("debugger") && reRegWrite.MatchString(text) {
		st.tag(tagIFEOInjection)
		if reAccessibilityName.MatchString(text) {
			st.tag(tagAccessibilityBackdoor)
		}
	}
}

var (
	reRegWrite          = regexp.MustCompile(regWrite)
	reAccessibilityName = regexp.MustCompile(`\b` + accessibilityBins)
)

// reconText is the text the discovery rule reads: account changes (net user x
// /add) name the same net verbs but are not discovery.
func reconText(lower string) string {
	if !reAccountChange.match(lower) {
		return lower
	}
	return reAccountChange.re.ReplaceAllString(lower, " ")
}

// regAddData analyses what reg add writes to an autorun or service key as the
// command line Windows will run: a Run value that starts PowerShell hidden, or a
// service ImagePath in Temp, is judged like that process creation.
func (st *state) regAddData(argv []string, depth int) {
	if len(argv) < 3 || !strings.EqualFold(argv[1], "add") {
		return
	}
	key := strings.ToLower(argv[2])
	var value, data string
	for i := 3; i+1 < len(argv); i++ {
		switch strings.ToLower(argv[i]) {
		case "/v", "-v":
			value = strings.ToLower(argv[i+1])
		case "/d", "-d":
			data = argv[i+1]
		}
	}
	if data == "" {
		return
	}
	switch {
	case comServerKey(key) && isPayload(data):
		st.tag(tagCOMHijack)
	case autorunKey(key, value):
		st.commandLine(data, Process{ParentImage: `C:\Windows\explorer.exe`}, depth+1)
	case strings.Contains(key, `\currentcontrolset\services\`) && (value == "imagepath" || value == "servicedll"):
		st.serviceBinary(data, depth)
	}
}

// autorunKey reports a key (and value) whose data Windows runs as a command
// line at logon.
func autorunKey(key, value string) bool {
	key = strings.TrimRight(strings.Trim(key, `"'`), `\`)
	for _, k := range []string{`\currentversion\run`, `\currentversion\runonce`, `\currentversion\runservices`,
		`\currentversion\runservicesonce`, `\policies\explorer\run`} {
		if strings.HasSuffix(key, k) {
			return true
		}
	}
	return strings.HasSuffix(key, `\winlogon`) && (value == "userinit" || value == "shell")
}

// comServerKey reports a COM server registration in the user's own hive
// (HKCU\Software\Classes\CLSID\{…}\InprocServer32 or LocalServer32): it takes
// precedence over the machine's, so whatever loads that class loads this file.
func comServerKey(key string) bool {
	key = strings.TrimRight(strings.Trim(key, `"'`), `\`)
	user := strings.HasPrefix(key, `hkcu\`) || strings.HasPrefix(key, `hkey_current_user\`) || strings.HasPrefix(key, `hku\`) || strings.HasPrefix(key, `hkey_users\`)
	return user && strings.Contains(key, `\software\classes\clsid\{`) &&
		(strings.HasSuffix(key, `\inprocserver32`) || strings.HasSuffix(key, `\localserver32`) || strings.HasSuffix(key, `\treatas`))
}

// cmdkey: a password stored for another host from the command line
// (cmdkey /add:host /user:name /pass:secret), ready for RDP or SMB.
func (st *state) cmdkey(argv []string) {
	for _, a := range argv[1:] {
		if l := strings.ToLower(a); strings.HasPrefix(l, "/pass:") || strings.HasPrefix(l, "-pass:") {
			st.cleartextPassword(a[len("/pass:"):])
		}
	}
}

// netCommand: passwords on net user … /add and net use \\host\share lines.
func (st *state) netCommand(argv []string) {
	if len(argv) < 3 {
		return
	}
	var ops []string
	add := false
	for _, a := range argv[2:] {
		switch l := strings.ToLower(a); {
		case l == "/add":
			add = true
		case isSwitch(a):
		default:
			ops = append(ops, a)
		}
	}
	switch strings.ToLower(argv[1]) {
	case "user":
		if add && len(ops) >= 2 {
			st.cleartextPassword(ops[1]) // net user NAME PASSWORD /add
		}
	case "use":
		for i, op := range ops {
			if strings.HasPrefix(op, `\\`) && i+1 < len(ops) {
				st.cleartextPassword(ops[i+1]) // net use \\host\share PASSWORD /user:NAME
				return
			}
		}
	}
}

// minDiscoveryChain is how many kinds of discovery one cmd chain must run to be
// a survey of the host rather than an administrator's question.
const minDiscoveryChain = 3

// discoveryPrograms are the host, user, network and domain discovery programs
// (T1082, T1016, T1033, T1087, T1018, T1482, T1057).
var discoveryPrograms = set("whoami.exe", "systeminfo.exe", "ipconfig.exe", "nltest.exe", "quser.exe", "arp.exe",
	"route.exe", "netstat.exe", "tasklist.exe", "hostname.exe", "nslookup.exe", "nbtstat.exe", "getmac.exe",
	"cmdkey.exe", "klist.exe", "dsquery.exe", "adfind.exe", "driverquery.exe", "wmic.exe", "qwinsta.exe",
	"whoami", "systeminfo", "ipconfig", "nltest", "quser", "arp", "route", "netstat", "tasklist", "hostname",
	"nslookup", "nbtstat", "getmac", "cmdkey", "klist", "dsquery", "adfind", "driverquery", "qwinsta")

// discoveryKind names the kind of discovery a command runs ("" for none): the
// program, or for net, reg, sc, netsh and query the verb that reads.
func discoveryKind(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	prog := programName("", argv[:1])
	verb := ""
	if len(argv) > 1 {
		verb = strings.ToLower(argv[1])
	}
	switch prog {
	case "net.exe", "net1.exe":
		switch verb {
		case "user", "group", "localgroup", "view", "share", "accounts", "config", "session", "use", "time":
			if !strings.Contains(strings.ToLower(strings.Join(argv, " ")), "/add") {
				return "net " + verb
			}
		}
	case "reg.exe":
		if verb == "query" {
			return "reg query"
		}
	case "sc.exe":
		if verb == "query" || verb == "qc" || verb == "queryex" {
			return "sc query"
		}
	case "netsh.exe":
		for _, a := range argv[1:] {
			if strings.EqualFold(a, "show") {
				return "netsh show"
			}
		}
	case "query.exe", "query":
		return "query " + verb
	default:
		if discoveryPrograms[prog] {
			return strings.TrimSuffix(prog, ".exe")
		}
	}
	return ""
}
