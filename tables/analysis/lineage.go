package analysis

import (
	"strings"

	"github.com/exechunt/exechunt/tables/analysis/cmdline"
)

// Parent classes for parent/child rules (lower-case base names).
var (
	officeApps = set("winword.exe", "excel.exe", "powerpnt.exe", "outlook.exe", "msaccess.exe",
		"mspub.exe", "onenote.exe", "onenotem.exe", "visio.exe", "eqnedt32.exe", "fltldr.exe",
		"wordpad.exe", "wordview.exe", "xlview.exe", "lync.exe", "teams.exe", "hwp.exe")
	pdfReaders = set("acrord32.exe", "acrobat.exe", "foxitreader.exe", "foxitphantompdf.exe",
		"foxitpdfreader.exe", "sumatrapdf.exe", "nitropdf.exe", "pdfxedit.exe", "pdfxcview.exe")
	browsers = set("chrome.exe", "msedge.exe", "firefox.exe", "iexplore.exe", "opera.exe",
		"brave.exe", "vivaldi.exe", "safari.exe", "microsoftedge.exe", "microsoftedgecp.exe", "browser_broker.exe")
	mailClients = set("thunderbird.exe", "hxoutlook.exe", "olk.exe", "mailspring.exe", "thebat.exe",
		"eudora.exe", "winmail.exe", "hxtsr.exe")
	webServers = set("w3wp.exe", "httpd.exe", "httpd", "nginx.exe", "nginx", "apache", "apache2",
		"apache.exe", "tomcat.exe", "tomcat7.exe", "tomcat8.exe", "tomcat9.exe", "tomcat", "php-cgi.exe",
		"php-cgi", "php-fpm", "php.exe", "iisexpress.exe", "lighttpd", "caddy", "ws_tomcatservice.exe",
		"umworkerprocess.exe", "beasvc.exe", "coldfusion.exe", "jrun.exe", "uwsgi", "gunicorn")
	sqlServers = set("sqlservr.exe", "sqlagent.exe", "postgres", "postgres.exe", "mysqld", "mysqld.exe",
		"oracle.exe", "sqlplus.exe")
	runtimes = set("java.exe", "javaw.exe", "java", "node.exe", "node")
	// proxyHosts start children only when abused.
	proxyHosts = set("mshta.exe", "regsvr32.exe", "msxsl.exe", "wmic.exe", "cmstp.exe", "odbcconf.exe",
		"installutil.exe", "regasm.exe", "regsvcs.exe", "pcalua.exe", "presentationhost.exe", "msdt.exe", "hh.exe",
		"ftp.exe", "diskshadow.exe", "pcwrun.exe", "infdefaultinstall.exe", "ieexec.exe", "atbroker.exe",
		"mavinject.exe", "scriptrunner.exe", "runscripthelper.exe", "syncappvpublishingserver.exe", "xwizard.exe",
		"verclsid.exe", "eudcedit.exe", "wlrmdr.exe", "mftrace.exe", "tttracer.exe", "ttdinject.exe", "appvlp.exe",
		"cdb.exe", "ntsd.exe", "te.exe", "dxcap.exe", "vsjitdebugger.exe", "remote.exe", "logger.exe", "winfile.exe")
	// autoElevating are programs Windows raises to high integrity without a UAC
	// prompt; the shells they start are UAC bypasses (T1548.002).
	autoElevating = set("fodhelper.exe", "computerdefaults.exe", "eventvwr.exe", "sdclt.exe", "slui.exe",
		"wsreset.exe", "changepk.exe")
	benignChildren = set("conhost.exe", "werfault.exe", "wermgr.exe", "csc.exe", "cvtres.exe", "wmiprvse.exe",
		"msiexec.exe", "wmiadap.exe", "wmiapsrv.exe", "scrcons.exe", "unsecapp.exe", "mofcomp.exe")
)

// systemParents lists the expected parents of core Windows processes.
var systemParents = map[string]map[string]bool{
	"svchost.exe":       set("services.exe", "msmpeng.exe"),
	"smss.exe":          set("system", "smss.exe", "ntoskrnl.exe", ""),
	"csrss.exe":         set("smss.exe"),
	"wininit.exe":       set("smss.exe"),
	"winlogon.exe":      set("smss.exe"),
	"services.exe":      set("wininit.exe"),
	"lsass.exe":         set("wininit.exe"),
	"lsm.exe":           set("wininit.exe"),
	"lsaiso.exe":        set("wininit.exe"),
	"spoolsv.exe":       set("services.exe"),
	"taskhostw.exe":     set("svchost.exe", "services.exe"),
	"taskhost.exe":      set("services.exe", "svchost.exe"),
	"userinit.exe":      set("winlogon.exe", "dwm.exe"),
	"logonui.exe":       set("winlogon.exe", "wininit.exe"),
	"dwm.exe":           set("winlogon.exe", "svchost.exe"),
	"wmiprvse.exe":      set("svchost.exe", "wmiprvse.exe"),
	"searchindexer.exe": set("services.exe"),
	"runtimebroker.exe": set("svchost.exe"),
}

// systemHomes are where the core processes live.
var systemHomes = []string{`\windows\system32\`, `\windows\syswow64\`, `\windows\winsxs\`, `\systemroot\system32\`, `\??\c:\windows\system32\`}

// lineage applies the parent/child rules to the process being analysed.
func (st *state) lineage(p Process, program string, argv []string) {
	parent := programName(p.ParentImage, nil)
	st.systemProcess(p, program, parent)
	st.tempExecutable(p, program, argv, parent)
	if parent == "" || parent == program && !proxyHosts[parent] {
		return
	}
	child := shellLike(program) && !benignChildren[program]
	lower := strings.ToLower(strings.Join(argv, " "))
	switch {
	case officeApps[parent] && child:
		st.tag(tagOfficeChild)
	case pdfReaders[parent] && child:
		st.tag(tagPDFChild)
	case mailClients[parent] && child:
		st.tag(tagMailChild)
	case browsers[parent] && child && program != "rundll32.exe" && !nativeMessaging(lower):
		st.tag(tagBrowserChild)
	case webServers[parent] && child:
		st.tag(tagWebserverChild)
	case sqlServers[parent] && child:
		st.tag(tagSQLServerChild)
	case runtimes[parent] && child:
		st.tag(tagRuntimeChild)
	case parent == "wmiprvse.exe":
		if child {
			st.tag(tagWmiPrvSEChildShell)
		} else if !benignChildren[program] {
			st.tag(tagWmiPrvSEChild)
		}
	case autoElevating[parent] && child && program != "mmc.exe": // eventvwr opens its console in mmc
		st.tag(tagUACBypass)
	case parent == "mmc.exe" && child && strings.Contains(strings.ToLower(p.ParentCmdline), "-embedding"):
		st.tag(tagProxyChild) // MMC20.Application driven over DCOM from another host
	case proxyHosts[parent] && !benignChildren[program] && parent != program:
		st.tag(tagProxyChild)
	case child && msiCustomAction(p.ParentImage):
		st.tag(tagProxyChild) // a Windows Installer custom action stub starting a shell
	case parent == "rundll32.exe" && child && program != "rundll32.exe":
		st.tag(tagProxyChild)
	case scriptHosts[parent] && (child || inUserWritable(p.Image)):
		st.tag(tagScriptHostChild)
	}
}

// nativeMessaging recognises browsers running an extension's native host
// through cmd.exe, which is legitimate.
func nativeMessaging(lower string) bool {
	return strings.Contains(lower, "chrome-extension://") || strings.Contains(lower, "moz-extension://") ||
		strings.Contains(lower, "--parent-window=")
}

// systemProcess checks a core Windows process name against its parent and home.
func (st *state) systemProcess(p Process, program, parent string) {
	allowed, core := systemParents[program]
	if !core {
		return
	}
	if p.Image != "" && hasPathSep(p.Image) && !containsAny(normPath(p.Image), systemHomes) {
		st.tag(tagSystemMasquerade)
	}
	if parent == "" || parent == "?" || parent == "-" {
		return
	}
	if !allowed[parent] {
		st.tag(tagSystemWrongParent)
	}
}

// tempExecutable tags programs run from Temp-like folders, more so when a
// script, document or proxy started them.
func (st *state) tempExecutable(p Process, program string, argv []string, parent string) {
	path := p.Image
	if !hasPathSep(path) && len(argv) > 0 {
		path = argv[0]
	}
	if !hasPathSep(path) || !inTemp(path) {
		return
	}
	st.tag(tagExeInTemp)
	if powershellNames[parent] || scriptHosts[parent] || officeApps[parent] || pdfReaders[parent] ||
		proxyHosts[parent] || parent == "rundll32.exe" || mailClients[parent] {
		st.tag(tagTempExeFromScript)
	}
}

// msiCustomAction recognises the stub Windows Installer runs a custom action's DLL
// in (C:\Windows\Installer\MSI1A2B.tmp): an MSI that starts a shell from it runs
// the package author's command, the delivery of malicious installers.
func msiCustomAction(parentImage string) bool {
	n := normPath(parentImage)
	base := cmdline.BaseName(n)
	return strings.Contains(n, `\windows\installer\`) && strings.HasPrefix(base, "msi") && strings.HasSuffix(base, ".tmp")
}
