package engine

import (
	"regexp/syntax"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/coregx/ahocorasick"

	"github.com/exechunt/exechunt/sigma"
)

// minLiteral is the shortest literal that guards a rule: shorter ones occur in most
// values, so they would select the rule anyway and fill the automaton's output.
const minLiteral = 3

// scanWindow bounds the matches the automaton reports at once: a long value (a
// script block) is scanned in windows of this many bytes (overlapping by the longest
// literal), so memory does not grow with the value.
const scanWindow = 16 << 10

// lit is a literal that must occur in the ASCII lower case of a column's text.
type lit struct {
	col int
	s   string
}

// columnAC finds a column's literals: its automaton finds their anchors, pattern i
// being the anchor of the literals anchors[i].
type columnAC struct {
	ac      *ahocorasick.Automaton
	anchors [][]anchored
	lits    int
}

// need is what a match of a condition, search, field or predicate requires: one of
// lits occurs, or (ok false) nothing the prefilter can see.
type need struct {
	lits []lit
	ok   bool
}

// stronger reports whether a is the better guard than b: its shortest literal is
// longer (rarer), then it has fewer literals.
func stronger(a, b need) bool {
	if !b.ok {
		return a.ok
	}
	if !a.ok {
		return false
	}
	ma, mb := shortest(a.lits), shortest(b.lits)
	if ma != mb {
		return ma > mb
	}
	return len(a.lits) < len(b.lits)
}

func shortest(ls []lit) int {
	m := -1
	for _, l := range ls {
		if m < 0 || len(l.s) < m {
			m = len(l.s)
		}
	}
	return m
}

// all is the need of a conjunction: the strongest of its parts' needs.
func all(ns []need) need {
	best := need{}
	for _, n := range ns {
		if stronger(n, best) {
			best = n
		}
	}
	return best
}

// anyOf is the need of a disjunction: one of every part's literals, if every part
// has some.
func anyOf(ns []need) need {
	var out need
	for _, n := range ns {
		if !n.ok {
			return need{}
		}
		out.lits = append(out.lits, n.lits...)
	}
	out.ok = len(out.lits) > 0
	return out
}

func (te *tableEngine) predNeed(id int) need {
	p := &te.preds[id]
	var cands []string
	switch p.p.Kind {
	case sigma.PredLike:
		switch p.glob.kind {
		case globGeneral:
			for _, a := range p.glob.atoms {
				cands = append(cands, a.lit)
			}
		default:
			cands = []string{p.glob.a, p.glob.b}
		}
	case sigma.PredEqual:
		cands = []string{p.text}
	case sigma.PredRegex:
		ls, ok := regexNeed(p.rx.re.String())
		if !ok {
			return need{}
		}
		n := need{ok: true}
		for _, l := range ls {
			if len(l) < minLiteral {
				return need{}
			}
			n.lits = append(n.lits, lit{p.col, l})
		}
		return n
	default:
		return need{}
	}
	best := ""
	for _, c := range cands {
		if len(c) > len(best) {
			best = c
		}
	}
	if len(best) < minLiteral {
		return need{}
	}
	return need{lits: []lit{{p.col, lowerASCII(best)}}, ok: true}
}

func (te *tableEngine) fieldNeed(f *field) need {
	var vals []need
	for _, alts := range f.values {
		var ns []need
		for _, id := range alts {
			ns = append(ns, te.predNeed(id))
		}
		vals = append(vals, anyOf(ns))
	}
	if f.all {
		return all(vals)
	}
	return anyOf(vals)
}

func (te *tableEngine) searchNeed(s *search) need {
	var maps []need
	for _, fs := range s.maps {
		var ns []need
		for i := range fs {
			ns = append(ns, te.fieldNeed(&fs[i]))
		}
		maps = append(maps, all(ns))
	}
	return anyOf(maps)
}

func (te *tableEngine) exprNeed(r *rule, e *cexpr) need {
	switch e.op {
	case sigma.ExprSearch:
		return te.searchNeed(&r.searches[e.search])
	case sigma.ExprNot:
		return need{} // a negation matches without any literal
	}
	ns := make([]need, len(e.args))
	for i, a := range e.args {
		ns[i] = te.exprNeed(r, a)
	}
	if e.op == sigma.ExprAnd {
		return all(ns)
	}
	return anyOf(ns)
}

// anchorLen is the length of the windows the automaton looks for: each literal is
// found through one window of it (an anchor), then compared whole at that place.
// Short anchors keep the automaton small (its states are the anchors' distinct
// prefixes, and each state holds a transition per byte class), whatever the number
// and length of the literals.
const anchorLen = 4

// fold maps the bytes of anchors and of the values scanned for them into a small
// alphabet: letters (already in lower case) stay, digits become 0, ASCII
// punctuation falls into a few groups, every non-ASCII byte is 0x80. An anchor that
// occurs in a value still occurs once both are folded, and the literal is compared
// unfolded where its anchor was found; the small alphabet keeps the automaton's
// transition table narrow (its width is the number of byte classes).
var fold = func() (t [256]byte) {
	for i := range t {
		c := byte(i)
		switch {
		case 'a' <= c && c <= 'z':
			t[i] = c
		case 'A' <= c && c <= 'Z':
			t[i] = c + 'a' - 'A'
		case '0' <= c && c <= '9':
			t[i] = '0'
		case c >= 0x80:
			t[i] = 0x80
		case c == '\\' || c == '/':
			t[i] = '/'
		case c == '.' || c == ',':
			t[i] = '.'
		case c == '-':
			t[i] = '-'
		case c == '"' || c == '\'' || c == '`':
			t[i] = '"'
		case c == '(' || c == ')' || c == '[' || c == ']' || c == '{' || c == '}' || c == '<' || c == '>':
			t[i] = '('
		case c <= ' ' || c == 0x7f:
			t[i] = ' '
		default:
			t[i] = '$'
		}
	}
	return t
}()

func foldString(s string) string { return string(foldInto(nil, s)) }

func foldInto(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = append(dst, fold[s[i]])
	}
	return dst
}

// anchored is a literal found through an anchor at offset off in it.
type anchored struct {
	lit   string
	off   int
	id    int   // the literal's index in the column (for the matcher's seen bits)
	rules []int // local rule indices it guards
}

// buildPrefilter derives each rule's need and builds one automaton per column.
func (te *tableEngine) buildPrefilter() {
	type key struct {
		col int
		s   string
	}
	guards := map[key][]int{}
	for i := range te.rules {
		r := &te.rules[i]
		var ns []need
		for _, c := range r.conds {
			ns = append(ns, te.exprNeed(r, c))
		}
		n := anyOf(ns)
		if !n.ok {
			te.always = append(te.always, i)
			continue
		}
		seen := map[key]bool{}
		for _, l := range n.lits {
			k := key{l.col, l.s}
			if !seen[k] {
				seen[k] = true
				guards[k] = append(guards[k], i)
			}
		}
	}
	// A regular expression is slow to run: each one with a need is also guarded by
	// its own literals, so that a rule selected by another literal does not run it
	// on a value where it cannot match.
	predLits := map[int][]key{}
	for id := range te.preds {
		if te.preds[id].p.Kind != sigma.PredRegex {
			continue
		}
		p := &te.preds[id]
		if re, err := syntax.Parse(p.rx.re.String(), syntax.Perl); err == nil {
			p.rx.minLen = minRunes(re)
		}
		n := te.predNeed(id)
		if !n.ok {
			// Literals too short for the automaton are looked for directly.
			if ls, ok := regexNeed(p.rx.re.String()); ok && len(ls) > 0 {
				p.rx.short = ls
			}
			continue
		}
		for _, l := range n.lits {
			k := key{l.col, l.s}
			if _, ok := guards[k]; !ok {
				guards[k] = nil
			}
			predLits[id] = append(predLits[id], k)
		}
	}
	byCol := map[int][]string{}
	for k := range guards {
		byCol[k.col] = append(byCol[k.col], k.s)
	}
	litIndex := map[key]int{}
	te.acs = make([]*columnAC, len(te.cols))
	for col, ls := range byCol {
		sort.Strings(ls)
		rules := make([][]int, len(ls))
		for i, s := range ls {
			rules[i] = guards[key{col, s}]
			litIndex[key{col, s}] = i
		}
		c, err := newColumnAC(ls, rules)
		if err != nil {
			// Cannot happen with non-empty patterns; evaluate the column's rules always.
			for _, rs := range rules {
				te.always = append(te.always, rs...)
			}
			continue
		}
		te.acs[col] = c
		te.literals += len(ls)
	}
	for id, ks := range predLits {
		if te.acs[te.preds[id].col] == nil {
			continue
		}
		for _, k := range ks {
			te.preds[id].rx.guard = append(te.preds[id].rx.guard, litIndex[k])
		}
	}
	sort.Ints(te.always)
	te.always = slices.Compact(te.always)
}

// newColumnAC builds the automaton of a column's literals (each guarding rules[i]).
// A literal's anchor is its window shared by the fewest other literals (the rarer
// the window, the fewer places the automaton stops at to compare the literal).
func newColumnAC(ls []string, rules [][]int) (*columnAC, error) {
	windows := func(s string) []string {
		f := foldString(s)
		if len(f) <= anchorLen {
			return []string{f}
		}
		out := make([]string, 0, len(f)-anchorLen+1)
		for i := 0; i+anchorLen <= len(f); i++ {
			out = append(out, f[i:i+anchorLen])
		}
		return out
	}
	count := map[string]int{}
	for _, l := range ls {
		for _, w := range windows(l) {
			count[w]++
		}
	}
	c := &columnAC{lits: len(ls)}
	index := map[string]int{}
	var pats [][]byte
	for i, l := range ls {
		best, off := "", 0
		for j, w := range windows(l) {
			if best == "" || count[w] < count[best] {
				best, off = w, j
			}
		}
		id, ok := index[best]
		if !ok {
			id = len(pats)
			index[best] = id
			pats = append(pats, []byte(best))
			c.anchors = append(c.anchors, nil)
		}
		c.anchors[id] = append(c.anchors[id], anchored{lit: l, off: off, id: i, rules: rules[i]})
	}
	ac, err := ahocorasick.NewBuilder().AddPatterns(pats).Build()
	if err != nil {
		return nil, err
	}
	c.ac = ac
	return c, nil
}

// candidates sets m.cand to the rules the row's literals (and no literal) select.
func (m *Matcher) candidates() {
	te := m.t
	clear(m.cand)
	for _, r := range te.always {
		m.cand[r/64] |= 1 << (r % 64)
	}
	for col, c := range te.acs {
		if c == nil {
			continue
		}
		seen := m.seen[col]
		clear(seen)
		if m.vals[col].null {
			continue
		}
		s := m.vals[col].lowered()
		if len(s) < minLiteral {
			continue
		}
		for start := 0; start < len(s); start += scanWindow {
			end := min(len(s), start+scanWindow+anchorLen-1)
			m.folded = foldInto(m.folded[:0], s[start:end])
			for _, hit := range c.ac.FindAllOverlapping(m.folded) {
				at := start + hit.Start
				for i := range c.anchors[hit.PatternID] {
					a := &c.anchors[hit.PatternID][i]
					w, bit := a.id/64, uint64(1)<<(a.id%64)
					if seen[w]&bit != 0 {
						continue
					}
					if p := at - a.off; p < 0 || p+len(a.lit) > len(s) || s[p:p+len(a.lit)] != a.lit {
						continue
					}
					seen[w] |= bit
					for _, r := range a.rules {
						m.cand[r/64] |= 1 << (r % 64)
					}
				}
			}
			if end == len(s) {
				break
			}
		}
	}
}

// regexNeed returns literals one of which occurs (in ASCII lower case) in the ASCII
// lower case of every text the regular expression matches; ok is false when it
// finds none. The pattern is one portableRegex printed: no inline flags, case
// folding spelled as [aA] classes.
func regexNeed(pattern string) ([]string, bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, false
	}
	n := reNeed(re)
	out := make([]string, len(n.lits))
	for i, l := range n.lits {
		out[i] = l.s
	}
	return out, n.ok
}

// minRunes is the fewest characters a text the expression matches has.
func minRunes(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return minRunes(re.Sub[0])
	case syntax.OpRepeat:
		return min(re.Min*minRunes(re.Sub[0]), 1<<30)
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n = min(n+minRunes(s), 1<<30)
		}
		return n
	case syntax.OpAlternate:
		n := -1
		for _, s := range re.Sub {
			if m := minRunes(s); n < 0 || m < n {
				n = m
			}
		}
		return max(n, 0)
	}
	return 0
}

// reChar returns the one character (ASCII lower-cased) a node matches, if it matches
// exactly one up to ASCII case.
func reChar(re *syntax.Regexp) (rune, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if t, ok := literalText(re); ok && len(re.Rune) == 1 {
			return []rune(t)[0], true
		}
	case syntax.OpCharClass:
		r := re.Rune
		switch {
		case len(r) == 2 && r[0] == r[1]:
			return lowerRune(r[0]), true
		case len(r) == 4 && r[0] == r[1] && r[2] == r[3] && 'A' <= r[0] && r[0] <= 'Z' && r[2] == r[0]+'a'-'A':
			return r[2], true
		}
	}
	return 0, false
}

func lowerRune(c rune) rune {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// literalText is an OpLiteral's text in ASCII lower case, if every text it matches
// has that ASCII lower case: a case-folded literal qualifies when each of its
// letters folds only to its ASCII other case (not k, which also folds to the Kelvin
// sign, nor s, to the long s).
func literalText(re *syntax.Regexp) (string, bool) {
	if re.Flags&syntax.FoldCase != 0 {
		for _, c := range re.Rune {
			if c >= utf8.RuneSelf || unicode.SimpleFold(unicode.SimpleFold(c)) != c {
				return "", false
			}
		}
	}
	return lowerASCII(string(re.Rune)), true
}

func reNeed(re *syntax.Regexp) need {
	switch re.Op {
	case syntax.OpLiteral:
		if s, ok := literalText(re); ok {
			return need{lits: []lit{{s: s}}, ok: true}
		}
	case syntax.OpCharClass:
		if c, ok := reChar(re); ok {
			return need{lits: []lit{{s: string(c)}}, ok: true}
		}
	case syntax.OpCapture:
		return reNeed(re.Sub[0])
	case syntax.OpPlus:
		return reNeed(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return reNeed(re.Sub[0])
		}
	case syntax.OpAlternate:
		var out need
		for _, s := range re.Sub {
			n := reNeed(s)
			if !n.ok {
				return need{}
			}
			out.lits = append(out.lits, n.lits...)
		}
		out.ok = len(out.lits) > 0
		return out
	case syntax.OpConcat:
		best := need{}
		var run strings.Builder
		flush := func() {
			if run.Len() > 0 {
				if n := (need{lits: []lit{{s: run.String()}}, ok: true}); stronger(n, best) {
					best = n
				}
				run.Reset()
			}
		}
		for _, s := range re.Sub {
			if s.Op == syntax.OpLiteral {
				if t, ok := literalText(s); ok {
					run.WriteString(t)
					continue
				}
			}
			if c, ok := reChar(s); ok {
				run.WriteRune(c)
				continue
			}
			flush()
			if n := reNeed(s); stronger(n, best) {
				best = n
			}
		}
		flush()
		return best
	}
	return need{}
}
