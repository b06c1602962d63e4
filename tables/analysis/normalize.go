package analysis

import (
	"strings"
)

// xmlUnescaper undoes the entity escaping that event-log XML and some exports
// leave in command lines.
var xmlUnescaper = strings.NewReplacer("&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">",
	"&apos;", "'", "&#39;", "'", "&#34;", `"`, "&#x27;", "'", "&#x22;", `"`)

// normalize returns the copy of a command line that is analysed: XML entities
// undone, the %% doubling of batch files and some exports collapsed to %,
// NUL bytes dropped, and runs of blanks outside double quotes collapsed.
func normalize(s string) string {
	if strings.Contains(s, "&") {
		s = xmlUnescaper.Replace(s)
	}
	if strings.Contains(s, "%%") {
		s = strings.ReplaceAll(s, "%%", "%")
	}
	s = strings.ReplaceAll(s, "\x00", "")
	var b strings.Builder
	b.Grow(len(s))
	inQuote, blank := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			inQuote = !inQuote
		}
		isBlank := c == ' ' || c == '\t' || c == '\r' || c == '\n'
		if isBlank && !inQuote {
			if !blank {
				b.WriteByte(' ')
			}
			blank = true
			continue
		}
		blank = false
		b.WriteByte(c)
	}
	return strings.TrimSpace(b.String())
}

// capBytes cuts s to at most n bytes.
func capBytes(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	return s[:n], true
}
