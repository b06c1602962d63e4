package catalogeval

import (
	"path"
	"regexp"
	"strings"
)

// proc is one process creation a catalog command causes.
type proc struct {
	Image, CommandLine, CurrentDirectory string
	// OriginalFileName and Company of the PE's version resource; "-" for payloads
	// built by the attacker, which carry none.
	OriginalFileName, Company string
	// Parent is the index of the parent among the command's processes; -1 is the
	// interactive cmd.exe the command is typed into.
	Parent int
}

// shell plays a command as cmd.exe would run it when typed at its prompt: each line
// in turn; a line split at unquoted &, &&, || and |; redirections, carets and
// %VARIABLES% handled by the shell and not seen by the child; built-ins (set, cd,
// copy, echo, type, start, …) run in the shell and create no process; every other
// segment is one process creation whose command line is the segment as typed.
// "cmd /c …" is a process whose text after /c runs again as a line, with that cmd as
// parent. A line of built-ins only (type x > y, start uri) is what a script or a
// dropper runs as "cmd.exe /c <line>", so that is its process. Two forms come from
// other programs' prompts: "diskshadow> exec x" starts the program, which starts x;
// ".shell x" in a debugger starts "cmd.exe /c x" under the debugger of the line
// before. A dot-sourced PowerShell line (". script.ps1") starts a PowerShell session
// in which nothing is a process creation.
type shell struct {
	cat    *index
	own    *Entry
	f      filler
	env    map[string]string // upper-case name → value
	cwd    string
	copies map[string]string // lower-case destination → original file name of the copied program
	procs  []proc
	note   string // why the command caused no process, when it did not
}

func newShell(cat *index, own *Entry, f filler) *shell {
	p := f.acct.profile()
	env := map[string]string{
		"SYSTEMDRIVE": `C:`, "SYSTEMROOT": `C:\Windows`, "WINDIR": `C:\Windows`,
		"TEMP": p + `AppData\Local\Temp`, "TMP": p + `AppData\Local\Temp`,
		"LOCALAPPDATA": p + `AppData\Local`, "APPDATA": p + `AppData\Roaming`,
		"USERPROFILE": strings.TrimSuffix(p, `\`), "USERNAME": f.acct.User, "PUBLIC": `C:\Users\Public`,
		"PROGRAMDATA": `C:\ProgramData`, "PROGRAMFILES": `C:\Program Files`, "PROGRAMFILES(X86)": `C:\Program Files (x86)`,
		"COMSPEC": `C:\Windows\system32\cmd.exe`,
	}
	return &shell{cat: cat, own: own, f: f, env: env, cwd: f.cwd(), copies: map[string]string{}}
}

var (
	promptLine = regexp.MustCompile(`^([A-Za-z][\w.-]*)>\s*(.*)$`)
	envVar     = regexp.MustCompile(`%([A-Za-z_()0-9]+)%`)
	cmdSwitch  = regexp.MustCompile(`(?i)^((?:/[a-z](?::\w+)?\s+)*)/[ck](?:\s+|$)(.*)$`)
	noDefault  = regexp.MustCompile(`(?i)no[ \\]default`) // "no default", C:\there\is\no\default\…
	spacedPath = regexp.MustCompile(`(?i)^((?:[a-z]:\\|\\\\)[^"/]*?\.(?:exe|com|bat|cmd|vbs|wsf|js))(?:\s|$)`)
)

// builtins run inside cmd.exe and create no process.
var builtins = map[string]bool{
	"set": true, "cd": true, "chdir": true, "copy": true, "echo": true, "type": true, "rmdir": true, "rd": true,
	"mkdir": true, "md": true, "del": true, "erase": true, "start": true, "ren": true, "rename": true, "move": true,
	"pushd": true, "popd": true, "cls": true, "exit": true, "title": true, "call": true, "rem": true,
}

// run plays one filled catalog command and returns the processes it creates.
func (sh *shell) run(cmd string) []proc {
	last := -1
	for _, line := range strings.Split(cmd, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, ". "):
			if len(sh.procs) == 0 {
				sh.note = "typed into a PowerShell session (dot-sourced script): no process creation carries it"
			}
			return sh.procs
		case strings.HasPrefix(line, ".shell "):
			last = sh.exec("cmd.exe /c "+strings.TrimSpace(strings.TrimPrefix(line, ".shell ")), last)
			continue
		}
		if m := promptLine.FindStringSubmatch(line); m != nil {
			last = sh.exec(m[1], -1)
			if verb, rest, _ := strings.Cut(m[2], " "); strings.EqualFold(verb, "exec") {
				sh.exec(strings.TrimSpace(rest), last)
			}
			continue
		}
		n := len(sh.procs)
		sh.line(line, -1)
		if len(sh.procs) == n {
			sh.exec("cmd.exe /c "+line, -1)
		}
		last = len(sh.procs) - 1
	}
	return sh.procs
}

// line runs one command line of cmd.exe with parent as the parent of its processes.
func (sh *shell) line(text string, parent int) {
	text = envVar.ReplaceAllStringFunc(text, func(m string) string {
		name := strings.ToUpper(m[1 : len(m)-1])
		if name == "CD" {
			return strings.TrimSuffix(sh.cwd, `\`)
		}
		if v, ok := sh.env[name]; ok {
			return v
		}
		return m
	})
	for _, seg := range splitLine(text) {
		sh.segment(seg, parent)
	}
}

func (sh *shell) segment(seg string, parent int) {
	seg = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(seg), "@"))
	word, rest, _ := strings.Cut(seg, " ")
	word = strings.ToLower(word)
	if !builtins[word] {
		if seg != "" {
			sh.exec(seg, parent)
		}
		return
	}
	rest = strings.TrimSpace(rest)
	switch word {
	case "set":
		if name, value, ok := strings.Cut(strings.Trim(rest, `"`), "="); ok {
			sh.env[strings.ToUpper(strings.TrimSpace(name))] = value
		}
	case "cd", "chdir":
		dir := strings.Trim(strings.TrimSpace(strings.TrimPrefix(rest, "/d ")), `"`)
		if dir != "" {
			sh.cwd = strings.TrimSuffix(sh.abs(dir), `\`) + `\`
		}
	case "copy":
		args := fields(rest)
		if len(args) >= 2 {
			src, dst := sh.abs(args[len(args)-2]), sh.abs(args[len(args)-1])
			if strings.HasSuffix(dst, `\`) {
				dst += base(src)
			}
			if id := sh.cat.identity(base(src)); id != "" {
				sh.copies[strings.ToLower(dst)] = id
			}
		}
	}
}

// exec creates the process of one segment and returns its index.
func (sh *shell) exec(seg string, parent int) int {
	argv0, args := splitArgv0(seg)
	image, ofn, kind := sh.resolve(argv0)
	cmdline := seg
	if strings.Contains(argv0, " ") && !strings.HasPrefix(seg, `"`) {
		cmdline = `"` + argv0 + `"` + args
	}
	switch kind {
	case "script": // as winrm.cmd runs winrm.vbs, and as attackers run catalog scripts
		cmdline = `cscript //nologo "` + image + `"` + args
		image, ofn, _ = sh.resolve("cscript.exe")
	case "batch": // CreateProcess on a batch file runs it through cmd.exe
		cmdline = `C:\Windows\system32\cmd.exe /c ""` + image + `"` + args + `"`
		image, ofn, _ = sh.resolve("cmd.exe")
	}
	company := "-"
	switch {
	case strings.EqualFold(base(image), "GfxDownloadWrapper.exe"):
		company = "Intel Corporation"
	case ofn != "-":
		company = "Microsoft Corporation"
	}
	sh.procs = append(sh.procs, proc{Image: image, OriginalFileName: ofn, Company: company, CommandLine: cmdline, CurrentDirectory: sh.cwd, Parent: parent})
	idx := len(sh.procs) - 1
	if strings.EqualFold(base(image), "cmd.exe") && kind != "batch" {
		if m := cmdSwitch.FindStringSubmatch(strings.TrimSpace(args)); m != nil {
			inner := strings.TrimSpace(m[2])
			if strings.HasPrefix(inner, `"`) { // cmd drops the first and the last quote
				inner = inner[1:]
				if k := strings.LastIndex(inner, `"`); k >= 0 {
					inner = inner[:k] + inner[k+1:]
				}
			}
			cwd, env := sh.cwd, clone(sh.env)
			sh.line(inner, idx)
			sh.cwd, sh.env = cwd, env
		}
	}
	return idx
}

// resolve says which file a command's first word runs and what it is: its path,
// its original file name ("-" for a program neither the catalog nor Windows
// ships) and "script" or "batch" for files a host runs.
func (sh *shell) resolve(argv0 string) (image, ofn, kind string) {
	name := strings.Trim(argv0, `"`)
	if strings.ContainsAny(name, `\/`) {
		image = sh.abs(name)
		if path.Ext(base(image)) == "" {
			image += ".exe"
		}
		image = normalizePath(image)
		ofn = sh.copies[strings.ToLower(image)]
	} else if e := sh.cat.lookup(name, sh.own); e != nil {
		image = sh.entryPath(e)
	} else if p, ok := windowsPrograms[strings.ToLower(withExt(name))]; ok {
		image = p
	} else { // a tool the attacker brought
		image = sh.f.dir() + withExt(name)
	}
	if ofn == "" {
		ofn = sh.cat.identity(base(image))
	}
	if ofn == "" {
		ofn = "-"
	}
	switch strings.ToLower(path.Ext(image)) {
	case ".vbs", ".wsf", ".js":
		kind = "script"
	case ".bat", ".cmd":
		kind = "batch"
	}
	return image, ofn, kind
}

// abs makes p absolute against the shell's current directory.
func (sh *shell) abs(p string) string {
	p = strings.Trim(p, `"`)
	if len(p) >= 2 && (p[1] == ':' || strings.HasPrefix(p, `\\`)) {
		return p
	}
	return sh.cwd + strings.TrimPrefix(p, `.\`)
}

// entryPath is where the entry's binary lives: the Full_Path an attacker would
// run (the .NET 4 build, 64-bit, of .NET tools; else the first) with the user and
// version filled in, or, for tools with no default place, the command's folder.
func (sh *shell) entryPath(e *Entry) string {
	best, bestRank := "", -1
	users := strings.NewReplacer("<username>", sh.f.acct.User, "<user>", sh.f.acct.User, `\Users\user\`, `\Users\`+sh.f.acct.User+`\`)
	for _, p := range e.Paths() {
		if noDefault.MatchString(p) || len(p) < 3 || (p[1] != ':' && !strings.HasPrefix(p, `\\`)) {
			continue
		}
		rank := 0
		if strings.Contains(p, `\v4.0.30319\`) {
			rank += 2
		}
		if strings.Contains(strings.ToLower(p), `\framework64\`) {
			rank++
		}
		if rank > bestRank {
			best, bestRank = p, rank
		}
	}
	if best == "" {
		return sh.f.dir() + e.Name
	}
	return normalizePath(fillVersions(users.Replace(best)))
}

// splitLine splits one cmd.exe line into its commands (at unquoted &, &&, ||, |),
// removing what cmd.exe itself consumes: redirections with their targets and caret
// escapes. Single quotes also protect text (bash -c '… > /dev/tcp/…'), as the
// catalog means them, when they pair up.
func splitLine(s string) []string {
	singles := 0
	in := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			in = !in
		case s[i] == '\'' && !in:
			singles++
		}
	}
	var segs []string
	var b strings.Builder
	dq, sq := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' && !sq:
			dq = !dq
			b.WriteByte(c)
		case c == '\'' && !dq && singles%2 == 0:
			sq = !sq
			b.WriteByte(c)
		case dq || sq:
			b.WriteByte(c)
		case c == '^' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == '&' || c == '|':
			segs = append(segs, b.String())
			b.Reset()
			if i+1 < len(s) && s[i+1] == c {
				i++
			}
		case c == '>' || c == '<':
			cur := b.String()
			if n := len(cur); n > 0 && cur[n-1] >= '0' && cur[n-1] <= '9' && (n == 1 || cur[n-2] == ' ') {
				b.Reset()
				b.WriteString(cur[:n-1]) // the handle of 2>nul
			}
			if i+1 < len(s) && s[i+1] == '>' {
				i++
			}
			if i+1 < len(s) && s[i+1] == '&' { // 2>&1
				i += 2
				continue
			}
			j := i + 1
			for j < len(s) && s[j] == ' ' {
				j++
			}
			if j < len(s) && s[j] == '"' {
				if k := strings.IndexByte(s[j+1:], '"'); k >= 0 {
					j += k + 2
				} else {
					j = len(s)
				}
			} else {
				for j < len(s) && !strings.ContainsRune(" &|<>", rune(s[j])) {
					j++
				}
			}
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	segs = append(segs, b.String())
	out := segs[:0]
	for _, s := range segs {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// splitArgv0 cuts a command into the program it names and the rest (with its
// leading space). An unquoted path with spaces (C:\Program Files\…\x.exe args) is
// read up to its file name.
func splitArgv0(seg string) (argv0, rest string) {
	if strings.HasPrefix(seg, `"`) {
		if k := strings.IndexByte(seg[1:], '"'); k >= 0 {
			return seg[1 : k+1], seg[k+2:]
		}
	}
	if m := spacedPath.FindStringSubmatch(seg); m != nil {
		return m[1], seg[len(m[1]):]
	}
	if k := strings.IndexByte(seg, ' '); k >= 0 {
		return seg[:k], seg[k:]
	}
	return seg, ""
}

// fields splits arguments at spaces outside double quotes, dropping the quotes.
func fields(s string) []string {
	var out []string
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '"':
			in = !in
		case r == ' ' && !in:
			if b.Len() > 0 {
				out = append(out, b.String())
				b.Reset()
			}
		default:
			b.WriteRune(r)
		}
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

func base(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func withExt(name string) string {
	if path.Ext(name) == "" {
		if strings.EqualFold(name, "more") {
			return name + ".com"
		}
		return name + ".exe"
	}
	return name
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// normalizePath writes the well-known folders as Windows does (the catalog writes
// many in lower case): C:\Windows\System32\…, C:\Program Files\….
func normalizePath(p string) string {
	if len(p) >= 2 && p[1] == ':' {
		p = strings.ToUpper(p[:1]) + p[1:]
	}
	for _, f := range knownFolders {
		if len(p) >= len(f) && strings.EqualFold(p[:len(f)], f) {
			p = f + p[len(f):]
		}
	}
	return p
}

// knownFolders are matched longest first.
var knownFolders = []string{
	`C:\Windows\System32\WindowsPowerShell\v1.0\`, `C:\Windows\SysWOW64\WindowsPowerShell\v1.0\`,
	`C:\Windows\Microsoft.NET\Framework64\`, `C:\Windows\Microsoft.NET\Framework\`,
	`C:\Windows\System32\`, `C:\Windows\SysWOW64\`, `C:\Windows\`,
	`C:\Program Files (x86)\`, `C:\Program Files\`, `C:\ProgramData\`, `C:\Users\Public\`, `C:\Users\`,
}

// windowsPrograms are Windows programs the commands name that the catalog does not list.
var windowsPrograms = map[string]string{
	"more.com":     `C:\Windows\System32\more.com`,
	"taskkill.exe": `C:\Windows\System32\taskkill.exe`,
	"calc.exe":     `C:\Windows\System32\calc.exe`,
	"notepad.exe":  `C:\Windows\System32\notepad.exe`,
}

// versions fill the <version> of Full_Path values, by the folder before it.
var versions = []struct{ after, value string }{
	{`microsoft visual studio\`, "2022"},
	{`windows kits\10\bin\`, "10.0.22621.0"},
	{`microsoft sql server\`, "160"},
	{`microsoft.netcore.app\`, "8.0.8"},
	{`dotnet\sdk\`, "8.0.400"},
	{`microsoft sdks\windows\`, "v10.0A"},
	{`exchange server\`, "V15"},
	{`netfx `, "4.8.1"},
	{`pester\`, "3.4.0"},
}

func fillVersions(p string) string {
	p = strings.ReplaceAll(p, "<version_packageid>", "1.21.3231.0_x64__8wekyb3d8bbwe")
	for {
		i := strings.Index(strings.ToLower(p), "<version>")
		if i < 0 {
			return p
		}
		v := "1.0"
		for _, c := range versions {
			if strings.HasSuffix(strings.ToLower(p[:i]), c.after) {
				v = c.value
				break
			}
		}
		p = p[:i] + v + p[i+len("<version>"):]
	}
}
