package psdecode

import (
	"regexp"
	"strings"
)

// Invocation is a program that PowerShell source starts, with the command line
// the program would see.
type Invocation struct {
	// Program is the program as written (a name or a path), unquoted; "" when
	// it is the first word of CommandLine (WMI and method calls).
	Program string
	// CommandLine is the program and its arguments, quoted the way PowerShell
	// passes them to a native program.
	CommandLine string
	// Via says how it is started: ViaStatement, ViaCall, ViaStartProcess,
	// ViaWMI or ViaMethod.
	Via string
}

// Ways a program is started.
const (
	ViaStatement    = "statement"     // regsvr32 /s … as a pipeline element
	ViaCall         = "call"          // & 'C:\…\rundll32.exe' … or . x.exe …
	ViaStartProcess = "start_process" // Start-Process/start/saps with -ArgumentList
	ViaWMI          = "wmi"           // Win32_Process Create (Invoke-WmiMethod, Invoke-CimMethod, [wmiclass])
	ViaMethod       = "method"        // [Diagnostics.Process]::Start, WScript.Shell Run/Exec, ShellExecute
)

// Bounds of Invocations.
const (
	maxElements    = 4096     // pipeline elements examined per text
	maxInvokeDepth = 2        // Invoke-Expression of a literal read again
	maxCommandLine = 32 << 10 // bytes of one reconstructed command line
	maxElement     = 8 << 10  // bytes of source one pipeline element is read from
	maxName        = 512      // bytes of a command name (a path is at most 260 characters)
)

// envDefaults are the values of the environment variables that scripts use to
// name system programs and drop folders, on a default installation.
var envDefaults = map[string]string{
	"env:windir": `C:\Windows`, "env:systemroot": `C:\Windows`, "env:comspec": `C:\Windows\system32\cmd.exe`,
	"env:systemdrive": `C:`, "env:programdata": `C:\ProgramData`, "env:public": `C:\Users\Public`,
	"env:allusersprofile": `C:\ProgramData`, "env:programfiles": `C:\Program Files`,
	"env:temp": `C:\Users\user\AppData\Local\Temp`, "env:tmp": `C:\Users\user\AppData\Local\Temp`,
	"env:appdata": `C:\Users\user\AppData\Roaming`, "env:localappdata": `C:\Users\user\AppData\Local`,
	"env:userprofile": `C:\Users\user`,
}

// psKeywords start statements that are not commands.
var psKeywords = map[string]bool{"if": true, "elseif": true, "else": true, "foreach": true, "for": true,
	"while": true, "do": true, "until": true, "switch": true, "function": true, "filter": true, "param": true,
	"return": true, "try": true, "catch": true, "finally": true, "throw": true, "break": true, "continue": true,
	"exit": true, "trap": true, "begin": true, "process": true, "end": true, "class": true, "enum": true,
	"using": true, "data": true, "dynamicparam": true, "workflow": true, "parallel": true, "sequence": true,
	"inlinescript": true, "configuration": true, "node": true, "import": true}

// Invocations returns up to max programs that the PowerShell source s starts
// with arguments: a program at the start of a pipeline element (after ; a line
// break, |, {, (, an assignment), after the & or . call operator, through
// Start-Process, through Win32_Process Create, or through a .NET/COM method;
// literals of Invoke-Expression are read again. want filters the programs of
// the first three ways by their written name (a path or a name, unquoted). A
// name only mentioned in a string or a comment is no invocation.
func Invocations(s string, max int, want func(program string) bool) []Invocation {
	c := collector{max: max, want: want, seen: map[string]bool{}}
	c.scan(s, 0)
	return c.out
}

type collector struct {
	max  int
	want func(string) bool
	seen map[string]bool
	out  []Invocation
}

func (c *collector) full() bool { return len(c.out) >= c.max }

func (c *collector) add(inv Invocation) {
	if c.full() || inv.CommandLine == "" || len(inv.CommandLine) > maxCommandLine || c.seen[inv.CommandLine] {
		return
	}
	c.seen[inv.CommandLine] = true
	c.out = append(c.out, inv)
}

// code reads a literal that is run as PowerShell (Invoke-Expression,
// [ScriptBlock]::Create) as source of its own.
func (c *collector) code(s string, depth int) {
	if depth < maxInvokeDepth {
		c.scan(s, depth+1)
	}
}

func (c *collector) scan(s string, depth int) {
	for _, start := range elementStarts(s) {
		if c.full() {
			return
		}
		c.element(s, start, depth)
	}
	if !c.full() {
		c.methods(s, depth)
	}
}

// elementStarts returns where pipeline elements may begin, outside strings
// and comments.
func elementStarts(s string) []int {
	starts := []int{0}
	push := func(i int) {
		if len(starts) < maxElements {
			starts = append(starts, i)
		}
	}
	walkCode(s, nil, codeVisitor{other: func(i int) bool {
		switch c := s[i]; {
		case strings.IndexByte(";\n|{}()", c) >= 0:
			push(i + 1)
		case c == '&' && i+1 < len(s) && s[i+1] == '&':
			push(i + 2)
		case c == '=' && assignmentOperator(s, i):
			push(i + 1)
		}
		return len(starts) < maxElements
	}})
	return starts
}

// assignmentOperator reports whether the = at s[i] assigns (x = …, x += …),
// rather than being part of == or of an argument (a=b).
func assignmentOperator(s string, i int) bool {
	if i+1 < len(s) && s[i+1] == '=' || i > 0 && s[i-1] == '=' {
		return false
	}
	j := i - 1
	if j >= 0 && strings.IndexByte("+-*/%", s[j]) >= 0 {
		j--
	}
	for j >= 0 && (s[j] == ' ' || s[j] == '\t') {
		j--
	}
	if j < 0 {
		return false
	}
	if s[j] == ']' || s[j] == '}' {
		return true // [type]$x = / ${x} = / $a[0] =
	}
	k := j
	for k >= 0 && (isNameByte(s[k]) || s[k] == ':') {
		k--
	}
	return k >= 0 && k < j && s[k] == '$'
}

// word is one argument of a command: its source text, and its value when the
// text is literal.
type word struct {
	raw, value string
	known      bool
	comma      bool // a , array separator
}

// element reads the pipeline element at s[i] and records it when it starts a
// wanted program.
func (c *collector) element(s string, i, depth int) {
	s = s[:min(len(s), i+maxElement)]
	i = skipInline(s, i)
	if i >= len(s) {
		return
	}
	via := ViaStatement
	if (s[i] == '&' || s[i] == '.') && i+1 < len(s) && strings.IndexByte(" \t'\"$(", s[i+1]) >= 0 {
		via = ViaCall
		i = skipInline(s, i+1)
	} else if !bareName(s[i:]) {
		return // an expression: $x, (…), [type], 'text', 42
	}
	end, name := readWord(s[:min(len(s), i+maxName)], i)
	if end <= i || end == i+maxName || !name.known {
		return // no name, or too long to be a program's
	}
	prog := name.value
	lower := strings.ToLower(prog)
	switch {
	case via == ViaStatement && psKeywords[lower]:
		return
	case lower == "start-process" || lower == "start" || lower == "saps":
		c.startProcess(readWords(s, end))
		return
	case lower == "invoke-wmimethod" || lower == "iwmi" || lower == "invoke-cimmethod" || lower == "icim":
		c.wmiCall(s, i, readWords(s, end))
		return
	case lower == "invoke-expression" || lower == "iex":
		args := readWords(s, end)
		if len(args) == 2 {
			if name, _, ok := parameter(args[0]); ok && strings.HasPrefix("command", name) {
				args = args[1:] // -Command 'text'
			}
		}
		if len(args) == 1 && args[0].known {
			c.code(args[0].value, depth)
		}
		return
	}
	if c.want == nil || !c.want(prog) {
		return
	}
	if args := readWords(s, end); len(args) > 0 {
		c.add(Invocation{Program: prog, CommandLine: commandLine(prog, args, false), Via: via})
	}
}

// bareName reports a command name written without quotes or sigils.
func bareName(raw string) bool {
	if raw == "" {
		return false
	}
	switch ch := raw[0]; {
	case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch == '.', ch == '\\', ch == '_':
		return true
	}
	return false
}

// skipInline skips blanks and line continuations (a backtick ending a line).
func skipInline(s string, i int) int {
	for i < len(s) {
		switch {
		case s[i] == ' ' || s[i] == '\t' || s[i] == '\r':
			i++
		case s[i] == '`' && i+1 < len(s) && (s[i+1] == '\n' || s[i+1] == '\r'):
			i += 2
		default:
			return i
		}
	}
	return i
}

// readWords reads the words of the element at s[i] up to its end: a line
// break, ; |, a closing bracket, && or ||, a comment. Redirections are dropped.
func readWords(s string, i int) []word {
	var words []word
	for len(words) < 64 {
		i = skipInline(s, i)
		if i >= len(s) {
			break
		}
		ch := s[i]
		if strings.IndexByte(";\n|)}", ch) >= 0 || ch == '&' && i+1 < len(s) && s[i+1] == '&' || ch == '#' {
			break
		}
		if ch == ',' {
			words = append(words, word{raw: ",", comma: true})
			i++
			continue
		}
		if ch == '>' || (ch >= '1' && ch <= '6' || ch == '*') && i+1 < len(s) && s[i+1] == '>' {
			end := wordEnd(s, i) // 2>&1, >out.txt, or > out.txt with its target apart
			if s[end-1] == '>' {
				end = wordEnd(s, skipInline(s, end))
			}
			i = end
			continue
		}
		end, w := readWord(s, i)
		if end <= i {
			break
		}
		words = append(words, w)
		i = end
	}
	return words
}

// wordEnd returns the end of a run of non-blank characters.
func wordEnd(s string, i int) int {
	for i < len(s) && strings.IndexByte(" \t\r\n;|", s[i]) < 0 {
		i++
	}
	return i
}

// readWord reads one argument at s[i]: bare text, quoted strings, variables
// and bracketed groups glued together (/i:"http://x" is one word).
func readWord(s string, i int) (int, word) {
	var b strings.Builder
	known := true
	start := i
	for i < len(s) {
		ch := s[i]
		switch {
		case strings.IndexByte(" \t\r\n;|,", ch) >= 0, ch == ')' || ch == '}':
			return i, word{raw: s[start:i], value: b.String(), known: known}
		case ch == '&' && i+1 < len(s) && s[i+1] == '&':
			return i, word{raw: s[start:i], value: b.String(), known: known}
		case ch == '\'' || ch == '"' || ch == '@' && i+1 < len(s) && (s[i+1] == '\'' || s[i+1] == '"'):
			end, v, k, ok := stringAt(s, i, envDefaults)
			if !ok {
				if ch == '@' {
					known = false
					i = groupEnd(s, i+1)
					continue
				}
				return len(s), word{raw: s[start:], known: false}
			}
			b.WriteString(v)
			known = known && k
			i = end
		case ch == '$':
			if i+1 < len(s) && s[i+1] == '(' {
				known = false
				i = groupEnd(s, i+1)
				continue
			}
			if i+1 >= len(s) {
				b.WriteByte('$')
				i++
				continue
			}
			name, end := refAt(s, i)
			v, ok := envDefaults[varKey(name)]
			if name == "" || !ok {
				known = false
			}
			b.WriteString(v)
			i = max(end, i+1)
		case ch == '(' || ch == '{' || ch == '[' && i == start:
			known = false
			i = groupEnd(s, i)
		case ch == '`' && i+1 < len(s):
			b.WriteByte(s[i+1])
			i += 2
		default:
			b.WriteByte(ch)
			i++
		}
	}
	return i, word{raw: s[start:i], value: b.String(), known: known}
}

// groupEnd returns the index after the bracket that closes the one at s[i],
// skipping strings; len(s) when it is not closed.
func groupEnd(s string, i int) int {
	open, close := s[i], byte(')')
	switch open {
	case '{':
		close = '}'
	case '[':
		close = ']'
	}
	level := 0
	for j := i; j < len(s); j++ {
		switch ch := s[j]; {
		case ch == open:
			level++
		case ch == close:
			level--
			if level == 0 {
				return j + 1
			}
		case ch == '\'' || ch == '"':
			end, _, _, ok := stringAt(s, j, nil)
			if !ok {
				return len(s)
			}
			j = end - 1
		case ch == '`':
			j++
		}
	}
	return len(s)
}

// commandLine renders a program and PowerShell arguments as the command line
// a native program receives: values with blanks are double-quoted. A comma
// keeps the words it joins together as written (url.dll,OpenURL), unless
// spaced lists them (Start-Process -ArgumentList 'a','b').
func commandLine(prog string, args []word, spaced bool) string {
	var b strings.Builder
	b.WriteString(nativeArg(prog))
	glue := false
	for _, a := range args {
		switch {
		case a.comma:
			glue = !spaced
			if glue {
				b.WriteByte(',')
			}
			continue
		case !glue:
			b.WriteByte(' ')
		}
		glue = false
		if a.known {
			b.WriteString(nativeArg(a.value))
		} else {
			b.WriteString(a.raw)
		}
	}
	return b.String()
}

func nativeArg(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t") {
		return v
	}
	return `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
}

// Parameters of Start-Process that take a value, by their lower-case names.
var startProcessParams = []string{"filepath", "argumentlist", "verb", "windowstyle", "workingdirectory",
	"credential", "redirectstandardoutput", "redirectstandarderror", "redirectstandardinput", "environment"}

// startProcess reads Start-Process's -FilePath and -ArgumentList (or the
// first two positional arguments).
func (c *collector) startProcess(words []word) {
	var file *word
	var argList []word
	positional := 0
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w.comma {
			continue
		}
		name, glued, isParam := parameter(w)
		if isParam {
			full := startProcessParam(name)
			if full == "" {
				continue // a switch: -Wait, -NoNewWindow, -PassThru
			}
			var vals []word
			if glued != nil {
				vals = append(vals, *glued)
			} else if i+1 < len(words) {
				i++
				vals = append(vals, words[i])
			}
			for i+2 < len(words) && words[i+1].comma {
				vals = append(vals, words[i+2])
				i += 2
			}
			if len(vals) == 0 {
				continue // -FilePath at the end, with no value
			}
			switch full {
			case "filepath":
				file = &vals[0]
			case "argumentlist":
				argList = vals
			}
			continue
		}
		switch positional {
		case 0:
			file = &words[i]
		case 1:
			argList = []word{w}
			for i+2 < len(words) && words[i+1].comma {
				argList = append(argList, words[i+2])
				i += 2
			}
		}
		positional++
	}
	if len(argList) == 1 && !argList[0].known {
		argList = arrayWords(argList[0].raw) // -ArgumentList @('/c','x')
	}
	if file == nil || !file.known || len(argList) == 0 || c.want == nil || !c.want(file.value) {
		return
	}
	cl := nativeArg(file.value) + " "
	if len(argList) == 1 && argList[0].known {
		cl += argList[0].value // one string is the command line's tail as written
	} else {
		cl = commandLine(file.value, argList, true)
	}
	c.add(Invocation{Program: file.value, CommandLine: cl, Via: ViaStartProcess})
}

var reArrayLits = regexp.MustCompile(`^@?\(\s*(` + lit + `(?:\s*,\s*` + lit + `)*)\s*\)$`)

// arrayWords reads an array of literals, @('a','b') or ('a','b'), as words;
// anything else stays one unknown word.
func arrayWords(raw string) []word {
	m := reArrayLits.FindStringSubmatch(raw)
	if m == nil {
		return []word{{raw: raw}}
	}
	var words []word
	for _, v := range splitLits(m[1]) {
		words = append(words, word{raw: v, value: v, known: true})
	}
	return words
}

// parameter reads -Name or -Name:value written bare.
func parameter(w word) (name string, glued *word, ok bool) {
	if !w.known || len(w.raw) < 2 || w.raw[0] != '-' || !isNameByte(w.raw[1]) || !strings.HasPrefix(w.value, "-") {
		return "", nil, false
	}
	name = w.value[1:]
	if k := strings.IndexByte(name, ':'); k >= 0 {
		v := name[k+1:]
		return strings.ToLower(name[:k]), &word{raw: v, value: v, known: true}, true
	}
	return strings.ToLower(name), nil, true
}

// startProcessParam resolves a Start-Process parameter prefix or alias to the
// name of a parameter that takes a value ("" for the switches).
func startProcessParam(name string) string {
	switch name {
	case "path", "pspath", "lp", "file":
		return "filepath"
	case "args":
		return "argumentlist"
	}
	for _, p := range startProcessParams {
		if strings.HasPrefix(p, name) {
			return p
		}
	}
	return ""
}

var reWMICommandLine = regexp.MustCompile(`(?i)commandline\s*=\s*(` + lit + `)`)

// wmiCall reads Invoke-WmiMethod / Invoke-CimMethod on Win32_Process Create:
// the command line is -ArgumentList's first value, the CommandLine of
// -Arguments @{…}, or the first literal after the method name.
func (c *collector) wmiCall(s string, i int, words []word) {
	class, create := false, false
	var cmd string
	for k, w := range words {
		v := strings.ToLower(w.value)
		switch {
		case strings.HasSuffix(v, "win32_process"):
			class = true
		case v == "create":
			create = true
		}
		name, glued, isParam := parameter(w)
		if isParam && cmd == "" && (strings.HasPrefix("argumentlist", name) || name == "args") {
			if glued != nil {
				cmd = glued.value
			} else if k+1 < len(words) && words[k+1].known {
				cmd = words[k+1].value
			}
		}
		if !isParam && w.known && create && cmd == "" && v != "create" && strings.ContainsAny(w.value, " \\.") {
			cmd = w.value
		}
	}
	if !class || !create {
		return
	}
	if cmd == "" {
		end := min(len(s), i+afterWindow)
		if m := reWMICommandLine.FindStringSubmatch(s[i:end]); m != nil {
			cmd = unquote(m[1])
		}
	}
	c.add(Invocation{CommandLine: strings.TrimSpace(cmd), Via: ViaWMI})
}

var (
	reProcessStart = regexp.MustCompile(`(?i)diagnostics\.process\]\s*::\s*start\s*\(\s*(` + lit + `)(?:\s*,\s*(` + lit + `))?\s*\)`)
	reShellRun     = regexp.MustCompile(`(?i)\.(?:run|exec)\s*\(\s*(` + lit + `)`)
	reShellExecute = regexp.MustCompile(`(?i)\.shellexecute\s*\(\s*(` + lit + `)(?:\s*,\s*(` + lit + `))?`)
	reWMICreate    = regexp.MustCompile(`(?i)\.create\s*\(\s*(` + lit + `)`)
	// $psi.FileName = '…' and $psi.Arguments = '…' of a ProcessStartInfo.
	reStartInfoFile     = regexp.MustCompile(`(?i)\.filename\s*=\s*(` + lit + `)`)
	reStartInfoArgs     = regexp.MustCompile(`(?i)\.arguments\s*=\s*(` + lit + `)`)
	reScriptBlockCreate = regexp.MustCompile(`(?i)scriptblock\]\s*::\s*create\s*\(\s*(` + lit + `)\s*\)`)
)

// methodCalls are the .NET and COM methods that start a program from literal
// arguments, each run only when its gate word occurs.
var methodCalls = []struct {
	gate string
	re   *regexp.Regexp
	via  string
}{
	{"process]", reProcessStart, ViaMethod},
	{"wscript.shell", reShellRun, ViaMethod},
	{"shellexecute", reShellExecute, ViaMethod},
	{"win32_process", reWMICreate, ViaWMI},
}

// methods finds programs started through .NET and COM methods with literal
// arguments: [Diagnostics.Process]::Start (also with a ProcessStartInfo),
// WScript.Shell Run/Exec, Shell.Application ShellExecute, and Win32_Process
// Create; and reads the literal of [ScriptBlock]::Create as source.
func (c *collector) methods(s string, depth int) {
	for _, m := range methodCalls {
		if !containsFold(s, m.gate) {
			continue
		}
		for _, l := range m.re.FindAllStringSubmatchIndex(s, c.max) {
			c.add(Invocation{CommandLine: joinCommand(unquote(submatch(s, l, 1)), submatch(s, l, 2)), Via: m.via})
		}
	}
	if containsFold(s, "processstartinfo") {
		file, args := reStartInfoFile.FindStringSubmatch(s), reStartInfoArgs.FindStringSubmatch(s)
		if file != nil && args != nil {
			c.add(Invocation{CommandLine: joinCommand(unquote(file[1]), args[1]), Via: ViaMethod})
		}
	}
	if containsFold(s, "scriptblock]") {
		for _, m := range reScriptBlockCreate.FindAllStringSubmatch(s, c.max) {
			c.code(unquote(m[1]), depth)
		}
	}
}

// joinCommand puts a program (quoted when it has blanks) before its literal
// argument string, when there is one.
func joinCommand(prog, args string) string {
	if args == "" {
		return prog
	}
	return nativeArg(prog) + " " + unquote(args)
}
