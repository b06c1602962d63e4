package psdecode

import (
	"fmt"
	"strings"
)

// maxBlobsPerPass bounds how many FromBase64String calls one pass decodes.
const maxBlobsPerPass = 8

// fromBase64 replaces [Convert]::FromBase64String('...') calls by the text they
// hold, inflating Gzip/Deflate/zlib streams first. When one blob is most of the
// script (the usual loader), the decoded payload replaces the whole text. It
// returns the kind of the last step (base64, gzip, ...).
func fromBase64(s string, lim Limits) (string, string, bool) {
	locs := reB64Call.FindAllStringSubmatchIndex(s, maxBlobsPerPass)
	if locs == nil {
		return s, "", false
	}
	var b strings.Builder
	kind, last := "", 0
	for _, l := range locs {
		litStart, litEnd := l[2], l[3]
		payload, k, ok := decodeBlob(unquote(s[litStart:litEnd]), lim)
		if !ok {
			continue
		}
		if litEnd-litStart >= len(s)/2 && k != KindBase64Binary {
			return payload, k, true
		}
		b.WriteString(s[last:litStart])
		b.WriteString(quote(payload))
		last, kind = litEnd, k
	}
	if kind == "" {
		return s, "", false
	}
	b.WriteString(s[last:])
	return b.String(), kind, true
}

// decodeBlob decodes one base64 literal to text, through decompression when the
// bytes are compressed. Binary results are described, not returned.
func decodeBlob(b64 string, lim Limits) (string, string, bool) {
	raw, err := Base64(b64, lim.MaxBase64)
	if err != nil || len(raw) < 2 {
		return "", "", false
	}
	kind := KindBase64
	compressedMagic := raw[0] == 0x1f && raw[1] == 0x8b || raw[0] == 0x78
	if _, err := Text(raw); err != nil || compressedMagic {
		if inflated, k, err := Inflate(raw, lim.MaxOutput); err == nil {
			raw, kind = inflated, k
		}
	}
	text, err := Text(raw)
	if err != nil {
		return fmt.Sprintf("<binary: %d bytes>", len(raw)), KindBase64Binary, true
	}
	return capString(text, lim.MaxOutput), kind, true
}
