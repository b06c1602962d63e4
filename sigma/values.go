package sigma

import (
	"encoding/base64"
	"regexp"
	"strings"
	"unicode/utf16"
)

// Pattern is a Sigma string value: text with the wildcards * (any run) and ? (one
// character) as Sigma's escaping rules read them (\* \? \\ escape; a backslash before
// anything else is literal, as pySigma reads it). In a Pred it is anchored: it covers
// the whole value (contains, startswith and endswith have added their *).
type Pattern []Part

// Part is a run of literal text or one wildcard.
type Part struct {
	Lit  string
	Wild byte // '*' or '?' (Lit is empty), or 0
}

func parseSigmaString(s string) Pattern {
	var out Pattern
	var acc strings.Builder
	flush := func() {
		if acc.Len() > 0 {
			out = append(out, Part{Lit: acc.String()})
			acc.Reset()
		}
	}
	escaped := false
	for _, c := range s {
		switch {
		case escaped:
			if c != '*' && c != '?' && c != '\\' {
				acc.WriteByte('\\')
			}
			acc.WriteRune(c)
			escaped = false
		case c == '\\':
			escaped = true
		case c == '*' || c == '?':
			flush()
			out = append(out, Part{Wild: byte(c)})
		default:
			acc.WriteRune(c)
		}
	}
	if escaped {
		acc.WriteByte('\\')
	}
	flush()
	return out
}

func plainString(s string) Pattern {
	if s == "" {
		return nil
	}
	return Pattern{{Lit: s}}
}

func (s Pattern) hasWildcards() bool {
	for _, p := range s {
		if p.Wild != 0 {
			return true
		}
	}
	return false
}

// plain returns the text of a value without wildcards.
func (s Pattern) plain() string {
	var b strings.Builder
	for _, p := range s {
		b.WriteString(p.Lit)
	}
	return b.String()
}

// windashRE finds the dashes windash expands: a - or / at the start of a word
// (pySigma's \B[-/]\b).
var windashRE = regexp.MustCompile(`\B[-/]\b`)

// windashChars are the characters Windows programs accept as an option prefix.
var windashChars = []string{"-", "/", "\u2013", "\u2014", "\u2015"}

// maxExpansion bounds the values one value may expand to.
const maxExpansion = 625

// windash expands every option dash of the literal parts into -, /, en dash, em dash
// and horizontal bar (all combinations).
func windash(s Pattern) ([]Pattern, error) {
	out := []Pattern{nil}
	for _, p := range s {
		if p.Wild != 0 {
			for i := range out {
				out[i] = append(out[i], p)
			}
			continue
		}
		// pySigma applies the regex to each plain part on its own.
		locs := windashRE.FindAllStringIndex(p.Lit, -1)
		if len(locs) == 0 {
			for i := range out {
				out[i] = append(out[i], p)
			}
			continue
		}
		var variants []string
		var rec func(prefix string, from, k int)
		rec = func(prefix string, from, k int) {
			if k == len(locs) {
				variants = append(variants, prefix+p.Lit[from:])
				return
			}
			for _, c := range windashChars {
				rec(prefix+p.Lit[from:locs[k][0]]+c, locs[k][1], k+1)
			}
		}
		rec("", 0, 0)
		if len(out)*len(variants) > maxExpansion {
			return nil, unsupported("windash expands a value into more than %d values", maxExpansion)
		}
		var next []Pattern
		for _, o := range out {
			for _, v := range variants {
				n := append(append(Pattern(nil), o...), Part{Lit: v})
				next = append(next, n)
			}
		}
		out = next
	}
	return out, nil
}

// bval is a value on its way through the encoding modifiers: text or raw bytes.
type bval struct {
	s     Pattern
	bytes []byte // set after wide/utf16*: no longer text
	isRaw bool
}

func utf16Bytes(s string, bigEndian, bom bool) []byte {
	u := utf16.Encode([]rune(s))
	var out []byte
	if bom {
		if bigEndian {
			out = append(out, 0xfe, 0xff)
		} else {
			out = append(out, 0xff, 0xfe)
		}
	}
	for _, c := range u {
		if bigEndian {
			out = append(out, byte(c>>8), byte(c))
		} else {
			out = append(out, byte(c), byte(c>>8))
		}
	}
	return out
}

// base64Offsets returns the three strings base64offset defines (pySigma's
// SigmaBase64OffsetModifier): the value encoded at offsets 0, 1 and 2 of a 3-byte
// group, with the characters that depend on the unknown neighbours cut off.
func base64Offsets(b []byte) []string {
	starts := []int{0, 2, 3}
	ends := []int{0, -3, -2} // 0 means none
	var out []string
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString(append([]byte(strings.Repeat(" ", i)), b...))
		e := len(enc)
		if x := ends[(len(b)+i)%3]; x != 0 {
			e += x
		}
		if starts[i] > e {
			out = append(out, "")
			continue
		}
		out = append(out, enc[starts[i]:e])
	}
	return out
}
