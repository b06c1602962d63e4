package analysis

import "strings"

// A loader that base64-decodes a blob, decompresses it and runs the result is
// the shape of the Cobalt Strike, Metasploit (psh-net) and Invoke-Obfuscation
// COMPRESS stagers; no administration script needs all three steps together.
// It is recognised by that behaviour, whether or not the blob itself decodes
// (a truncated script block, a corrupted or deliberately broken payload).
//
// The needles are matched in the compact lower-case form of each text (quotes,
// backticks, carets, plus signs and blanks removed), so string building inside
// the loader ('Gzip'+'Stream') does not hide it.
var (
	loaderDecompress = []string{"gzipstream", "deflatestream", "zlibstream", "brotlistream"}
	loaderBase64     = []string{"frombase64string", "frombase64chararray"}
	loaderRun        = []string{"iex(", "iex$", "|iex", ";iex", "iex.", "invoke-expression", "scriptblock]::create(",
		"newscriptblock(", "invokescript(", "invoke-command", ".invoke(", "&(", ".((", "&$", "|&", "::load(", ".load("}
)

const (
	loaderWindow   = 2048 // bytes of compact text before and after the decompression
	loaderMaxSites = 16   // decompression sites examined per text
)

// decompressExecute tags text where a decompression stream sits near a base64
// decode and a way of running code.
func (st *state) decompressExecute(all hay) {
	if loaderIn(all.compact) {
		st.tag(tagDecompressExecute)
	}
}

// loaderIn reports the three steps within loaderWindow of one decompression.
func loaderIn(c string) bool {
	return anySite(c, loaderDecompress, loaderMaxSites, func(i, n int) bool {
		w := c[max(0, i-loaderWindow):min(len(c), i+n+loaderWindow)]
		return containsAny(w, loaderBase64) && containsAny(w, loaderRun)
	})
}

// base64Run are the ways of running a decoded string as code that wrap the decode
// itself: iex([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($b))).
var base64Run = []string{"iex(", "invoke-expression(", "scriptblock]::create(", "newscriptblock(", "invokescript("}

// base64Execute tags text that runs the string a base64 decode yields: the run
// verb wraps the GetString of the decode, or the decoded string is piped into iex.
// Administration scripts decode base64 to data (certificates, files), not to code
// they run; a loader keeps its code encoded so that it is only ever seen in memory.
func (st *state) base64Execute(all hay) {
	c := all.compact
	if anySite(c, loaderBase64, loaderMaxSites, func(i, n int) bool {
		before := c[max(0, i-base64RunWindow):i]
		if g := strings.LastIndex(before, "getstring("); g >= 0 && containsAny(before[:g], base64Run) {
			return true
		}
		after := c[i+n : min(len(c), i+n+base64RunWindow*4)]
		if end := strings.IndexAny(after, ";\n"); end >= 0 {
			after = after[:end]
		}
		return strings.Contains(before, "getstring(") && (strings.Contains(after, "|iex") || strings.Contains(after, "|invoke-expression"))
	}) {
		st.tag(tagBase64Execute)
	}
}

// base64RunWindow is how far (compact bytes) the run verb may sit before the decode.
const base64RunWindow = 80
