package analysis

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/exechunt/exechunt/tables/analysis/psdecode"
)

// maxObfuscationScan bounds the text measured: obfuscation shows in the first
// 64 KiB of a script.
const maxObfuscationScan = 64 << 10

// Thresholds of the obfuscation measures, set so ordinary scripts stay below.
const (
	minRandomCaseWords = 3    // keywords in odd case
	minTickedWords     = 2    // identifiers with backticks inside
	minCharCasts       = 6    // [char] casts
	minCharArray       = 8    // numbers in a [char[]] array
	minConcats         = 8    // 'lit'+'lit' joins ...
	concatPerKB        = 4    // ... and their density per 1000 bytes
	minSpecialLen      = 80   // non-blank bytes needed to judge special-char ratio
	specialRatio       = 0.55 // share of non-alphanumeric bytes
)

var (
	reCharArith  = rule(`\[char\]\s*\(\s*\d+\s*[-+*/]\s*\d+`, "[char]")
	reCharArray  = rule(`\[char\[\]\]\s*\(?\s*(?:\d+\s*,\s*){7,}`, "[char[]]")
	reSecureStr  = rule(`securestringtobstr|convertto-securestring[^|;]{0,400}-k(?:ey)?\b`, "securestring")
	reFormatOnly = rule(`['"](?:\s*\{\d+\}\s*){3,}['"]\s*-f|(?:\{\d+\}){6,}`, "}{", "} {")
	reConcatCall = rule(`[&.]\s*\(\s*(?:'[^']*'\s*\+\s*)+'[^']*'\s*\)`, "&(", ".(", "& (", ". (")
	reCaretWord  = rule(`[A-Za-z]\^[A-Za-z]\^?[A-Za-z]?\^`, "^")
	reEnvSubstr  = regexp.MustCompile(`(?i)%[a-z_]+:~-?\d+(?:,-?\d+)?%`)
	reQuoteSplit = rule(`[A-Za-z]""[A-Za-z]|[A-Za-z]"[A-Za-z]{1,3}"[A-Za-z]`, `"`)
	reCallIndir  = rule(`\bcall\s+%[^%\s]+%|![a-z_]+:~-?\d+`, "call", ":~")
)

// keywordCase maps lower-case PowerShell words that obfuscators re-case to their
// usual spelling; any other mix of cases (not lower, upper, Title or this) is
// "random case".
var keywordCase = func() map[string]string {
	m := map[string]string{}
	for _, w := range []string{"Invoke", "Expression", "ForEach", "Object", "New", "Char", "Join",
		"Split", "Replace", "Assembly", "GetType", "GetField", "GetMethod", "SetValue", "GetValue",
		"String", "Convert", "FromBase64String", "DownloadString", "DownloadFile", "DownloadData",
		"WebClient", "System", "Text", "Encoding", "Unicode", "ASCII", "MemoryStream", "StreamReader",
		"Compression", "GzipStream", "DeflateStream", "ReadToEnd", "Length", "ToString", "Value",
		"Write", "Where", "Select", "Command", "Item", "Variable", "Runtime", "InteropServices",
		"Marshal", "ComSpec", "PSHome", "ShellId", "PSVersionTable", "PSVersion", "Major", "Ref",
		"BXor", "NonPublic", "Static", "Utils", "AmsiUtils", "Management", "Automation", "Net",
		"Reflection", "Process", "Start", "Hidden", "Bypass", "Content", "Output", "Host",
		"Verbose", "Preference", "VerbosePreference", "Decompress", "CompressionMode", "Env",
		"ServicePointManager", "SecurityProtocol", "Item", "Member", "Property", "Alias",
		"ChildItem", "Location", "Path", "Random", "Sleep", "Char", "Int", "Byte", "Bytes",
		"Directory", "ItemType", "Temp", "Security", "Protocol", "GetString", "Default", "Create",
		"Load", "Method", "Public", "Exec", "WindowStyle", "NoProfile", "Seconds", "Delegate",
		"Pointer", "Function", "Import", "Module", "Download", "Client", "Request", "Response",
		"Stream", "Reader", "Registry", "Service", "Scriptblock", "ScriptBlock", "Logging",
		"EnableScriptBlockLogging", "Signature", "Registered", "Count", "Name", "Reverse", "Array",
		"Regex", "Matches", "RightToLeft", "SecureString", "BSTR", "PtrToStringBSTR",
		"SecureStringToBSTR", "PtrToStringAuto", "Key", "Invoke-Expression", "Get", "Set", "Add",
		"Member", "Static", "Type", "Utils", "Field"} {
		m[strings.ToLower(w)] = w
	}
	return m
}()

// randomCase reports whether w is a known keyword written in a mix of cases
// that no one types by hand (InVoKe, FOrEAcH).
func randomCase(w string) bool {
	canon, ok := keywordCase[strings.ToLower(w)]
	if !ok || w == canon || w == strings.ToLower(w) || w == strings.ToUpper(w) {
		return false
	}
	title := strings.ToUpper(w[:1]) + strings.ToLower(w[1:])
	return w != title
}

// obfuscation measures Invoke-Obfuscation styles in PowerShell source.
func (st *state) obfuscation(text string) {
	text, _ = capBytes(text, maxObfuscationScan)
	lower := strings.ToLower(text)
	if countRandomCase(text, minRandomCaseWords) >= minRandomCaseWords {
		st.tag(tagObfRandomCase)
	}
	if countTickedWords(text, minTickedWords) >= minTickedWords {
		st.tag(tagObfTicks)
	}
	if strings.Count(lower, "[char]") >= minCharCasts || reCharArith.match(lower) || reCharArray.match(lower) {
		st.tag(tagObfCharCodes)
	}
	if c := countLitConcat(text); c >= minConcats && c*1000 >= concatPerKB*len(text) {
		st.tag(tagObfString)
	}
	if reFormatOnly.match(lower) || reConcatCall.match(lower) {
		st.tag(tagObfString)
	}
	if strings.Contains(lower, "-bxor") && strings.Contains(lower, "[char]") || reSecureStr.match(lower) {
		st.tag(tagObfEncoding)
	}
	if specialChars(text) {
		st.tag(tagObfSpecialChars)
	}
	if whitespaceEncoded(text) {
		st.tag(tagObfEncoding)
	}
}

// minWhitespaceRun is the shortest run of mixed spaces and tabs taken as
// Invoke-Obfuscation's whitespace encoding (characters as run lengths).
const minWhitespaceRun = 64

// whitespaceEncoded reports a long run mixing spaces and tabs.
func whitespaceEncoded(text string) bool {
	run, spaces, tabs := 0, 0, 0
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case ' ':
			run, spaces = run+1, spaces+1
		case '\t':
			run, tabs = run+1, tabs+1
		default:
			run, spaces, tabs = 0, 0, 0
			continue
		}
		if run >= minWhitespaceRun && spaces >= 8 && tabs >= 8 {
			return true
		}
	}
	return false
}

// countRandomCase counts words (letter runs) that are keywords in odd case,
// stopping at enough.
func countRandomCase(text string, enough int) int {
	n := 0
	for i := 0; i < len(text) && n < enough; {
		if !isLetter(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isLetter(text[j]) {
			j++
		}
		if j-i >= 3 && randomCase(text[i:j]) {
			n++
		}
		i = j
	}
	return n
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// countTickedWords counts backticks between two letters that are not escapes.
func countTickedWords(text string, enough int) int {
	n := 0
	for off := 0; off < len(text) && n < enough; {
		i := strings.IndexByte(text[off:], '`')
		if i < 0 {
			break
		}
		i += off
		if i > 0 && i+1 < len(text) && isLetter(text[i-1]) && isLetter(text[i+1]) && !strings.ContainsRune("0abefnrtuv", rune(text[i+1])) {
			n++
		}
		off = i + 1
	}
	return n
}

// specialChars reports text made mostly of punctuation.
func specialChars(text string) bool {
	total, special := 0, 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			continue
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c >= 0x80:
		default:
			special++
		}
		total++
	}
	return total >= minSpecialLen && float64(special) >= specialRatio*float64(total)
}

// obfuscationFromLayer tags what a decoding step shows the source was doing.
func (st *state) obfuscationFromLayer(l psdecode.Layer) {
	switch l.Kind {
	case psdecode.KindFormat, psdecode.KindReverse, psdecode.KindReplace:
		st.tag(tagObfString)
	case psdecode.KindSplitCodes:
		st.tag(tagObfEncoding)
	case psdecode.KindAutoVar:
		st.tag(tagObfuscatedIEX)
	case psdecode.KindBase64, psdecode.KindBase64Binary, psdecode.KindGzip, psdecode.KindDeflate, psdecode.KindZlib:
		st.tag(tagEmbeddedPayload)
	case psdecode.KindTicks:
		// counted on the source by obfuscation
	}
}

// cmdObfuscation measures DOSfuscation in a Windows command line.
func (st *state) cmdObfuscation(raw string) {
	raw, _ = capBytes(raw, maxObfuscationScan)
	envSubstr := strings.Contains(raw, ":~") && len(reEnvSubstr.FindAllStringIndex(raw, 2)) >= 2
	if reCaretWord.match(raw) || envSubstr || reCallIndir.match(strings.ToLower(raw)) || reQuoteSplit.match(raw) {
		st.tag(tagCmdObfuscation)
	}
}

// countLitConcat counts quote + quote joins ('a'+'b'), ignoring blanks.
func countLitConcat(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '+' {
			continue
		}
		j := i - 1
		for j >= 0 && (s[j] == ' ' || s[j] == '\t') {
			j--
		}
		k := i + 1
		for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
			k++
		}
		if j >= 0 && k < len(s) && (s[j] == '\'' || s[j] == '"') && (s[k] == '\'' || s[k] == '"') {
			n++
		}
	}
	return n
}

// envSuffixes are the values of environment variables whose end (or, for the
// first group, whole value) is the same on every Windows host, so that
// DOSfuscation's substrings of them (%COMSPEC:~-7,1%, %LOCALAPPDATA:~-3,1%) can be
// read. whole reports whether the value is known from its start too.
var envSuffixes = map[string]struct {
	value string
	whole bool
}{
	"comspec":                {`C:\Windows\system32\cmd.exe`, true},
	"windir":                 {`C:\Windows`, true},
	"systemroot":             {`C:\Windows`, true},
	"public":                 {`C:\Users\Public`, true},
	"programdata":            {`C:\ProgramData`, true},
	"programfiles":           {`C:\Program Files`, true},
	"commonprogramfiles":     {`C:\Program Files\Common Files`, true},
	"pathext":                {`.COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC`, true},
	"os":                     {`Windows_NT`, true},
	"processor_architecture": {`AMD64`, true},
	"localappdata":           {`\AppData\Local`, false},
	"appdata":                {`\AppData\Roaming`, false},
	"temp":                   {`\AppData\Local\Temp`, false},
	"tmp":                    {`\AppData\Local\Temp`, false},
}

var reEnvSubstrJoined = regexp.MustCompile(`(?i)(:~-?\d{1,4}(?:,-?\d{1,4})?)%([a-z_]+:~)`)

var reEnvSubstrParts = regexp.MustCompile(`(?i)%([a-z_]+):~(-?\d{1,4})(?:,(-?\d{1,4}))?%`)

// resolveEnvSubstrings replaces the substrings of well-known variables
// (%COMSPEC:~-16,1%) with the characters they pick, as cmd.exe will; ok reports
// that at least one was resolved. Substrings it cannot know stay as written.
func resolveEnvSubstrings(s string) (out string, ok bool) {
	if !strings.Contains(s, ":~") {
		return s, false
	}
	// Adjacent substrings may have reached us with their %% collapsed to one %.
	for range 2 {
		s = reEnvSubstrJoined.ReplaceAllString(s, "$1%%$2")
	}
	out = reEnvSubstrParts.ReplaceAllStringFunc(s, func(m string) string {
		p := reEnvSubstrParts.FindStringSubmatch(m)
		v, known := envSuffixes[strings.ToLower(p[1])]
		if !known {
			return m
		}
		start, _ := strconv.Atoi(p[2])
		n := len(v.value)
		if start < 0 {
			start += n
		} else if !v.whole {
			return m // counted from a start that differs per user
		}
		end := n
		if p[3] != "" {
			l, _ := strconv.Atoi(p[3])
			if l < 0 {
				end = n + l
			} else {
				end = start + l
			}
		}
		if start < 0 || start > n || end > n || end < start {
			return m
		}
		ok = true
		return v.value[start:end]
	})
	return out, ok
}
