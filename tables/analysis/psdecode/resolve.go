package psdecode

import (
	"regexp"
	"strings"
)

// Bounds of variable resolution.
const (
	maxVars     = 256     // variables tracked per pass
	maxVarValue = 1 << 18 // bytes of one variable's value
)

// resolve is the silent first step of every pass: it rewrites string literals
// whose value is known to single-quoted form (see lexer.go) and replaces
// references to variables that the script assigns exactly one literal
// ($a='Down'; $b="load"; sv c 'String') by that literal, so that
// $wc.($a+$b+(gv c).Value) becomes $wc.('Down'+'load'+'String') for the
// transforms that follow. substituted reports that a variable was replaced.
func resolve(s string, lim Limits) (out string, substituted, ok bool) {
	vars := collectVars(s)
	var edits []edit
	size := len(s)
	add := func(start, end int, text string) bool {
		if size+len(text)-(end-start) > lim.MaxOutput {
			return false
		}
		size += len(text) - (end - start)
		edits = append(edits, edit{start, end, text})
		return true
	}
	walkCode(s, vars, codeVisitor{lit: func(start, end int, val string, known bool) bool {
		if q := quote(val); known && q != s[start:end] && add(start, end, q) {
			// A $ left in a double-quoted literal was a variable's value.
			single := s[start] == '\'' || s[start] == '@' && s[start+1] == '\''
			substituted = substituted || !single && strings.Contains(s[start:end], "$")
		}
		return true
	}, variable: func(start, end int, name string) bool {
		if v, known := vars[varKey(name)]; known && !assignmentAfter(s, end) && add(start, end, quote(v)) {
			substituted = true
		}
		return true
	}})
	out = applyEdits(s, edits)
	if len(vars) > 0 && (containsFold(out, "gv") || containsFold(out, "get-variable")) {
		if next := reGetVar.ReplaceAllStringFunc(out, func(m string) string {
			v, ok := vars[varKey(reGetVar.FindStringSubmatch(m)[1])]
			if !ok {
				return m
			}
			return quote(v)
		}); next != out && len(next) <= lim.MaxOutput {
			out, substituted = next, true
		}
	}
	if out == s {
		return s, false, false
	}
	return out, substituted, true
}

var (
	// Set-Variable at the start of a statement, with its name and, when it
	// is one literal, its value.
	reSetVar = regexp.MustCompile(`(?i)^(?:set-variable|new-variable|sv|nv|set)[ \t]+(?:-n(?:ame)?[ \t]+)?['"]?([\w:]+)['"]?(?:[ \t]+(?:-va(?:lue)?[ \t]+)?(` + lit + `))?`)
	// Get-Variable reading a value: (Get-Variable x).Value, (gv x -ValueOnly).
	reGetVar = regexp.MustCompile(`(?i)\(\s*(?:get-variable|gv)\s+(?:-n(?:ame)?\s+)?['"]?([\w:]+)['"]?\s*(?:\)\s*\.\s*value\b|-v\w*\s*\))`)
)

// collectVars returns the variables assigned exactly one literal value (or the
// same value each time) in statement position; a variable assigned anything
// else anywhere, incremented, used as a loop variable or passed by [ref] is
// left out.
func collectVars(s string) map[string]string {
	vars := map[string]string{}
	poisoned := map[string]bool{}
	record := func(key, val string, ok bool) {
		if automaticVars[key] {
			return
		}
		if !ok || len(val) > maxVarValue {
			poisoned[key] = true
			return
		}
		if old, seen := vars[key]; seen && old != val {
			poisoned[key] = true
			return
		}
		if len(vars) < maxVars {
			vars[key] = val
		}
	}
	walkCode(s, nil, codeVisitor{variable: func(start, end int, name string) bool {
		key := varKey(name)
		switch {
		case loopVar(s, end) || refParam(s, start):
			record(key, "", false)
		case assignmentAfter(s, end):
			val, ok := literalAssignment(s, start, end)
			record(key, val, ok)
		}
		return true
	}})
	setVariables(s, record)
	for k := range poisoned {
		delete(vars, k)
	}
	return vars
}

// refAt reads the variable reference at s[i] ($name or ${name}); name is ""
// when there is none. end is the index after it.
func refAt(s string, i int) (name string, end int) {
	if s[i+1] == '{' {
		k := strings.IndexByte(s[i+2:], '}')
		if k < 0 || k > 128 {
			return "", i + 1
		}
		return s[i+2 : i+2+k], i + 3 + k
	}
	if !isNameByte(s[i+1]) {
		return "", i + 1
	}
	return varName(s, i+1)
}

// assignmentAfter reports an assignment operator after a variable ending at
// s[end]: = (not ==), += -= *= /= %= ??=, ++ or --.
func assignmentAfter(s string, end int) bool {
	j := end
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	if j >= len(s) {
		return false
	}
	rest := s[j:]
	switch {
	case strings.HasPrefix(rest, "=="):
		return false
	case rest[0] == '=':
		return true
	case strings.HasPrefix(rest, "++"), strings.HasPrefix(rest, "--"), strings.HasPrefix(rest, "??="):
		return true
	case len(rest) > 1 && rest[1] == '=' && strings.IndexByte("+-*/%", rest[0]) >= 0:
		return true
	}
	return false
}

// literalAssignment returns the value of `$x = 'literal'` when the variable at
// s[i:end] is in statement position (optionally after [type] casts) and the
// right-hand side is one literal ending the statement.
func literalAssignment(s string, i, end int) (string, bool) {
	if !statementStart(s, i) {
		return "", false
	}
	j := end
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	if j >= len(s) || s[j] != '=' {
		return "", false
	}
	j++
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	if j >= len(s) {
		return "", false
	}
	e, val, known, ok := stringAt(s, j, nil)
	if !ok || !known {
		return "", false
	}
	if !statementEnd(s, e) {
		return "", false
	}
	return val, true
}

// statementEnd reports whether only blanks separate s[i] from the end of a
// statement (the end of s, a line break, a ; a closing brace or a comment).
func statementEnd(s string, i int) bool {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i >= len(s) || strings.IndexByte(";\r\n}#", s[i]) >= 0
}

// setVariables records the Set-Variable (sv, set, New-Variable) statements of
// s: a literal value, or an unknown one.
func setVariables(s string, record func(key, val string, ok bool)) {
	for i := 0; i < len(s); i++ {
		if i > 0 && strings.IndexByte(";\n{}", s[i-1]) < 0 {
			continue
		}
		j := i
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		if j >= len(s) || strings.IndexByte("sSnN", s[j]) < 0 {
			continue
		}
		w := s[j:min(len(s), j+afterWindow)]
		l := reSetVar.FindStringSubmatchIndex(w)
		if l == nil {
			continue
		}
		key := varKey(submatch(w, l, 1))
		if v := submatch(w, l, 2); v != "" && statementEnd(w, l[1]) {
			record(key, unquote(v), true)
		} else {
			record(key, "", false)
		}
	}
}

// statementStart reports whether s[i] begins a statement: only blanks and
// [type] casts separate it from the start, a ; a line break or a brace.
func statementStart(s string, i int) bool {
	j := i - 1
	for n := 0; n < 8; n++ {
		for j >= 0 && (s[j] == ' ' || s[j] == '\t') {
			j--
		}
		if j < 0 || s[j] != ']' {
			break
		}
		k := strings.LastIndexByte(s[max(0, j-64):j], '[')
		if k < 0 {
			return false
		}
		j = max(0, j-64) + k - 1
	}
	return j < 0 || strings.IndexByte(";\r\n{}", s[j]) >= 0
}

// loopVar reports foreach ($x in …) and for loops' variables.
func loopVar(s string, end int) bool {
	j := end
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	return j+2 < len(s) && strings.EqualFold(s[j:j+2], "in") && (s[j+2] == ' ' || s[j+2] == '\t' || s[j+2] == '(' || s[j+2] == '$')
}

// refParam reports a variable passed by [ref].
func refParam(s string, i int) bool {
	j := i
	for j > 0 && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	return j >= 5 && strings.EqualFold(s[j-5:j], "[ref]")
}

// commentStart reports whether a # at s[i] starts a comment: at the start of a
// token, not inside a word (a#b is one argument).
func commentStart(s string, i int) bool {
	return i == 0 || strings.IndexByte(" \t\r\n;(){}|&,=", s[i-1]) >= 0
}

func lineEnd(s string, i int) int {
	if k := strings.IndexByte(s[i:], '\n'); k >= 0 {
		return i + k
	}
	return len(s)
}

func blockCommentEnd(s string, i int) int {
	if k := strings.Index(s[i+2:], "#>"); k >= 0 {
		return i + 4 + k
	}
	return len(s)
}
