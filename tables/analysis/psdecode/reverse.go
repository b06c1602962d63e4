package psdecode

import "strings"

// reverseWords are lower-case fragments of PowerShell that show which reading of
// a literal is the real one.
var reverseWords = []string{
	"iex", "invoke", "new-object", "downloadstring", "webclient", "http", "-join",
	"[char", "frombase64", "$env:", "function", "write-", "start-process", "system.",
	".exe", "powershell", "-bxor", "foreach", "-split", "replace",
}

func wordHits(s string) int {
	n := 0
	for _, w := range reverseWords {
		if strings.Contains(s, w) {
			n++
		}
	}
	return n
}

// reverse flips the longest literal when the script reverses strings
// (RightToLeft regex, [-1..-n] indexing, [Array]::Reverse) and the reversed text
// reads as PowerShell, or when it plainly reads better backwards.
func reverse(s string, _ Limits) (string, bool) {
	locs := reLit.FindAllStringIndex(s, -1)
	best := -1
	for i, l := range locs {
		if l[1]-l[0] >= 18 && (best < 0 || l[1]-l[0] > locs[best][1]-locs[best][0]) {
			best = i
		}
	}
	if best < 0 {
		return reverseWhole(s)
	}
	l := locs[best]
	val := unquote(s[l[0]:l[1]])
	rs := []rune(val)
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	rev := string(rs)
	lower := strings.ToLower(s)
	hinted := strings.Contains(lower, "righttoleft") || strings.Contains(lower, "[-1..") || strings.Contains(lower, "::reverse(")
	fw, rv := wordHits(strings.ToLower(val)), wordHits(strings.ToLower(rev))
	if !(hinted && rv > 0 && rv >= fw) && !(rv >= 2 && fw == 0) {
		return s, false
	}
	return s[:l[0]] + quote(rev) + s[l[1]:], true
}

// reverseWhole flips a text with no usable literal (often a cut-off log line)
// when only the reversed reading looks like PowerShell.
func reverseWhole(s string) (string, bool) {
	if len(s) < 18 {
		return s, false
	}
	rs := []rune(s)
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	rev := string(rs)
	if wordHits(strings.ToLower(rev)) >= 3 && wordHits(strings.ToLower(s)) == 0 {
		return rev, true
	}
	return s, false
}
