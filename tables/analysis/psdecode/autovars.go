package psdecode

import (
	"regexp"
	"strconv"
	"strings"
)

// Values of the automatic and environment variables that obfuscators index to
// spell iex without writing it, on a default Windows installation.
var autoVarValues = map[string]string{
	"comspec":           `C:\Windows\system32\cmd.exe`,
	"public":            `C:\Users\Public`,
	"pshome":            `C:\Windows\System32\WindowsPowerShell\v1.0`,
	"shellid":           `Microsoft.PowerShell`,
	"verbosepreference": `SilentlyContinue`,
	"mdr":               `MaximumDriveCount`,
}

var reAutoVar = regexp.MustCompile(`(?i)(?:\$env:(comspec|public)|\$(pshome|shellid)|\$(verbosepreference)\s*\.tostring\(\s*\)|\[string\]\s*\$(verbosepreference)|\(\s*(?:gv|get-variable|variable)\s+['"]?\*(mdr)\*['"]?\s*\)\s*\.name)\s*\)?\s*\[\s*(\d{1,3}(?:\s*,\s*\d{1,3})*)\s*\]`)

// autoVars replaces indexed automatic variables with the characters they
// select: $env:ComSpec[4,15,25] → 'iex', $PSHome[4] → 'i'.
func autoVars(s string, _ Limits) (string, bool) {
	changed := false
	out := reAutoVar.ReplaceAllStringFunc(s, func(m string) string {
		sub := reAutoVar.FindStringSubmatch(m)
		name := strings.ToLower(sub[1] + sub[2] + sub[3] + sub[4] + sub[5])
		val := autoVarValues[name]
		var b strings.Builder
		for _, f := range strings.Split(sub[6], ",") {
			i, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || i >= len(val) {
				return m
			}
			b.WriteByte(val[i])
		}
		changed = true
		return quote(b.String())
	})
	return out, changed
}
