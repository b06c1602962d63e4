package psdecode

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrNotText means decoded bytes are binary (shellcode, a PE file), not script.
var ErrNotText = errors.New("decoded bytes are not text")

// Base64 decodes up to max characters of a base64 string leniently: blanks are
// ignored, URL-safe characters and missing padding are accepted, and a trailing
// partial quantum is dropped. It returns an error when nothing decodes.
func Base64(s string, max int) ([]byte, error) {
	if max > 0 && len(s) > max {
		s = s[:max]
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			b.WriteByte(c)
		case c == '-':
			b.WriteByte('+')
		case c == '_':
			b.WriteByte('/')
		case c == '=' || c == ' ' || c == '\t' || c == '\r' || c == '\n':
		default:
			return nil, fmt.Errorf("base64: invalid character %q at %d", c, i)
		}
	}
	clean := b.String()
	clean = clean[:len(clean)-len(clean)%4] + fixTail(clean[len(clean)-len(clean)%4:])
	out, err := base64.RawStdEncoding.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("base64: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("base64: empty")
	}
	return out, nil
}

// fixTail keeps a final quantum of 2 or 3 characters (valid without padding) and
// drops a lone character, which can never decode.
func fixTail(t string) string {
	if len(t) == 1 {
		return ""
	}
	return t
}

// Text turns decoded bytes into a string: UTF-16LE when it has a BOM or looks
// like it (zero high bytes), otherwise UTF-8. It returns ErrNotText when the
// result is mostly control characters.
func Text(b []byte) (string, error) {
	var s string
	switch {
	case len(b) >= 2 && b[0] == 0xff && b[1] == 0xfe:
		s = utf16le(b[2:])
	case looksUTF16LE(b):
		s = utf16le(b)
	case len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf:
		s = strings.ToValidUTF8(string(b[3:]), "\uFFFD")
	default:
		s = strings.ToValidUTF8(string(b), "\uFFFD")
	}
	if !isText(s) {
		return "", ErrNotText
	}
	return s, nil
}

func looksUTF16LE(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	zeros, n := 0, len(b)/2
	for i := 1; i < len(b); i += 2 {
		if b[i] == 0 {
			zeros++
		}
	}
	return zeros*10 >= n*6 // at least 60 % of high bytes are zero
}

func utf16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u))
}

// isText reports whether s is mostly printable: at most 10 % control or
// replacement characters.
func isText(s string) bool {
	if s == "" {
		return false
	}
	bad, n := 0, 0
	for _, r := range s {
		n++
		if r == utf8.RuneError || (r < 0x20 && r != '\n' && r != '\r' && r != '\t') || r == 0x7f {
			bad++
		}
	}
	return bad*10 <= n
}

// EncodedCommand decodes a powershell -EncodedCommand value: base64 of UTF-16LE
// text (UTF-8 is accepted as a fallback, since some tools get it wrong).
func EncodedCommand(b64 string, lim Limits) (string, error) {
	lim = lim.withDefaults()
	raw, err := Base64(strings.TrimSpace(b64), lim.MaxBase64)
	if err != nil {
		return "", fmt.Errorf("encoded command: %w", err)
	}
	s, err := Text(raw)
	if err != nil {
		return "", fmt.Errorf("encoded command: %w", err)
	}
	return capString(s, lim.MaxOutput), nil
}

// Compression kinds that Inflate recognises, as Layer kinds.
const (
	KindGzip    = "gzip"
	KindZlib    = "zlib"
	KindDeflate = "deflate"
)

// Inflate decompresses b when it is a gzip, zlib or raw deflate stream, reading
// at most max bytes of output (so a compression bomb costs at most max bytes).
// It returns the kind found, or an error when b is not compressed.
func Inflate(b []byte, max int) ([]byte, string, error) {
	var r io.Reader
	kind := KindDeflate
	switch {
	case len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b:
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, "", fmt.Errorf("gzip: %w", err)
		}
		r, kind = zr, KindGzip
	case len(b) >= 2 && b[0] == 0x78 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0:
		zr, err := zlib.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, "", fmt.Errorf("zlib: %w", err)
		}
		r, kind = zr, KindZlib
	default:
		r = flate.NewReader(bytes.NewReader(b))
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(max)))
	if kind == KindDeflate && err != nil && len(out) < max {
		// Without a magic number only a clean raw deflate stream counts.
		return nil, "", fmt.Errorf("deflate: %w", err)
	}
	if len(out) == 0 {
		if err == nil {
			err = errors.New("empty stream")
		}
		return nil, "", fmt.Errorf("%s: %w", kind, err)
	}
	// A corrupt tail still leaves useful text; only an empty result is a failure.
	return out, kind, nil
}

func capString(s string, max int) string {
	if max <= 0 || len(s) <= max {
		return s
	}
	s = s[:max]
	// Drop at most one rune cut in half by the limit.
	for i := 0; i < utf8.UTFMax && len(s) > 0; i++ {
		if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size > 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}
