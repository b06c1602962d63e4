package analysis

import (
	"github.com/exechunt/exechunt/tables/analysis/cmdline"
	"github.com/exechunt/exechunt/tables/analysis/psdecode"
)

// maxScriptCommands bounds the command lines taken out of one PowerShell text.
const maxScriptCommands = 6

// scriptCommands analyses the programs that PowerShell source starts (regsvr32
// at the start of a statement, & 'rundll32.exe' …, Start-Process mshta …,
// Win32_Process Create, WScript.Shell.Run) as command lines of their own, so a
// script gets the tags a process creation with that command line gets. Only
// shells, script hosts and LOLBins are taken; PowerShell itself only when
// started indirectly (a direct powershell … is embeddedPowerShell's).
func (st *state) scriptCommands(texts []string, depth int) {
	seen := map[string]bool{}
	for _, text := range texts {
		for _, inv := range psdecode.Invocations(text, maxScriptCommands, wantedProgram) {
			if len(seen) >= maxScriptCommands {
				return
			}
			argv := cmdline.SplitWindows(inv.CommandLine)
			switch familyOf(programName("", argv)) {
			case FamilyCmd, FamilyScriptHost, FamilyLOLBin:
			case FamilyPowerShell:
				if inv.Via == psdecode.ViaStatement || inv.Via == psdecode.ViaCall {
					continue
				}
			default:
				continue
			}
			if seen[inv.CommandLine] {
				continue
			}
			seen[inv.CommandLine] = true
			st.commandLine(inv.CommandLine, Process{}, depth+1)
		}
	}
}

// wantedProgram reports a program written in a script that scriptCommands
// analyses (PowerShell is filtered later, by how it is started).
func wantedProgram(program string) bool {
	switch familyOf(programName("", []string{program})) {
	case FamilyCmd, FamilyScriptHost, FamilyLOLBin, FamilyPowerShell:
		return true
	}
	return false
}
