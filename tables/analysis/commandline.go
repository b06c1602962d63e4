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
	}
	if !posix {
		st.cmdObfuscation(raw)
	}
	switch family {
	case FamilyPowerShell:
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
		}
	}
	st.embeddedPowerShell(cl, depth, false)
}

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

// cmd handles cmd.exe: its switches, then the commands after /c, /k or /r.
func (st *state) cmd(cl string, argv []string, depth int) {
	idx := -1
	var flags []string
	for i := 1; i < len(argv); i++ {
		a := strings.ToLower(argv[i])
		if !strings.HasPrefix(a, "/") {
			break
		}
		sw := a
		if len(a) > 2 && (a[:2] == "/c" || a[:2] == "/k" || a[:2] == "/r") && a[2] != ':' {
			sw = a[:2] // "/c"..." glued to its command
		}
		flags = append(flags, sw)
		if sw == "/c" || sw == "/k" || sw == "/r" {
			idx = i
			break
		}
	}
	if depth == 0 {
		st.res.Flags = flags
	}
	if idx < 0 {
		return
	}
	rest := cmdline.RestAfterArgs(cl, idx)
	// rest begins with the /c switch itself; drop it (it may be glued to text).
	rest = strings.TrimSpace(rest[min(2, len(rest)):])
	rest = stripCmdQuotes(rest, contains(flags, "/s"))
	rest = cmdline.UnescapeCaret(rest)
	st.impacket(rest)
	segs := cmdline.SplitCmdOperators(rest)
	for i, seg := range segs {
		if i >= 8 {
			st.tag(tagInputTruncated)
			break
		}
		st.commandLine(stripRedirections(seg), Process{ParentImage: "cmd.exe"}, depth+1)
	}
}

// stripCmdQuotes applies cmd.exe's rule for the text after /c: outer quotes are
// removed unless they just quote one executable path.
func stripCmdQuotes(s string, forced bool) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	inner := s[1 : len(s)-1]
	if !forced && strings.Count(s, `"`) == 2 && !strings.ContainsAny(inner, "&|<>()@^") {
		if e := ext(inner); e == ".exe" || e == ".bat" || e == ".cmd" || e == ".com" {
			return s
		}
	}
	return inner
}

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

var reImpacket = regexp.MustCompile(`(?i)>\s*\\\\[^\\\s]+\\(?:admin|c|ipc)\$\\__[0-9.]+`)

// impacket tags output redirected to an administrative share the way Impacket
// wmiexec/smbexec/atexec (and the Metasploit modules that copy them) do.
func (st *state) impacket(s string) {
	if reImpacket.MatchString(s) {
		st.tag(tagImpacketExec)
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
