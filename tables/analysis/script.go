package analysis

import (
	"strings"
)

// moduleDirs are trusted locations of PowerShell modules and vendor scripts.
var moduleDirs = []string{`\program files\`, `\program files (x86)\`, `\windows\system32\windowspowershell\`,
	`\windows\syswow64\windowspowershell\`, `\powershell\7\modules\`, `\windows\microsoft.net\`}

// isModuleCode reports whether a 4104 Path is module code in a trusted place: a
// .psm1/.psd1/.ps1xml file, or any script under a system Modules folder.
func isModuleCode(path string) bool {
	if path == "" {
		return false
	}
	n := normPath(path)
	if !containsAny(n, moduleDirs) {
		return false
	}
	switch ext(path) {
	case ".psm1", ".psd1", ".ps1xml", ".cdxml":
		return true
	}
	return strings.Contains(n, `\modules\`)
}

// script analyses a PowerShell script block.
func (st *state) script(text string, s Script) {
	text, cut := capBytes(text, maxScript)
	if cut {
		st.tag(tagInputTruncated)
	}
	st.res.Family = FamilyPowerShell
	st.res.Program = "powershell"
	st.statsText, st.scriptMode = text, true
	if isModuleCode(s.Path) {
		st.tag(tagModuleCode)
	}
	st.psText(text, 0)
}
