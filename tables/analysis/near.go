package analysis

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/coregx/ahocorasick"
)

// Regular expressions over large texts are the costly part of analysis, so
// each content pattern is only run on short windows around the literal words
// it cannot match without. The patterns are local (bounded gaps), so a window
// of nearBefore/nearAfter bytes around a trigger sees every match.
const (
	nearBefore   = 160
	nearAfter    = 400
	nearMaxSites = 48 // trigger occurrences examined per pattern
)

// nearRule is a pattern with its trigger words (lower-case).
type nearRule struct {
	re       *regexp.Regexp
	triggers []string
}

func rule(pattern string, triggers ...string) nearRule {
	return nearRule{re: regexp.MustCompile(pattern), triggers: triggers}
}

// match reports whether the pattern matches in a window around a trigger.
func (r nearRule) match(text string) bool {
	return anySite(text, r.triggers, nearMaxSites, func(i, n int) bool {
		return r.re.MatchString(text[max(0, i-nearBefore):min(len(text), i+n+nearAfter)])
	})
}

// anySite calls f at each occurrence i (of length n) of the needles in text,
// at most maxSites in all, and reports whether f returned true for one.
func anySite(text string, needles []string, maxSites int, f func(i, n int) bool) bool {
	sites := 0
	for _, t := range needles {
		for off := 0; off < len(text) && sites < maxSites; {
			i := strings.Index(text[off:], t)
			if i < 0 {
				break
			}
			i += off
			sites++
			if f(i, len(t)) {
				return true
			}
			off = i + len(t)
		}
	}
	return false
}

// ruleSet finds the trigger words of many rules in one pass over the text (one
// Aho-Corasick automaton) and runs each rule's pattern only in the windows
// around its own triggers: the same answers as calling match on each rule, for
// one scan of the text instead of one per trigger word.
type ruleSet struct {
	rules  []nearRule
	ac     *ahocorasick.Automaton
	byPat  [][]int // pattern id → the rules it triggers
	maxPat int     // longest trigger, for the overlap between chunks
}

// scanChunk is how much text one automaton pass reads, so that a hostile text
// full of trigger words costs bounded memory.
const scanChunk = 64 << 10

func newRuleSet(rules ...nearRule) *ruleSet {
	s := &ruleSet{rules: rules}
	byTrigger := map[string][]int{}
	for r, rl := range rules {
		for _, t := range rl.triggers {
			byTrigger[t] = append(byTrigger[t], r)
		}
	}
	var pats [][]byte
	for _, t := range slices.Sorted(maps.Keys(byTrigger)) {
		pats = append(pats, []byte(t))
		s.byPat = append(s.byPat, byTrigger[t])
		s.maxPat = max(s.maxPat, len(t))
	}
	ac, err := ahocorasick.NewBuilder().AddPatterns(pats).Build()
	if err != nil {
		panic(fmt.Sprintf("analysis: trigger automaton: %v", err)) // the triggers are constants
	}
	s.ac = ac
	return s
}

// match reports, rule by rule, whether each matched text (lower-case).
func (s *ruleSet) match(text string) []bool {
	matched := make([]bool, len(s.rules))
	sites := make([]int, len(s.rules)) // windows examined per rule, up to nearMaxSites
	open := len(s.rules)               // rules still undecided
	for start := 0; start < len(text) && open > 0; start += scanChunk {
		end := min(len(text), start+scanChunk+s.maxPat-1)
		for _, m := range s.ac.FindAllOverlapping([]byte(text[start:end])) {
			if m.Start >= scanChunk {
				continue // begins in the next chunk, which sees it whole
			}
			i, n := start+m.Start, m.End-m.Start
			for _, r := range s.byPat[m.PatternID] {
				if matched[r] || sites[r] >= nearMaxSites {
					continue
				}
				sites[r]++
				if s.rules[r].re.MatchString(text[max(0, i-nearBefore):min(len(text), i+n+nearAfter)]) {
					matched[r] = true
				}
				if matched[r] || sites[r] == nearMaxSites {
					open--
				}
			}
		}
	}
	return matched
}
