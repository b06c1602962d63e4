package analysis

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"

	"github.com/exechunt/exechunt/tables/analysis/psdecode"
)

func b64utf16(s string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func gzipB64(t testing.TB, data []byte) string {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// hostileCase is an input built to cost as much as possible.
type hostileCase struct {
	name   string
	script bool
	text   string
}

var (
	hostileOnce  sync.Once
	hostileCases []hostileCase
)

func hostileInputs(t testing.TB) []hostileCase {
	hostileOnce.Do(func() {
		blob := strings.Repeat("QUFBQUFBQUFBQUFB", (50<<20)/16) // 50 MB of base64
		nestedEnc := "Write-Output 'bottom'"
		for i := 0; i < 12; i++ {
			nestedEnc = "powershell -enc " + b64utf16(nestedEnc)
		}
		nestedB64 := "Write-Output 'bottom'"
		for i := 0; i < 24; i++ {
			nestedB64 = "iex([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('" + base64.StdEncoding.EncodeToString([]byte(nestedB64)) + "')))"
		}
		bomb := gzipB64(t, bytes.Repeat([]byte("A"), 64<<20))
		bombScript := "IEX (New-Object IO.StreamReader(New-Object IO.Compression.GzipStream([IO.MemoryStream][Convert]::FromBase64String('" + bomb + "'),[IO.Compression.CompressionMode]::Decompress))).ReadToEnd()"
		hostileCases = []hostileCase{
			{"enc_50MB_blob", false, "powershell.exe -enc " + blob},
			{"script_50MB_frombase64", true, "[Convert]::FromBase64String('" + blob + "')"},
			{"enc_gzip_bomb", false, "powershell -nop -enc " + b64utf16(bombScript)},
			{"script_gzip_bomb", true, bombScript},
			{"enc_nested_12", false, nestedEnc},
			{"script_frombase64_nested_24", true, nestedB64},
			{"script_concat_1MB", true, strings.Repeat("'a'+", 1<<18) + "'b'"},
			{"script_format_amplify", true, "('" + strings.Repeat("{0}", 4096) + "' -f '" + strings.Repeat("x", 4096) + "')"},
			{"cmd_carets_1MB", false, "cmd.exe /c " + strings.Repeat("p^o^w^&", 1<<17)},
			{"cmd_segments", false, "cmd /c " + strings.Repeat("cmd /c powershell -c iex & ", 4096)},
			{"posix_pipes", false, "bash -c '" + strings.Repeat("echo aGk= | base64 -d | bash -c ", 4096) + "'"},
			{"script_special_chars_1MB", true, strings.Repeat("${=}+$(@{})[+!]", 1<<16)},
		}
	})
	return hostileCases
}

// checkBounds asserts the invariants every Result must keep.
func checkBounds(t testing.TB, r Result) {
	t.Helper()
	lim := psdecode.DefaultLimits()
	if r.Score < 0 || r.Score > 100 {
		t.Errorf("score %d out of 0..100", r.Score)
	}
	if !sort.StringsAreSorted(r.Indicators) {
		t.Errorf("indicators not sorted: %v", r.Indicators)
	}
	for i := 1; i < len(r.Indicators); i++ {
		if r.Indicators[i] == r.Indicators[i-1] {
			t.Errorf("duplicate indicator %s", r.Indicators[i])
		}
	}
	for _, tag := range r.Indicators {
		if _, ok := tagIndex[tag]; !ok {
			t.Errorf("undocumented tag %s", tag)
		}
	}
	if len(r.Layers) > maxLayers {
		t.Errorf("%d layers, limit %d", len(r.Layers), maxLayers)
	}
	for _, l := range r.Layers {
		if len(l.Text) > lim.MaxOutput {
			t.Errorf("layer %s is %d bytes, limit %d", l.Kind, len(l.Text), lim.MaxOutput)
		}
	}
	if len(r.DecodedCommand) > lim.MaxOutput {
		t.Errorf("decoded command %d bytes, limit %d", len(r.DecodedCommand), lim.MaxOutput)
	}
	if len(r.URLs) > maxURLs || len(r.IPs) > maxURLs {
		t.Errorf("%d URLs, %d IPs, limit %d", len(r.URLs), len(r.IPs), maxURLs)
	}
}

func analyzeHostile(c hostileCase) Result {
	if c.script {
		return AnalyzeScript(c.text, Script{})
	}
	return AnalyzeCommandLine(c.text, Process{})
}

// TestHostileInputsBounded checks deterministic limits on the worst inputs;
// their cost is reported by BenchmarkHostile, never asserted on a clock.
func TestHostileInputsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 50 MB inputs")
	}
	for _, c := range hostileInputs(t) {
		t.Run(c.name, func(t *testing.T) {
			r := analyzeHostile(c)
			checkBounds(t, r)
			if contains(r.Indicators, tagAnalysisError) {
				t.Errorf("analysis_error")
			}
		})
	}
	// Depth is bounded: the twelve-fold nested command stops at maxDepth.
	r := analyzeHostile(hostileInputs(t)[4])
	if !contains(r.Indicators, tagInputTruncated) {
		t.Errorf("nested -enc beyond maxDepth not reported as input_truncated: %v", r.Indicators)
	}
}

func TestPanicRecovered(t *testing.T) {
	r := func() (res Result) {
		defer recoverInto(&res)
		panic("boom")
	}()
	if len(r.Indicators) != 1 || r.Indicators[0] != tagAnalysisError || r.Score != 0 {
		t.Errorf("recovered result %+v", r)
	}
}

func TestEmptyAndOddInputs(t *testing.T) {
	for _, s := range []string{"", " ", "\x00\x00", "\"", "^", "powershell -enc", "powershell -enc !!!", "cmd /c", "bash -c", "rundll32", "schtasks /create /tr", "\xff\xfe\xfd"} {
		checkBounds(t, AnalyzeCommandLine(s, Process{}))
		checkBounds(t, AnalyzeScript(s, Script{}))
	}
}
