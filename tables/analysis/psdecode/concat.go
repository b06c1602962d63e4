package psdecode

import "strings"

// concat joins adjacent literals ('a'+'b' → 'ab', whole chains at once) in one
// linear pass, then unwraps literals alone in parentheses.
func concat(s string, lim Limits) (string, bool) {
	out, joined := joinLiterals(s)
	changed := joined
	for i := 0; i < 8; i++ {
		next := reParenLit.ReplaceAllString(out, "${1}${2}")
		if next == out {
			break
		}
		out, changed = next, true
		if again, ok := joinLiterals(out); ok {
			out = again
		}
	}
	if !changed || len(out) > lim.MaxOutput {
		return s, false
	}
	return out, true
}

// literalAt parses the PowerShell string literal starting at s[i] (a quote).
// It returns its end and value; plain is false for a double-quoted string that
// interpolates ($ or backtick), whose value is not its text.
func literalAt(s string, i int) (end int, value string, plain bool) {
	q := s[i]
	var b strings.Builder
	plain = true
	j := i + 1
	for j < len(s) {
		c := s[j]
		switch {
		case c == q && j+1 < len(s) && s[j+1] == q:
			b.WriteByte(q)
			j += 2
			continue
		case c == q:
			return j + 1, b.String(), plain
		case q == '"' && (c == '$' || c == '`'):
			plain = false
			if c == '`' && j+1 < len(s) {
				b.WriteByte(c)
				j++
				c = s[j]
			}
		}
		b.WriteByte(c)
		j++
	}
	return len(s), b.String(), false // unterminated: leave it alone
}

// joinLiterals merges every chain lit + lit + ... into one literal.
func joinLiterals(s string) (string, bool) {
	if !strings.Contains(s, "+") {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s))
	changed := false
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\'' && c != '"' {
			b.WriteByte(c)
			i++
			continue
		}
		end, val, plain := literalAt(s, i)
		if !plain {
			b.WriteString(s[i:end])
			i = end
			continue
		}
		n := 0
		for {
			j := skipBlanks(s, end)
			if j >= len(s) || s[j] != '+' {
				break
			}
			k := skipBlanks(s, j+1)
			if k >= len(s) || (s[k] != '\'' && s[k] != '"') {
				break
			}
			e2, v2, p2 := literalAt(s, k)
			if !p2 {
				break
			}
			val += v2
			end = e2
			n++
		}
		if n > 0 {
			b.WriteString(quote(val))
			changed = true
		} else {
			b.WriteString(s[i:end])
		}
		i = end
	}
	return b.String(), changed
}

func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
		i++
	}
	return i
}
