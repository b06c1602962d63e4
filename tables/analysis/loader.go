package analysis

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
