package psdecode

import (
	"regexp"
	"strconv"
	"strings"
)

// This file evaluates the string building that obfuscators use besides + and
// -f: [string]::Join and ::Concat, -split or .Split feeding -join, characters
// picked out of a literal by index, and the .Insert/.Substring/.Remove/.ToUpper
// chain of methods on a literal. Only literal operands are evaluated.

const (
	lits = lit + `(?:\s*,\s*` + lit + `)*`
	// maxPicked bounds the characters one index expression may pick.
	maxPicked = 1 << 16
	// joinWindow is how far from a -join a split or an index is evaluated.
	joinWindow = 256
	// index is one integer index, possibly negated or a short sum in
	// parentheses: 3, -1, -(12), (12-1).
	index = `-?\s*(?:\d{1,6}|\(\s*[-+*/%\d\s]{1,40}\))`
)

// afterWindow is how far after a literal the construct applied to it is read.
const afterWindow = 4 << 10

var (
	reStaticJoin   = regexp.MustCompile(`(?i)^\[(?:system\.)?string\]\s*::\s*join\s*\(\s*(` + lit + `)\s*,\s*(?:@?\(\s*(` + lits + `)\s*\)|(` + lits + `))\s*\)`)
	reStaticConcat = regexp.MustCompile(`(?i)^\[(?:system\.)?string\]\s*::\s*concat\s*\(\s*(?:@?\(\s*(` + lits + `)\s*\)|(` + lits + `))\s*\)`)
	// Constructs read right after a literal (optionally closing its parentheses).
	reSplitAfter  = regexp.MustCompile(`(?i)^(\s*\))?\s*(?:-(c|i)?split\s*(` + lit + `)|\.split\s*\(\s*(` + lit + `)\s*\))`)
	reIndexAfter  = regexp.MustCompile(`^(\s*\))?\s*\[\s*(` + index + `(?:\s*\.\.\s*` + index + `)?(?:\s*,\s*` + index + `(?:\s*\.\.\s*` + index + `)?)*)\s*\]`)
	reLengthAfter = regexp.MustCompile(`(?i)^\s*\.\s*length\b`)
	reMethodAfter = regexp.MustCompile(`(?i)^(\s*\))?\s*\.\s*(insert|substring|remove)\s*\(\s*((?:-?\d{1,9}|` + lit + `)(?:\s*,\s*(?:-?\d{1,9}|` + lit + `))*)?\s*\)`)
	reListParens  = regexp.MustCompile(`\(\s*(\(\s*` + lit + `(?:\s*,\s*` + lit + `)+\s*\))\s*\)`)
	reMethodArg   = regexp.MustCompile(`-?\d{1,9}|` + lit)
)

// list renders values as a PowerShell array literal ('a','b').
func list(values []string) string {
	return "(" + strings.Join(mapStrings(values, quote), ",") + ")"
}

// nearJoin reports a -join or ::Join within joinWindow bytes of s[i:j].
func nearJoin(s string, i, j int) bool {
	lo, hi := max(0, i-joinWindow), min(len(s), j+joinWindow)
	return containsFold(s[lo:hi], "join")
}

// edit replaces s[start:end].
type edit struct {
	start, end int
	text       string
}

func applyEdits(s string, edits []edit) string {
	if len(edits) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, e := range edits {
		b.WriteString(s[last:e.start])
		b.WriteString(e.text)
		last = e.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// rewriteAfterLiterals calls f for each literal of known value in s's code
// with the text that follows it; f returns how many bytes of that text the
// construct takes and the replacement of literal and construct, or n < 0 to
// leave both. A construct whose match begins with ) takes the ( before the
// literal too: ('a-b').Split('-').
func rewriteAfterLiterals(s string, f func(start, end int, val, after string) (n int, repl string)) (string, bool) {
	var edits []edit
	next := 0
	eachLiteral(s, func(start, end int, val string, known bool) bool {
		if start < next || !known {
			return true
		}
		n, repl := f(start, end, val, s[end:min(len(s), end+afterWindow)])
		if n < 0 {
			return true
		}
		from := start
		if strings.HasPrefix(strings.TrimLeft(s[end:end+n], " \t\r\n"), ")") {
			j := start - 1
			for j >= 0 && (s[j] == ' ' || s[j] == '\t') {
				j--
			}
			if j < 0 || s[j] != '(' || j < next {
				return true
			}
			from = j
		}
		edits = append(edits, edit{from, end + n, repl})
		next = end + n
		return len(edits) < 256
	})
	return applyEdits(s, edits), len(edits) > 0
}

// joinForms evaluates [string]::Join, [string]::Concat, and the splits and
// indexes that feed a -join, leaving lists for join's own patterns. reversed
// reports characters picked backwards.
func joinForms(s string, lim Limits) (out string, reversed bool) {
	out = staticJoins(s)
	if !strings.Contains(out, "split") && !strings.Contains(out, "Split") && !strings.Contains(out, "SPLIT") &&
		!strings.Contains(out, "[") && !containsFold(out, "split") {
		return out, false
	}
	lists := false
	out, _ = rewriteAfterLiterals(out, func(start, end int, val, after string) (int, string) {
		if !nearJoin(out, start, end) {
			return -1, ""
		}
		if l := reSplitAfter.FindStringSubmatchIndex(after); l != nil {
			parts, ok := splitValue(val, submatch(after, l, 2), submatch(after, l, 3), submatch(after, l, 4))
			if !ok {
				return -1, ""
			}
			lists = true
			return l[1], list(parts)
		}
		if l := reIndexAfter.FindStringSubmatchIndex(after); l != nil {
			spec := submatch(after, l, 2)
			if containsFold(spec, "length") {
				return -1, ""
			}
			picked, desc, ok := pick([]rune(val), spec)
			if !ok || len(picked) < 2 {
				return -1, ""
			}
			lists, reversed = true, reversed || desc
			return l[1], list(picked)
		}
		if l := reLengthAfter.FindStringIndex(after); l != nil && rangeBefore(out, start) {
			// 'abc'[-1..-('abc'.Length)]: the length of a literal bounds a range.
			return l[1], strconv.Itoa(len([]rune(val)))
		}
		return -1, ""
	})
	if lists {
		for i := 0; i < 4; i++ {
			next := reListParens.ReplaceAllString(out, "$1")
			if next == out {
				break
			}
			out = next
		}
	}
	if len(out) > lim.MaxOutput {
		return s, false
	}
	return out, reversed
}

// rangeBefore reports a .. range operator just before s[i] (past blanks, a
// minus sign and an opening parenthesis).
func rangeBefore(s string, i int) bool {
	return strings.HasSuffix(strings.TrimRight(s[max(0, i-16):i], " \t(-"), "..")
}

// submatch returns group k of a match located by l in s, "" when unset.
func submatch(s string, l []int, k int) string {
	if 2*k+1 >= len(l) || l[2*k] < 0 {
		return ""
	}
	return s[l[2*k]:l[2*k+1]]
}

// splitValue splits val like -split (a regular expression, case-insensitive
// unless -csplit) or .Split (any of the characters).
func splitValue(val, caseFlag, splitRe, splitChars string) ([]string, bool) {
	var parts []string
	if splitChars != "" {
		seps := unquote(splitChars)
		if seps == "" {
			return nil, false
		}
		parts = strings.FieldsFunc(val, func(r rune) bool { return strings.ContainsRune(seps, r) })
	} else {
		pattern := unquote(splitRe)
		flags := "(?i)"
		if strings.EqualFold(caseFlag, "c") {
			flags = ""
		}
		re, err := regexp.Compile(flags + pattern)
		if err != nil || pattern == "" {
			return nil, false
		}
		parts = re.Split(val, maxPicked)
	}
	return parts, len(parts) >= 2
}

// staticJoins evaluates [string]::Join(sep, …) and [string]::Concat(…) on
// literals.
func staticJoins(s string) string {
	lower := strings.ToLower(s)
	if len(lower) != len(s) || !strings.Contains(lower, "string]") {
		return s
	}
	var edits []edit
	for off := 0; len(edits) < 256; {
		i := strings.Index(lower[off:], "string]")
		if i < 0 {
			break
		}
		i += off
		off = i + 7
		start := strings.LastIndexByte(lower[max(0, i-8):i+1], '[')
		if start < 0 {
			continue
		}
		start += max(0, i-8)
		if len(edits) > 0 && start < edits[len(edits)-1].end {
			continue
		}
		window := s[start:min(len(s), start+afterWindow)]
		if l := reStaticJoin.FindStringSubmatchIndex(window); l != nil {
			values := splitLits(submatch(window, l, 2) + submatch(window, l, 3))
			edits = append(edits, edit{start, start + l[1], quote(strings.Join(values, unquote(submatch(window, l, 1))))})
		} else if l := reStaticConcat.FindStringSubmatchIndex(window); l != nil {
			values := splitLits(submatch(window, l, 1) + submatch(window, l, 2))
			edits = append(edits, edit{start, start + l[1], quote(strings.Join(values, ""))})
		}
	}
	return applyEdits(s, edits)
}

// pick returns the characters of val that an index list selects ('abc'[2,0],
// 'abc'[-1..-3]); indexes out of range select nothing, as in PowerShell. desc
// reports a descending range, the way scripts reverse a string.
func pick(val []rune, spec string) (out []string, desc, ok bool) {
	at := func(i int) {
		if i < 0 {
			i += len(val)
		}
		if i >= 0 && i < len(val) {
			out = append(out, string(val[i]))
		}
	}
	for _, part := range strings.Split(spec, ",") {
		from, to, isRange := strings.Cut(part, "..")
		a, err := indexValue(from)
		if err != nil {
			return nil, false, false
		}
		if !isRange {
			at(a)
			continue
		}
		b, err := indexValue(to)
		if err != nil || abs(b-a) >= maxPicked {
			return nil, false, false
		}
		step := 1
		if b < a {
			step, desc = -1, true
		}
		for i := a; ; i += step {
			at(i)
			if i == b || len(out) >= maxPicked {
				break
			}
		}
	}
	return out, desc, len(out) <= maxPicked
}

// indexValue evaluates one index of an index list.
func indexValue(s string) (int, error) {
	v, ok := evalArith(strings.NewReplacer(" ", "", "\t", "").Replace(s))
	if !ok || v < -maxPicked*4 || v > maxPicked*4 {
		return 0, strconv.ErrRange
	}
	return int(v), nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// stringMethods evaluates .Insert, .Substring and .Remove on literals, a chain
// at a time: 'loadStr'.Insert(0,'Down') → 'DownloadStr'.
func stringMethods(s string, lim Limits) (string, bool) {
	out := s
	for i := 0; i < 8; i++ {
		next, changed := rewriteAfterLiterals(out, func(_, _ int, val, after string) (int, string) {
			l := reMethodAfter.FindStringSubmatchIndex(after)
			if l == nil {
				return -1, ""
			}
			v, ok := callMethod([]rune(val), strings.ToLower(submatch(after, l, 2)), reMethodArg.FindAllString(submatch(after, l, 3), 3))
			if !ok {
				return -1, ""
			}
			return l[1], quote(v)
		})
		if !changed || len(next) > lim.MaxOutput {
			break
		}
		out = next
	}
	return out, out != s
}

// callMethod applies one .NET string method; ok is false for arguments that
// would throw (out of range) or do not fit the method.
func callMethod(v []rune, method string, args []string) (string, bool) {
	ints := make([]int, 0, len(args))
	var strs []string
	for _, a := range args {
		if n, err := strconv.Atoi(a); err == nil {
			ints = append(ints, n)
		} else {
			strs = append(strs, unquote(a))
		}
	}
	switch {
	case method == "insert" && len(ints) == 1 && len(strs) == 1 && ints[0] >= 0 && ints[0] <= len(v):
		return string(v[:ints[0]]) + strs[0] + string(v[ints[0]:]), true
	case method == "substring" && len(strs) == 0 && len(ints) == 1 && ints[0] >= 0 && ints[0] <= len(v):
		return string(v[ints[0]:]), true
	case method == "substring" && len(strs) == 0 && len(ints) == 2 && ints[0] >= 0 && ints[1] >= 0 && ints[0]+ints[1] <= len(v):
		return string(v[ints[0] : ints[0]+ints[1]]), true
	case method == "remove" && len(strs) == 0 && len(ints) == 1 && ints[0] >= 0 && ints[0] <= len(v):
		return string(v[:ints[0]]), true
	case method == "remove" && len(strs) == 0 && len(ints) == 2 && ints[0] >= 0 && ints[1] >= 0 && ints[0]+ints[1] <= len(v):
		return string(v[:ints[0]]) + string(v[ints[0]+ints[1]:]), true
	}
	return "", false
}
