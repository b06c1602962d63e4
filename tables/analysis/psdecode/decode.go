package psdecode

import (
	"strings"
	"time"
)

// Layer is one decoding step: the kind of transform and the text after it.
type Layer struct {
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// Result is what Deobfuscate found.
type Result struct {
	// Layers are the steps taken, in order; empty when nothing decoded.
	Layers []Layer
	// Text is the most decoded text (the input when nothing decoded).
	Text string
	// Truncated reports that a limit cut the input, an output or the steps.
	Truncated bool
	// Resolved reports that variables were replaced by the literals assigned to
	// them: Text then says more than the input even when no Layer decoded.
	Resolved bool
}

// Deobfuscate applies the transforms to text until none changes it or a limit is
// reached, recording each change as a Layer. It never fails. Reading literals
// in their canonical form and substituting variables is not a Layer of its own:
// it shows in the Text of the layers that follow it, and in Text.
func Deobfuscate(text string, lim Limits) Result {
	lim = lim.withDefaults()
	deadline := time.Now().Add(lim.Budget)
	res := Result{Text: text}
	cur := text
	if len(cur) > lim.MaxInput {
		cur = capString(cur, lim.MaxInput)
		res.Truncated = true
	}
	total, silent := 0, 0
	for changed := true; changed; {
		changed = false
		for _, t := range transforms {
			if len(res.Layers) >= lim.MaxLayers || silent > 2*lim.MaxLayers || total > 4*lim.MaxOutput || time.Now().After(deadline) {
				res.Truncated = true
				if len(res.Layers) == 0 && !res.Resolved {
					res.Text = text
				}
				return res
			}
			// Transforms look at a bounded head; a decoded payload may be longer.
			head, tail := cur, ""
			if len(head) > lim.MaxInput {
				head = capString(cur, lim.MaxInput)
				head, tail = cur[:len(head)], cur[len(head):]
				res.Truncated = true
			}
			if !hasHint(head, t.hint) || t.fallback && changed {
				continue
			}
			out, kind, ok := t.fn(head, lim)
			if !ok || out == head {
				continue
			}
			if out = capString(out+tail, lim.MaxOutput); len(out) < len(out+tail) {
				res.Truncated = true
			}
			cur = out
			total += len(out)
			res.Text = out
			if t.silent {
				// The transforms after it read the prepared text in this
				// pass; alone it is no reason for another pass.
				silent++
				res.Resolved = res.Resolved || kind == kindResolvedVars
				continue
			}
			changed = true
			res.Layers = append(res.Layers, Layer{Kind: kind, Text: out})
		}
	}
	if len(res.Layers) == 0 && !res.Resolved {
		res.Text = text // only quoting was rewritten: nothing decoded
	}
	return res
}

// hasHint reports whether s contains any hint, case-insensitively, without
// lower-casing all of s.
func hasHint(s string, hints []string) bool {
	if len(hints) == 0 {
		return true
	}
	for _, h := range hints {
		if containsFold(s, h) {
			return true
		}
	}
	return false
}

// containsFold is strings.Contains ignoring ASCII case; needle is lower-case.
func containsFold(s, needle string) bool {
	if needle == "" {
		return true
	}
	first := needle[0]
	upper := first
	if first >= 'a' && first <= 'z' {
		upper = first - 32
	}
	for i := 0; i+len(needle) <= len(s); i++ {
		c := s[i]
		if c != first && c != upper {
			j := strings.IndexAny(s[i:], string([]byte{first, upper}))
			if j < 0 {
				return false
			}
			i += j - 1
			continue
		}
		if strings.EqualFold(s[i:i+len(needle)], needle) {
			return true
		}
	}
	return false
}
