package psdecode

import "strings"

// lit matches one PowerShell string literal without interpolation: a
// single-quoted string (” escapes a quote) or a double-quoted one with no $ or
// backtick (whose value is then its text).
const lit = `(?:'(?:[^']|'')*'|"(?:[^"$` + "`" + `]|"")*")`

// unquote returns the value of a literal matched by lit.
func unquote(l string) string {
	if len(l) < 2 {
		return l
	}
	q := l[:1]
	return strings.ReplaceAll(l[1:len(l)-1], q+q, q)
}

// quote renders s as a single-quoted PowerShell literal.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// splitLits returns the values of a comma-separated list of literals.
func splitLits(list string) []string {
	return mapStrings(reLit.FindAllString(list, -1), unquote)
}

func mapStrings(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}
