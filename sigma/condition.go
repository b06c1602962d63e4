package sigma

import (
	"fmt"
	"path"
	"strings"
	"unicode"
)

// cond is a parsed Sigma condition.
type cond interface{ isCond() }

type condAnd struct{ l, r cond }
type condOr struct{ l, r cond }
type condNot struct{ x cond }
type condRef struct{ name string }

// condOf is "1 of PATTERN", "all of PATTERN", "1 of them", "all of them".
type condOf struct {
	all     bool
	pattern string // "them" for all searches
}

func (condAnd) isCond() {}
func (condOr) isCond()  {}
func (condNot) isCond() {}
func (condRef) isCond() {}
func (condOf) isCond()  {}

// unsupportedError is a rule that cannot be expressed, with the reason.
type unsupportedError struct{ reason string }

func (e *unsupportedError) Error() string { return e.reason }

func unsupported(format string, args ...any) error {
	return &unsupportedError{fmt.Sprintf(format, args...)}
}

// parseCondition parses a condition: or > and > not > primary; primaries are search
// names, "1 of X", "all of X" (X a name with * wildcards or "them") and parentheses.
// A pipe (aggregation) is refused.
func parseCondition(s string) (cond, error) {
	if strings.Contains(s, "|") {
		return nil, unsupported("aggregation in condition %q (count/min/max/near need state across events)", s)
	}
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &condParser{toks: toks}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i != len(p.toks) {
		return nil, fmt.Errorf("condition %q: unexpected %q", s, p.toks[p.i])
	}
	return c, nil
}

func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		default:
			j := i
			for j < len(s) && !unicode.IsSpace(rune(s[j])) && s[j] != '(' && s[j] != ')' {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty condition")
	}
	return toks, nil
}

type condParser struct {
	toks []string
	i    int
}

func (p *condParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *condParser) or() (cond, error) {
	return p.binary("or", p.and, func(l, r cond) cond { return condOr{l, r} })
}

func (p *condParser) and() (cond, error) {
	return p.binary("and", p.not, func(l, r cond) cond { return condAnd{l, r} })
}

// binary parses operands joined by the keyword op, left to right: a op b op c
// is join(join(a, b), c).
func (p *condParser) binary(op string, operand func() (cond, error), join func(l, r cond) cond) (cond, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), op) {
		p.i++
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = join(l, r)
	}
	return l, nil
}

func (p *condParser) not() (cond, error) {
	if strings.EqualFold(p.peek(), "not") {
		p.i++
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return condNot{x}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (cond, error) {
	t := p.peek()
	switch {
	case t == "":
		return nil, fmt.Errorf("condition ends early")
	case t == "(":
		p.i++
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("condition: missing )")
		}
		p.i++
		return c, nil
	case t == ")":
		return nil, fmt.Errorf("condition: unexpected )")
	case strings.EqualFold(t, "and"), strings.EqualFold(t, "or"):
		return nil, fmt.Errorf("condition: unexpected %q", t)
	}
	if p.i+2 < len(p.toks)+1 && strings.EqualFold(p.toksAt(p.i+1), "of") {
		q := strings.ToLower(t)
		target := p.toksAt(p.i + 2)
		if target == "" {
			return nil, fmt.Errorf("condition: %q of what?", t)
		}
		switch q {
		case "1", "any":
			p.i += 3
			return condOf{all: false, pattern: target}, nil
		case "all":
			p.i += 3
			return condOf{all: true, pattern: target}, nil
		}
		return nil, unsupported("%q of: only \"1 of\" and \"all of\" are defined", t)
	}
	p.i++
	return condRef{t}, nil
}

func (p *condParser) toksAt(i int) string {
	if i < len(p.toks) {
		return p.toks[i]
	}
	return ""
}

// matchSearches returns the search names a "1 of"/"all of" pattern covers, in file
// order; "them" covers every search whose name does not start with "_".
func matchSearches(pattern string, order []string) []string {
	var out []string
	for _, n := range order {
		if pattern == "them" {
			if !strings.HasPrefix(n, "_") {
				out = append(out, n)
			}
			continue
		}
		if ok, _ := path.Match(pattern, n); ok {
			out = append(out, n)
		}
	}
	return out
}
