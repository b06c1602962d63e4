package cmdline

import (
	"bytes"
	"strings"
)

// JoinNUL turns NUL-separated argv (/proc/PID/cmdline, kern.procargs2) into one line.
// Arguments that are empty or hold whitespace, quotes, operators, expansions or globs
// are single-quoted, as a POSIX shell would need them, so the line splits back
// (SplitPOSIX) into the same argv. A buffer without interior NULs
// is one string a process wrote over its argv (setproctitle: "sshd: user [priv]") and
// is kept as is.
func JoinNUL(b []byte) string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return ""
	}
	if bytes.IndexByte(b, 0) < 0 {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for i := 0; ; i++ {
		arg := b
		j := bytes.IndexByte(b, 0)
		if j >= 0 {
			arg, b = b[:j], b[j+1:]
		}
		if i > 0 {
			sb.WriteByte(' ')
		}
		writeArg(&sb, arg)
		if j < 0 {
			break
		}
	}
	return sb.String()
}

// Join turns an argument vector (an audit EXECVE record's a0, a1 …) into one line
// the way JoinNUL does: arguments a POSIX shell would split or reinterpret are
// single-quoted, so the line splits back (SplitPOSIX) into the same argv.
func Join(argv []string) string {
	var sb strings.Builder
	for i, a := range argv {
		if i > 0 {
			sb.WriteByte(' ')
		}
		writeArg(&sb, []byte(a))
	}
	return sb.String()
}

// needsQuote reports whether a POSIX shell would split or reinterpret arg:
// whitespace, quotes, backslash, operators, expansions, globs, braces, and a
// leading # or ~.
func needsQuote(arg []byte) bool {
	if len(arg) == 0 || arg[0] == '#' || arg[0] == '~' {
		return true
	}
	for _, c := range arg {
		switch c {
		case ' ', '\t', '\n', '\r', '\v', '\f', '\'', '"', '\\',
			'|', '&', ';', '<', '>', '(', ')', '$', '`', '*', '?', '[', '!', '{', '}':
			return true
		}
	}
	return false
}

func writeArg(sb *strings.Builder, arg []byte) {
	if !needsQuote(arg) {
		sb.Write(arg)
		return
	}
	sb.WriteByte('\'')
	for _, c := range arg {
		if c == '\'' {
			sb.WriteString(`'\''`)
			continue
		}
		sb.WriteByte(c)
	}
	sb.WriteByte('\'')
}
