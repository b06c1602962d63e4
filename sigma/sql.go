package sigma

import (
	"fmt"
	"strconv"
	"strings"
)

// SQL renders the plan as a WHERE expression over its table: the conditions OR-ed.
// It is the expression Convert puts in the rule's query.
func (p *Plan) SQL() string {
	cache := make([]string, len(p.Searches))
	parts := make([]string, len(p.Conditions))
	for i, c := range p.Conditions {
		parts[i] = p.exprSQL(c, cache)
	}
	return strings.Join(parts, " OR ")
}

func (p *Plan) exprSQL(e *Expr, cache []string) string {
	switch e.Op {
	case ExprSearch:
		if cache[e.Search] == "" {
			cache[e.Search] = p.Searches[e.Search].SQL()
		}
		return cache[e.Search]
	case ExprNot:
		// A NULL column makes a comparison NULL; NOT NULL would drop the row where
		// Sigma's "not" keeps it.
		return "NOT coalesce(" + p.exprSQL(e.Args[0], cache) + ", 0)"
	}
	parts := make([]string, len(e.Args))
	for i, a := range e.Args {
		parts[i] = p.exprSQL(a, cache)
	}
	if e.Op == ExprAnd {
		return group(parts, " AND ")
	}
	return group(parts, " OR ")
}

// SQL renders the search: its maps OR-ed, each map's fields AND-ed.
func (s *PlanSearch) SQL() string {
	ors := make([]string, 0, len(s.Maps))
	for _, m := range s.Maps {
		ands := make([]string, 0, len(m))
		for _, f := range m {
			ands = append(ands, f.SQL())
		}
		if len(ands) == 0 {
			ands = []string{"1"} // an empty map matches everything
		}
		ors = append(ors, group(ands, " AND "))
	}
	return group(ors, " OR ")
}

// SQL renders the field entry.
func (f *FieldPlan) SQL() string {
	var preds []string
	for _, alts := range f.Values {
		ps := make([]string, len(alts))
		for i, a := range alts {
			ps[i] = a.SQL()
		}
		if f.All || f.nested {
			// Every value must match (All); the variants of one value are alternatives.
			preds = append(preds, group(ps, " OR "))
		} else {
			preds = append(preds, ps...)
		}
	}
	if f.All {
		return group(preds, " AND ")
	}
	return group(preds, " OR ")
}

// SQL renders the predicate; it is also the predicate's identity (two predicates
// with the same SQL are the same test).
func (p *Pred) SQL() string {
	name := p.Column.Name
	switch p.Kind {
	case PredLike:
		if p.Column.Integer {
			name = "CAST(" + name + " AS TEXT)"
		}
		return likeSQL(name, p.Pattern, p.Cased)
	case PredEqual:
		return name + " = " + sqlString(p.Text)
	case PredNull:
		if p.Column.Integer {
			return name + " IS NULL"
		}
		return "(" + name + " IS NULL OR " + name + " = '')"
	case PredExists:
		e := name + " IS NOT NULL"
		if !p.Column.Integer {
			e = "(" + name + " IS NOT NULL AND " + name + " != '')"
		}
		if !p.Want {
			e = "NOT coalesce(" + e + ", 0)"
		}
		return e
	case PredFieldRef:
		return fieldRefSQL(name, p.Other.Name, p.How, p.Cased)
	case PredCompare:
		return fmt.Sprintf("%s %s %s", name, p.Op, strconv.FormatFloat(p.Number, 'f', -1, 64))
	case PredRegex:
		subject := name
		if p.Lower {
			subject = "lower(" + name + ")"
		}
		return fmt.Sprintf("regex_match(%s, %s, 0) IS NOT NULL", subject, sqlString(p.Text))
	case PredIntEq:
		return name + " = " + p.Text
	}
	return "0"
}

// likeSQL is the SQL for one anchored pattern: LIKE (ASCII case-insensitive, as
// Sigma matches strings) or, with cased, GLOB (case-sensitive).
func likeSQL(col string, s Pattern, cased bool) string {
	if cased {
		p := globPattern(s)
		if p == "*" {
			return col + " IS NOT NULL"
		}
		return col + " GLOB " + sqlString(p)
	}
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

func fieldRefSQL(col, other, how string, cased bool) string {
	a, b := "lower("+col+")", "lower("+other+")"
	if cased {
		a, b = col, other
	}
	switch how {
	case "contains":
		return fmt.Sprintf("instr(%s, %s) > 0", a, b)
	case "startswith":
		return fmt.Sprintf("substr(%s, 1, length(%s)) = %s", a, b, b)
	case "endswith":
		return fmt.Sprintf("(%s = '' OR substr(%s, -length(%s)) = %s)", other, a, b, b)
	}
	return a + " = " + b
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

func likePattern(s Pattern) string {
	var b strings.Builder
	for _, p := range s {
		switch p.Wild {
		case '*':
			b.WriteByte('%')
		case '?':
			b.WriteByte('_')
		default:
			for _, c := range p.Lit {
				if c == '%' || c == '_' || c == '\\' {
					b.WriteByte('\\')
				}
				b.WriteRune(c)
			}
		}
	}
	return b.String()
}

func globPattern(s Pattern) string {
	var b strings.Builder
	for _, p := range s {
		switch p.Wild {
		case '*', '?':
			b.WriteByte(p.Wild)
		default:
			for _, c := range p.Lit {
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

func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
