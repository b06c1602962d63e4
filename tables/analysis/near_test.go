package analysis

import (
	"strings"
	"testing"
)

// TestRuleSetAgreesWithRules: one automaton pass gives each rule the answer its
// own per-trigger scan gives, on every fixture, on texts that put triggers in
// windows of their own, and across the automaton's chunk boundary.
func TestRuleSetAgreesWithRules(t *testing.T) {
	texts := []string{
		"",
		"vssadmin delete shadows /all",
		strings.Repeat("x", scanChunk-5) + "wevtutil cl security",            // trigger across the chunk boundary
		strings.Repeat("stop ", 200) + "net stop sophos agent",               // more trigger sites than a rule examines
		"net stop " + strings.Repeat("y", nearAfter+10) + " sophos",          // the pattern outside the window
		"reg add hkcu\\software\\classes\\ms-settings\\shell\\open\\command", // several rules' triggers at once
	}
	for _, c := range loadCases(t) {
		texts = append(texts, strings.ToLower(c.text))
	}
	for _, text := range texts {
		got := tamperSet.match(text)
		for i, r := range tamperSet.rules {
			if want := r.match(text); got[i] != want {
				t.Errorf("rule %d (%s) on %.60q: set says %v, rule says %v", i, tamperTags[i], text, got[i], want)
			}
		}
	}
}
