package psdecode

import (
	"regexp"
	"strconv"
	"strings"
)

// A transform rewrites literal text one way; kind names the Layer it produces.
type transform struct {
	kind string
	// hint is a lower-case substring that must occur for the transform to apply
	// (a cheap filter in front of the regular expressions); "" means always try.
	hint []string
	fn   func(s string, lim Limits) (out, kind string, ok bool)
	// silent transforms only prepare the text for the others: their changes
	// are not layers of their own.
	silent bool
	// fallback transforms guess; they run only in a pass where no other
	// transform changed the text.
	fallback bool
}

// simple adapts a transform that always yields layers of one kind.
func simple(kind string, f func(string, Limits) (string, bool)) func(string, Limits) (string, string, bool) {
	return func(s string, lim Limits) (string, string, bool) {
		out, ok := f(s, lim)
		return out, kind, ok
	}
}

// Layer kinds produced by Deobfuscate besides the compression kinds.
const (
	KindBase64       = "base64"
	KindBase64Binary = "base64_binary"
	KindConcat       = "concat"
	KindFormat       = "format"
	KindChars        = "char_codes"
	KindSplitCodes   = "split_codes"
	KindAutoVar      = "automatic_variable"
	KindJoin         = "join"
	KindReplace      = "replace"
	KindTicks        = "ticks"
	KindReverse      = "reverse"
	KindStringMethod = "string_method"
)

// Kinds of the silent resolve step (not Layer kinds).
const (
	kindResolved     = "resolved"
	kindResolvedVars = "resolved_variables"
)

var transforms = []transform{
	{kindResolved, nil, resolveStep, true, false},
	{KindBase64, []string{"frombase64string"}, fromBase64, false, false},
	{KindTicks, []string{"`"}, simple(KindTicks, stripTicks), false, false},
	{KindAutoVar, []string{"comspec", "pshome", "shellid", "public", "verbosepreference", "mdr"}, simple(KindAutoVar, autoVars), false, false},
	{KindChars, []string{"[char"}, simple(KindChars, charCodes), false, false},
	{KindSplitCodes, []string{"split"}, simple(KindSplitCodes, splitCodes), false, false},
	{KindConcat, []string{"+", "("}, simple(KindConcat, concat), false, false},
	{KindFormat, []string{"-f"}, simple(KindFormat, format), false, false},
	{KindJoin, []string{"join", "concat", "split"}, join, false, false},
	{KindStringMethod, []string{"insert", "substring", "remove"}, simple(KindStringMethod, stringMethods), false, false},
	{KindReplace, []string{"replace"}, simple(KindReplace, replace), false, false},
	{KindReverse, []string{"righttoleft", "-1..", "reverse"}, simple(KindReverse, reverse), false, true},
}

// resolveStep adapts resolve to a transform.
// smartQuotes maps the typographic quotes that PowerShell accepts as quote
// characters to the ASCII ones; the parser treats them alike, so the text
// means the same.
var smartQuotes = strings.NewReplacer("\u2018", "'", "\u2019", "'", "\u201a", "'", "\u201b", "'",
	"\u201c", `"`, "\u201d", `"`, "\u201e", `"`)

// Variables whose values use other variables resolve over a few rounds.
func resolveStep(s string, lim Limits) (string, string, bool) {
	out, anyVars, anyChange := s, false, false
	if strings.Contains(s, "\u2018") || strings.Contains(s, "\u2019") || strings.Contains(s, "\u201a") ||
		strings.Contains(s, "\u201b") || strings.Contains(s, "\u201c") || strings.Contains(s, "\u201d") || strings.Contains(s, "\u201e") {
		out, anyChange = smartQuotes.Replace(s), true
	}
	for range 4 {
		next, vars, ok := resolve(out, lim)
		if !ok {
			break
		}
		out, anyVars, anyChange = next, anyVars || vars, true
		if !vars {
			break
		}
	}
	if anyVars {
		return out, kindResolvedVars, anyChange
	}
	return out, kindResolved, anyChange
}

var (
	reLit      = regexp.MustCompile(lit)
	reParenLit = regexp.MustCompile(`(^|[^\w\])'"])\(\s*(` + lit + `)\s*\)`)
	reFormat   = regexp.MustCompile(`(?i)\(?\s*(` + lit + `)\s*\)?\s*-f\s*(?:@?\(\s*(` + lit + `(?:\s*,\s*` + lit + `)*)\s*\)|(` + lit + `(?:\s*,\s*` + lit + `)*))`)
	reChar     = regexp.MustCompile(`(?i)\[char\]\s*(?:\[int\]\s*)?(?:(0x[0-9a-f]+|\d+)|\(\s*([0-9a-fx+\-*/%() ]{1,40}?)\s*\)|'(0x[0-9a-f]+|\d+)')`)
	reCharArr  = regexp.MustCompile(`(?i)\[char\[\]\]\s*\(?\s*((?:0x[0-9a-f]+|\d+)(?:\s*,\s*(?:0x[0-9a-f]+|\d+))*)\s*\)?`)
	reBxor     = regexp.MustCompile(`(?i)-bxor\s*['"]?(0x[0-9a-f]+|\d+)`)
	reToInt    = regexp.MustCompile(`(?i)toint(?:16|32|64)\s*\([^,]{0,40},\s*['"]?(\d+)`)
	reSplit    = regexp.MustCompile(`(?i)(` + lit + `)\s*\)?\s*(?:-c?split\s*(` + lit + `)|\.split\s*\(\s*(` + lit + `)\s*\))`)
	reJoinLit  = regexp.MustCompile(`(?i)(` + lit + `)\s*-join\s*(?:''|"")`)
	reJoinList = regexp.MustCompile(`(?i)-join\s*\(\s*(` + lit + `(?:\s*,\s*` + lit + `)*)\s*\)`)
	reListJoin = regexp.MustCompile(`(?i)\(\s*(` + lit + `(?:\s*,\s*` + lit + `)+)\s*\)\s*-join\s*(` + lit + `)`)
	reReplace  = regexp.MustCompile(`(?i)(\.replace\s*\(\s*(` + lit + `)\s*,\s*(` + lit + `)\s*\)|-(c?)replace\s*\(?\s*(` + lit + `)\s*,\s*(` + lit + `)\s*\)?)`)
	reTick     = regexp.MustCompile("`([A-Za-z])")
	reB64Call  = regexp.MustCompile(`(?i)frombase64string\s*\(\s*\(?\s*(` + lit + `)\s*\)?\s*\)`)
)

// format evaluates the -f operator on literals: '{1}{0}' -f 'x','i' → 'ix',
// with the arguments as a list or in parentheses.
func format(s string, lim Limits) (string, bool) {
	if !hasFormatOperator(s) {
		return s, false
	}
	changed := false
	out := reFormat.ReplaceAllStringFunc(s, func(m string) string {
		sub := reFormat.FindStringSubmatch(m)
		args := splitLits(sub[2] + sub[3])
		v, ok := composite(unquote(sub[1]), args)
		if !ok || len(v) > lim.MaxOutput {
			return m
		}
		changed = true
		// Keep an opening parenthesis that the pattern consumed unbalanced.
		rest := m[strings.Index(m, sub[1])+len(sub[1]):]
		if strings.HasPrefix(strings.TrimSpace(m), "(") && strings.Count(rest, ")") <= strings.Count(rest, "(") {
			return "(" + quote(v)
		}
		return quote(v)
	})
	return out, changed
}

// hasFormatOperator reports a -f not followed by a letter (-Force, -Filter).
func hasFormatOperator(s string) bool {
	for off := 0; ; {
		i := strings.IndexByte(s[off:], '-')
		if i < 0 {
			return false
		}
		i += off
		if i+2 <= len(s) && (s[i+1] == 'f' || s[i+1] == 'F') && (i+2 == len(s) || !isNameByte(s[i+2])) {
			return true
		}
		off = i + 1
	}
}

// composite applies a .NET composite format string: {n}, {n,align} and
// {n:format} take argument n (alignment and format are ignored), {{ and }}
// stand for braces. ok is false for a malformed string or a missing argument,
// where .NET would throw.
func composite(f string, args []string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c == '{' && i+1 < len(f) && f[i+1] == '{', c == '}' && i+1 < len(f) && f[i+1] == '}':
			b.WriteByte(c)
			i++
		case c == '{':
			end := strings.IndexByte(f[i:], '}')
			if end < 0 {
				return "", false
			}
			item := f[i+1 : i+end]
			if k := strings.IndexAny(item, ",:"); k >= 0 {
				item = item[:k]
			}
			n, err := strconv.Atoi(strings.TrimSpace(item))
			if err != nil || n < 0 || n >= len(args) {
				return "", false
			}
			b.WriteString(args[n])
			i += end
		case c == '}':
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// charCodes turns [char]73, [char](70+3), [char]0x49 and [char[]](73,69,88)
// (xored when -bxor follows) into literals.
func charCodes(s string, lim Limits) (string, bool) {
	changed := false
	out := reCharArr.ReplaceAllStringFunc(s, func(m string) string {
		nums := strings.Split(reCharArr.FindStringSubmatch(m)[1], ",")
		key := xorKeyAfter(s, m)
		var b strings.Builder
		for _, n := range nums {
			v, ok := parseInt(strings.TrimSpace(n), 0)
			if !ok || !validRune(v^key) {
				return m
			}
			b.WriteRune(rune(v ^ key))
		}
		changed = true
		return quote(b.String())
	})
	out = reChar.ReplaceAllStringFunc(out, func(m string) string {
		sub := reChar.FindStringSubmatch(m)
		var v int64
		var ok bool
		switch {
		case sub[1] != "":
			v, ok = parseInt(sub[1], 0)
		case sub[3] != "":
			v, ok = parseInt(sub[3], 0)
		default:
			v, ok = evalArith(sub[2])
		}
		if !ok || !validRune(v) {
			return m
		}
		changed = true
		return quote(string(rune(v)))
	})
	return out, changed && len(out) <= lim.MaxOutput
}

// xorKeyAfter finds a -bxor key within a short distance after m in s.
func xorKeyAfter(s, m string) int64 {
	i := strings.Index(s, m)
	if i < 0 {
		return 0
	}
	end := min(len(s), i+len(m)+200)
	sub := reBxor.FindStringSubmatch(s[i+len(m) : end])
	if sub == nil {
		return 0
	}
	k, _ := parseInt(sub[1], 0)
	return k
}

// minSplitCodes is the fewest numbers taken as an encoded string: a handful of
// numbers split apart is ordinary data (ports, versions).
const minSplitCodes = 8

// splitCodes decodes a literal of numbers separated by junk characters that the
// script splits apart and casts to [char] (Invoke-Obfuscation's ASCII, binary,
// octal and hex encodings): '73A69z88' -split '[Az]' → 'IEX'.
func splitCodes(s string, lim Limits) (string, bool) {
	changed := false
	out := reSplit.ReplaceAllStringFunc(s, func(m string) string {
		sub := reSplit.FindStringSubmatch(m)
		sep := sub[2]
		if sep == "" {
			sep = sub[3]
		}
		seps := unquote(sep)
		if sub[2] != "" { // -split takes a regex: keep the characters it names
			seps = strings.NewReplacer("[", "", "]", "", "|", "", `\`, "").Replace(seps)
		}
		fields := strings.FieldsFunc(unquote(sub[1]), func(r rune) bool { return strings.ContainsRune(seps, r) })
		if len(fields) < minSplitCodes {
			return m
		}
		i := strings.Index(s, m)
		after := s[i+len(m) : min(len(s), i+len(m)+300)]
		base := 10
		if t := reToInt.FindStringSubmatch(after); t != nil {
			if b, err := strconv.Atoi(t[1]); err == nil && (b == 2 || b == 8 || b == 16) {
				base = b
			}
		}
		var key int64
		if x := reBxor.FindStringSubmatch(after); x != nil {
			key, _ = parseInt(x[1], 0)
		}
		var b strings.Builder
		for _, f := range fields {
			v, ok := parseInt(strings.TrimSpace(f), base)
			if v ^= key; !ok || v < 9 || v > 126 { // encoded scripts are printable ASCII
				return m
			}
			v ^= key
			b.WriteRune(rune(v ^ key))
		}
		changed = true
		return quote(b.String())
	})
	return out, changed && len(out) <= lim.MaxOutput
}

// join evaluates -join on literals: 'ab'-join” → 'ab', -join('a','b') → 'ab',
// ('a','b')-join'-' → 'a-b', after the forms of joinForms.
func join(s string, lim Limits) (string, string, bool) {
	out, reversed := joinForms(s, lim)
	out = reJoinLit.ReplaceAllString(out, "${1}")
	out = reJoinList.ReplaceAllStringFunc(out, func(m string) string {
		return quote(strings.Join(splitLits(reJoinList.FindStringSubmatch(m)[1]), ""))
	})
	out = reListJoin.ReplaceAllStringFunc(out, func(m string) string {
		sub := reListJoin.FindStringSubmatch(m)
		return quote(strings.Join(splitLits(sub[1]), unquote(sub[2])))
	})
	kind := KindJoin
	if reversed {
		kind = KindReverse // characters picked backwards: a reversed string
	}
	return out, kind, out != s && len(out) <= lim.MaxOutput
}

// replace applies .Replace('a','b') and -replace 'a','b' (case-insensitive) with
// literal arguments to the whole text and removes the calls.
func replace(s string, lim Limits) (string, bool) {
	type pair struct {
		from, to string
		fold     bool
	}
	var pairs []pair
	out := reReplace.ReplaceAllStringFunc(s, func(m string) string {
		sub := reReplace.FindStringSubmatch(m)
		p := pair{from: unquote(sub[2]), to: unquote(sub[3])}
		if sub[5] != "" {
			p = pair{from: unquote(sub[5]), to: unquote(sub[6]), fold: sub[4] == ""}
			p.from = strings.ReplaceAll(p.from, `\`, "") // regex escapes of literal text
		}
		if p.from == "" || len(pairs) >= 32 {
			return m
		}
		pairs = append(pairs, p)
		return ""
	})
	if len(pairs) == 0 {
		return s, false
	}
	// Apply the replacements to the values of the literals they target.
	out = reLit.ReplaceAllStringFunc(out, func(l string) string {
		orig := unquote(l)
		v := orig
		for _, p := range pairs {
			if p.fold {
				v = replaceFold(v, p.from, p.to)
			} else {
				v = strings.ReplaceAll(v, p.from, p.to)
			}
			if len(v) > lim.MaxOutput {
				return l
			}
		}
		if v == orig {
			return l // untouched literals keep their quoting
		}
		return quote(v)
	})
	return out, len(out) <= lim.MaxOutput
}

func replaceFold(s, from, to string) string {
	re, err := regexp.Compile(`(?i)` + regexp.QuoteMeta(from))
	if err != nil {
		return s
	}
	return re.ReplaceAllLiteralString(s, to)
}

// stripTicks removes backtick escapes that only obfuscate (Get-C`ommand),
// keeping the real escapes `0 `a `b `e `f `n `r `t `u `v.
func stripTicks(s string, _ Limits) (string, bool) {
	out := reTick.ReplaceAllStringFunc(s, func(m string) string {
		if strings.ContainsRune("0abefnrtuv", rune(m[1])) {
			return m
		}
		return m[1:]
	})
	return out, out != s
}

// validRune reports whether v is a code point worth emitting as text.
func validRune(v int64) bool {
	return (v >= 0x20 && v < 0xd800) || v == '\n' || v == '\r' || v == '\t' || (v > 0xdfff && v <= 0x10ffff)
}

func parseInt(s string, base int) (int64, bool) {
	if base == 0 && (strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X")) {
		v, err := strconv.ParseInt(s[2:], 16, 64)
		return v, err == nil
	}
	if base == 0 {
		base = 10
	}
	v, err := strconv.ParseInt(s, base, 64)
	return v, err == nil
}
