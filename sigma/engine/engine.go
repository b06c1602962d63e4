// Package engine is the compiled Sigma engine: it evaluates every rule over an event
// in one pass, with no SQL on the way.
//
// Each rule's detection is compiled once from its sigma.Plan — the same plan the SQL
// conversion renders, so the field mapping and the modifier semantics (windash,
// cased, contains/startswith/endswith, all, base64offset, re, cidr, null, exists,
// fieldref, the Hashes field) are one implementation — into matchers over the
// columns of the event tables' rows. Identical predicates of different rules are one
// predicate, evaluated at most once per event; regular expressions are compiled once;
// conditions are evaluated over bitsets of search and predicate results.
//
// A literal prefilter keeps the work per event small: for each rule the compiler
// derives a set of (column, literal) pairs one of which must occur in the row for
// the rule to match (from its patterns, and from its regular expressions' syntax
// trees). One Aho-Corasick automaton per column (github.com/coregx/ahocorasick)
// finds 4-byte anchors of those literals in the value's ASCII lower case folded to a
// small alphabet, and each literal is compared whole where its anchor occurs; only
// the rules whose literals occur (plus the few rules no literal guards) are
// evaluated, and a regular expression runs only where its own literals occur.
//
// The engine gives the rows the SQL conversion returns: values are read from a
// table row as the offline engine's virtual tables read them (a missing column is
// NULL, an integer column that does not parse is NULL), strings match ASCII
// case-insensitively as SQLite's LIKE does, and NULL behaves as under the
// conversion's NOT coalesce(…, 0). The differential tests check it rule by rule,
// over the corpus and over rows built from the rules.
package engine

import (
	"fmt"
	"math/bits"
	"regexp"
	"strconv"
	"strings"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/sigma"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// Engine holds the compiled rules, per table. It is read-only once built and may be
// shared by goroutines; each goroutine evaluates with its own Matcher.
type Engine struct {
	rules  []*sigma.Query
	tables map[string]*tableEngine
}

// Skipped is a rule the engine cannot evaluate, with the reason.
type Skipped struct {
	Query  *sigma.Query
	Reason string
}

// New compiles the converted rules qs over the tables whose columns schemas gives
// (table name → columns, as the tables declare them). Rules over a table not in
// schemas, or that name a column it lacks (their SQL would not run either), are
// returned as skipped; the others are the engine's rules, in the order of qs.
func New(qs []*sigma.Query, schemas map[string][]table.ColumnDefinition) (*Engine, []Skipped) {
	e := &Engine{tables: map[string]*tableEngine{}}
	var skipped []Skipped
	for _, q := range qs {
		if q.Plan == nil {
			skipped = append(skipped, Skipped{q, "no compiled plan"})
			continue
		}
		te := e.tables[q.Table]
		if te == nil {
			cols, ok := schemas[q.Table]
			if !ok {
				skipped = append(skipped, Skipped{q, "no table " + q.Table})
				continue
			}
			te = newTableEngine(q.Table, cols)
			e.tables[q.Table] = te
		}
		if err := te.add(q.Plan, len(e.rules)); err != nil {
			skipped = append(skipped, Skipped{q, err.Error()})
			continue
		}
		e.rules = append(e.rules, q)
	}
	for _, te := range e.tables {
		te.buildPrefilter()
		te.findUsed()
		te.predKey = nil                            // only New shares predicates
		te.preds = append([]pred(nil), te.preds...) // without the room appends left
	}
	return e, skipped
}

// Rules returns the engine's rules; Matcher.Match returns indices into it.
func (e *Engine) Rules() []*sigma.Query { return e.rules }

// Matcher returns a matcher of the rules over table (nil when no rule reads it). A
// Matcher holds the scratch space of one evaluation: use one per goroutine.
func (e *Engine) Matcher(table string) *Matcher {
	te := e.tables[table]
	if te == nil {
		return nil
	}
	seen := make([][]uint64, len(te.cols))
	for i, c := range te.acs {
		if c != nil {
			seen[i] = make([]uint64, words(c.lits))
		}
	}
	return &Matcher{
		t:        te,
		seen:     seen,
		vals:     make([]value, len(te.cols)),
		predDone: make([]uint64, words(len(te.preds))),
		predVal:  make([]uint64, words(len(te.preds))),
		cand:     make([]uint64, words(len(te.rules))),
	}
}

// Stats describe an engine's compiled form.
type Stats struct {
	Rules, Predicates, Regexes, Literals, Unguarded int
}

// Stats counts the engine's rules, distinct predicates and regular expressions,
// prefilter literals and the rules no literal guards (evaluated on every event).
func (e *Engine) Stats() Stats {
	var s Stats
	for _, te := range e.tables {
		s.Rules += len(te.rules)
		s.Predicates += len(te.preds)
		s.Regexes += len(te.regexes)
		s.Literals += te.literals
		s.Unguarded += len(te.always)
	}
	return s
}

// tableEngine is the compiled rules of one table.
type tableEngine struct {
	name string
	cols []table.ColumnDefinition
	slot map[string]int // column name → index

	used    []int // the columns the predicates read
	preds   []pred
	predKey map[string]int // Pred.SQL() → index in preds
	regexes map[string]*regexp.Regexp
	rules   []rule

	// The prefilter (prefilter.go).
	acs      []*columnAC // per column slot, nil without literals
	always   []int       // local rule indices no literal guards
	literals int
}

func newTableEngine(name string, cols []table.ColumnDefinition) *tableEngine {
	te := &tableEngine{name: name, cols: cols, slot: map[string]int{},
		predKey: map[string]int{}, regexes: map[string]*regexp.Regexp{}}
	for i, c := range cols {
		te.slot[c.Name] = i
	}
	return te
}

// rule is one compiled rule.
type rule struct {
	global   int // index in Engine.rules
	plan     *sigma.Plan
	searches []search
	conds    []*cexpr
}

type search struct{ maps [][]field }

type field struct {
	all    bool
	values [][]int // per value, its alternatives: indices into tableEngine.preds
}

// cexpr is a compiled condition node.
type cexpr struct {
	op     sigma.ExprOp
	search int
	args   []*cexpr
}

// pred is one compiled predicate.
type pred struct {
	p     *sigma.Pred
	col   int
	other int // PredFieldRef
	glob  glob
	rx    *regexPred // PredRegex
	// text is PredEqual's text; for PredIntEq the integer's decimal text.
	text   string
	intVal int64
}

// regexPred is a compiled regular expression and what a value must have for it to
// match.
type regexPred struct {
	re *regexp.Regexp
	// guard lists literals of the column's prefilter one of which occurs in every
	// value the regex matches; nil: no guard.
	guard []int
	// short are literals too short for the prefilter one of which occurs in every
	// value the regex matches; minLen is the fewest characters such a value has.
	short  []string
	minLen int
}

// add compiles one rule's plan.
func (te *tableEngine) add(p *sigma.Plan, global int) error {
	r := rule{global: global, plan: p}
	// Compile into fresh predicates first, so a failing rule leaves nothing behind.
	var fresh []pred
	keys := map[string]int{}
	predID := func(sp *sigma.Pred) (int, error) {
		k := sp.SQL()
		if i, ok := te.predKey[k]; ok {
			return i, nil
		}
		if i, ok := keys[k]; ok {
			return i, nil
		}
		cp, err := te.compilePred(sp)
		if err != nil {
			return 0, err
		}
		i := len(te.preds) + len(fresh)
		fresh = append(fresh, cp)
		keys[k] = i
		return i, nil
	}
	for _, s := range p.Searches {
		var cs search
		for _, m := range s.Maps {
			var fs []field
			for _, f := range m {
				cf := field{all: f.All}
				for _, alts := range f.Values {
					ids := make([]int, 0, len(alts))
					for _, a := range alts {
						id, err := predID(a)
						if err != nil {
							return fmt.Errorf("%s: %w", s.Name, err)
						}
						ids = append(ids, id)
					}
					cf.values = append(cf.values, ids)
				}
				fs = append(fs, cf)
			}
			cs.maps = append(cs.maps, fs)
		}
		r.searches = append(r.searches, cs)
	}
	for _, c := range p.Conditions {
		r.conds = append(r.conds, compileExpr(c))
	}
	te.preds = append(te.preds, fresh...)
	for k, i := range keys {
		te.predKey[k] = i
	}
	te.rules = append(te.rules, r)
	return nil
}

// findUsed lists the columns the predicates read; the others are never read from
// a row (they stay NULL in the matcher).
func (te *tableEngine) findUsed() {
	used := make([]bool, len(te.cols))
	for i := range te.preds {
		used[te.preds[i].col] = true
		if te.preds[i].p.Kind == sigma.PredFieldRef {
			used[te.preds[i].other] = true
		}
	}
	te.used = te.used[:0]
	for i, u := range used {
		if u {
			te.used = append(te.used, i)
		}
	}
}

func compileExpr(e *sigma.Expr) *cexpr {
	c := &cexpr{op: e.Op, search: e.Search}
	for _, a := range e.Args {
		c.args = append(c.args, compileExpr(a))
	}
	return c
}

func (te *tableEngine) column(c sigma.Column) (int, error) {
	i, ok := te.slot[c.Name]
	if !ok {
		return 0, fmt.Errorf("no column %s in %s", c.Name, te.name)
	}
	return i, nil
}

func (te *tableEngine) compilePred(sp *sigma.Pred) (pred, error) {
	col, err := te.column(sp.Column)
	if err != nil {
		return pred{}, err
	}
	p := pred{p: sp, col: col}
	switch sp.Kind {
	case sigma.PredLike:
		p.glob = compileGlob(sp.Pattern, sp.Cased)
	case sigma.PredEqual:
		p.text = sp.Text
	case sigma.PredFieldRef:
		if p.other, err = te.column(sp.Other); err != nil {
			return pred{}, err
		}
	case sigma.PredRegex:
		re := te.regexes[sp.Text]
		if re == nil {
			if re, err = regexp.Compile(sp.Text); err != nil {
				return pred{}, fmt.Errorf("regex %q: %v", sp.Text, err)
			}
			te.regexes[sp.Text] = re
		}
		p.rx = &regexPred{re: re}
	case sigma.PredIntEq:
		// The SQL compares the column with an integer literal.
		n, err := strconv.ParseInt(sp.Text, 0, 64)
		if err != nil {
			return pred{}, fmt.Errorf("integer %q: %v", sp.Text, err)
		}
		p.intVal, p.text = n, strconv.FormatInt(n, 10)
	case sigma.PredNull, sigma.PredExists, sigma.PredCompare:
	default:
		return pred{}, fmt.Errorf("predicate kind %d", sp.Kind)
	}
	return p, nil
}

// value is one column of the row being evaluated.
type value struct {
	null  bool
	num   bool // an integer or float column's number (else text)
	isInt bool // an integer column: i holds it
	i     int64
	f     float64 // the number of a numeric column
	text  string  // the text SQL sees (CAST AS TEXT for numbers)
	lower string  // text in ASCII lower case, computed on first use
	low   bool
}

func (v *value) lowered() string {
	if !v.low {
		v.lower, v.low = lowerASCII(v.text), true
	}
	return v.lower
}

// Matcher evaluates the rules of one table over rows, one at a time.
type Matcher struct {
	t        *tableEngine
	vals     []value
	predDone []uint64
	predVal  []uint64
	cand     []uint64
	seen     [][]uint64 // per column, the literals found in the row
	folded   []byte     // a window of a value, folded for the automaton
	out      []int
	searchM  searchMemo
}

// Match evaluates every rule of the matcher's table over one row (column → text, as
// the table generates it) and returns the indices into Engine.Rules of the rules it
// matches, in order. The slice is reused by the next call.
func (m *Matcher) Match(row map[string]string) []int {
	te := m.t
	for _, i := range te.used {
		c := &te.cols[i]
		m.vals[i] = readValue(row, c.Name, c.Type)
	}
	clear(m.predDone)
	clear(m.predVal)
	m.out = m.out[:0]
	m.candidates()
	for w, word := range m.cand {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &= word - 1
			r := &te.rules[w*64+b]
			if m.evalRule(r) {
				m.out = append(m.out, r.global)
			}
		}
	}
	return m.out
}

// readValue reads a row's column as the offline SQL engine's virtual tables do
// (tablekit.Value), with the text SQL sees for a number (CAST AS TEXT).
func readValue(row map[string]string, name string, typ table.ColumnType) value {
	s, ok := row[name]
	switch x := tablekit.Value(typ, s, ok).(type) {
	case string:
		return value{text: x}
	case int64:
		return value{num: true, isInt: true, i: x, f: float64(x), text: strconv.FormatInt(x, 10)}
	case float64:
		return value{num: true, f: x, text: s}
	}
	return value{null: true}
}

// searchMemo holds the results of a rule's searches during one evaluation.
type searchMemo struct{ done, val []uint64 }

func (m *Matcher) evalRule(r *rule) bool {
	n := words(len(r.searches))
	if cap(m.searchM.done) < n {
		m.searchM = searchMemo{make([]uint64, n), make([]uint64, n)}
	}
	m.searchM.done, m.searchM.val = m.searchM.done[:n], m.searchM.val[:n]
	clear(m.searchM.done)
	clear(m.searchM.val)
	for _, c := range r.conds {
		if m.evalExpr(r, c) {
			return true
		}
	}
	return false
}

func (m *Matcher) evalExpr(r *rule, e *cexpr) bool {
	switch e.op {
	case sigma.ExprSearch:
		w, b := e.search/64, uint64(1)<<(e.search%64)
		if m.searchM.done[w]&b != 0 {
			return m.searchM.val[w]&b != 0
		}
		v := m.evalSearch(&r.searches[e.search])
		m.searchM.done[w] |= b
		if v {
			m.searchM.val[w] |= b
		}
		return v
	case sigma.ExprNot:
		return !m.evalExpr(r, e.args[0])
	case sigma.ExprAnd:
		for _, a := range e.args {
			if !m.evalExpr(r, a) {
				return false
			}
		}
		return true
	}
	for _, a := range e.args {
		if m.evalExpr(r, a) {
			return true
		}
	}
	return false
}

func (m *Matcher) evalSearch(s *search) bool {
	for _, fs := range s.maps {
		ok := true
		for i := range fs {
			if !m.evalField(&fs[i]) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (m *Matcher) evalField(f *field) bool {
	for _, alts := range f.values {
		any := false
		for _, id := range alts {
			if m.evalPred(id) {
				any = true
				break
			}
		}
		if f.all && !any {
			return false
		}
		if !f.all && any {
			return true
		}
	}
	return f.all
}

func (m *Matcher) evalPred(id int) bool {
	w, b := id/64, uint64(1)<<(id%64)
	if m.predDone[w]&b != 0 {
		return m.predVal[w]&b != 0
	}
	p := &m.t.preds[id]
	v := p.guarded(m.seen[p.col]) && p.eval(m.vals)
	m.predDone[w] |= b
	if v {
		m.predVal[w] |= b
	}
	return v
}

// eval tests the predicate on a row's values with the SQL's semantics; a NULL that
// the SQL would carry up to a "not" counts as false there (NOT coalesce(…, 0)).
func (p *pred) eval(vals []value) bool {
	v := &vals[p.col]
	sp := p.p
	switch sp.Kind {
	case sigma.PredLike:
		if v.null {
			return false
		}
		if sp.Cased {
			return p.glob.match(v.text)
		}
		return p.glob.match(v.lowered())
	case sigma.PredEqual:
		return !v.null && !v.num && v.text == p.text
	case sigma.PredNull:
		if sp.Column.Integer {
			return v.null
		}
		return v.null || (!v.num && v.text == "")
	case sigma.PredExists:
		ok := !v.null
		if !sp.Column.Integer {
			ok = !v.null && (v.num || v.text != "")
		}
		return ok == sp.Want
	case sigma.PredFieldRef:
		return p.fieldRef(v, &vals[p.other])
	case sigma.PredCompare:
		if v.null {
			return false
		}
		if v.num {
			return compare(sp.Op, cmpFloat(v.f, sp.Number))
		}
		// A text column gives the number literal its TEXT affinity.
		return compare(sp.Op, strings.Compare(v.text, strconv.FormatFloat(sp.Number, 'f', -1, 64)))
	case sigma.PredRegex:
		if v.null || len(v.text) < p.rx.minLen || !p.rx.shortFound(v) {
			return false
		}
		if sp.Lower {
			return p.rx.re.MatchString(v.lowered())
		}
		return p.rx.re.MatchString(v.text)
	case sigma.PredIntEq:
		if v.null {
			return false
		}
		if v.isInt {
			return v.i == p.intVal
		}
		if v.num {
			return v.f == float64(p.intVal)
		}
		return v.text == p.text // TEXT affinity: the literal compares as text
	}
	return false
}

// guarded reports whether one of the predicate's guard literals occurs in the row
// (seen: the column's literals found), or it has no guard.
func (p *pred) guarded(seen []uint64) bool {
	if p.rx == nil || p.rx.guard == nil {
		return true
	}
	for _, i := range p.rx.guard {
		if seen[i/64]&(1<<(i%64)) != 0 {
			return true
		}
	}
	return false
}

// shortFound reports whether one of the predicate's short literals occurs in the
// value (ASCII lower case), or it has none.
func (p *regexPred) shortFound(v *value) bool {
	if p.short == nil {
		return true
	}
	l := v.lowered()
	for _, s := range p.short {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func (p *pred) fieldRef(a, b *value) bool {
	if p.p.How == "endswith" && !b.null && !b.num && b.text == "" {
		return true // (other = '' OR …)
	}
	if a.null || b.null {
		return false
	}
	x, y := a.lowered(), b.lowered()
	if p.p.Cased {
		x, y = a.text, b.text
	}
	switch p.p.How {
	case "contains":
		return strings.Contains(x, y)
	case "startswith":
		return strings.HasPrefix(x, y)
	case "endswith":
		return strings.HasSuffix(x, y)
	}
	if p.p.Cased && a.num && b.num {
		return a.f == b.f
	}
	return x == y
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compare(op string, c int) bool {
	switch op {
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	}
	return false
}

func words(n int) int { return (n + 63) / 64 }
