// Package stack groups hunt results across a fleet: rows with the same values in
// their query's declared stack columns form one stack — across every query that
// stacks by those columns — with the hosts that produced it, its prevalence,
// first/last seen, maximum score and a few example rows. Rare and high-scoring
// stacks are ranked as anomalies (new ones higher), each with the reasons; see
// Stacker.Assess for the rule.
//
// The package is pure: it holds stacks in memory and takes time from its caller, so
// the orchestrator's stores persist them and tests need no clock.
package stack

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// ShapeColumn is the pseudo-column that stacks by the normalised command line
// (Shape of the row's cmdline) instead of its exact text.
const ShapeColumn = "cmdline_shape"

var base64Blob = regexp.MustCompile(`[A-Za-z0-9+/]{24,}={0,2}`)

// shapeRules rewrite the parts of a command line that vary between runs of the same
// program into placeholders, in this order (later rules see earlier placeholders):
var shapeRules = []struct {
	re   *regexp.Regexp
	with string
}{
	// GUIDs, braced or not.
	{regexp.MustCompile(`\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?`), "<guid>"},
	// User profile folders: the user name.
	{regexp.MustCompile(`([a-z]:\\users\\|/home/|/users/)[^\\/"' ]+`), "${1}<user>"},
	// Files in temporary folders: the folder rest and the file name vary.
	{regexp.MustCompile(`(\\appdata\\local\\temp|\\windows\\temp|%temp%|%tmp%|/tmp|/var/tmp)(\\|/)[^"' ]*`), "<temp>"},
	// Quoted strings that are not paths (titles, arguments, inline scripts).
	{regexp.MustCompile(`"[^"\\/]*"|'[^'\\/]*'`), `"<str>"`},
	// Hex numbers and long hex strings (handles, hashes, addresses).
	{regexp.MustCompile(`\b0x[0-9a-f]+\b|\b[0-9a-f]{8,}\b`), "<hex>"},
	// Decimal numbers (pids, ports, counters, dates).
	{regexp.MustCompile(`\b\d+\b`), "<n>"},
	// Runs of blanks.
	{regexp.MustCompile(`\s+`), " "},
}

// Shape normalises a command line so that runs of the same program with different
// GUIDs, numbers, hex values, temp files, user names, quoted strings and base64 blobs
// stack together. The result is lower-case. See docs/stacking.md for the rules.
func Shape(cmdline string) string {
	s := strings.TrimSpace(cmdline)
	if len(s) > maxShape {
		s = s[:maxShape] // a shape is a key, not evidence: bound the work on huge lines
	}
	// Base64 blobs (encoded commands, payloads) before lower-casing: a blob mixes
	// upper case, lower case and digits, which paths and words rarely do.
	s = base64Blob.ReplaceAllStringFunc(s, func(m string) string {
		if strings.ContainsAny(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") && strings.ContainsAny(m, "abcdefghijklmnopqrstuvwxyz") &&
			strings.ContainsAny(m, "0123456789") {
			return "<b64>"
		}
		return m
	})
	// Invalid UTF-8 first becomes one '?' a run: ToLower would turn each bad byte
	// into a three-byte U+FFFD, tripling a hostile line's key.
	s = strings.ToLower(strings.ToValidUTF8(s, "?"))
	for _, r := range shapeRules {
		s = r.re.ReplaceAllString(s, r.with)
	}
	// Placeholders are longer than what they replace ('' becomes "<str>"), so a
	// hostile line can grow 3.5×: the key is bounded too, at a character boundary.
	if len(s) > maxShape {
		cut := maxShape
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// maxShape bounds the input considered and the shape returned, in bytes.
const maxShape = 4096
