package anomalies

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/store"
)

// matches reports whether a suppression rule covers a stack (its query glob
// matches any query that returned the stack); hosts returns the hosts that
// produced it (read only for rules limited to hosts).
func matches(r store.SuppressionRule, sk apiv1.Stack, hosts func() []string) bool {
	if r.Query != "" && !slices.ContainsFunc(sk.Queries, func(q string) bool { return glob(r.Query, q) }) {
		return false
	}
	if !glob(r.Pattern, sk.Text()) {
		return false
	}
	if len(r.Hosts) > 0 {
		for _, h := range hosts() {
			if !contains(r.Hosts, h) {
				return false // seen outside the rule's host set: not covered
			}
		}
	}
	return true
}

// glob matches s against a pattern with * (any run) and ? (one character), ignoring
// ASCII case (Windows names).
func glob(pattern, s string) bool {
	p, t := strings.ToLower(pattern), strings.ToLower(s)
	star, mark := -1, 0
	i, j := 0, 0
	for j < len(t) {
		switch {
		case i < len(p) && (p[i] == '?' || p[i] == t[j]):
			i++
			j++
		case i < len(p) && p[i] == '*':
			star, mark = i, j
			i++
		case star >= 0:
			i, mark = star+1, mark+1
			j = mark
		default:
			return false
		}
	}
	for i < len(p) && p[i] == '*' {
		i++
	}
	return i == len(p)
}

// applyRules puts the stacks the suppression rules cover into the baseline. Callers
// hold s.mu.
func (s *Service) applyRules() {
	if len(s.rules) == 0 {
		return
	}
	for _, sk := range s.st.All() {
		if r := s.ruleFor(sk.Stack, func() []string { return s.st.Hosts(sk) }); r != nil {
			s.st.MarkNormal(sk.Entity())
		}
	}
}

// ruleFor returns the first suppression rule that covers a stack, or nil;
// hosts is called at most once.
func (s *Service) ruleFor(sk apiv1.Stack, hosts func() []string) *store.SuppressionRule {
	var names []string
	read := false
	once := func() []string {
		if !read {
			names, read = hosts(), true
		}
		return names
	}
	for i := range s.rules {
		if matches(s.rules[i], sk, once) {
			return &s.rules[i]
		}
	}
	return nil
}

// AddRule stores a suppression rule and applies it at once.
func (s *Service) AddRule(ctx context.Context, r store.SuppressionRule) (store.SuppressionRule, error) {
	if strings.TrimSpace(r.Pattern) == "" || strings.TrimSpace(r.Reason) == "" {
		return r, errors.New("a suppression rule needs a pattern and a reason")
	}
	r.At = s.opt.Now().UTC()
	r, err := s.src.AddSuppressionRule(ctx, r)
	if err != nil {
		return r, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, r)
	s.applyRules()
	return r, nil
}

// Rules lists the suppression rules.
func (s *Service) Rules(ctx context.Context) ([]store.SuppressionRule, error) {
	return s.src.SuppressionRules(ctx)
}

// DeleteRule removes a suppression rule. Stacks it put in the baseline stay there
// until the orchestrator restarts (the baseline is rebuilt from the rules then).
func (s *Service) DeleteRule(ctx context.Context, id int64) error {
	if err := s.src.DeleteSuppressionRule(ctx, id); err != nil {
		return fmt.Errorf("delete rule %d: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.rules {
		if r.ID == id {
			s.rules = append(s.rules[:i], s.rules[i+1:]...)
			break
		}
	}
	return nil
}
