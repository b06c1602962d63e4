package sigma

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// regexMaxSize is osquery's --regex_max_size default (the offline engine enforces
// the same limit): longer patterns are refused by regex_match at query time.
const regexMaxSize = 256

// portableRegex turns a Sigma `re` pattern (PCRE-like, as SigmaHQ writes them) into a
// pattern that means the same in Go RE2 (the offline engine) and in ECMAScript
// std::regex (osqueryd's regex_match): the pattern is parsed by RE2 (a pattern RE2
// cannot compile is refused with its error) and printed back in the syntax both
// share — no inline flags, no \d-style shorthands inside classes, no named groups.
//
// Case-insensitive patterns ((?i) or the |i sub-modifier) are matched against
// lower(column) with the pattern's letters in lower case when every letter of the
// pattern is case-insensitive (lower is true); otherwise the case-insensitive letters
// are printed as [aA] classes. Non-ASCII members of character classes are dropped
// unless the class (like [^x]) covers all of them: SQLite's lower() and std::regex
// work on ASCII.
func portableRegex(pattern string, fold, multiline, dotall bool) (out string, lower bool, err error) {
	if _, err := regexp.Compile(pattern); err != nil {
		return "", false, unsupported("regex %q: RE2 cannot compile it: %v", pattern, err)
	}
	flags := syntax.Perl
	if fold {
		flags |= syntax.FoldCase
	}
	if multiline {
		flags &^= syntax.OneLine
	}
	if dotall {
		flags |= syntax.DotNL
	}
	re, err := syntax.Parse(pattern, flags)
	if err != nil {
		return "", false, unsupported("regex %q: RE2 cannot compile it: %v", pattern, err)
	}
	p := &rePrinter{lower: canLower(re)}
	p.print(re, false)
	out = p.b.String()
	if len(out) > regexMaxSize {
		return "", false, unsupported("regex %q is %d bytes once made portable; osquery's regex_max_size is %d", pattern, len(out), regexMaxSize)
	}
	if _, err := regexp.Compile(out); err != nil {
		return "", false, fmt.Errorf("regex %q printed as %q: %v", pattern, out, err)
	}
	return out, p.lower, nil
}

// canLower reports whether the pattern matches s exactly when its lower-case form
// matches lower(s): every letter literal is case-insensitive and every class holds
// both cases of its ASCII letters.
func canLower(re *syntax.Regexp) bool {
	ok := true
	var walk func(*syntax.Regexp)
	walk = func(r *syntax.Regexp) {
		switch r.Op {
		case syntax.OpLiteral:
			if r.Flags&syntax.FoldCase == 0 {
				for _, c := range r.Rune {
					if isASCIILetter(c) {
						ok = false
					}
				}
			}
		case syntax.OpCharClass:
			for c := 'a'; c <= 'z'; c++ {
				if inClass(r.Rune, c) != inClass(r.Rune, c-'a'+'A') {
					ok = false
				}
			}
		}
		for _, s := range r.Sub {
			walk(s)
		}
	}
	walk(re)
	return ok
}

func isASCIILetter(c rune) bool { return c < utf8.RuneSelf && unicode.IsLetter(c) }

func inClass(ranges []rune, c rune) bool {
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] <= c && c <= ranges[i+1] {
			return true
		}
	}
	return false
}

type rePrinter struct {
	b     strings.Builder
	lower bool
}

// print writes r; group asks for a (?:…) around anything that is not a single atom.
func (p *rePrinter) print(r *syntax.Regexp, group bool) {
	atom := func() bool {
		switch r.Op {
		case syntax.OpLiteral:
			return len(r.Rune) == 1
		case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL, syntax.OpCapture,
			syntax.OpBeginText, syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary,
			syntax.OpEmptyMatch, syntax.OpNoMatch, syntax.OpBeginLine, syntax.OpEndLine:
			return true
		}
		return false
	}
	if group && !atom() {
		p.b.WriteString("(?:")
		defer p.b.WriteString(")")
	}
	switch r.Op {
	case syntax.OpNoMatch:
		p.b.WriteString(`[^\s\S]`)
	case syntax.OpEmptyMatch:
		p.b.WriteString(`(?:)`)
	case syntax.OpLiteral:
		for _, c := range r.Rune {
			p.literal(c, r.Flags&syntax.FoldCase != 0)
		}
	case syntax.OpCharClass:
		p.class(r.Rune)
	case syntax.OpAnyCharNotNL:
		p.b.WriteString(".")
	case syntax.OpAnyChar:
		p.b.WriteString(`[\s\S]`)
	case syntax.OpBeginLine:
		p.b.WriteString(`(?:^|\n)`) // consumes the newline: same matches for "is there a match"
	case syntax.OpEndLine:
		p.b.WriteString(`(?:$|\n)`)
	case syntax.OpBeginText:
		p.b.WriteString("^")
	case syntax.OpEndText:
		p.b.WriteString("$")
	case syntax.OpWordBoundary:
		p.b.WriteString(`\b`)
	case syntax.OpNoWordBoundary:
		p.b.WriteString(`\B`)
	case syntax.OpCapture:
		p.b.WriteString("(")
		p.print(r.Sub[0], false)
		p.b.WriteString(")")
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		p.print(r.Sub[0], true)
		switch r.Op {
		case syntax.OpStar:
			p.b.WriteString("*")
		case syntax.OpPlus:
			p.b.WriteString("+")
		case syntax.OpQuest:
			p.b.WriteString("?")
		default:
			switch {
			case r.Max == -1:
				fmt.Fprintf(&p.b, "{%d,}", r.Min)
			case r.Min == r.Max:
				fmt.Fprintf(&p.b, "{%d}", r.Min)
			default:
				fmt.Fprintf(&p.b, "{%d,%d}", r.Min, r.Max)
			}
		}
		if r.Flags&syntax.NonGreedy != 0 {
			p.b.WriteString("?")
		}
	case syntax.OpConcat:
		for _, s := range r.Sub {
			p.print(s, s.Op == syntax.OpAlternate)
		}
	case syntax.OpAlternate:
		for i, s := range r.Sub {
			if i > 0 {
				p.b.WriteString("|")
			}
			p.print(s, false)
		}
	}
}

const reMeta = `\.+*?()|[]{}^$/-`

func (p *rePrinter) literal(c rune, fold bool) {
	switch {
	case isASCIILetter(c) && fold && p.lower:
		p.b.WriteRune(unicode.ToLower(c))
	case isASCIILetter(c) && fold:
		fmt.Fprintf(&p.b, "[%c%c", unicode.ToLower(c), unicode.ToUpper(c))
		p.b.WriteString("]")
	default:
		p.char(c, false)
	}
}

// char writes one character, escaped where either syntax could read it as syntax.
func (p *rePrinter) char(c rune, inClass bool) {
	switch {
	case c < 0x20 || c == 0x7f:
		fmt.Fprintf(&p.b, `\x%02x`, c)
	case c < utf8.RuneSelf && strings.ContainsRune(reMeta, c):
		if inClass || c != '/' && c != '-' {
			p.b.WriteByte('\\')
		}
		p.b.WriteRune(c)
	default:
		p.b.WriteRune(c)
	}
}

// class prints a character class. ASCII members are printed; the non-ASCII ones
// survive only as a whole (a class that holds every non-ASCII character is printed
// as the negation of its ASCII complement).
func (p *rePrinter) class(ranges []rune) {
	var ascii [128]bool
	allHigh := inClass(ranges, utf8.RuneSelf) && inClass(ranges, unicode.MaxRune)
	for c := rune(0); c < 128; c++ {
		ascii[c] = inClass(ranges, c)
	}
	if p.lower {
		for c := 'A'; c <= 'Z'; c++ {
			if ascii[c] {
				ascii[c-'A'+'a'] = true
				ascii[c] = false
			}
		}
	}
	neg := false
	if allHigh {
		// Print [^complement].
		neg = true
		for c := range ascii {
			ascii[c] = !ascii[c]
		}
		if p.lower {
			for c := 'A'; c <= 'Z'; c++ {
				ascii[c] = false // lower(s) has no upper-case letters
			}
		}
	}
	n := 0
	for _, v := range ascii {
		if v {
			n++
		}
	}
	switch {
	case n == 0 && neg:
		p.b.WriteString(`[\s\S]`)
		return
	case n == 0:
		p.b.WriteString(`[^\s\S]`)
		return
	case n == 1 && !neg:
		for c, v := range ascii {
			if v {
				p.char(rune(c), false)
			}
		}
		return
	}
	p.b.WriteString("[")
	if neg {
		p.b.WriteString("^")
	}
	for c := 0; c < 128; {
		if !ascii[c] {
			c++
			continue
		}
		e := c
		for e+1 < 128 && ascii[e+1] {
			e++
		}
		p.char(rune(c), true)
		if e > c+1 {
			p.b.WriteString("-")
		}
		if e > c {
			p.char(rune(e), true)
		}
		c = e + 1
	}
	p.b.WriteString("]")
}
