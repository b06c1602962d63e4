package analysis

import (
	"regexp"
	"strings"

	"github.com/exechunt/exechunt/tables/analysis/cmdline"
)

// commandLine analyses one command line; depth > 0 means it was found inside
// another (cmd /c, sh -c, an embedded powershell ...).
func (st *state) commandLine(raw string, p Process, depth int) {
	if depth > maxDepth || st.nested >= maxNested {
		st.tag(tagInputTruncated)
		return
	}
	st.nested++
	raw, cut := capBytes(raw, maxCommandLine)
	if cut {
		st.tag(tagInputTruncated)
	}
	cl := normalize(raw)
	posix := looksPosix(cl, p.Image)
	var argv []string
	if posix {
		argv = cmdline.SplitPOSIX(cl)
	} else {
		argv = cmdline.SplitWindows(cl)
	}
	if depth > 0 {
		p.Image, p.OriginalFileName, p.Description = "", "", ""
	}
	id := Identify(p, argv)
	program := id.Name
	family := familyOf(program)
	if depth == 0 {
		st.res.Program, st.res.Family, st.res.Args = program, family, argv
		if id.Renamed() {
			st.tag(tagRenamedBinary)
		}
		st.statsText = cl
		if p.ParentScore >= SuspiciousScore {
			st.tag(tagParentSuspect)
		}
	}
	st.addText(cl, false)

	if depth == 0 {
		st.lineage(p, program, argv)
	} else if len(argv) > 0 && hasPathSep(argv[0]) && inTemp(argv[0]) {
		st.tag(tagExeInTemp) // a nested command runs a program from Temp
	}
	if !posix {
		st.cmdObfuscation(raw)
		low := asciiLower(cl)
		st.chromiumAbuse(low)
		st.appInstallerFetch(low)
	}
	if posix && depth == 0 && family == FamilyPosixShell {
		st.gtfoParentEscape(p, argv)
	}
	if posix && family != FamilyPosixShell {
		st.gtfobins(program, argv)
		st.gtfoDownload(program, argv)
		st.gtfoCommand(program, argv)
	}
	switch family {
	case FamilyPowerShell:
		st.signedScriptProxy(asciiLower(cl))
		st.powershell(cl, argv, program, depth)
		return
	case FamilyCmd:
		st.cmd(cl, argv, depth)
		return // its commands were analysed one by one
	case FamilyPosixShell:
		st.posixShell(cl, argv, depth)
		return
	case FamilyScriptHost, FamilyLOLBin:
		st.lolbin(program, cl, argv, p, depth)
	default:
		switch program {
		case "curl", "wget":
			st.lolbin(program, cl, argv, p, depth)
		case "copy", "xcopy.exe", "xcopy", "copy-item", "cp", "cpi":
			st.systemBinaryCopy(argv)
		case "sc.exe":
			st.serviceBinPath(argv, depth)
			st.serviceDACL(argv)
			if len(argv) > 2 && strings.HasPrefix(argv[1], `\\`) && serviceVerbs[strings.ToLower(argv[2])] {
				st.tag(tagRemoteExecTool) // sc \\host create|config|start: a service on another host
			}
		case "cmdkey.exe":
			st.cmdkey(argv)
		case "psexec.exe", "psexec64.exe", "paexec.exe", "remcom.exe", "csexec.exe", "xcmd.exe", "winrs.exe":
			st.remoteExec(cl, argv, depth)
		case "reg.exe":
			st.regAddData(argv, depth)
		case "net.exe", "net1.exe":
			st.netCommand(argv)
		case "plink.exe", "ssh.exe", "klink.exe":
			st.tunnel(argv)
			if program == "ssh.exe" {
				st.lolbin(program, cl, argv, p, depth) // LOLBAS: ProxyCommand and kin
			}
		default:
			if _, ok := lolbasRules[program]; ok {
				st.lolbin(program, cl, argv, p, depth)
			}
		}
	}
	st.embeddedPowerShell(cl, depth, false)
}

// serviceVerbs are the sc verbs that create, change or start a service.
var serviceVerbs = set("create", "config", "start", "failure")

// looksPosix decides which quoting rules a command line follows: POSIX when
// the image or argv[0] is a Unix path or a known POSIX shell name.
func looksPosix(cl, image string) bool {
	if image != "" {
		return strings.HasPrefix(image, "/")
	}
	first := cl
	if i := strings.IndexAny(cl, " \t"); i >= 0 {
		first = cl[:i]
	}
	if strings.HasPrefix(first, "/") && !strings.Contains(first, `\`) {
		return true
	}
	return posixShells[strings.ToLower(first)] || first == "python" || first == "python3" || first == "perl" || first == "nc" || first == "curl" && !strings.Contains(cl, `\`)
}

// embeddedPowerShell analyses a powershell command found inside cl (mshta
// vbscript, wscript arguments, schtasks /tr, WMI create, decoded text); atStart
// allows it to be all of cl (cl is script text, not the command line itself).
func (st *state) embeddedPowerShell(cl string, depth int, atStart bool) {
	lower := asciiLower(cl) // same byte offsets as cl: indexes found in it slice cl
	for off, sites := 0, 0; off < len(lower) && sites < 8; sites++ {
		i := indexEither(lower[off:], "powershell", "pwsh")
		if i < 0 {
			return
		}
		i += off
		off = i + 4
		if i == 0 && !atStart {
			continue // the program itself, handled by the caller
		}
		if i > 0 && !strings.ContainsRune(" \t\"'(=\\/:;,", rune(lower[i-1])) {
			continue
		}
		end := strings.IndexAny(cl[i:], "\r\n")
		if end < 0 {
			end = len(cl) - i
		}
		inner := cl[i : i+end]
		name := strings.TrimSuffix(strings.Fields(strings.ToLower(inner) + " ")[0], ".exe")
		name = strings.Trim(name, `"'`)
		if (name != "powershell" && name != "pwsh") || !strings.ContainsAny(inner, " \t") {
			continue
		}
		inner = strings.TrimRight(inner, `"')`)
		inner = strings.ReplaceAll(inner, `""`, `"`) // VBScript doubled quotes
		st.commandLine(inner, Process{}, depth+1)
		return
	}
}

// asciiLower lower-cases A-Z only, so every byte keeps its offset. strings.ToLower
// may change lengths (an invalid UTF-8 byte becomes the three-byte U+FFFD), and an
// index found in its result would then slice the original text at the wrong place.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// indexEither returns the first index of a or b in s, or -1.
func indexEither(s, a, b string) int {
	i, j := strings.Index(s, a), strings.Index(s, b)
	switch {
	case i < 0:
		return j
	case j < 0:
		return i
	}
	return min(i, j)
}

// cmd handles cmd.exe: its switches, then the commands after /c, /k or /r. The
// switches are read from the raw text, where cmd.exe reads them: they may be glued
// ("/q/c", "/c@echo off", "/c\"x\"").
func (st *state) cmd(cl string, argv []string, depth int) {
	flags, rest, ok := cmdSwitches(cmdline.RestAfterArgs(cl, 1))
	if depth == 0 {
		st.res.Flags = flags
	}
	if !ok {
		return
	}
	rest = stripCmdQuotes(strings.TrimSpace(rest), contains(flags, "/s"))
	rest = cmdline.UnescapeCaret(rest)
	st.impacket(rest)
	vars := map[string]string{}
	discovery := map[string]bool{} // the kinds of discovery the chain runs
	segs := cmdline.SplitCmdOperators(rest)
	for i, compounds := 0, 0; i < len(segs); i++ {
		if i >= 8 {
			st.tag(tagInputTruncated)
			break
		}
		seg := cmdBuiltinPrefix(segs[i])
		if inner, ok := cmdCompound(seg); ok && compounds < 8 {
			compounds++
			// The commands an if or for runs take the place of the compound.
			segs = append(segs[:i:i], append(inner, segs[i+1:]...)...)
			i--
			continue
		}
		if name, value, ok := cmdSet(seg); ok {
			vars[name] = value
			if name == "comspec" && value != "" && cmdline.BaseName(strings.Trim(firstField(value), `"`)) != "cmd.exe" {
				st.tag(tagLolbinProxyExec) // ComSpec hijack: scripts that start %ComSpec% start this instead
			}
			continue
		}
		seg = expandCmdVars(seg, vars)
		if resolved, ok := resolveEnvSubstrings(seg); ok {
			// DOSfuscation: the program is spelled with substrings of variables.
			before, after := firstField(seg), firstField(resolved)
			if strings.Contains(before, ":~") && familyOf(programName("", []string{strings.Trim(after, `"`)})) != FamilyOther {
				st.tag(tagCmdObfuscation, tagCmdObfuscatedProgram)
			}
			seg = resolved
		}
		st.typeFromShare(seg)
		seg = stripRedirections(seg)
		if k := discoveryKind(cmdline.SplitWindows(seg)); k != "" {
			discovery[k] = true
		}
		st.commandLine(seg, Process{ParentImage: "cmd.exe"}, depth+1)
	}
	if len(discovery) >= minDiscoveryChain {
		st.tag(tagDiscoveryChain)
	}
}

// firstField is the first blank-separated word of s ("" when there is none).
func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// cmdCompound returns the commands an if or for built-in runs: both branches of
// if … (a) else (b) or the command after the condition, and the ('command') a
// for /f reads plus the command after do. ok is false for any other segment.
func cmdCompound(seg string) (inner []string, ok bool) {
	low := asciiLower(seg)
	switch {
	case strings.HasPrefix(low, "if ") || strings.HasPrefix(low, "if("):
		body := strings.TrimSpace(seg[2:])
		for _, w := range []string{"/i ", "not "} {
			if strings.HasPrefix(asciiLower(body), w) {
				body = strings.TrimSpace(body[len(w):])
			}
		}
		if open := unquotedIndex(body, '('); open >= 0 {
			inner = cmdGroups(body[open:])
		} else {
			inner = []string{skipIfCondition(body)}
		}
	case strings.HasPrefix(low, "for "):
		doAt := strings.Index(low, " do ")
		if doAt < 0 {
			return nil, false
		}
		head := seg[:doAt]
		if q := strings.Index(head, "('"); q >= 0 {
			if e := strings.LastIndex(head, "')"); e > q {
				inner = append(inner, head[q+2:e])
			}
		}
		inner = append(inner, strings.TrimSpace(seg[doAt+4:]))
	default:
		return nil, false
	}
	out := inner[:0]
	for _, c := range inner {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out, true
}

// cmdGroups returns the contents of "(a) else (b)": each parenthesised group, or
// the bare command after else.
func cmdGroups(s string) []string {
	var out []string
	for len(out) < 2 {
		s = strings.TrimSpace(s)
		if !strings.HasPrefix(s, "(") {
			if s != "" {
				out = append(out, s)
			}
			break
		}
		depth, end := 0, -1
		quoted := false
		for i := 0; i < len(s) && end < 0; i++ {
			switch s[i] {
			case '"':
				quoted = !quoted
			case '(':
				if !quoted {
					depth++
				}
			case ')':
				if !quoted {
					if depth--; depth == 0 {
						end = i
					}
				}
			}
		}
		if end < 0 {
			out = append(out, s[1:])
			break
		}
		out = append(out, s[1:end])
		s = strings.TrimSpace(s[end+1:])
		if !strings.HasPrefix(asciiLower(s), "else") {
			break
		}
		s = s[len("else"):]
	}
	return out
}

// skipIfCondition returns the command after an if condition written without
// parentheses: exist/defined/errorlevel/cmdextversion X, a==b, or a OP b.
func skipIfCondition(s string) string {
	f := strings.Fields(s)
	skip := 0
	switch {
	case len(f) == 0:
		return ""
	case len(f) >= 2 && (strings.EqualFold(f[0], "exist") || strings.EqualFold(f[0], "defined") ||
		strings.EqualFold(f[0], "errorlevel") || strings.EqualFold(f[0], "cmdextversion")):
		skip = 2
	case strings.Contains(f[0], "==") && !strings.HasSuffix(f[0], "=="):
		skip = 1
	case len(f) >= 3 && (f[1] == "==" || ifOperators[asciiLower(f[1])]):
		skip = 3
	case len(f) >= 2 && strings.HasSuffix(f[0], "=="):
		skip = 2
	}
	if skip >= len(f) {
		return ""
	}
	return strings.Join(f[skip:], " ")
}

// ifOperators are if's comparison operators.
var ifOperators = set("equ", "neq", "lss", "leq", "gtr", "geq")

// unquotedIndex is the index of the first c outside double quotes, or -1.
func unquotedIndex(s string, c byte) int {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			quoted = !quoted
		case s[i] == c && !quoted:
			return i
		}
	}
	return -1
}

// cmdSwitches reads cmd.exe's switches at the start of s (the text after the
// program name) and returns them lower-case, with the text after /c, /k or /r.
func cmdSwitches(s string) (flags []string, rest string, ok bool) {
	for {
		s = strings.TrimLeft(s, " \t")
		if len(s) < 2 || s[0] != '/' {
			return flags, "", false
		}
		end := 2
		for end < len(s) && !strings.ContainsRune(" \t/\"", rune(s[end])) {
			end++
		}
		sw := strings.ToLower(s[:2])
		if sw == "/c" || sw == "/k" || sw == "/r" {
			return append(flags, sw), s[2:], true
		}
		flags = append(flags, strings.ToLower(s[:end]))
		s = s[end:]
	}
}

// cmdBuiltinPrefix drops what cmd.exe strips before running a command: the @ that
// silences echo, grouping parentheses, and the call and start built-ins (with
// start's switches and window title).
func cmdBuiltinPrefix(seg string) string {
	for range 4 {
		seg = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(seg), "@("))
		seg = strings.TrimSpace(strings.TrimRight(seg, ")"))
		low := strings.ToLower(seg)
		switch {
		case strings.HasPrefix(low, "call "):
			seg = seg[5:]
		case strings.HasPrefix(low, "start ") || strings.HasPrefix(low, "start\""):
			seg = startTarget(seg[5:])
		default:
			return seg
		}
	}
	return seg
}

// startTarget is the command of a start built-in: after its switches and an
// optional quoted window title.
func startTarget(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "\"") {
		if j := strings.IndexByte(s[1:], '"'); j >= 0 && (j+2 >= len(s) || s[j+2] == ' ') {
			s = strings.TrimSpace(s[j+2:]) // the title
		}
	}
	for strings.HasPrefix(s, "/") {
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return ""
		}
		sw := strings.ToLower(s[:i])
		s = strings.TrimSpace(s[i:])
		if sw == "/d" { // /D path: the working folder
			if j := strings.IndexAny(s, " \t"); j >= 0 {
				s = strings.TrimSpace(s[j:])
			}
		}
	}
	return s
}

// cmdSet parses a "set name=value" built-in (also "set \"name=value\"").
func cmdSet(seg string) (name, value string, ok bool) {
	if len(seg) < 5 || !strings.EqualFold(seg[:4], "set ") {
		return "", "", false
	}
	body := strings.TrimSpace(seg[4:])
	if strings.HasPrefix(body, "/") {
		return "", "", false // set /a, set /p
	}
	body = strings.Trim(body, `"`)
	name, value, ok = strings.Cut(body, "=")
	name = strings.ToLower(strings.TrimSpace(name))
	return name, value, ok && name != ""
}

// expandCmdVars substitutes %name% and !name! of variables set earlier on the same
// line (cmd /v:on "set x=regsvr32&& !x! ..."); other references stay as written.
func expandCmdVars(seg string, vars map[string]string) string {
	if len(vars) == 0 || !strings.ContainsAny(seg, "%!") {
		return seg
	}
	for name, value := range vars {
		for _, ref := range []string{"%" + name + "%", "!" + name + "!"} {
			if i := indexFold(seg, ref); i >= 0 && len(seg)+len(value) <= maxCommandLine {
				seg = seg[:i] + value + seg[i+len(ref):]
			}
		}
	}
	return seg
}

// indexFold is strings.Index ignoring ASCII case.
func indexFold(s, sub string) int {
	return strings.Index(asciiLower(s), asciiLower(sub))
}

// stripCmdQuotes applies cmd.exe's rule for the text after /c: outer quotes are
// removed unless they just quote one executable path. A quoted program followed
// by arguments ("C:\x\a.bat x.exe") is not one path, whatever it ends with.
func stripCmdQuotes(s string, forced bool) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	inner := s[1 : len(s)-1]
	if !forced && strings.Count(s, `"`) == 2 && !strings.ContainsAny(inner, "&|<>()@^") {
		first := inner
		if i := strings.IndexAny(inner, " \t"); i >= 0 {
			first = inner[:i]
		}
		if e := ext(inner); (e == ".exe" || e == ".bat" || e == ".cmd" || e == ".com") && !programExts[ext(first)] {
			return s
		}
	}
	return inner
}

// programExts are the extensions cmd.exe runs as programs.
var programExts = set(".exe", ".bat", ".cmd", ".com")

var reRedirection = regexp.MustCompile(`\s*\d?>>?\s*(?:&\d|"[^"]*"|\S+)`)

// stripRedirections removes output redirections so they are not taken as
// arguments ("x.exe 1> \\127.0.0.1\ADMIN$\__1 2>&1").
func stripRedirections(s string) string {
	return strings.TrimSpace(reRedirection.ReplaceAllString(s, ""))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var reImpacket = regexp.MustCompile(`(?i)>\s*\\\\[^\\\s]+\\(?:admin|c)\$\\`)

// impacket tags output redirected to an administrative share the way Impacket
// wmiexec/smbexec/atexec (and the Metasploit and CrackMapExec modules that copy
// them) do: the command runs on the target and its output is read back over SMB.
func (st *state) impacket(s string) {
	if reImpacket.MatchString(s) {
		st.tag(tagImpacketExec)
	}
}

// typeFromShare: a cmd segment whose type built-in reads a UNC or WebDAV file into a local
// file is a download (LOLBAS Cmd.exe).
func (st *state) typeFromShare(seg string) {
	if len(seg) < 5 || !strings.EqualFold(seg[:5], "type ") {
		return
	}
	rest := strings.TrimSpace(seg[5:])
	if strings.HasPrefix(strings.Trim(rest, `"`), `\\`) && strings.Contains(rest, ">") {
		st.tag(tagLolbinDownload)
	}
}

// systemBinaryCopy tags a copy of a Windows binary to a new name or a
// user-writable folder, the first step of running a renamed LOLBin.
func (st *state) systemBinaryCopy(argv []string) {
	var src, dst string
	for _, a := range argv[1:] {
		if isSwitch(a) {
			continue
		}
		if src == "" {
			src = a
		} else {
			dst = a
		}
	}
	if src == "" || dst == "" || ext(src) != ".exe" {
		return
	}
	n := normPath(src)
	if !strings.Contains(n, `\windows\system32\`) && !strings.Contains(n, `\windows\syswow64\`) {
		return
	}
	if cmdline.BaseName(dst) != cmdline.BaseName(src) && ext(dst) != "" || inUserWritable(dst) {
		st.tag(tagSystemBinaryCopy)
	}
}
