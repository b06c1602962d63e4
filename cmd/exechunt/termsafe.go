package main

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// termSafe makes text that agents supplied (host names, OS strings, query rows,
// error messages) safe to print on a terminal: control characters (ESC and the
// rest of C0 and C1, DEL) and invalid UTF-8 are shown escaped, as \x1b or \u009b,
// so that a row cannot clear the screen, set the window title or write the
// clipboard (OSC 52). Tabs and newlines are shown escaped too: they would break
// the table they sit in.
func termSafe(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case r < 0x80 && unicode.IsControl(r):
			b.WriteString(`\x` + strconv.FormatUint(uint64(r)|0x100, 16)[1:])
		case unicode.IsControl(r):
			b.WriteString(`\u` + strconv.FormatUint(uint64(r)|0x10000, 16)[1:])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
