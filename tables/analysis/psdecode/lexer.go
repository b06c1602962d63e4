package psdecode

import (
	"strconv"
	"strings"
)

// This file reads PowerShell string literals the way the parser does: single
// quotes with '' inside, double quotes with "" and backtick escapes (`" `n `0
// `u{..}) and $variable interpolation, and here-strings (@' … '@, @" … "@).
// Decoding only needs their values, so every literal whose value is known is
// rewritten to the one canonical form the other transforms read: a
// single-quoted literal.

// maxSubexprDepth bounds the nesting of $( … ) inside double-quoted strings that
// the lexer follows to find where a string ends.
const maxSubexprDepth = 4

// stringAt parses the string literal that starts at s[i] (a quote, or the @ of
// a here-string). It returns the index after it, its value, whether the value
// is known (no interpolation left unresolved), and ok=false when s[i] does not
// start a complete literal. vars resolves $name inside double quotes.
func stringAt(s string, i int, vars map[string]string) (end int, value string, known, ok bool) {
	switch s[i] {
	case '\'':
		return singleAt(s, i)
	case '"':
		return doubleAt(s, i, '"', vars, 0)
	case '@':
		return hereAt(s, i, vars)
	}
	return i, "", false, false
}

// singleAt parses a single-quoted string, where two quotes stand for one.
func singleAt(s string, i int) (int, string, bool, bool) {
	var b strings.Builder
	for j := i + 1; j < len(s); j++ {
		if s[j] != '\'' {
			b.WriteByte(s[j])
			continue
		}
		if j+1 < len(s) && s[j+1] == '\'' {
			b.WriteByte('\'')
			j++
			continue
		}
		return j + 1, b.String(), true, true
	}
	return len(s), "", false, false
}

// backtickEscapes are PowerShell's escape sequences in double-quoted strings;
// any other character after a backtick stands for itself.
var backtickEscapes = map[byte]string{'0': "", 'a': "\a", 'b': "\b", 'e': "\x1b", 'f': "\f",
	'n': "\n", 'r': "\r", 't': "\t", 'v': "\v"}

// doubleAt parses "…" (close is '"') or the body of a double here-string
// (close is 0: the caller has cut s at the terminator).
func doubleAt(s string, i int, close byte, vars map[string]string, depth int) (int, string, bool, bool) {
	var b strings.Builder
	known := true
	j := i + 1
	if close == 0 {
		j = i
	}
	for j < len(s) {
		c := s[j]
		switch {
		case close != 0 && c == close:
			if j+1 < len(s) && s[j+1] == close {
				b.WriteByte(close)
				j += 2
				continue
			}
			return j + 1, b.String(), known, true
		case c == '`':
			if j+1 >= len(s) {
				return len(s), "", false, false
			}
			e := s[j+1]
			if e == 'u' && j+2 < len(s) && s[j+2] == '{' {
				if k := strings.IndexByte(s[j+3:min(len(s), j+12)], '}'); k >= 0 {
					if v, err := strconv.ParseUint(s[j+3:j+3+k], 16, 32); err == nil && validRune(int64(v)) {
						b.WriteRune(rune(v))
						j += 4 + k
						continue
					}
				}
			}
			if r, ok := backtickEscapes[e]; ok {
				b.WriteString(r)
			} else {
				b.WriteByte(e)
			}
			j += 2
		case c == '$' && j+1 < len(s):
			n, val, ok := interpolation(s, j, vars, depth)
			if n < 0 {
				return len(s), "", false, false
			}
			if !ok {
				known = false
				b.WriteString(s[j:n])
			} else {
				b.WriteString(val)
			}
			j = n
		default:
			b.WriteByte(c)
			j++
		}
	}
	if close == 0 {
		return len(s), b.String(), known, true
	}
	return len(s), "", false, false
}

// interpolation reads what follows a $ inside double quotes: $name, ${name},
// $( … ) or a plain dollar sign. It returns the index after it (-1 for an
// unterminated subexpression), the value and whether the value is known.
func interpolation(s string, j int, vars map[string]string, depth int) (int, string, bool) {
	switch c := s[j+1]; {
	case c == '(':
		end := subexprEnd(s, j+1, vars, depth+1)
		if end < 0 {
			return end, "", false
		}
		// "$('I')EX": a subexpression that is one literal is its value.
		inner := strings.TrimSpace(s[j+2 : end-1])
		if inner != "" && (inner[0] == '\'' || inner[0] == '"') {
			if e, v, known, ok := stringAt(inner, 0, vars); ok && known && e == len(inner) {
				return end, v, true
			}
		}
		return end, "", false
	case c == '{':
		k := strings.IndexByte(s[j+2:], '}')
		if k < 0 {
			return -1, "", false
		}
		v, ok := vars[varKey(s[j+2:j+2+k])]
		return j + 3 + k, v, ok
	case isNameByte(c) || c == '?' || c == '^' || c == '$':
		name, end := varName(s, j+1)
		if name == "" {
			return j + 2, "", false // $? $^ $$: automatic, unknown
		}
		v, ok := vars[varKey(name)]
		return end, v, ok
	}
	return j + 1, "$", true
}

// subexprEnd returns the index after the ) that closes the ( at s[i], skipping
// nested strings; -1 when it is not closed or nests too deep.
func subexprEnd(s string, i int, vars map[string]string, depth int) int {
	if depth > maxSubexprDepth {
		return -1
	}
	level := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '(':
			level++
		case ')':
			level--
			if level == 0 {
				return j + 1
			}
		case '\'':
			end, _, _, ok := singleAt(s, j)
			if !ok {
				return -1
			}
			j = end - 1
		case '"':
			end, _, _, ok := doubleAt(s, j, '"', vars, depth)
			if !ok {
				return -1
			}
			j = end - 1
		case '`':
			j++
		}
	}
	return -1
}

// hereAt parses a here-string: @' or @" ending its line, then lines up to a
// line starting with '@ or "@.
func hereAt(s string, i int, vars map[string]string) (int, string, bool, bool) {
	if i+1 >= len(s) || (s[i+1] != '\'' && s[i+1] != '"') {
		return i, "", false, false
	}
	q := s[i+1]
	j := i + 2
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	if j < len(s) && s[j] == '\r' {
		j++
	}
	if j >= len(s) || s[j] != '\n' {
		return i, "", false, false
	}
	start := j + 1
	term := "\n" + string(q) + "@"
	k := strings.Index(s[j:], term)
	if k < 0 {
		return i, "", false, false
	}
	bodyEnd := j + k
	end := bodyEnd + len(term)
	body := ""
	if bodyEnd > start {
		body = strings.TrimSuffix(s[start:bodyEnd], "\r")
	}
	if q == '\'' {
		return end, body, true, true
	}
	_, v, known, ok := doubleAt(body, 0, 0, vars, 0)
	return end, v, known && ok, true
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// varName reads a variable name at s[i] (after the $): letters, digits and _,
// with an optional scope or drive qualifier (script:x, env:x). It returns ""
// for the automatic $?, $^ and $$.
func varName(s string, i int) (string, int) {
	j := i
	for j < len(s) && isNameByte(s[j]) {
		j++
	}
	if j == i {
		return "", min(len(s), i+1)
	}
	if j+1 < len(s) && s[j] == ':' && isNameByte(s[j+1]) {
		k := j + 1
		for k < len(s) && isNameByte(s[k]) {
			k++
		}
		return s[i:k], k
	}
	return s[i:j], j
}

// varKey is the case-insensitive key of a variable name, without the scopes
// that do not change which variable a script means.
func varKey(name string) string {
	n := strings.ToLower(name)
	for _, scope := range []string{"script:", "global:", "local:", "private:", "using:", "variable:"} {
		n = strings.TrimPrefix(n, scope)
	}
	return n
}

// automaticVars are never treated as holding a literal.
var automaticVars = map[string]bool{"_": true, "psitem": true, "args": true, "input": true, "this": true,
	"true": true, "false": true, "null": true, "matches": true, "lastexitcode": true, "error": true,
	"ofs": true, "executioncontext": true, "host": true, "myinvocation": true, "psboundparameters": true}

// codeVisitor receives what walkCode finds; nil fields skip those parts. Each
// returns false to stop the walk.
type codeVisitor struct {
	// lit gets every string literal, its value resolved with the walk's vars.
	lit func(start, end int, val string, known bool) bool
	// variable gets every $name or ${name} outside strings.
	variable func(start, end int, name string) bool
	// other gets every other byte of code (outside strings and comments).
	other func(i int) bool
}

// walkCode visits the code of s in order, skipping comments and backtick
// escapes. An unterminated string ends the walk.
func walkCode(s string, vars map[string]string, v codeVisitor) {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '#' && commentStart(s, i):
			i = lineEnd(s, i)
		case c == '<' && i+1 < len(s) && s[i+1] == '#':
			i = blockCommentEnd(s, i)
		case c == '\'' || c == '"' || c == '@' && i+1 < len(s) && (s[i+1] == '\'' || s[i+1] == '"'):
			end, val, known, ok := stringAt(s, i, vars)
			if !ok {
				if c == '@' {
					i++
					continue
				}
				return
			}
			if v.lit != nil && !v.lit(i, end, val, known) {
				return
			}
			i = end
		case c == '`':
			i += 2
		case c == '$' && i+1 < len(s) && v.variable != nil:
			name, end := refAt(s, i)
			if name != "" && !v.variable(i, end, name) {
				return
			}
			i = max(end, i+1)
		default:
			if v.other != nil && !v.other(i) {
				return
			}
			i++
		}
	}
}

// eachLiteral calls f for every string literal of s outside comments, in
// order, until f returns false.
func eachLiteral(s string, f func(start, end int, value string, known bool) bool) {
	walkCode(s, nil, codeVisitor{lit: f})
}
