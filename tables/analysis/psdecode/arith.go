package psdecode

import "strings"

// evalArith evaluates a short integer expression of + - * / % and parentheses
// over decimal or 0x numbers, as used in [char](70+3). It reports false for
// anything else (including division by zero).
func evalArith(expr string) (int64, bool) {
	p := &arith{s: strings.ReplaceAll(expr, " ", "")}
	v, ok := p.sum(0)
	return v, ok && p.i == len(p.s)
}

type arith struct {
	s string
	i int
}

const maxArithDepth = 8

func (p *arith) sum(depth int) (int64, bool) {
	v, ok := p.product(depth)
	for ok && p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
		op := p.s[p.i]
		p.i++
		var w int64
		if w, ok = p.product(depth); op == '+' {
			v += w
		} else {
			v -= w
		}
	}
	return v, ok
}

func (p *arith) product(depth int) (int64, bool) {
	v, ok := p.atom(depth)
	for ok && p.i < len(p.s) && strings.IndexByte("*/%", p.s[p.i]) >= 0 {
		op := p.s[p.i]
		p.i++
		var w int64
		if w, ok = p.atom(depth); !ok {
			break
		}
		switch op {
		case '*':
			v *= w
		case '/', '%':
			if w == 0 {
				return 0, false
			}
			if op == '/' {
				v /= w
			} else {
				v %= w
			}
		}
	}
	return v, ok
}

func (p *arith) atom(depth int) (int64, bool) {
	if p.i >= len(p.s) || depth > maxArithDepth {
		return 0, false
	}
	if p.s[p.i] == '(' {
		p.i++
		v, ok := p.sum(depth + 1)
		if !ok || p.i >= len(p.s) || p.s[p.i] != ')' {
			return 0, false
		}
		p.i++
		return v, true
	}
	if p.s[p.i] == '-' {
		p.i++
		v, ok := p.atom(depth + 1)
		return -v, ok
	}
	j := p.i
	if strings.HasPrefix(strings.ToLower(p.s[j:]), "0x") {
		j += 2
		for j < len(p.s) && strings.IndexByte("0123456789abcdefABCDEF", p.s[j]) >= 0 {
			j++
		}
	} else {
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
	}
	if j == p.i || j-p.i > 12 {
		return 0, false
	}
	v, ok := parseInt(p.s[p.i:j], 0)
	p.i = j
	return v, ok
}
