package sigma

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Query is a converted rule: one exechunt pack query.
type Query struct {
	Name        string // pack query name (the rule's file name, or its id)
	SQL         string
	Table       string
	Pack        string // pack it belongs to (one per logsource)
	Platform    string // osquery platform of the pack ("windows", "linux")
	Technique   string // first ATT&CK technique tag, e.g. T1059.001
	Techniques  []string
	Severity    string // from the rule's level
	Description string // title, description, false positives, rule id and status
	Stack       []string
	Notes       []string // approximations made (e.g. SHA1 hashes dropped from a list)
	where       string   // the WHERE expression

	RuleID string
	Title  string
	Status string
	File   string
}

// Convert turns one rule into a pack query. An error that IsUnsupported names a rule
// that cannot be expressed over the tables, with the reason.
func Convert(r *Rule) (*Query, error) {
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
	c := &converter{t: t, rule: r, searchSQL: map[string]string{}}
	var parts []string
	for _, cs := range r.Detection.Conditions {
		cd, err := parseCondition(cs)
		if err != nil {
			return nil, err
		}
		s, err := c.cond(cd)
		if err != nil {
			return nil, err
		}
		parts = append(parts, s)
	}
	where := strings.Join(parts, " OR ")
	q := &Query{
		Name:     queryName(r),
		SQL:      fmt.Sprintf("SELECT %s FROM %s WHERE %s;", t.columns, t.table, where),
		Table:    t.table,
		Pack:     packName(r.Logsource),
		Platform: t.platform,
		Severity: severity(r.Level),
		Stack:    t.stack,
		Notes:    c.notes,
		where:    where,
		RuleID:   r.ID, Title: r.Title, Status: r.Status, File: r.File,
	}
	q.Techniques = techniques(r.Tags)
	if len(q.Techniques) > 0 {
		q.Technique = q.Techniques[0]
	}
	q.Description = description(r, q.Techniques)
	return q, nil
}

// IsUnsupported reports whether err says a rule cannot be expressed (as opposed to a
// malformed rule); Reason returns the reason either way.
func IsUnsupported(err error) bool {
	var u *unsupportedError
	return errors.As(err, &u)
}

func packName(ls Logsource) string {
	if strings.EqualFold(ls.Category, "ps_script") {
		return "sigma-ps-script"
	}
	return "sigma-process-creation-" + strings.ToLower(ls.Product)
}

var nonName = regexp.MustCompile(`[^a-z0-9_]+`)

func queryName(r *Rule) string {
	base := strings.TrimSuffix(filepath.Base(r.File), filepath.Ext(r.File))
	if r.File == "" || base == "" {
		base = r.Title
		if base == "" {
			base = r.ID
		}
	}
	return strings.Trim(nonName.ReplaceAllString(strings.ToLower(base), "_"), "_")
}

func severity(level string) string {
	switch strings.ToLower(level) {
	case "informational", "info":
		return "info"
	case "low", "medium", "high", "critical":
		return strings.ToLower(level)
	}
	return ""
}

var techniqueTag = regexp.MustCompile(`^attack\.(t\d{4}(\.\d{3})?)$`)

func techniques(tags []string) []string {
	var out []string
	for _, t := range tags {
		if m := techniqueTag.FindStringSubmatch(strings.ToLower(strings.TrimSpace(t))); m != nil {
			out = append(out, strings.ToUpper(m[1]))
		}
	}
	return out
}

func description(r *Rule, techs []string) string {
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(strings.TrimSpace(r.Title), "."))
	b.WriteString(".")
	if d := strings.Join(strings.Fields(r.Description), " "); d != "" {
		b.WriteString(" " + d)
		if !strings.HasSuffix(d, ".") {
			b.WriteString(".")
		}
	}
	if len(r.FalsePositives) > 0 {
		b.WriteString(" False positives: " + strings.Join(r.FalsePositives, "; "))
		if !strings.HasSuffix(b.String(), ".") {
			b.WriteString(".")
		}
	}
	if len(techs) > 1 {
		b.WriteString(" ATT&CK: " + strings.Join(techs, ", ") + ".")
	}
	fmt.Fprintf(&b, " Sigma rule %s", r.ID)
	var meta []string
	if r.Status != "" {
		meta = append(meta, "status "+r.Status)
	}
	if r.Level != "" {
		meta = append(meta, "level "+r.Level)
	}
	if r.File != "" {
		meta = append(meta, filepath.Base(r.File))
	}
	if len(meta) > 0 {
		b.WriteString(" (" + strings.Join(meta, ", ") + ")")
	}
	b.WriteString(".")
	return b.String()
}

type converter struct {
	t         *target
	rule      *Rule
	searchSQL map[string]string
	notes     []string
}

func (c *converter) cond(cd cond) (string, error) {
	switch x := cd.(type) {
	case condAnd:
		return c.binary(x.l, x.r, "AND")
	case condOr:
		return c.binary(x.l, x.r, "OR")
	case condNot:
		s, err := c.cond(x.x)
		if err != nil {
			return "", err
		}
		// A NULL column makes a comparison NULL; NOT NULL would drop the row where
		// Sigma's "not" keeps it.
		return "NOT coalesce(" + s + ", 0)", nil
	case condRef:
		return c.search(x.name)
	case condOf:
		names := matchSearches(x.pattern, c.rule.Detection.Order)
		if len(names) == 0 {
			return "", fmt.Errorf("condition: %q matches no search", x.pattern)
		}
		var parts []string
		for _, n := range names {
			s, err := c.search(n)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		op := " OR "
		if x.all {
			op = " AND "
		}
		return group(parts, op), nil
	}
	return "", fmt.Errorf("condition: unexpected %T", cd)
}

func (c *converter) binary(l, r cond, op string) (string, error) {
	ls, err := c.cond(l)
	if err != nil {
		return "", err
	}
	rs, err := c.cond(r)
	if err != nil {
		return "", err
	}
	return "(" + ls + " " + op + " " + rs + ")", nil
}

// group joins parts with op in parentheses. Long lists become a balanced tree of
// groups: SQLite (osqueryd's too) refuses expressions deeper than 1000, and a flat
// "a OR b OR …" is as deep as it is long.
func group(parts []string, op string) string {
	const fan = 32
	if len(parts) == 1 {
		return parts[0]
	}
	if len(parts) > fan {
		var groups []string
		size := (len(parts) + fan - 1) / fan
		if size < fan {
			size = fan
		}
		for i := 0; i < len(parts); i += size {
			groups = append(groups, group(parts[i:min(i+size, len(parts))], op))
		}
		return group(groups, op)
	}
	return "(" + strings.Join(parts, op) + ")"
}

func (c *converter) search(name string) (string, error) {
	if s, ok := c.searchSQL[name]; ok {
		return s, nil
	}
	s, ok := c.rule.Detection.Searches[name]
	if !ok {
		return "", fmt.Errorf("condition names %q, which is not a search of the detection", name)
	}
	if len(s.Keywords) > 0 {
		return "", unsupported("keyword search %q (full-text search over the whole event, no field)", name)
	}
	var ors []string
	for _, m := range s.Maps {
		var ands []string
		for _, fm := range m {
			e, err := c.field(fm)
			if err != nil {
				return "", fmt.Errorf("%s: %w", name, err)
			}
			ands = append(ands, e)
		}
		if len(ands) == 0 {
			ands = []string{"1"} // an empty map matches everything
		}
		ors = append(ors, group(ands, " AND "))
	}
	if len(ors) == 0 {
		return "", fmt.Errorf("search %q is empty", name)
	}
	out := group(ors, " OR ")
	c.searchSQL[name] = out
	return out, nil
}

// mods is a field's parsed modifier chain.
type mods struct {
	match      string   // "", contains, startswith, endswith, re, cidr, exists, fieldref, gt, gte, lt, lte
	transforms []string // windash, base64, base64offset, wide, utf16le, utf16be, utf16 — in order
	all, cased bool
	reI        bool
	reM, reS   bool
}

func parseMods(ms []string) (mods, error) {
	var m mods
	setMatch := func(s string) error {
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

// field converts one "Field|mods: values" entry.
func (c *converter) field(fm FieldMatch) (string, error) {
	m, err := parseMods(fm.Modifiers)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fm.Field, err)
	}
	lf := strings.ToLower(fm.Field)
	if lf == "hashes" && c.t.table == ProcessCreationTable {
		return c.hashes(fm, m)
	}
	col, ok := c.t.fields[lf]
	if !ok {
		if why, known := knownMissing[lf]; known {
			return "", unsupported("field %s: %s is not kept in %s", fm.Field, why, c.t.table)
		}
		return "", unsupported("field %s: no such column in %s", fm.Field, c.t.table)
	}
	var preds []string
	for _, v := range fm.Values {
		ps, err := c.value(col, m, v)
		if err != nil {
			return "", fmt.Errorf("%s: %w", fm.Field, err)
		}
		if m.all {
			// Every value must match; the variants of one value (windash,
			// base64offset) are alternatives.
			preds = append(preds, group(ps, " OR "))
		} else {
			preds = append(preds, ps...)
		}
	}
	if m.all {
		return group(preds, " AND "), nil
	}
	return group(preds, " OR "), nil
}

// value returns the alternatives one value expands to.
func (c *converter) value(col column, m mods, v Value) ([]string, error) {
	name := col.name
	switch m.match {
	case "exists":
		if v.Kind != BoolValue {
			return nil, fmt.Errorf("exists wants true or false, got %q", v.S)
		}
		e := name + " IS NOT NULL"
		if !col.integer {
			e = "(" + name + " IS NOT NULL AND " + name + " != '')"
		}
		if v.S == "false" {
			e = "NOT coalesce(" + e + ", 0)"
		}
		return []string{e}, nil
	case "fieldref":
		other, ok := c.t.fields[strings.ToLower(v.S)]
		if !ok {
			return nil, unsupported("fieldref %s: no such column in %s", v.S, c.t.table)
		}
		return []string{fieldRef(name, other.name, m)}, nil
	case "gt", "gte", "lt", "lte":
		n, err := strconv.ParseFloat(v.S, 64)
		if err != nil {
			return nil, fmt.Errorf("%s wants a number, got %q", m.match, v.S)
		}
		op := map[string]string{"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[m.match]
		return []string{fmt.Sprintf("%s %s %s", name, op, strconv.FormatFloat(n, 'f', -1, 64))}, nil
	case "re":
		if v.Kind == NullValue {
			return nil, fmt.Errorf("re with a null value")
		}
		pat, lower, err := portableRegex(v.S, m.reI, m.reM, m.reS)
		if err != nil {
			return nil, err
		}
		subject := name
		if lower {
			subject = "lower(" + name + ")"
		}
		return []string{fmt.Sprintf("regex_match(%s, %s, 0) IS NOT NULL", subject, sqlString(pat))}, nil
	case "cidr":
		return cidr(name, v.S)
	}
	if v.Kind == NullValue {
		if m.match != "" || len(m.transforms) > 0 {
			return nil, fmt.Errorf("null with modifiers")
		}
		if col.integer {
			return []string{name + " IS NULL"}, nil
		}
		return []string{"(" + name + " IS NULL OR " + name + " = '')"}, nil
	}
	if col.integer {
		if v.Kind == IntValue && m.match == "" && len(m.transforms) == 0 {
			return []string{name + " = " + v.S}, nil
		}
		name = "CAST(" + name + " AS TEXT)"
	}
	var s sstr
	if v.Kind == StringValue {
		s = parseSigmaString(v.S)
	} else {
		s = plainString(v.S)
	}
	vals, err := transform(s, m.transforms)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(vals))
	seen := map[string]bool{}
	for _, x := range vals {
		e := match(name, x, m.match, m.cased)
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out, nil
}

// transform applies the encoding modifiers in their order.
func transform(s sstr, ts []string) ([]sstr, error) {
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
	out := make([]sstr, 0, len(vals))
	for _, v := range vals {
		if v.isRaw {
			return nil, unsupported("%s without base64: the tables hold decoded text, not UTF-16 bytes", strings.Join(ts, "|"))
		}
		out = append(out, v.s)
	}
	return out, nil
}

// match is the SQL for one (expanded) value: LIKE (ASCII case-insensitive, as Sigma
// matches strings) or, with cased, GLOB (case-sensitive).
func match(col string, s sstr, how string, cased bool) string {
	if cased {
		p := globPattern(anchor(s, how))
		if p == "*" {
			return col + " IS NOT NULL"
		}
		return col + " GLOB " + sqlString(p)
	}
	s = anchor(s, how)
	p := likePattern(s)
	if p == "%" {
		return col + " IS NOT NULL"
	}
	e := col + " LIKE " + sqlString(p)
	if strings.Contains(p, `\`) {
		e += ` ESCAPE '\'`
	}
	return e
}

// anchor adds the * wildcards contains, startswith and endswith mean, and merges
// runs of *.
func anchor(s sstr, how string) sstr {
	var out sstr
	if how == "contains" || how == "endswith" {
		out = append(out, spart{wild: '*'})
	}
	out = append(out, s...)
	if how == "contains" || how == "startswith" {
		out = append(out, spart{wild: '*'})
	}
	merged := out[:0:0]
	for _, p := range out {
		if p.wild == '*' && len(merged) > 0 && merged[len(merged)-1].wild == '*' {
			continue
		}
		merged = append(merged, p)
	}
	return merged
}

func likePattern(s sstr) string {
	var b strings.Builder
	for _, p := range s {
		switch p.wild {
		case '*':
			b.WriteByte('%')
		case '?':
			b.WriteByte('_')
		default:
			for _, c := range p.lit {
				if c == '%' || c == '_' || c == '\\' {
					b.WriteByte('\\')
				}
				b.WriteRune(c)
			}
		}
	}
	return b.String()
}

func globPattern(s sstr) string {
	var b strings.Builder
	for _, p := range s {
		switch p.wild {
		case '*', '?':
			b.WriteByte(p.wild)
		default:
			for _, c := range p.lit {
				switch c {
				case '*', '?', '[':
					b.WriteString("[" + string(c) + "]")
				default:
					b.WriteRune(c)
				}
			}
		}
	}
	return b.String()
}

func fieldRef(col, other string, m mods) string {
	a, b := "lower("+col+")", "lower("+other+")"
	if m.cased {
		a, b = col, other
	}
	switch m.match {
	case "contains":
		return fmt.Sprintf("instr(%s, %s) > 0", a, b)
	case "startswith":
		return fmt.Sprintf("substr(%s, 1, length(%s)) = %s", a, b, b)
	case "endswith":
		return fmt.Sprintf("(%s = '' OR substr(%s, -length(%s)) = %s)", other, a, b, b)
	}
	return a + " = " + b
}

// cidr matches an IPv4 network with LIKE prefixes (whole octets, plus the values of a
// partial last octet).
func cidr(col, s string) ([]string, error) {
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
	if bits == 32 {
		return []string{col + " = " + sqlString(pfx.Addr().String())}, nil
	}
	if bits%8 == 0 {
		if whole == 0 {
			return []string{col + " LIKE '%.%.%.%'"}, nil
		}
		return []string{col + " LIKE " + sqlString(strings.Join(head, ".")+".%")}, nil
	}
	rem := bits % 8
	n := 1 << (8 - rem)
	var out []string
	for v := int(a[whole]); v < int(a[whole])+n; v++ {
		p := append(append([]string(nil), head...), strconv.Itoa(v))
		tail := ""
		if whole < 3 {
			tail = ".%"
		}
		if tail == "" {
			out = append(out, col+" = "+sqlString(strings.Join(p, ".")))
		} else {
			out = append(out, col+" LIKE "+sqlString(strings.Join(p, ".")+tail))
		}
	}
	return out, nil
}

// hashes maps Sysmon's "Hashes" field (MD5=…,SHA256=…,IMPHASH=…) to the md5, sha256
// and imphash columns (and sha1). A value ALGO=HASH compares the column of ALGO with
// HASH (contains: a prefix of it); other algorithms are dropped from a list with a
// note; a value without ALGO= is looked for in every hash column.
func (c *converter) hashes(fm FieldMatch, m mods) (string, error) {
	if len(m.transforms) > 0 || (m.match != "" && m.match != "contains" && m.match != "startswith" && m.match != "endswith") {
		return "", unsupported("Hashes with modifiers %s", strings.Join(fm.Modifiers, "|"))
	}
	cols := map[string]string{"md5": "md5", "sha1": "sha1", "sha256": "sha256", "imphash": "imphash"}
	var preds []string
	dropped := 0
	for _, v := range fm.Values {
		algo, h, ok := strings.Cut(v.S, "=")
		if !ok {
			var alts []string
			for _, col := range []string{"md5", "sha1", "sha256", "imphash"} {
				alts = append(alts, match(col, parseSigmaString(v.S), m.match, m.cased))
			}
			preds = append(preds, group(alts, " OR "))
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
		preds = append(preds, match(col, parseSigmaString(strings.TrimSpace(h)), how, false))
	}
	if dropped > 0 {
		if len(preds) == 0 || m.all {
			return "", unsupported("field Hashes: hash algorithms not kept in %s", c.t.table)
		}
		c.notes = append(c.notes, fmt.Sprintf("%d Hashes values of algorithms the table does not keep were dropped", dropped))
	}
	if m.all {
		return group(preds, " AND "), nil
	}
	return group(preds, " OR "), nil
}

func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
