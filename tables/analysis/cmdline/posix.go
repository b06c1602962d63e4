package cmdline

import "strings"

// Operators that separate commands in a POSIX shell command; SplitPOSIX returns
// them as tokens of their own.
var posixOperators = []string{"&&", "||", ";;", "|", ";", "&"}

// maxBraceWords bounds brace expansion so hostile input cannot multiply words.
const maxBraceWords = 64

// SplitPOSIX splits a POSIX shell command into words and operator tokens
// ("|", "||", "&&", ";", "&"). Single quotes are literal, double quotes allow
// backslash escapes of $ ` " \, an unquoted backslash escapes the next byte, and
// unquoted words with a top-level {a,b} group are brace-expanded as bash does
// (so {echo,aGk=} becomes the two words echo and aGk=). Redirections such as
// 2>&1 stay inside their word.
func SplitPOSIX(s string) []string {
	var out []string
	var b strings.Builder
	quoted, inWord := false, false
	flush := func() {
		if !inWord {
			return
		}
		w := b.String()
		if !quoted {
			out = append(out, ExpandBraces(w)...)
		} else {
			out = append(out, w)
		}
		b.Reset()
		quoted, inWord = false, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			flush()
		case c == '\'':
			inWord, quoted = true, true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				b.WriteString(s[i+1:])
				i = len(s)
			} else {
				b.WriteString(s[i+1 : i+1+j])
				i += j + 1
			}
		case c == '"':
			inWord, quoted = true, true
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0 {
					i++
				}
				b.WriteByte(s[i])
				i++
			}
		case c == '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case c == '|' || c == '&' || c == ';':
			// "2>&1", ">&" and "&>" are redirections, part of the word.
			if c == '&' && ((i > 0 && (s[i-1] == '>' || s[i-1] == '<')) || (i+1 < len(s) && s[i+1] == '>')) {
				inWord = true
				b.WriteByte(c)
				continue
			}
			flush()
			op := string(c)
			for _, o := range posixOperators {
				if strings.HasPrefix(s[i:], o) {
					op = o
					break
				}
			}
			out = append(out, op)
			i += len(op) - 1
		default:
			inWord = true
			b.WriteByte(c)
		}
	}
	flush()
	return out
}

// IsOperator reports whether tok is one of the operator tokens of SplitPOSIX.
func IsOperator(tok string) bool {
	for _, o := range posixOperators {
		if tok == o {
			return true
		}
	}
	return false
}

// SplitCommands groups SplitPOSIX tokens into simple commands, dropping the
// operators between them.
func SplitCommands(tokens []string) [][]string {
	var cmds [][]string
	var cur []string
	for _, t := range tokens {
		if IsOperator(t) {
			if len(cur) > 0 {
				cmds = append(cmds, cur)
			}
			cur = nil
			continue
		}
		cur = append(cur, t)
	}
	if len(cur) > 0 {
		cmds = append(cmds, cur)
	}
	return cmds
}

// ExpandBraces performs bash brace expansion of one unquoted word with a single
// top-level comma group, pre{a,b}post → prea postb... It returns the word
// unchanged when there is no such group or when expansion would exceed a small
// bound; sequence expressions ({1..3}) are left alone.
func ExpandBraces(w string) []string {
	open := strings.IndexByte(w, '{')
	if open < 0 {
		return []string{w}
	}
	depth, closeAt := 0, -1
	var commas []int
	for i := open; i < len(w) && closeAt < 0; i++ {
		switch w[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				closeAt = i
			}
		case ',':
			if depth == 1 {
				commas = append(commas, i)
			}
		}
	}
	if closeAt < 0 || len(commas) == 0 || len(commas) >= maxBraceWords {
		return []string{w}
	}
	pre, post := w[:open], w[closeAt+1:]
	var words []string
	start := open + 1
	for _, c := range append(commas, closeAt) {
		words = append(words, pre+w[start:c]+post)
		start = c + 1
	}
	return words
}

// HasBraceExpansion reports whether an unquoted word of s has a {a,b} group
// that bash would expand (the trick that avoids spaces in injected commands).
func HasBraceExpansion(s string) bool {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' {
				i++
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '\\':
			i++
		case c == '{':
			j := i + 1
			for j < len(s) && s[j] != '}' && s[j] != ' ' && s[j] != '\'' && s[j] != '"' && s[j] != '{' {
				j++
			}
			if j < len(s) && s[j] == '}' && strings.Contains(s[i:j], ",") {
				return true
			}
		}
	}
	return false
}
