package analysis

import (
	"regexp"
	"strings"
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
