package engine

import (
	"strings"
	"unicode/utf8"

	"github.com/exechunt/exechunt/sigma"
)

// lowerASCII is SQLite's lower() and the case folding of its LIKE: ASCII letters
// only. It returns s itself when s has no upper-case ASCII letter.
func lowerASCII(s string) string {
	i := 0
	for ; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			break
		}
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, len(s))
	copy(b, s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return string(b)
}

// globKind is the shape of a pattern, for the common shapes' fast paths.
type globKind uint8

const (
	globAny      globKind = iota // *: any value
	globExact                    // lit
	globPrefix                   // lit*
	globSuffix                   // *lit
	globContains                 // *lit*
	globBoth                     // lit*lit
	globGeneral                  // anything else (?, several *)
)

// atom is one step of a general pattern: a literal, ? (one character) or *.
type atom struct {
	lit  string
	wild byte
}

// glob is a compiled anchored Sigma pattern. Without cased its literals are in
// ASCII lower case and it is matched against the value's ASCII lower case, which is
// SQL LIKE's case-insensitivity; with cased it is GLOB's exact match. The wildcard ?
// is one UTF-8 character, as in SQLite.
type glob struct {
	kind  globKind
	a, b  string
	atoms []atom
}

func compileGlob(p sigma.Pattern, cased bool) glob {
	var atoms []atom
	for _, x := range p {
		if x.Wild != 0 {
			if x.Wild == '*' && len(atoms) > 0 && atoms[len(atoms)-1].wild == '*' {
				continue
			}
			atoms = append(atoms, atom{wild: x.Wild})
			continue
		}
		lit := x.Lit
		if !cased {
			lit = lowerASCII(lit)
		}
		if n := len(atoms); n > 0 && atoms[n-1].wild == 0 {
			atoms[n-1].lit += lit
			continue
		}
		if lit != "" {
			atoms = append(atoms, atom{lit: lit})
		}
	}
	isLit := func(i int) bool { return atoms[i].wild == 0 }
	isStar := func(i int) bool { return atoms[i].wild == '*' }
	switch n := len(atoms); {
	case n == 0:
		return glob{kind: globExact}
	case n == 1 && isStar(0):
		return glob{kind: globAny}
	case n == 1 && isLit(0):
		return glob{kind: globExact, a: atoms[0].lit}
	case n == 2 && isLit(0) && isStar(1):
		return glob{kind: globPrefix, a: atoms[0].lit}
	case n == 2 && isStar(0) && isLit(1):
		return glob{kind: globSuffix, a: atoms[1].lit}
	case n == 3 && isStar(0) && isLit(1) && isStar(2):
		return glob{kind: globContains, a: atoms[1].lit}
	case n == 3 && isLit(0) && isStar(1) && isLit(2):
		return glob{kind: globBoth, a: atoms[0].lit, b: atoms[2].lit}
	}
	return glob{kind: globGeneral, atoms: atoms}
}

func (g *glob) match(s string) bool {
	switch g.kind {
	case globAny:
		return true
	case globExact:
		return s == g.a
	case globPrefix:
		return strings.HasPrefix(s, g.a)
	case globSuffix:
		return strings.HasSuffix(s, g.a)
	case globContains:
		return strings.Contains(s, g.a)
	case globBoth:
		return len(s) >= len(g.a)+len(g.b) && strings.HasPrefix(s, g.a) && strings.HasSuffix(s, g.b)
	}
	return matchAtoms(g.atoms, s)
}

// matchAtoms is the classic wildcard match with backtracking to the last *: a
// literal must be next, ? takes one character, * any run (tried shortest first).
// It takes O(len(s)·len(atoms)) steps at worst.
func matchAtoms(atoms []atom, s string) bool {
	ai, si := 0, 0
	star, starS := -1, 0
	for {
		if ai < len(atoms) {
			a := atoms[ai]
			switch {
			case a.wild == '*':
				star, starS = ai, si
				ai++
				continue
			case a.wild == '?':
				if si < len(s) {
					_, w := utf8.DecodeRuneInString(s[si:])
					si += w
					ai++
					continue
				}
			case strings.HasPrefix(s[si:], a.lit):
				si += len(a.lit)
				ai++
				continue
			}
		} else if si == len(s) {
			return true
		}
		// Mismatch: let the last * take one more character.
		if star < 0 || starS >= len(s) {
			return false
		}
		_, w := utf8.DecodeRuneInString(s[starS:])
		starS += w
		ai, si = star+1, starS
	}
}
