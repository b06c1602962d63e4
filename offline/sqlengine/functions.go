package sqlengine

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/netip"
	"regexp"
	"strings"

	"github.com/ncruces/go-sqlite3"

	"github.com/exechunt/exechunt/orchestrator/smallcache"
)

// Functions lists osquery's SQL extras that every engine registers, with osquery's
// semantics (osquery/sql/sqlite_string.cpp, sqlite_encoding.cpp, sqlite_hashing.cpp),
// besides SQLite's own built-ins (including its JSON and math functions). Regular
// expressions are Go's RE2 syntax where osquery uses ECMAScript (std::regex):
// look-arounds and back-references are errors.
var Functions = []string{
	"concat(v, …)",
	"concat_ws(sep, v, …)",
	"conditional_to_base64(s)",
	"from_base64(s)",
	"inet_aton(ip)",
	"md5(s)",
	"regex_match(s, pattern, index)",
	"regex_split(s, pattern, index)",
	"regexp(pattern, s)  (the REGEXP operator)",
	"sha1(s)",
	"sha256(s)",
	"split(s, chars, index)",
	"to_base64(s)",
}

// regexMaxSize is osquery's --regex_max_size default.
const regexMaxSize = 256

// functions holds state shared by the functions of one engine: compiled patterns.
type functions struct {
	cache smallcache.Cache[string, *regexp.Regexp]
}

func newFunctions() *functions {
	return &functions{cache: smallcache.Cache[string, *regexp.Regexp]{Max: 256}}
}

func (f *functions) compile(pattern string) (*regexp.Regexp, error) {
	if len(pattern) > regexMaxSize {
		return nil, fmt.Errorf("Invalid regex: too big, max size is %d bytes", regexMaxSize)
	}
	if re, ok := f.cache.Get(pattern); ok {
		return re, nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, errors.New("Invalid regex") // osquery's message
	}
	f.cache.Put(pattern, re)
	return re, nil
}

func (f *functions) register(c *sqlite3.Conn) error {
	const det = sqlite3.DETERMINISTIC | sqlite3.INNOCUOUS
	return errors.Join(
		c.CreateFunction("split", 3, det, f.split),
		c.CreateFunction("regex_split", 3, det, f.regexSplit),
		c.CreateFunction("regex_match", 3, det, f.regexMatch),
		c.CreateFunction("regexp", 2, det, f.regexpOp),
		c.CreateFunction("concat", -1, det, concat),
		c.CreateFunction("concat_ws", -1, det, concatWS),
		c.CreateFunction("inet_aton", 1, det, inetAton),
		c.CreateFunction("to_base64", 1, det, toBase64),
		c.CreateFunction("from_base64", 1, det, fromBase64),
		c.CreateFunction("conditional_to_base64", 1, det, conditionalToBase64),
		c.CreateFunction("md5", 1, det, hashFunc(md5.New)),
		c.CreateFunction("sha1", 1, det, hashFunc(sha1.New)),
		c.CreateFunction("sha256", 1, det, hashFunc(sha256.New)),
	)
}

func anyNull(arg []sqlite3.Value) bool {
	for _, a := range arg {
		if a.Type() == sqlite3.NULL {
			return true
		}
	}
	return false
}

// splitIndex runs a split function and returns element index (NULL when out of
// range), as osquery's callStringSplitFunc.
func splitIndex(ctx sqlite3.Context, arg []sqlite3.Value, split func(s, tok string) ([]string, error)) {
	if anyNull(arg) {
		ctx.ResultNull()
		return
	}
	tok := arg[1].Text()
	if tok == "" {
		ctx.ResultError(errors.New("Invalid input to split function"))
		return
	}
	parts, err := split(arg[0].Text(), tok)
	if err != nil {
		ctx.ResultError(err)
		return
	}
	i := arg[2].Int64()
	if i < 0 || i >= int64(len(parts)) {
		ctx.ResultNull()
		return
	}
	ctx.ResultText(parts[i])
}

// split(s, chars, index): s split at any of chars, empty pieces dropped, the others
// trimmed (osquery::split).
func (f *functions) split(ctx sqlite3.Context, arg ...sqlite3.Value) {
	splitIndex(ctx, arg, func(s, tok string) ([]string, error) {
		var out []string
		for _, p := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(tok, r) }) {
			out = append(out, strings.TrimSpace(p))
		}
		return out, nil
	})
}

// regex_split(s, pattern, index): s split at matches of pattern; empty pieces kept.
func (f *functions) regexSplit(ctx sqlite3.Context, arg ...sqlite3.Value) {
	splitIndex(ctx, arg, func(s, pattern string) ([]string, error) {
		re, err := f.compile(pattern)
		if err != nil {
			return nil, err
		}
		parts := re.Split(s, -1)
		// std::sregex_token_iterator with -1 drops a trailing empty piece.
		if n := len(parts); n > 0 && parts[n-1] == "" {
			parts = parts[:n-1]
		}
		return parts, nil
	})
}

// regexArgs is the start of a regex function: the compiled pattern of
// arg[pattern], or false once the result is set (NULL for a NULL argument, the
// error for a bad pattern).
func (f *functions) regexArgs(ctx sqlite3.Context, arg []sqlite3.Value, pattern int) (*regexp.Regexp, bool) {
	if anyNull(arg) {
		ctx.ResultNull()
		return nil, false
	}
	re, err := f.compile(arg[pattern].Text())
	if err != nil {
		ctx.ResultError(err)
		return nil, false
	}
	return re, true
}

// regex_match(s, pattern, index): group index of the first match (0 = the whole
// match); NULL without a match or when the group does not exist.
func (f *functions) regexMatch(ctx sqlite3.Context, arg ...sqlite3.Value) {
	re, ok := f.regexArgs(ctx, arg, 1)
	if !ok {
		return
	}
	s := arg[0].Text()
	m := re.FindStringSubmatchIndex(s)
	i := arg[2].Int64()
	if m == nil || i < 0 || int(i) > re.NumSubexp() {
		ctx.ResultNull()
		return
	}
	if m[2*i] < 0 {
		ctx.ResultText("") // an unmatched group is an empty sub_match in std::regex
		return
	}
	ctx.ResultText(s[m[2*i]:m[2*i+1]])
}

// regexp(pattern, s) backs `s REGEXP pattern`: 1 when pattern matches anywhere in s.
func (f *functions) regexpOp(ctx sqlite3.Context, arg ...sqlite3.Value) {
	re, ok := f.regexArgs(ctx, arg, 0)
	if !ok {
		return
	}
	ctx.ResultBool(re.MatchString(arg[1].Text()))
}

func joinNonNull(sep string, arg []sqlite3.Value) string {
	var b strings.Builder
	wrote := false
	for _, a := range arg {
		if a.Type() == sqlite3.NULL {
			continue
		}
		if wrote {
			b.WriteString(sep)
		}
		b.WriteString(a.Text())
		wrote = true
	}
	return b.String()
}

// concat(v, …) joins its non-NULL arguments; with no arguments it is NULL.
func concat(ctx sqlite3.Context, arg ...sqlite3.Value) {
	if len(arg) == 0 {
		ctx.ResultNull()
		return
	}
	ctx.ResultText(joinNonNull("", arg))
}

// concat_ws(sep, v, …) joins its non-NULL arguments with sep (NULL sep is ”).
func concatWS(ctx sqlite3.Context, arg ...sqlite3.Value) {
	if len(arg) == 0 {
		ctx.ResultError(errors.New("Missing separator to concat_ws"))
		return
	}
	if len(arg) == 1 {
		ctx.ResultNull()
		return
	}
	sep := ""
	if arg[0].Type() != sqlite3.NULL {
		sep = arg[0].Text()
	}
	ctx.ResultText(joinNonNull(sep, arg[1:]))
}

// inet_aton(ip) is an IPv4 address as an integer; NULL for IPv6 or invalid input.
func inetAton(ctx sqlite3.Context, arg ...sqlite3.Value) {
	if anyNull(arg) {
		ctx.ResultNull()
		return
	}
	a, err := netip.ParseAddr(arg[0].Text())
	if err != nil || !a.Is4() {
		ctx.ResultNull()
		return
	}
	b := a.As4()
	ctx.ResultInt64(int64(b[0])<<24 | int64(b[1])<<16 | int64(b[2])<<8 | int64(b[3]))
}

func toBase64(ctx sqlite3.Context, arg ...sqlite3.Value) {
	if anyNull(arg) {
		ctx.ResultNull()
		return
	}
	ctx.ResultText(base64.StdEncoding.EncodeToString(arg[0].RawText()))
}

// from_base64(s) decodes s; invalid input gives ” (osquery's base64Decode).
// Missing padding is tolerated.
func fromBase64(ctx sqlite3.Context, arg ...sqlite3.Value) {
	if anyNull(arg) {
		ctx.ResultNull()
		return
	}
	s := strings.TrimRight(strings.TrimSpace(arg[0].Text()), "=")
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		ctx.ResultText("")
		return
	}
	ctx.ResultText(string(b))
}

// conditional_to_base64(s) is s when every byte is printable ASCII (0x20–0x7e),
// else to_base64(s).
func conditionalToBase64(ctx sqlite3.Context, arg ...sqlite3.Value) {
	if anyNull(arg) {
		ctx.ResultNull()
		return
	}
	s := arg[0].RawText()
	for _, c := range s {
		if c >= 0x7f || c <= 0x1f {
			ctx.ResultText(base64.StdEncoding.EncodeToString(s))
			return
		}
	}
	ctx.ResultText(string(s))
}

func hashFunc(h func() hash.Hash) sqlite3.ScalarFunction {
	return func(ctx sqlite3.Context, arg ...sqlite3.Value) {
		if anyNull(arg) {
			ctx.ResultNull()
			return
		}
		d := h()
		d.Write(arg[0].RawText())
		ctx.ResultText(hex.EncodeToString(d.Sum(nil)))
	}
}
