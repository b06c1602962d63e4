package analysis

import (
	"testing"
)

// TestStrongTagAloneReaches checks the calibration rule of docs/indicators.md: every
// strong tag reaches SuspiciousScore on its own.
func TestStrongTagAloneReaches(t *testing.T) {
	for _, tag := range Tags() {
		if tag.Class != ClassStrong {
			continue
		}
		if got := combine(map[string]bool{tag.Name: true}); got < SuspiciousScore {
			t.Errorf("strong tag %s alone scores %d", tag.Name, got)
		}
	}
}

// TestWeakTagsOfOneKindStayBelow checks that no weak tag, nor all the weak tags of
// one kind together, crosses SuspiciousScore, and that two kinds can.
func TestWeakTagsOfOneKindStayBelow(t *testing.T) {
	kinds := map[string]map[string]bool{}
	for _, tag := range Tags() {
		if tag.Class != ClassWeak {
			continue
		}
		if kinds[tag.Kind] == nil {
			kinds[tag.Kind] = map[string]bool{}
		}
		kinds[tag.Kind][tag.Name] = true
		if got := combine(map[string]bool{tag.Name: true}); got >= SuspiciousScore {
			t.Errorf("weak tag %s alone scores %d", tag.Name, got)
		}
	}
	for kind, tags := range kinds {
		if got := combine(tags); got >= SuspiciousScore {
			t.Errorf("weak kind %s (%d tags) scores %d", kind, len(tags), got)
		}
	}
	if got := combine(map[string]bool{tagDownloadCradle: true, tagInvokeExpression: true}); got < SuspiciousScore {
		t.Errorf("download cradle + invoke-expression (two kinds) score %d", got)
	}
}

// TestInstallerBehaviourStaysBelow: installers, updaters and management agents
// create tasks, services and scripts; what they do in the ordinary way must not
// reach SuspiciousScore.
func TestInstallerBehaviourStaysBelow(t *testing.T) {
	const (
		msiexec = `C:\Windows\System32\msiexec.exe`
		ps      = `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
		cmd     = `C:\Windows\System32\cmd.exe`
	)
	cases := []struct {
		name, image, parent, cmdline string
	}{
		{"msi custom action creates Microsoft-named task from XML", `C:\Windows\SysWOW64\schtasks.exe`, `C:\Windows\SysWOW64\msiexec.exe`,
			`"C:\Windows\SysWOW64\schtasks.exe" /Create /TN "\Microsoft\Windows\Contoso\Refresh" /XML "C:\Program Files (x86)\Contoso\Tasks\refresh.xml" /F`},
		{"updater task on a schedule", `C:\Windows\System32\schtasks.exe`, `C:\Program Files\Contoso\Update\update.exe`,
			`schtasks /create /tn "ContosoUpdateTaskMachine" /tr "'C:\Program Files\Contoso\Update\update.exe' /c" /sc daily /st 09:00 /f`},
		{"remote task created under a vendor folder", `C:\Windows\System32\schtasks.exe`, cmd,
			`schtasks /create /s fileserver02 /tn "\Microsoft\Windows\Backup\Nightly" /tr "C:\Program Files\Backup\nightly.exe" /sc daily`},
		{"msi custom action script", ps, msiexec,
			`powershell.exe -NoProfile -ExecutionPolicy Bypass -File "C:\Program Files\Contoso\scripts\postinstall.ps1"`},
		{"SCCM script", ps, `C:\Windows\CCM\CcmExec.exe`,
			`"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoLogo -Noninteractive -NoProfile -ExecutionPolicy Bypass "& 'C:\Windows\CCM\SystemTemp\4c1e8a52.ps1'"`},
		{"Intune management extension script", ps, `C:\Program Files (x86)\Microsoft Intune Management Extension\AgentExecutor.exe`,
			`"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -executionPolicy bypass -file "C:\Program Files (x86)\Microsoft Intune Management Extension\Policies\Scripts\a1b2_c3.ps1"`},
		{"TrustedInstaller servicing", `C:\Windows\System32\sc.exe`, `C:\Windows\servicing\TrustedInstaller.exe`,
			`sc.exe config TrustedInstaller start= demand`},
		{"VMware Tools service registration", `C:\Windows\System32\cmd.exe`, `C:\Program Files\VMware\VMware Tools\vmtoolsd.exe`,
			`C:\Windows\system32\cmd.exe /c ""C:\Program Files\VMware\VMware Tools\poweron-vm-default.bat""`},
		{"Sysmon install", `C:\Windows\Sysmon64.exe`, cmd, `Sysmon64.exe -accepteula -i C:\Windows\config\sysmonconfig.xml`},
		{"BGInfo logon", `C:\Program Files\BGInfo\Bginfo64.exe`, `C:\Windows\explorer.exe`,
			`"C:\Program Files\BGInfo\Bginfo64.exe" "C:\Program Files\BGInfo\default.bgi" /timer:0 /nolicprompt /silent`},
		{"Windows Update installer", `C:\Windows\SoftwareDistribution\Download\Install\windows-kb890830-x64.exe`, `C:\Windows\System32\wuauclt.exe`,
			`"C:\Windows\SoftwareDistribution\Download\Install\windows-kb890830-x64.exe" /Q /W`},
		{"installer registers its DLL", `C:\Windows\SysWOW64\regsvr32.exe`, msiexec,
			`regsvr32.exe /s "C:\Program Files (x86)\Contoso\Shell\contoso_ext.dll"`},
		{"driver package registers its DLL from a vendor folder at the drive root", `C:\Windows\System32\regsvr32.exe`, msiexec,
			`regsvr32.exe /s "C:\SWSetup\SP98211\Audio\rtkcoinst.dll"`},
		{"management agent registers its service from ProgramData", `C:\Windows\System32\sc.exe`, cmd,
			`sc.exe create ContosoRMM binPath= "C:\ProgramData\ContosoRMM\agent\rmmsvc.exe" start= auto`},
		{"software deployment installs from the file server", msiexec, cmd,
			`msiexec.exe /i "\\fs01\deploy\Contoso Agent\agent.msi" /qn TRANSFORMS="\\fs01\deploy\Contoso Agent\corp.mst"`},
		{"administrator deploys an agent with PsExec, no password on the line", `C:\Tools\PsExec64.exe`, cmd,
			`PsExec64.exe \\wks-0142 -s -accepteula msiexec.exe /i \\fs01\deploy\agent.msi /qn`},
		{"updater runs its setup from Temp", `C:\Windows\Temp\ContosoUpdate\setup.exe`, `C:\Program Files\Contoso\Update\update.exe`,
			`"C:\Windows\Temp\ContosoUpdate\setup.exe" /silent /norestart`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := AnalyzeCommandLine(c.cmdline, Process{Image: c.image, ParentImage: c.parent})
			if r.Score >= SuspiciousScore {
				t.Errorf("score %d, want < %d; tags %v", r.Score, SuspiciousScore, r.Indicators)
			}
		})
	}
}
