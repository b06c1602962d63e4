package sigma

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Plan is a rule's detection compiled to predicates over the columns of one table.
// It is the one front end of both evaluators: Convert renders it as SQL (what
// osqueryd and the offline engine run) and sigma/engine compiles it into matchers
// that evaluate every rule in one pass per event. Field mapping, modifiers and
// conditions are read here only, so the two agree by construction.
type Plan struct {
	Table string
	// Searches are the searches the conditions use, in the order they are first used.
	Searches []*PlanSearch
	// Conditions are OR-ed (Sigma 1.0 allows a list of conditions).
	Conditions []*Expr
	// Notes are approximations made (e.g. SHA1 hashes dropped from a list).
	Notes []string

	target *target
}

// PlanSearch is one named search: its field maps are OR-ed, the fields of one map
// AND-ed; an empty map matches every row.
type PlanSearch struct {
	Name string
	Maps [][]*FieldPlan
}

// FieldPlan is one "Field|mods: values" entry. Each value is a list of alternatives
// (its windash or base64offset variants, the hash columns of a bare hash), any of
// which matches the value; with All every value must match, else any one.
type FieldPlan struct {
	All    bool
	Values [][]*Pred
	// nested keeps a value's alternatives in their own SQL group without All (Hashes).
	nested bool
}

// ExprOp is the operator of a condition node.
type ExprOp int

// The condition operators. "1 of X" is an ExprOr and "all of X" an ExprAnd of the
// searches X names.
const (
	ExprSearch ExprOp = iota // Plan.Searches[Search]
	ExprAnd
	ExprOr
	ExprNot
)

// Expr is a parsed condition with its search names resolved.
type Expr struct {
	Op     ExprOp
	Search int // ExprSearch: index into Plan.Searches
	Args   []*Expr
}

// PredKind is what a Pred tests.
type PredKind int

// The predicates. A NULL column makes every predicate false except PredNull and
// PredExists with Want false (and PredFieldRef endswith an empty other column), as
// the SQL they render to does under Sigma's "not" (NOT coalesce(…, 0)).
const (
	// PredLike: the column (an integer as decimal text) matches Pattern: ASCII
	// case-insensitive as SQL LIKE, or with Cased case-sensitive as GLOB. The
	// wildcard ? is one character; the pattern "*" is any non-NULL value.
	PredLike PredKind = iota
	// PredEqual: the column equals Text exactly.
	PredEqual
	// PredNull: the column is NULL, or empty for a text column.
	PredNull
	// PredExists: the column is not NULL and (text) not empty; with Want false, the
	// opposite.
	PredExists
	// PredFieldRef: the column equals (or with How contains, starts or ends with)
	// the Other column, ASCII case-insensitive unless Cased.
	PredFieldRef
	// PredCompare: the column Op Number (>, >=, <, <=).
	PredCompare
	// PredRegex: the regular expression Text (RE2, as portableRegex prints it)
	// matches the column, or its ASCII lower case when Lower.
	PredRegex
	// PredIntEq: an integer column equals the integer Text (as written).
	PredIntEq
)

// Pred is one test of one column.
type Pred struct {
	Kind    PredKind
	Column  Column
	Pattern Pattern // PredLike, anchored
	Cased   bool    // PredLike, PredFieldRef
	Text    string  // PredEqual, PredRegex, PredIntEq
	Want    bool    // PredExists
	Other   Column  // PredFieldRef
	How     string  // PredFieldRef: "", contains, startswith or endswith
	Op      string  // PredCompare
	Number  float64 // PredCompare
	Lower   bool    // PredRegex
}

// Compile checks a rule and compiles its detection into a Plan. An error that
// IsUnsupported names a rule that cannot be expressed over the tables, with the
// reason.
func Compile(r *Rule) (*Plan, error) {
	if r.Correlation {
		return nil, unsupported("correlation rule (needs state across events)")
	}
	t, err := targetFor(r.Logsource)
	if err != nil {
		return nil, err
	}
	if r.Detection.Timeframe != "" {
		return nil, unsupported("timeframe %s (needs state across events)", r.Detection.Timeframe)
	}
	p := &planner{t: t, rule: r, plan: &Plan{Table: t.table, target: t}, index: map[string]int{}}
	for _, cs := range r.Detection.Conditions {
		cd, err := parseCondition(cs)
		if err != nil {
			return nil, err
		}
		e, err := p.cond(cd)
		if err != nil {
			return nil, err
		}
		p.plan.Conditions = append(p.plan.Conditions, e)
	}
	return p.plan, nil
}

type planner struct {
	t     *target
	rule  *Rule
	plan  *Plan
	index map[string]int // search name → index in plan.Searches
}

func (p *planner) cond(cd cond) (*Expr, error) {
	switch x := cd.(type) {
	case condAnd:
		return p.binary(ExprAnd, x.l, x.r)
	case condOr:
		return p.binary(ExprOr, x.l, x.r)
	case condNot:
		e, err := p.cond(x.x)
		if err != nil {
			return nil, err
		}
		return &Expr{Op: ExprNot, Args: []*Expr{e}}, nil
	case condRef:
		return p.search(x.name)
	case condOf:
		names := matchSearches(x.pattern, p.rule.Detection.Order)
		if len(names) == 0 {
			return nil, fmt.Errorf("condition: %q matches no search", x.pattern)
		}
		var args []*Expr
		for _, n := range names {
			e, err := p.search(n)
			if err != nil {
				return nil, err
			}
			args = append(args, e)
		}
		if len(args) == 1 {
			return args[0], nil
		}
		op := ExprOr
		if x.all {
			op = ExprAnd
		}
		return &Expr{Op: op, Args: args}, nil
	}
	return nil, fmt.Errorf("condition: unexpected %T", cd)
}

func (p *planner) binary(op ExprOp, l, r cond) (*Expr, error) {
	le, err := p.cond(l)
	if err != nil {
		return nil, err
	}
	re, err := p.cond(r)
	if err != nil {
		return nil, err
	}
	return &Expr{Op: op, Args: []*Expr{le, re}}, nil
}

func (p *planner) search(name string) (*Expr, error) {
	if i, ok := p.index[name]; ok {
		return &Expr{Op: ExprSearch, Search: i}, nil
	}
	s, ok := p.rule.Detection.Searches[name]
	if !ok {
		return nil, fmt.Errorf("condition names %q, which is not a search of the detection", name)
	}
	if len(s.Keywords) > 0 {
		return nil, unsupported("keyword search %q (full-text search over the whole event, no field)", name)
	}
	ps := &PlanSearch{Name: name}
	for _, m := range s.Maps {
		var ands []*FieldPlan
		for _, fm := range m {
			f, err := p.field(fm)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			ands = append(ands, f)
		}
		ps.Maps = append(ps.Maps, ands)
	}
	if len(ps.Maps) == 0 {
		return nil, fmt.Errorf("search %q is empty", name)
	}
	p.index[name] = len(p.plan.Searches)
	p.plan.Searches = append(p.plan.Searches, ps)
	return &Expr{Op: ExprSearch, Search: p.index[name]}, nil
}

// mods is a field's parsed modifier chain.
type mods struct {
	match      string   // "", contains, startswith, endswith, re, cidr, exists, fieldref, gt, gte, lt, lte
	refHow     string   // with fieldref: "", contains, startswith or endswith
	transforms []string // windash, base64, base64offset, wide, utf16le, utf16be, utf16 — in order
	all, cased bool
	reI        bool
	reM, reS   bool
}

func parseMods(ms []string) (mods, error) {
	var m mods
	anchor := func(s string) bool { return s == "contains" || s == "startswith" || s == "endswith" }
	setMatch := func(s string) error {
		switch {
		case m.match == "fieldref" && anchor(s) && (m.refHow == "" || m.refHow == s):
			m.refHow = s // fieldref|startswith: the column starts with the other column
			return nil
		case s == "fieldref" && anchor(m.match):
			m.match, m.refHow = s, m.match
			return nil
		}
		if m.match != "" && m.match != s {
			return unsupported("modifiers %q and %q together", m.match, s)
		}
		m.match = s
		return nil
	}
	for _, x := range ms {
		switch x = strings.ToLower(x); x {
		case "contains", "startswith", "endswith", "re", "cidr", "exists", "fieldref", "gt", "gte", "lt", "lte":
			if err := setMatch(x); err != nil {
				return m, err
			}
		case "all":
			m.all = true
		case "cased":
			m.cased = true
		case "i":
			m.reI = true
		case "m":
			m.reM = true
		case "s":
			m.reS = true
		case "windash", "base64", "base64offset", "wide", "utf16le", "utf16be", "utf16":
			m.transforms = append(m.transforms, x)
		case "expand":
			return m, unsupported("modifier expand (placeholders need a pipeline configuration of the site)")
		default:
			return m, unsupported("modifier %q", x)
		}
	}
	if (m.reI || m.reM || m.reS) && m.match != "re" {
		return m, unsupported("regex flags without the re modifier")
	}
	if m.match == "re" && len(m.transforms) > 0 {
		return m, unsupported("re combined with %s", strings.Join(m.transforms, "|"))
	}
	return m, nil
}

// field compiles one "Field|mods: values" entry.
func (p *planner) field(fm FieldMatch) (*FieldPlan, error) {
	m, err := parseMods(fm.Modifiers)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fm.Field, err)
	}
	lf := strings.ToLower(fm.Field)
	if lf == "hashes" && p.t.table == ProcessCreationTable {
		return p.hashes(fm, m)
	}
	col, ok := p.t.fields[lf]
	if !ok {
		if why, known := knownMissing[lf]; known {
			return nil, unsupported("field %s: %s is not kept in %s", fm.Field, why, p.t.table)
		}
		return nil, unsupported("field %s: no such column in %s", fm.Field, p.t.table)
	}
	f := &FieldPlan{All: m.all}
	for _, v := range fm.Values {
		alts, err := p.value(col, m, v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fm.Field, err)
		}
		f.Values = append(f.Values, alts)
	}
	return f, nil
}

// value returns the alternatives one value expands to.
func (p *planner) value(col Column, m mods, v Value) ([]*Pred, error) {
	switch m.match {
	case "exists":
		if v.Kind != BoolValue {
			return nil, fmt.Errorf("exists wants true or false, got %q", v.S)
		}
		return []*Pred{{Kind: PredExists, Column: col, Want: v.S == "true"}}, nil
	case "fieldref":
		other, ok := p.t.fields[strings.ToLower(v.S)]
		if !ok {
			return nil, unsupported("fieldref %s: no such column in %s", v.S, p.t.table)
		}
		return []*Pred{{Kind: PredFieldRef, Column: col, Other: other, How: m.refHow, Cased: m.cased}}, nil
	case "gt", "gte", "lt", "lte":
		n, err := strconv.ParseFloat(v.S, 64)
		if err != nil {
			return nil, fmt.Errorf("%s wants a number, got %q", m.match, v.S)
		}
		op := map[string]string{"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[m.match]
		return []*Pred{{Kind: PredCompare, Column: col, Op: op, Number: n}}, nil
	case "re":
		if v.Kind == NullValue {
			return nil, fmt.Errorf("re with a null value")
		}
		pat, lower, err := portableRegex(v.S, m.reI, m.reM, m.reS)
		if err != nil {
			return nil, err
		}
		return []*Pred{{Kind: PredRegex, Column: col, Text: pat, Lower: lower}}, nil
	case "cidr":
		return cidr(col, v.S)
	}
	if v.Kind == NullValue {
		if m.match != "" || len(m.transforms) > 0 {
			return nil, fmt.Errorf("null with modifiers")
		}
		return []*Pred{{Kind: PredNull, Column: col}}, nil
	}
	if col.Integer && v.Kind == IntValue && m.match == "" && len(m.transforms) == 0 {
		return []*Pred{{Kind: PredIntEq, Column: col, Text: v.S}}, nil
	}
	var s Pattern
	if v.Kind == StringValue {
		s = parseSigmaString(v.S)
	} else {
		s = plainString(v.S)
	}
	vals, err := transform(s, m.transforms)
	if err != nil {
		return nil, err
	}
	out := make([]*Pred, 0, len(vals))
	seen := map[string]bool{}
	for _, x := range vals {
		pr := &Pred{Kind: PredLike, Column: col, Pattern: anchor(x, m.match), Cased: m.cased}
		if k := pr.SQL(); !seen[k] {
			seen[k] = true
			out = append(out, pr)
		}
	}
	return out, nil
}

// transform applies the encoding modifiers in their order.
func transform(s Pattern, ts []string) ([]Pattern, error) {
	vals := []bval{{s: s}}
	for i, t := range ts {
		var next []bval
		for _, v := range vals {
			switch t {
			case "windash":
				if v.isRaw {
					return nil, unsupported("windash after an encoding")
				}
				ws, err := windash(v.s)
				if err != nil {
					return nil, err
				}
				for _, w := range ws {
					next = append(next, bval{s: w})
				}
			case "wide", "utf16le", "utf16be", "utf16":
				if v.isRaw {
					return nil, unsupported("%s after an encoding", t)
				}
				if v.s.hasWildcards() {
					return nil, unsupported("%s of a value with wildcards", t)
				}
				next = append(next, bval{isRaw: true, bytes: utf16Bytes(v.s.plain(), t == "utf16be", t == "utf16")})
			case "base64", "base64offset":
				b := v.bytes
				if !v.isRaw {
					if v.s.hasWildcards() {
						return nil, unsupported("%s of a value with wildcards", t)
					}
					b = []byte(v.s.plain())
				}
				if t == "base64" {
					next = append(next, bval{s: plainString(base64.StdEncoding.EncodeToString(b))})
				} else {
					for _, o := range base64Offsets(b) {
						next = append(next, bval{s: plainString(o)})
					}
				}
			}
			if len(next) > maxExpansion {
				return nil, unsupported("modifiers %s expand a value into more than %d values", strings.Join(ts[:i+1], "|"), maxExpansion)
			}
		}
		vals = next
	}
	out := make([]Pattern, 0, len(vals))
	for _, v := range vals {
		if v.isRaw {
			return nil, unsupported("%s without base64: the tables hold decoded text, not UTF-16 bytes", strings.Join(ts, "|"))
		}
		out = append(out, v.s)
	}
	return out, nil
}

// anchor adds the * wildcards contains, startswith and endswith mean, and merges
// runs of *.
func anchor(s Pattern, how string) Pattern {
	var out Pattern
	if how == "contains" || how == "endswith" {
		out = append(out, Part{Wild: '*'})
	}
	out = append(out, s...)
	if how == "contains" || how == "startswith" {
		out = append(out, Part{Wild: '*'})
	}
	merged := out[:0:0]
	for _, p := range out {
		if p.Wild == '*' && len(merged) > 0 && merged[len(merged)-1].Wild == '*' {
			continue
		}
		merged = append(merged, p)
	}
	return merged
}

// cidr matches an IPv4 network with prefixes of the address text (whole octets,
// plus the values of a partial last octet).
func cidr(col Column, s string) ([]*Pred, error) {
	pfx, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("cidr %q: %v", s, err)
	}
	if !pfx.Addr().Is4() {
		return nil, unsupported("cidr %s: IPv6 networks", s)
	}
	pfx = pfx.Masked()
	bits := pfx.Bits()
	a := pfx.Addr().As4()
	whole := bits / 8
	var head []string
	for i := 0; i < whole; i++ {
		head = append(head, strconv.Itoa(int(a[i])))
	}
	like := func(p Pattern) *Pred { return &Pred{Kind: PredLike, Column: col, Pattern: p} }
	if bits == 32 {
		return []*Pred{{Kind: PredEqual, Column: col, Text: pfx.Addr().String()}}, nil
	}
	if bits%8 == 0 {
		if whole == 0 {
			return []*Pred{like(Pattern{{Wild: '*'}, {Lit: "."}, {Wild: '*'}, {Lit: "."}, {Wild: '*'}, {Lit: "."}, {Wild: '*'}})}, nil
		}
		return []*Pred{like(Pattern{{Lit: strings.Join(head, ".") + "."}, {Wild: '*'}})}, nil
	}
	rem := bits % 8
	n := 1 << (8 - rem)
	var out []*Pred
	for v := int(a[whole]); v < int(a[whole])+n; v++ {
		p := strings.Join(append(append([]string(nil), head...), strconv.Itoa(v)), ".")
		if whole < 3 {
			out = append(out, like(Pattern{{Lit: p + "."}, {Wild: '*'}}))
		} else {
			out = append(out, &Pred{Kind: PredEqual, Column: col, Text: p})
		}
	}
	return out, nil
}

// hashes maps Sysmon's "Hashes" field (MD5=…,SHA256=…,IMPHASH=…) to the md5, sha256
// and imphash columns (and sha1). A value ALGO=HASH compares the column of ALGO with
// HASH (contains: a prefix of it); other algorithms are dropped from a list with a
// note; a value without ALGO= is looked for in every hash column.
func (p *planner) hashes(fm FieldMatch, m mods) (*FieldPlan, error) {
	if len(m.transforms) > 0 || (m.match != "" && m.match != "contains" && m.match != "startswith" && m.match != "endswith") {
		return nil, unsupported("Hashes with modifiers %s", strings.Join(fm.Modifiers, "|"))
	}
	cols := map[string]string{"md5": "md5", "sha1": "sha1", "sha256": "sha256", "imphash": "imphash"}
	f := &FieldPlan{All: m.all, nested: true}
	dropped := 0
	for _, v := range fm.Values {
		algo, h, ok := strings.Cut(v.S, "=")
		if !ok {
			var alts []*Pred
			for _, col := range []string{"md5", "sha1", "sha256", "imphash"} {
				alts = append(alts, &Pred{Kind: PredLike, Column: Column{Name: col}, Pattern: anchor(parseSigmaString(v.S), m.match), Cased: m.cased})
			}
			f.Values = append(f.Values, alts)
			continue
		}
		col, known := cols[strings.ToLower(strings.TrimSpace(algo))]
		if !known {
			dropped++
			continue
		}
		how := ""
		if m.match == "contains" || m.match == "startswith" {
			how = "startswith" // IMPHASH=abc inside the list: the imphash starts with abc
		}
		f.Values = append(f.Values, []*Pred{{Kind: PredLike, Column: Column{Name: col}, Pattern: anchor(parseSigmaString(strings.TrimSpace(h)), how)}})
	}
	if dropped > 0 {
		if len(f.Values) == 0 || m.all {
			return nil, unsupported("field Hashes: hash algorithms not kept in %s", p.t.table)
		}
		p.plan.Notes = append(p.plan.Notes, fmt.Sprintf("%d Hashes values of algorithms the table does not keep were dropped", dropped))
	}
	return f, nil
}

// IsUnsupported reports whether err says a rule cannot be expressed (as opposed to a
// malformed rule).
func IsUnsupported(err error) bool {
	var u *unsupportedError
	return errors.As(err, &u)
}
