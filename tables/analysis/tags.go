package analysis

import "sort"

// Tag documents one indicator: its stable name (a contract for packs), the
// weight it adds to the score, its ATT&CK technique and what it means.
type Tag struct {
	Name        string `json:"name"`
	Weight      int    `json:"weight"`
	Technique   string `json:"technique"`
	Description string `json:"description"`
	// Class is "strong" (the tag alone reaches SuspiciousScore), "weak" (it counts
	// only with corroboration) or "context" (it lowers or annotates the score).
	Class string `json:"class"`
	// Kind groups weak tags that are facets of one behaviour (all the
	// scheduled-task tags, say): several weak tags of one kind corroborate nothing.
	// A weak tag with no group is a kind of its own.
	Kind string `json:"kind,omitempty"`
}

// Tag classes (Tag.Class).
const (
	ClassStrong  = "strong"
	ClassWeak    = "weak"
	ClassContext = "context"
)

// weakKinds groups weak tags that describe one behaviour. A task created from a
// command line under a Microsoft-looking name is what many installers do; it takes
// a tag of another kind (what the task runs, the privilege it gets, who created it,
// what the text decodes to) to corroborate it.
var weakKinds = map[string]string{
	tagSchtasksCreate: "scheduled_task", tagSchtasksRemote: "scheduled_task", tagSchtasksMasquerade: "scheduled_task",
	tagWmicRemote: "wmic", tagWmicRecon: "wmic",
	tagSuspiciousDomain: "url_destination", tagURLDirectIP: "url_destination",
	tagRemoteExecTool: "lateral_movement", tagAdminShare: "lateral_movement",
}

// classify fills a tag's Class and Kind from its weight and weakKinds.
func classify(d tagDef) Tag {
	t := Tag{Name: d.Name, Weight: d.Weight, Technique: d.Technique, Description: d.Description}
	switch {
	case t.Weight >= SuspiciousScore:
		t.Class = ClassStrong
	case t.Weight > 0:
		t.Class, t.Kind = ClassWeak, weakKinds[t.Name]
		if t.Kind == "" {
			t.Kind = t.Name
		}
	default:
		t.Class = ClassContext
	}
	return t
}

// combine turns a set of tags into a score: the weights summed and clamped to
// 0..100, except that without a strong tag, weak tags of a single kind stay below
// SuspiciousScore. High scores need a strong indicator or independent signals.
func combine(tags map[string]bool) int {
	sum, strong := 0, false
	kinds := map[string]bool{}
	for name := range tags {
		t := tagIndex[name]
		sum += t.Weight
		switch t.Class {
		case ClassStrong:
			strong = true
		case ClassWeak:
			kinds[t.Kind] = true
		}
	}
	score := min(max(sum, 0), 100)
	if !strong && len(kinds) < 2 {
		score = min(score, SuspiciousScore-1)
	}
	return score
}

// Tag names. They are a public contract: packs match them, so never rename one.
const (
	tagAnalysisError  = "analysis_error"
	tagInputTruncated = "input_truncated"
	tagModuleCode     = "module_code"
	tagParentSuspect  = "parent_suspicious"

	tagEncodedCommand   = "encoded_command"
	tagExecPolicyBypass = "execution_policy_bypass"
	tagHiddenWindow     = "hidden_window"
	tagPSDowngrade      = "powershell_downgrade"
	tagDashLookalike    = "dash_lookalike_parameter"

	tagDownloadCradle   = "download_cradle"
	tagDownloadExecute  = "download_execute"
	tagInvokeExpression = "invoke_expression"
	tagObfuscatedIEX    = "obfuscated_iex"
	tagAMSIBypass       = "amsi_bypass"
	tagLoggingTamper    = "scriptblock_logging_tamper"
	tagReflectionLoad   = "reflection_load"
	tagDynamicAPI       = "dynamic_api_invoke"
	tagMemoryInjection  = "memory_injection_api"
	tagCredentialDump   = "credential_dump"
	tagDefenderTamper   = "defender_tamper"
	tagOffensiveTool    = "offensive_tool"
	tagEmbeddedPayload  = "embedded_payload"
	tagObfString        = "obfuscation_string"
	tagObfTicks         = "obfuscation_ticks"
	tagObfRandomCase    = "obfuscation_random_case"
	tagObfCharCodes     = "obfuscation_char_codes"
	tagObfEncoding      = "obfuscation_encoding"
	tagObfSpecialChars  = "obfuscation_special_chars"
	tagScriptMoniker    = "script_moniker"

	tagSuspiciousDomain = "suspicious_domain"
	tagURLDirectIP      = "url_direct_ip"
	tagReconCommand     = "recon_command"
	tagCmdObfuscation   = "cmd_obfuscation"
	tagImpacketExec     = "impacket_exec"
	tagWMIProcessCreate = "wmi_process_create"
	tagSystemBinaryCopy = "system_binary_copy"
	tagConhostHeadless  = "conhost_headless"
	tagToolDownload     = "tool_download"

	tagReverseShell          = "reverse_shell"
	tagGTFOShellEscape       = "gtfo_shell_escape"
	tagGTFODownload          = "gtfo_download"
	tagGTFOCommandExec       = "gtfo_command_exec"
	tagPosixBase64Shell      = "posix_base64_pipe_shell"
	tagPosixPipeToShell      = "posix_pipe_to_shell"
	tagBraceExpansion        = "brace_expansion"
	tagPosixBase64Decode     = "posix_base64_decode"
	tagPosixInteractive      = "posix_interactive_shell"
	tagRegsvr32RemoteSCT     = "lolbin_regsvr32_remote_sct"
	tagRegsvr32Scriptlet     = "lolbin_regsvr32_scriptlet"
	tagRegsvr32UserDLL       = "lolbin_regsvr32_user_dll"
	tagRundll32Script        = "lolbin_rundll32_script"
	tagRundll32URL           = "lolbin_rundll32_url"
	tagRundll32MiniDump      = "lolbin_rundll32_minidump"
	tagRundll32UserDLL       = "lolbin_rundll32_user_dll"
	tagMshta                 = "lolbin_mshta"
	tagSchtasksCreate        = "schtasks_create"
	tagSchtasksAction        = "schtasks_suspicious_action"
	tagSchtasksSystem        = "schtasks_run_as_system"
	tagSchtasksRemote        = "schtasks_remote"
	tagSchtasksMasquerade    = "schtasks_masquerade"
	tagWmicXSL               = "lolbin_wmic_xsl"
	tagWmicRemote            = "wmic_remote"
	tagWmicRecon             = "wmic_recon"
	tagCertutilDownload      = "lolbin_certutil_download"
	tagCertutilDecode        = "lolbin_certutil_decode"
	tagCertutilEncode        = "lolbin_certutil_encode"
	tagCertutilEncodePayload = "lolbin_certutil_encode_payload"
	tagScriptOpenedByUser    = "script_opened_by_user"
	tagBitsadminTransfer     = "lolbin_bitsadmin_transfer"
	tagMsiexecRemote         = "lolbin_msiexec_remote"
	tagLolbinDownload        = "lolbin_download"
	tagScriptHostTemp        = "script_host_temp_file"
	tagScriptHostUser        = "script_host_user_file"
	tagScriptHostEngine      = "script_host_engine_override"
	tagHH                    = "lolbin_hh"
	tagPcalua                = "lolbin_pcalua"
	tagForfiles              = "lolbin_forfiles"
	tagMsxsl                 = "lolbin_msxsl"
	tagInstallUtil           = "lolbin_installutil"
	tagRegasm                = "lolbin_regasm"
	tagMSBuild               = "lolbin_msbuild"
	tagCscUser               = "lolbin_csc_user"
	tagCmstp                 = "lolbin_cmstp"
	tagControlCPL            = "lolbin_control_cpl"
	tagExeInTemp             = "exe_in_temp"
	tagTempExeFromScript     = "temp_exe_from_script"
	tagOfficeChild           = "office_child_shell"
	tagPDFChild              = "pdf_reader_child_shell"
	tagBrowserChild          = "browser_child_shell"
	tagMailChild             = "mail_client_child_shell"
	tagWebserverChild        = "webserver_child_shell"
	tagSQLServerChild        = "sqlserver_child_shell"
	tagRuntimeChild          = "runtime_child_shell"
	tagWmiPrvSEChildShell    = "wmiprvse_child_shell"
	tagWmiPrvSEChild         = "wmiprvse_child_process"
	tagProxyChild            = "proxy_child_process"
	tagScriptHostChild       = "script_host_child"
	tagSystemWrongParent     = "system_process_wrong_parent"
	tagSystemMasquerade      = "system_process_masquerade"
	tagRenamedBinary         = "renamed_binary"
	tagLolbinProxyExec       = "lolbin_proxy_execute"
	tagLolbinCompile         = "lolbin_compile"
)

// tagDef is one row of tagTable; classify derives the rest of its Tag.
type tagDef struct {
	Name        string
	Weight      int
	Technique   string
	Description string
}

// Tags of script-block behaviour added with issue 18.
const (
	tagDecompressExecute    = "decompress_execute"
	tagBase64Execute        = "base64_execute"
	tagADSExecute           = "ads_execute"
	tagServiceBinPath       = "service_suspicious_binpath"
	tagCmdObfuscatedProgram = "cmd_obfuscated_program"
)

// Tags of remote execution, service and installer abuse.
const (
	tagRemoteExecTool    = "remote_exec_tool"
	tagCleartextCred     = "cleartext_credential"
	tagServiceDACL       = "service_dacl_tamper"
	tagWMIMSIInstall     = "wmi_msi_install"
	tagScriptHostJScript = "script_host_jscript"
)

// Tags of what intruders do besides running code (tamper.go).
const (
	tagInhibitRecovery       = "inhibit_recovery"
	tagEventLogTamper        = "event_log_tamper"
	tagFirewallTamper        = "firewall_tamper"
	tagIFEOInjection         = "ifeo_injection"
	tagAccessibilityBackdoor = "accessibility_backdoor"
	tagUACBypass             = "uac_bypass"
	tagSecuritySetting       = "security_setting_tamper"
	tagAutorunRegistry       = "autorun_registry"
	tagAccountChange         = "account_change"
	tagAdminShare            = "admin_share_access"
	tagCredentialSearch      = "credential_search"
	tagWMISubscription       = "wmi_event_subscription"
	tagCOMHijack             = "com_hijack"
	tagTunnelForward         = "tunnel_forward"
	tagWmicDiscovery         = "wmic_discovery"
	tagSecurityServiceStop   = "security_service_stop"
	tagStartupFolder         = "startup_folder"
	tagStartupScript         = "startup_script"
	tagCredentialStore       = "credential_store_access"
	tagDCOMExec              = "dcom_exec"
	tagDiscoveryChain        = "discovery_chain"
)

// tagTable is the single source of truth for tags; docs/indicators.md must list
// exactly these (a test checks it).
var tagTable = []tagDef{
	{tagAnalysisError, 0, "-", "The analyser hit an internal error on this input; the result is partial."},
	{tagInputTruncated, 0, "-", "The input or a decoded layer exceeded a size, depth or time limit and was analysed in part."},
	{tagParentSuspect, 50, "T1059", "The parent process itself scored 50 or more: whatever it starts is part of that execution chain (a console host, a second-stage shell, a decoder), however plain its own command line."},
	{tagModuleCode, -40, "-", "A script block from a module file in a trusted location (Program Files, a system Modules folder): tool code, not a command being run, so the score is lowered."},

	{tagEncodedCommand, 25, "T1027", "PowerShell was started with -EncodedCommand (any prefix or alias); the payload is decoded and analysed."},
	{tagExecPolicyBypass, 10, "T1059.001", "PowerShell -ExecutionPolicy Bypass or Unrestricted."},
	{tagHiddenWindow, 15, "T1564.003", "PowerShell -WindowStyle Hidden (or 1) hides the console from the user."},
	{tagPSDowngrade, 50, "T1562.010", "PowerShell -Version 2 downgrade: the v2 engine has no AMSI and no script-block logging, which is its only use on a Windows that ships PowerShell 5; no supported software needs it."},
	{tagDashLookalike, 30, "T1027.010", "A parameter written with an en dash, em dash or horizontal bar instead of '-' to evade string matching."},

	{tagDownloadCradle, 35, "T1105", "Script downloads remote content: Net.WebClient Download*, Invoke-WebRequest/iwr/curl/wget, Invoke-RestMethod/irm, Start-BitsTransfer, Msxml2.XMLHTTP, WinHttp, HttpClient."},
	{tagDownloadExecute, 20, "T1059.001", "Downloaded content is executed in the same text (a cradle together with iex, Start-Process or a script host)."},
	{tagInvokeExpression, 20, "T1059.001", "Invoke-Expression / iex or [ScriptBlock]::Create runs a string as code."},
	{tagObfuscatedIEX, 40, "T1027.010", "iex spelled without writing it: indexed automatic variables ($env:ComSpec[4,15,25], $PSHome[4], $ShellId[1]), a name joined from characters picked out of a string, wildcard Get-Command, or a decoded 'iex' literal invoked with & or dot."},
	{tagAMSIBypass, 60, "T1562.001", "Antimalware Scan Interface bypass: amsiInitFailed, AmsiUtils, AmsiScanBuffer patching, amsiContext, or reflection into System.Management.Automation internals ([Ref].Assembly.GetType(...).GetField(...)); the AMSI providers' registration deleted (Remove-Item HKLM:\\SOFTWARE\\Microsoft\\AMSI\\Providers\\{…})."},
	{tagLoggingTamper, 60, "T1562.002", "Script-block or PowerShell ETW logging disabled: cachedGroupPolicySettings, EnableScriptBlockLogging = 0, PSEtwLogProvider."},
	{tagReflectionLoad, 25, "T1620", "A .NET assembly is loaded from memory (Reflection.Assembly::Load, AppDomain.Load)."},
	{tagDynamicAPI, 25, "T1106", "Native functions are resolved and called dynamically (GetDelegateForFunctionPointer, DefineDynamicAssembly, DefinePInvokeMethod, GetProcAddress)."},
	{tagMemoryInjection, 25, "T1055", "Memory allocation or injection APIs are used (VirtualAlloc, VirtualProtect, WriteProcessMemory, CreateRemoteThread, QueueUserAPC)."},
	{tagCredentialDump, 50, "T1003", "Credential dumping: MiniDumpWriteDump, LSASS dumping, Mimikatz commands (sekurlsa::, lsadump::); the SAM, SYSTEM or SECURITY hive saved (reg save), NTDS.dit copied (ntdsutil ifm, a copy from a shadow copy or with esentutl); a full memory dump by rdrleakdiag /fullmemdmp or sqldumper."},
	{tagDefenderTamper, 50, "T1562.001", "Microsoft Defender weakened: Add-MpPreference exclusions, Set-MpPreference -Disable* $true, DisableAntiSpyware, its services (WinDefend, WdNisSvc, Sense, SecurityHealthService, wscsvc) stopped or disabled, its definitions removed (MpCmdRun -RemoveDefinitions)."},
	{tagOffensiveTool, 50, "T1059", "Names a well-known offensive framework or tool (Mimikatz, PowerSploit, Empire functions, Rubeus, SharpHound, PSAttack, WinPwnage, ...)."},
	{tagEmbeddedPayload, 25, "T1027", "The script carries a base64 payload ([Convert]::FromBase64String) that decodes to script, a compressed stream or binary."},
	{tagObfString, 25, "T1027.010", "String obfuscation: the -f operator reordering fragments, heavy literal concatenation, reversed strings or -replace rebuilding code."},
	{tagObfTicks, 20, "T1027.010", "Backtick escapes inside identifiers (Get-C`ommand, GEtFie`LD), Invoke-Obfuscation token style."},
	{tagObfRandomCase, 20, "T1027.010", "Keywords in random case (InVoKe, FOrEAcH-ObJecT, ASsEMbLY), Invoke-Obfuscation style."},
	{tagObfCharCodes, 25, "T1027.010", "Code built from character codes: many [char] casts, char arrays or char arithmetic."},
	{tagObfEncoding, 25, "T1027.010", "Code stored as encoded numbers (decimal, binary, octal, hex split on junk characters), -bxor, SecureString or whitespace (runs of spaces and tabs) encoding."},
	{tagObfSpecialChars, 50, "T1027.010", "Text made mostly of special characters (Invoke-Obfuscation special-character encoding, ${=} variables)."},
	{tagScriptMoniker, 50, "T1218", "A script: moniker (GetObject(\"script:http...\")) fetches and runs a remote scriptlet."},

	{tagSuspiciousDomain, 20, "T1105", "A URL on a paste, raw-file, file-sharing or tunnelling service (raw.githubusercontent.com, pastebin, transfer.sh, ngrok, ...)."},
	{tagURLDirectIP, 20, "T1105", "A URL whose host is a bare IP address."},
	{tagReconCommand, 20, "T1082", "Host or domain discovery commands (whoami, systeminfo, net user/group, nltest, ipconfig /all, quser)."},
	{tagCmdObfuscation, 30, "T1027.010", "cmd.exe obfuscation: carets inside words, environment-variable substrings (%COMSPEC:~-16,1%), call/set indirection, quotes splitting a word."},
	{tagImpacketExec, 70, "T1047", "A command's output redirected to an administrative share (> \\\\127.0.0.1\\ADMIN$\\__1690000000.1, > \\\\host\\C$\\out.txt): Impacket wmiexec/smbexec/atexec, CrackMapExec and kin run the command on the target and read its output back over SMB."},
	{tagWMIProcessCreate, 50, "T1047", "A process is created through WMI (wmic process call create, Win32_Process Create via winrm, Invoke-WmiMethod, Invoke-CimMethod)."},
	{tagSystemBinaryCopy, 40, "T1036.003", "A Windows binary is copied to a new name or a user-writable place (renamed LOLBin)."},
	{tagConhostHeadless, 50, "T1564.003", "conhost.exe --headless runs a command with no window."},
	{tagToolDownload, 30, "T1105", "curl or wget downloads a URL to a file."},

	{tagReverseShell, 60, "T1059.004", "A reverse shell: /dev/tcp redirection, nc/ncat -e, socat exec, mkfifo pipes, interactive shell wired to a socket."},
	{tagGTFOShellEscape, 55, "T1059.004", "A program that is not a shell is made to start an interactive shell the way the GTFOBins catalogue documents: a program that runs its operand (env, nice, timeout, xargs, flock, strace …) handed a bare shell, an option documented as running a command (find -exec, tar --checkpoint-action=exec=, zip -TT, rsync -e, ssh -o ProxyCommand, man -P, vi -c, gdb -ex …) given a shell, or a shell named inside code the program runs (awk 'BEGIN {system(\"/bin/sh\")}', perl -e 'exec \"/bin/sh\"', os.system, pty.spawn, :!/bin/sh). Seen from the child: an interactive shell (no script, or -c with a bare shell) whose parent is a pager or client GTFOBins documents as escaping to one (less, more, man, ftp, smbclient, nmap …; not editors, debuggers or database clients). A shell handed a script (nohup bash /opt/app/start.sh) is not an escape. Rules are per program: tables/analysis/gtfobins.go."},
	{tagGTFODownload, 30, "T1105", "A program the GTFOBins catalogue documents as able to fetch a file does so: an interpreter one-liner fetching a URL (python urllib/requests, ruby open-uri, php file_get_contents, perl LWP, julia download, jrunscript cp, node http.get) or a download tool other than curl and wget (aria2c, lwp-download, axel, tftp) handed a URL. Weak: installers and administrators fetch files too."},
	{tagGTFOCommandExec, 30, "T1059.004", "A program runs a command the way the GTFOBins catalogue documents: a hook option whose ordinary use is rare on a command line (tcpdump -z, dnsmasq --conf-script, restic --password-command, aria2c --on-download-complete, sshfs -o ssh_command, zip -TT, tar --checkpoint-action=exec= / --to-command) handed a program, or an interpreter one-liner that runs a command line (php shell_exec/exec/proc_open, python os.system/subprocess, perl or ruby system/exec, lua os.execute, node child_process). Weak: the hook or the one-liner may be an administrator's; with a shell it is gtfo_shell_escape."},
	{tagPosixBase64Shell, 50, "T1140", "Base64 text is decoded and piped into a shell or interpreter (echo ... | base64 -d | bash)."},
	{tagPosixPipeToShell, 40, "T1105", "Downloaded content is piped straight into a shell (curl ... | sh)."},
	{tagBraceExpansion, 25, "T1027.010", "bash brace expansion {cmd,arg} used to avoid spaces, as in Log4Shell payloads."},
	{tagPosixBase64Decode, 15, "T1140", "base64 -d / --decode run as a command."},
	{tagPosixInteractive, 15, "T1059.004", "A shell started with an explicit -i (interactive) flag, typical of reverse-shell payloads."},
	{tagRegsvr32RemoteSCT, 60, "T1218.010", "regsvr32 /i: with a URL runs a remote COM scriptlet (Squiblydoo)."},
	{tagRegsvr32Scriptlet, 50, "T1218.010", "regsvr32 with scrobj.dll or /i: on a local scriptlet."},
	{tagRegsvr32UserDLL, 40, "T1218.010", "regsvr32 registers a DLL from a user-writable path or with an odd extension."},
	{tagRundll32Script, 60, "T1218.011", "rundll32 runs script (javascript:, vbscript:, mshtml RunHTMLApplication)."},
	{tagRundll32URL, 50, "T1218.011", "rundll32 proxies execution through url.dll, ieframe.dll, shdocvw.dll, zipfldr, advpack, pcwutl or shell32 ShellExec_RunDLL."},
	{tagRundll32MiniDump, 70, "T1003.001", "rundll32 comsvcs.dll MiniDump (#24) dumps process memory, usually LSASS."},
	{tagRundll32UserDLL, 50, "T1218.011", "rundll32 loads a DLL from a user-writable path, by a relative non-system name, with an odd extension, by ordinal, or with no export."},
	{tagMshta, 55, "T1218.005", "mshta runs a URL, inline javascript:/vbscript:, or an HTA outside system folders."},
	{tagSchtasksCreate, 25, "T1053.005", "schtasks /create registers a scheduled task from a command line."},
	{tagSchtasksAction, 35, "T1053.005", "The task runs from a user-writable path, a shell, script host, LOLBin or URL, or is imported from an XML file in a user path."},
	{tagSchtasksSystem, 25, "T1053.005", "The task is created to run as SYSTEM (/ru SYSTEM)."},
	{tagSchtasksRemote, 15, "T1053.005", "The task is created on a remote host (/s)."},
	{tagSchtasksMasquerade, 25, "T1036.004", "A task created from a command line hides under \\Microsoft\\Windows\\."},
	{tagWmicXSL, 60, "T1220", "wmic /format: loads a remote or non-standard XSL stylesheet that runs script."},
	{tagWmicRemote, 15, "T1047", "wmic targets a remote node (/node: other than the local host)."},
	{tagWmicDiscovery, 50, "T1047", "wmic reads what an intruder plans the next step with, or changes it: the patch level (qfe), accounts, groups, shares, startup entries, the domain, installed security products, every process's command line, a security product looked up by name or uninstalled (other products: deployment scripts check versions and remove old ones), services' binary paths (unquoted-path escalation), services reconfigured or stopped through WMI (call ChangeStartMode, StopService; not StartService) or listed on a node named with /node:, or any method called on such a node. wmic is deprecated and administration has moved to PowerShell's CIM cmdlets; hardware and OS inventory (csproduct, bios, os, computersystem, logicaldisk) stays the weak wmic_recon."},
	{tagWmicRecon, 10, "T1047", "wmic queries products, services, patches or hardware (common reconnaissance)."},
	{tagCertutilDownload, 60, "T1105", "certutil -urlcache / -verifyctl / -URL downloads a file, or -syncWithWU reads from a share or URL (and authenticates to it)."},
	{tagCertutilDecode, 50, "T1140", "certutil -decode / -decodehex rebuilds a file from encoded text."},
	{tagCertutilEncode, 25, "T1027", "certutil -encode encodes a file to base64."},
	{tagCertutilEncodePayload, 25, "T1027", "certutil -encode of a file that is not a certificate (a script, an executable, a document): a payload prepared for smuggling or staging."},
	{tagScriptOpenedByUser, 20, "T1204.002", "A script host ran a script from Temp or a user folder with Explorer as its parent: the user opened the file, the delivery step of malicious attachments and downloads."},
	{tagBitsadminTransfer, 50, "T1197", "bitsadmin /transfer, /addfile or /SetNotifyCmdLine downloads or runs through BITS."},
	{tagMsiexecRemote, 50, "T1218.007", "msiexec installs a package from a URL, or calls DllRegisterServer/DllUnregisterServer (/y, /z) of a DLL outside the system folders."},
	{tagLolbinDownload, 55, "T1105", "A Windows or Microsoft binary abused to download (LOLBAS Download): desktopimgdownldr /lockscreenurl, finger, certreq -Post, esentutl, expand, makecab, diantz, findstr or printbrm from a URL or share, MpCmdRun -DownloadFile, Squirrel --download, an Office application handed a URL that is not a document, cmd's type from a share, Windows' curl.exe saving a program, DLL or script into a user-writable folder, a URL planted in OneDriveStandaloneUpdater's UpdateOfficeConfig key, and others in tables/analysis/lolbas.go."},
	{tagScriptHostTemp, 50, "T1059.005", "wscript/cscript runs a script from Temp, Downloads, browser or mail caches."},
	{tagScriptHostUser, 30, "T1059.005", "wscript/cscript runs a script from another user-writable path, or from a folder of its own at the root of a drive (C:\\payloads\\), which any user may create."},
	{tagScriptHostJScript, 20, "T1059.007", "wscript/cscript runs a JScript or encoded script file (.js, .jse, .vbe) from outside the system and program folders. Windows administration is written in VBScript and PowerShell; JScript and encoded files are what mail attachments and droppers hand the script hosts. Weak: it counts with another signal, such as the file being in a user-writable folder or a folder of its own at the root of a drive (script_host_user_file)."},
	{tagScriptHostEngine, 50, "T1059.005", "wscript/cscript forces a script engine (/E:) or runs a file whose extension is not a script's."},
	{tagHH, 50, "T1218.001", "hh.exe opens a compiled help file from a URL or a user-writable path."},
	{tagPcalua, 50, "T1202", "pcalua -a runs a program through the Program Compatibility Assistant."},
	{tagForfiles, 50, "T1202", "forfiles /c runs a program indirectly, without the @file/@path placeholders of housekeeping jobs."},
	{tagMsxsl, 55, "T1220", "msxsl.exe runs an XSL transform (script inside XSL)."},
	{tagInstallUtil, 55, "T1218.004", "InstallUtil runs an assembly from a user path, or with /U or the /logfile= /LogToConsole=false evasion arguments."},
	{tagRegasm, 50, "T1218.009", "regasm/regsvcs registers an assembly from a user path or with /U."},
	{tagMSBuild, 50, "T1127.001", "MSBuild builds a project from Temp, a user-writable path or a file with a non-project extension."},
	{tagCscUser, 40, "T1027.004", "csc.exe compiles source from a user-writable path outside PowerShell Add-Type."},
	{tagCmstp, 55, "T1218.003", "cmstp installs an INF from a URL or user path silently (/s, /ni)."},
	{tagControlCPL, 50, "T1218.002", "control.exe or Control_RunDLL opens a .cpl from a user-writable path."},
	{tagExeInTemp, 20, "T1204.002", "The program runs from Temp, Downloads, a browser or mail cache, Public or the Recycle Bin."},
	{tagTempExeFromScript, 35, "T1204.002", "A program in Temp or Downloads is started by PowerShell, a script host, mshta, Office or a proxy LOLBin."},
	{tagOfficeChild, 60, "T1204.002", "An Office application (Word, Excel, PowerPoint, Outlook, Access, Publisher, OneNote, Visio, Equation Editor) starts a shell, script host or LOLBin."},
	{tagPDFChild, 60, "T1204.002", "A PDF reader starts a shell, script host or LOLBin."},
	{tagBrowserChild, 45, "T1189", "A web browser starts a shell, script host or LOLBin (not a native-messaging host, not rundll32, which browsers use for settings)."},
	{tagMailChild, 60, "T1204.002", "A mail client starts a shell, script host or LOLBin."},
	{tagWebserverChild, 60, "T1505.003", "A web server (w3wp, httpd, nginx, tomcat, php) starts a shell, script host or LOLBin: a web shell."},
	{tagSQLServerChild, 60, "T1505.001", "A database server (sqlservr, postgres, mysqld) starts a shell: xp_cmdshell or COPY FROM PROGRAM."},
	{tagRuntimeChild, 30, "T1059", "An application runtime that also serves requests (java, node) starts a shell or script host."},
	{tagWmiPrvSEChildShell, 50, "T1047", "WmiPrvSE starts a shell, script host or LOLBin: WMI remote execution."},
	{tagWmiPrvSEChild, 50, "T1047", "WmiPrvSE starts another program (Win32_Process Create), other than WMI's own helpers."},
	{tagProxyChild, 50, "T1218", "A proxy-execution LOLBin (mshta, regsvr32, msxsl, wmic, cmstp, odbcconf, hh, ftp, diskshadow, pcwrun, debuggers and the other LOLBAS launchers; rundll32 for shells) starts a child process, or a Windows Installer custom-action stub (\\Windows\\Installer\\MSI*.tmp) starts a shell, or an MMC started over DCOM (mmc.exe -Embedding, MMC20.Application lateral movement) starts a shell."},
	{tagScriptHostChild, 40, "T1059.005", "wscript/cscript starts a shell, LOLBin or a program from a user-writable path."},
	{tagSystemWrongParent, 50, "T1036.005", "A core Windows process (svchost, lsass, services, smss, csrss, wininit, winlogon, taskhostw, ...) has an unexpected parent."},
	{tagLolbinProxyExec, 55, "T1218", "A Windows, .NET, Visual Studio, SDK or Office binary that the LOLBAS catalogue documents as starting, loading or injecting what it is handed runs a program, script, DLL or command line from outside the system folders (pcwrun, mftrace, tttracer, ftp -s:, odbcconf REGSVR, mavinject, msdt -af, netsh add helper, diskshadow /s, vshadow -exec, --gpu-launcher, ssh ProxyCommand, ...). Rules are per program: tables/analysis/lolbas.go."},
	{tagLolbinCompile, 50, "T1127", "A compiler or script runtime shipped with Windows, .NET or Visual Studio (jsc, vbc, ilasm, csi, rcsi, fsi, wfc, Microsoft.Workflow.Compiler, aspnet_compiler) builds or runs source from Temp, AppData, ProgramData, Public or a URL."},
	{tagRenamedBinary, 50, "T1036.003", "A shell, script host, LOLBin or well-known tool runs under another file name than its PE original name (or, on older Sysmon schemas, its PE description) says it has; its arguments are checked as the real program's."},
	{tagSystemMasquerade, 60, "T1036.005", "A program named like a core Windows process runs from outside the Windows system folders."},
	{tagBase64Execute, 50, "T1140", "Text is run straight from a base64 decode: iex, Invoke-Expression or [ScriptBlock]::Create of [Text.Encoding]::…GetString([Convert]::FromBase64String(…)), or the decoded string piped into iex: a fileless loader (the code is kept encoded in a variable, a file or the registry and only ever exists decoded in memory)."},
	{tagADSExecute, 50, "T1564.004", "Code is run from an NTFS alternate data stream: a program, script or DLL named file.ext:stream.ext on a command line, or Get-Content -Stream read into Invoke-Expression."},
	{tagServiceBinPath, 50, "T1569.002", "sc create or sc config gives a service a binPath= that runs a shell, script host or LOLBin (cmd /c, %COMSPEC%, powershell, mshta, rundll32, ...), a URL or a program from Temp, Downloads, Public, the Desktop, Startup or the component store (WinSxS, which keeps copies of system binaries no service runs from); or a new svchost group written under Windows NT\\CurrentVersion\\SvcHost (what the TinyTurla and Gh0st services hide in): a command run as SYSTEM through the service manager, as PsExec-style tools, Metasploit and ransomware do. The binPath is analysed as a command line."},
	{tagCmdObfuscatedProgram, 50, "T1027.010", "The program a cmd.exe command runs is spelled with substrings of environment variables (%COMSPEC:~-7,1%md, %LOCALAPPDATA:~-3,1%md): DOSfuscation that no script needs; the spelled command is analysed as it will run."},
	{tagRemoteExecTool, 30, "T1569.002", "A remote-execution tool (PsExec, PAExec, RemCom, CsExec, xCmd; by PE identity, so renamed copies count) runs a command on a host named \\\\host, or as SYSTEM (-s) with a shell; winrs runs one over WinRM (-r:host), PowerShell remoting on another computer (Invoke-Command, Enter-PSSession, New-PSSession -ComputerName); sc \\\\host creates, changes or starts a service on another host: lateral movement and privilege escalation through a service. Weak: administrators use PsExec too; a password on the command line, a copy in Temp or a hostile remote command corroborates it. The remote command is analysed as a command line."},
	{tagCleartextCred, 25, "T1078", "A password is written on the command line of a remote-execution or remote-management command (PsExec/PAExec -p, RemCom /pwd:, winrs -p:, wmic /password:, schtasks /s … /p, net user … /add, net use, plink -pw, cmdkey /pass:) or turned into a SecureString from a literal (ConvertTo-SecureString \"…\" -AsPlainText): an operator with stolen credentials, and a password now in every process log."},
	{tagServiceDACL, 50, "T1543.003", "sc sdset rewrites the security descriptor of a service or of the service manager to allow Everyone, users, services or the interactive user (A;…;WD/AU/BU/IU/SU), or to deny them or administrators and SYSTEM (D;…): a service anyone can reconfigure, or one hidden from and locked against defenders."},
	{tagWMIMSIInstall, 50, "T1218.007", "A Windows Installer package is installed through WMI's Win32_Product class (Install, Admin or Advertise from PowerShell's Invoke-CimMethod/Invoke-WmiMethod/[wmiclass], or wmic product call install): msiexec then runs the package as a service, away from the caller's process tree."},
	{tagInhibitRecovery, 60, "T1490", "Backups and recovery destroyed, as ransomware does before encrypting: vssadmin delete shadows of a whole volume or all volumes (not /oldest or one /shadow=, how maintenance frees space) or resize shadowstorage to a tiny size, wmic shadowcopy delete, Win32_ShadowCopy deleted from PowerShell, bcdedit recoveryenabled no or bootstatuspolicy ignoreallfailures, wbadmin delete catalog/systemstatebackup/backup."},
	{tagEventLogTamper, 60, "T1070.001", "Evidence destroyed or its collection stopped: wevtutil cl (or set-log /e:false), Clear-EventLog, Remove-EventLog, EventLogSession.ClearLog, auditpol /clear, /remove or /success:disable, the EventLog or Sysmon service stopped or disabled, Sysmon's driver unloaded (fltmc unload SysmonDrv); on Linux auditd, syslog or the journal stopped, audit rules deleted or auditing disabled (auditctl -D, -e 0), shell history or login records wiped (history -c, HISTFILE=/dev/null, rm ~/.bash_history, truncating /var/log/wtmp, auth.log)."},
	{tagFirewallTamper, 50, "T1562.004", "The host firewall switched off: netsh advfirewall set … state off, netsh firewall set opmode disable, Set-NetFirewallProfile -Enabled False, the mpssvc service stopped or disabled."},
	{tagIFEOInjection, 50, "T1546.012", "A value written under Image File Execution Options (Debugger, GlobalFlag) or SilentProcessExit (MonitorProcess): the program named runs instead of, or after, the one the key is for, each time that one starts."},
	{tagAccessibilityBackdoor, 60, "T1546.008", "The accessibility programs Windows starts as SYSTEM from the logon screen (sethc, utilman, osk, magnify, narrator, displayswitch, atbroker) given a debugger, overwritten with a shell, or taken over (takeown, icacls), or a new assistive technology registered (Accessibility\\ATs) for the logon screen to start: a SYSTEM shell at the logon screen, no password needed."},
	{tagUACBypass, 60, "T1548.002", "A UAC bypass: a command handler written in the user's hive for a class an auto-elevating program opens (ms-settings, mscfile, exefile, Folder, Launcher.SystemSettings \\shell\\open\\command), windir or SystemRoot overridden in HKCU\\Environment, sdclt's App Paths\\control.exe or /KickOffElev; or an auto-elevating program (fodhelper, computerdefaults, eventvwr, sdclt, slui, wsreset, changepk) starting a shell, script host or LOLBin."},
	{tagSecuritySetting, 50, "T1112", "A security setting weakened in the registry: WDigest UseLogonCredential 1 (passwords kept in clear in LSASS), RunAsPPL 0 (LSA protection off), EnableLUA 0 or ConsentPromptBehaviorAdmin 0 (UAC off), LocalAccountTokenFilterPolicy 1 (full admin tokens over the network), DisableRestrictedAdmin 0 (pass-the-hash over RDP)."},
	{tagAutorunRegistry, 30, "T1547.001", "A value written to a key whose command line Windows runs at logon or boot (Run, RunOnce, RunServices, Policies\\Explorer\\Run, Winlogon Userinit/Shell/Notify, Windows Load/Run/AppInit_DLLs, Active Setup StubPath, BootExecute). Weak: installers register their programs too; what the value runs is analysed as a command line (a program in Temp, a hidden PowerShell) and corroborates it."},
	{tagAccountChange, 30, "T1136.001", "An account created or put in a privileged group from a command line (net user … /add, net localgroup administrators … /add, net group \"domain admins\" … /add, New-LocalUser, Add-LocalGroupMember Administrators). Weak: administrators do this; a password on the line (cleartext_credential) corroborates it."},
	{tagAdminShare, 25, "T1021.002", "Another host's administrative share (\\\\host\\C$, ADMIN$, IPC$) is named: mounting it, copying a tool to it or listing it is how intruders move laterally. Weak: administrators and management tools use the shares too."},
	{tagCredentialSearch, 30, "T1552.001", "Files searched for stored passwords: findstr /s … pass(word), Select-String password over a tree. Weak: developers and administrators grep their configurations too; the stores themselves are credential_store_access."},
	{tagWMISubscription, 60, "T1546.003", "A permanent WMI event subscription is created (__EventFilter, CommandLineEventConsumer, ActiveScriptEventConsumer, __FilterToConsumerBinding in root\\subscription, from wmic, Set-WmiInstance, New-CimInstance or .Put()): a command or script WMI runs as SYSTEM whenever the filter fires."},
	{tagCOMHijack, 50, "T1546.015", "reg add registers a COM server in the user's own hive (HKCU\\Software\\Classes\\CLSID\\{…}\\InprocServer32, LocalServer32, TreatAs) pointing at a DLL or program outside the system folders: every process that loads the class loads it instead of the machine's."},
	{tagTunnelForward, 30, "T1572", "An SSH client (plink, ssh, klink) opens a remote (-R) or dynamic (-D, SOCKS) forward, publishing a port of this network (RDP, say) to the far end. Weak: administrators tunnel too; a password on the line (plink -pw) corroborates it."},
	{tagSecurityServiceStop, 50, "T1562.001", "A security product or log shipper stopped, disabled or killed from a command line (net stop, sc stop/config/delete, Stop-Service, Set-Service, taskkill /im of McAfee, Symantec, Sophos, CrowdStrike, SentinelOne, Carbon Black, Cylance, ESET, Kaspersky, Trend Micro, Bitdefender, Cortex XDR, FireEye, Elastic, Tanium, Qualys, Wazuh, Splunk forwarder, NXLog, Winlogbeat, osquery): what ransomware runs before encrypting. Microsoft Defender's services are defender_tamper."},
	{tagStartupFolder, 30, "T1547.001", "A file copied, written or linked into a Startup folder (Start Menu\\Programs\\Startup), which Windows runs at every logon. Weak: installers put shortcuts there; a script or a program from Temp corroborates it."},
	{tagStartupScript, 50, "T1547.001", "A script (bat, cmd, vbs, js, wsf, ps1, hta) copied or written into a Startup folder: it runs at every logon; installers put shortcuts there, not scripts."},
	{tagCredentialStore, 50, "T1555.004", "A credential store read from a command line: Windows Credential Manager listed (vaultcmd /listcreds, the PasswordVault API's RetrieveAll), the registry searched for passwords (reg query … /f password /s), saved PuTTY sessions, Windows setup answer files that keep the administrator's password (Panther\\unattend.xml, sysprep.xml), Wi-Fi keys shown in clear (netsh wlan show profile … key=clear)."},
	{tagDCOMExec, 50, "T1021.003", "A command run through a DCOM object that executes what it is given, usually on another host: MMC20.Application's Document.ActiveView.ExecuteShellCommand, ShellWindows or ShellBrowserWindow's Document.Application.ShellExecute."},
	{tagDiscoveryChain, 50, "T1082", "One cmd chain runs three or more kinds of discovery (whoami, systeminfo, ipconfig, arp, route, netstat, nltest, net user/group/view/config/share, tasklist, nslookup, reg query, sc query, netsh … show, quser, cmdkey /list …): a survey of the host, user, network and domain, as loaders (Qakbot, TrickBot, Emotet) and operators run it on arrival. Each command alone is an administrator's question (recon_command, weak)."},
	{tagDecompressExecute, 50, "T1140", "A loader base64-decodes a blob, decompresses it (GzipStream, DeflateStream) and runs the result (iex, & or . on a script block, .Invoke(), [ScriptBlock]::Create, Assembly.Load): the Cobalt Strike, Metasploit and Invoke-Obfuscation stager shape, malicious whether or not the blob decodes."},
}

// allTags is tagTable classified, in table order; tagIndex finds one by name.
var allTags, tagIndex = func() ([]Tag, map[string]Tag) {
	all := make([]Tag, 0, len(tagTable))
	m := make(map[string]Tag, len(tagTable))
	for _, d := range tagTable {
		t := classify(d)
		all = append(all, t)
		m[t.Name] = t
	}
	return all, m
}()

// Tags returns every indicator tag, sorted by name. The slice is a copy.
func Tags() []Tag {
	out := append([]Tag(nil), allTags...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
