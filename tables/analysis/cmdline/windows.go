package cmdline

import "strings"

// SplitWindows splits a Windows command line into argv with the rules of
// CommandLineToArgvW: the program name ends at the closing quote or the first
// blank; in later arguments 2n backslashes before a quote give n backslashes and
// toggle quoting, 2n+1 give n backslashes and a literal quote, other backslashes
// are literal, and "" inside quotes is a literal quote (MSVC 2008+ behaviour).
func SplitWindows(s string) []string {
	var args []string
	i, n := 0, len(s)
	for i < n && isBlank(s[i]) {
		i++
	}
	if i >= n {
		return nil
	}
	// Program name: no escape processing.
	var b strings.Builder
	if s[i] == '"' {
		i++
		for i < n && s[i] != '"' {
			b.WriteByte(s[i])
			i++
		}
		i++ // closing quote (or past the end)
		// Text glued to the closing quote still belongs to argv[0].
		for i < n && !isBlank(s[i]) {
			b.WriteByte(s[i])
			i++
		}
	} else {
		for i < n && !isBlank(s[i]) {
			b.WriteByte(s[i])
			i++
		}
	}
	args = append(args, b.String())

	for {
		for i < n && isBlank(s[i]) {
			i++
		}
		if i >= n {
			return args
		}
		b.Reset()
		inQuote := false
		for i < n {
			c := s[i]
			if isBlank(c) && !inQuote {
				break
			}
			switch c {
			case '\\':
				j := i
				for j < n && s[j] == '\\' {
					j++
				}
				count := j - i
				if j < n && s[j] == '"' {
					b.WriteString(strings.Repeat(`\`, count/2))
					if count%2 == 1 {
						b.WriteByte('"')
						j++
					}
					i = j
					continue
				}
				b.WriteString(s[i:j])
				i = j
				continue
			case '"':
				if inQuote && i+1 < n && s[i+1] == '"' {
					b.WriteByte('"')
					i += 2
					continue
				}
				inQuote = !inQuote
				i++
				continue
			}
			b.WriteByte(c)
			i++
		}
		args = append(args, b.String())
	}
}

// UnescapeCaret removes cmd.exe caret escapes outside double quotes: ^x becomes x
// and a trailing ^ is dropped. Inside quotes cmd.exe keeps carets, so do we.
func UnescapeCaret(s string) string {
	if !strings.Contains(s, "^") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			inQuote = !inQuote
		}
		if c == '^' && !inQuote {
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// SplitCmdOperators splits a cmd.exe command into the commands joined by &, &&,
// | and || outside double quotes (carets already removed). Redirections stay in
// their command.
func SplitCmdOperators(s string) []string {
	var parts []string
	inQuote := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			inQuote = !inQuote
		case (c == '&' || c == '|') && !inQuote:
			// "2>&1" and ">&" are redirections, not command separators.
			if c == '&' && i > 0 && (s[i-1] == '>' || s[i-1] == '<') {
				continue
			}
			parts = appendTrimmed(parts, s[start:i])
			if i+1 < len(s) && s[i+1] == c {
				i++
			}
			start = i + 1
		}
	}
	return appendTrimmed(parts, s[start:])
}

func appendTrimmed(parts []string, p string) []string {
	if p = strings.TrimSpace(p); p != "" {
		parts = append(parts, p)
	}
	return parts
}

// RestAfterArgs returns the raw text of s after its first k arguments (as
// SplitWindows counts them), which is how cmd.exe /c and powershell -Command see
// the rest of their command line: unsplit.
func RestAfterArgs(s string, k int) string {
	i, n := 0, len(s)
	for a := 0; a < k; a++ {
		for i < n && isBlank(s[i]) {
			i++
		}
		inQuote := false
		for i < n && (inQuote || !isBlank(s[i])) {
			if s[i] == '"' {
				inQuote = !inQuote
			}
			i++
		}
	}
	for i < n && isBlank(s[i]) {
		i++
	}
	return s[i:]
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// BaseName returns the lower-case final path element of p, accepting both / and
// \ separators and ignoring surrounding quotes.
func BaseName(p string) string {
	p = strings.Trim(strings.TrimSpace(p), `"'`)
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		p = p[i+1:]
	}
	return strings.ToLower(p)
}

// CleanPath collapses runs of backslashes inside a Windows path to one
// (`C:\Windows\\system32\\certutil.exe` → `C:\Windows\system32\certutil.exe`), as
// some exports double them, so that path and name comparisons hold. A leading `\\`
// (UNC, `\\?\`, `\\.\`) stays; `\??\` is kept as it is.
func CleanPath(p string) string {
	lead := 0
	for lead < len(p) && p[lead] == '\\' {
		lead++
	}
	if !strings.Contains(p[lead:], `\\`) && lead <= 2 {
		return p
	}
	var b strings.Builder
	b.Grow(len(p))
	switch {
	case lead >= 2:
		b.WriteString(`\\`)
	case lead == 1:
		b.WriteByte('\\')
	}
	prev := byte(0)
	for i := lead; i < len(p); i++ {
		c := p[i]
		if c == '\\' && prev == '\\' {
			continue
		}
		b.WriteByte(c)
		prev = c
	}
	return b.String()
}
