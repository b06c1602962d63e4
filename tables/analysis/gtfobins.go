package analysis

import (
	"regexp"
	"strings"

	"github.com/exechunt/exechunt/tables/analysis/cmdline"
)

// Rules written from the GTFOBins catalogue (../shared/reference/gtfobins): what
// the catalogue's shell, command and reverse-shell functions look like on the
// command line of the binary that is made to do it. They are by technique, never
// by sample: a program documented as running its operand (env, nice, timeout,
// xargs, flock …) that is handed a bare shell; a program option documented as
// running a command (find -exec, tar --checkpoint-action=exec=, zip -TT, rsync -e,
// ssh -o ProxyCommand …) whose value is a shell; and a shell named inside code a
// program is given to run (awk 'BEGIN {system("/bin/sh")}', perl -e 'exec
// "/bin/sh"', vi -c ':!/bin/sh', python os.system/pty.spawn …). A shell that is
// handed a script (nohup bash /opt/app/start.sh, flock /run/x.lock sh -c 'job')
// is the ordinary use of these wrappers and is not tagged.

// gtfoRule is one binary's documented way of running a command: its operands are
// the command (runner), and/or the values of these options are.
type gtfoRule struct {
	runner bool           // the first operand (and what follows) is a command it runs
	opts   []string       // options whose value is a command line ("-o ProxyCommand=" style included)
	shell  *regexp.Regexp // an option value in the program's own language that starts a shell (vi's :shell)
	// bareEnd is an argument that, last, makes the program start its shell (capsh --).
	bareEnd string
}

// reExShell: vi/ex commands that start a shell or a terminal (:shell, :sh, :terminal).
var reExShell = regexp.MustCompile(`^\s*:?\s*(?:sh(?:ell)?|term(?:inal)?)(?:\s|$)`)

// gtfoRules are the GTFOBins binaries with a shell or command function that takes
// a command on the command line. Programs administrators run shells through every
// day (sudo, su, doas, docker, kubectl, podman, nsenter, chroot, ssh's remote
// command, screen, tmux, terminal emulators) are deliberately absent: a shell
// there is a login, not an escape.
var gtfoRules = map[string]gtfoRule{
	// Programs whose function is to run their operand (GTFOBins "shell": prog /bin/sh).
	"env": {runner: true}, "nice": {runner: true}, "nohup": {runner: true}, "timeout": {runner: true},
	"xargs": {runner: true}, "flock": {runner: true}, "taskset": {runner: true}, "ionice": {runner: true},
	"stdbuf": {runner: true}, "setarch": {runner: true}, "linux32": {runner: true}, "linux64": {runner: true},
	"unshare": {runner: true}, "strace": {runner: true}, "ltrace": {runner: true}, "valgrind": {runner: true},
	"time": {runner: true}, "chrt": {runner: true}, "cpulimit": {runner: true}, "aa-exec": {runner: true},
	"aoss": {runner: true}, "choom": {runner: true}, "distcc": {runner: true}, "firejail": {runner: true},
	"grc": {runner: true}, "multitime": {runner: true}, "perf": {runner: true}, "pexec": {runner: true},
	"rlwrap": {runner: true}, "setlock": {runner: true}, "softlimit": {runner: true}, "sshpass": {runner: true},
	"ssh-agent": {runner: true}, "start-stop-daemon": {runner: true}, "systemd-run": {runner: true},
	"torify": {runner: true}, "torsocks": {runner: true}, "proxychains": {runner: true}, "proxychains4": {runner: true},
	"setsid": {runner: true}, "logsave": {runner: true}, "capsh": {runner: true, bareEnd: "--"},
	"watch": {runner: true}, "prlimit": {runner: true}, "numactl": {runner: true}, "cgexec": {runner: true},
	"chpst": {runner: true}, "runcon": {runner: true}, "setpriv": {runner: true}, "faketime": {runner: true},
	"fakeroot": {runner: true}, "entr": {runner: true}, "tini": {runner: true}, "dumb-init": {runner: true},
	"catchsegv": {runner: true}, "sg": {runner: true}, "newgrp": {runner: true}, "ld.so": {runner: true},
	"ld-linux.so.2": {runner: true}, "ld-linux-x86-64.so.2": {runner: true}, "ld-linux-aarch64.so.1": {runner: true},
	"uv": {runner: true}, "yarn": {runner: true}, "npm": {runner: true}, "npx": {runner: true}, "bundle": {runner: true},
	"cabal": {runner: true}, "xdotool": {runner: true}, "tmate": {runner: true}, "mosh": {runner: true},
	"task": {runner: true}, "pidstat": {runner: true, opts: []string{"-e"}}, "ip": {runner: true},
	"scrot": {opts: []string{"-e", "--exec"}}, "dhclient": {opts: []string{"-sf"}}, "codex": {runner: true},
	"plymouth": {runner: true}, "busctl": {opts: []string{"--address"}}, "service": {runner: true},
	"genie": {opts: []string{"-c"}}, "cdist": {opts: []string{"-s"}},
	"apt-get": {opts: []string{"-o"}}, "apt": {opts: []string{"-o"}},
	// Options documented as running a command (GTFOBins "shell"/"command").
	"find":       {opts: []string{"-exec", "-execdir", "-ok", "-okdir", "-fprintf"}},
	"tar":        {opts: []string{"--checkpoint-action=exec", "--to-command", "--use-compress-program", "-I", "--rsh-command", "--info-script", "--new-volume-script", "-F"}},
	"zip":        {opts: []string{"-TT", "--unzip-command"}},
	"rsync":      {opts: []string{"-e", "--rsh", "--rsync-path"}},
	"ssh":        {opts: []string{"ProxyCommand", "LocalCommand", "-oProxyCommand", "-oLocalCommand", "PermitLocalCommand"}},
	"scp":        {opts: []string{"-S", "ProxyCommand", "-oProxyCommand"}},
	"sftp":       {opts: []string{"-S", "ProxyCommand", "-oProxyCommand"}},
	"sshfs":      {opts: []string{"ssh_command", "-oProxyCommand", "ProxyCommand"}},
	"git":        {opts: []string{"core.pager", "core.sshCommand", "core.editor", "--upload-pack", "--receive-pack", "alias"}},
	"hg":         {opts: []string{"alias"}},
	"man":        {opts: []string{"-H", "--html", "-P", "--pager"}},
	"vi":         {opts: []string{"-c", "+"}, shell: reExShell},
	"vim":        {opts: []string{"-c", "+", "--cmd"}, shell: reExShell},
	"nvim":       {opts: []string{"-c", "+", "--cmd"}, shell: reExShell},
	"view":       {opts: []string{"-c", "+"}, shell: reExShell},
	"rvim":       {opts: []string{"-c", "+"}, shell: reExShell},
	"ex":         {opts: []string{"-c", "+"}, shell: reExShell},
	"gdb":        {opts: []string{"-ex", "--ex", "-eval-command", "--eval-command"}},
	"tcpdump":    {opts: []string{"-z"}},
	"aria2c":     {opts: []string{"--on-download-complete", "--on-download-error", "--on-download-start", "--on-download-stop", "--on-bt-download-complete"}},
	"restic":     {opts: []string{"--password-command"}},
	"dnsmasq":    {opts: []string{"--conf-script", "--dhcp-script"}},
	"bpftrace":   {opts: []string{"-c"}},
	"agetty":     {opts: []string{"-l", "--login-program"}},
	"msgfilter":  {opts: []string{"-P"}},
	"nano":       {opts: []string{"-s", "--speller"}},
	"pico":       {opts: []string{"-s", "--speller"}},
	"cpio":       {opts: []string{"--rsh-command"}},
	"gcc":        {opts: []string{"-wrapper"}},
	"g++":        {opts: []string{"-wrapper"}},
	"borg":       {opts: []string{"--rsh"}},
	"certbot":    {opts: []string{"--pre-hook", "--post-hook", "--deploy-hook", "--manual-auth-hook", "--manual-cleanup-hook"}},
	"dmsetup":    {opts: []string{"--exec"}},
	"openvpn":    {opts: []string{"--up", "--down", "--route-up", "--ipchange", "--client-connect", "--learn-address", "--tls-verify", "--auth-user-pass-verify"}},
	"pip":        {opts: []string{"--editor"}},
	"pip3":       {opts: []string{"--editor"}},
	"gem":        {opts: []string{"-e", "--editor"}},
	"latexmk":    {opts: []string{"-pdflatex", "-latex", "-lualatex", "-xelatex", "-e"}},
	"enscript":   {opts: []string{"-I", "--filter"}},
	"rpm":        {opts: []string{"--pipe", "--eval"}},
	"mail":       {opts: []string{"--exec", "-E"}},
	"yt-dlp":     {opts: []string{"--exec", "--exec-before-download"}},
	"youtube-dl": {opts: []string{"--exec"}},
	"wget":       {opts: []string{"--use-askpass"}},
	"perlbug":    {opts: []string{"-e"}},
	"zathura":    {opts: []string{"--synctex-editor-command"}},
	"fzf":        {opts: []string{"--bind", "--preview"}},
	"socket":     {opts: []string{"-p", "-qvp", "-vp", "-qp"}},
	"script":     {opts: []string{"-c", "--command"}},
	"expect":     {opts: []string{"-c"}},
	"csvtool":    {opts: []string{"call"}},
	"make":       {opts: []string{"--eval", "SHELL"}},
}

// gtfoShells are the shells an escape starts.
const gtfoShells = `(?:sh|bash|dash|zsh|ksh|ash|mksh|csh|tcsh|fish|yash|posh|busybox\s+sh)`

var (
	// A shell path, or a bare shell name, then only shell switches and redirections
	// to the terminal or between descriptors, then the end of the text or what ends
	// code (quote, bracket, ;, #, |, &, comma …): a shell given nothing to run is an
	// interactive shell.
	reBareShell = `(?:[\w.-]*/)*` + gtfoShells +
		`(?:\s+-[-silp]*)*(?:\s*[0-9]?(?:[<>]&?|&>)\s*(?:[0-9]|/dev/(?:tty|pts/\d+|null)|\$\(tty\)))*\s*(?:$|[;&|)}'"#,\\` + "`" + `\]])`
	// A shell starting an argument (an option's value, the text after a runner).
	reShellStart = regexp.MustCompile(`^\s*(?:exec\s+)?` + reBareShell)
	// A shell inside code: after something that runs it (exec, system(, spawn,
	// !, a quote, =, ;, |, (, {, backquote).
	// After = only a shell path counts (ft=sh, --lang=bash name a language).
	reShellInCode = regexp.MustCompile(`(?:(?:[;&|!({'"` + "`" + `:,]|\bexec[\s=]+|\bspawn\s+|\bsystem\s+|\(shell\s+|\.(?:shell|system)\s+)\s*|=\s*(?:[\w.-]*)/)` + reBareShell +
		// sh -c '$@|sh' _ echo sh: the arguments echoed into a shell, GTFOBins' way
		// through an exec(String) that splits on spaces (jjs, jrunscript).
		`|\$@\s*\|\s*(?:[\w.-]*/)*` + gtfoShells + `\s+_\s`)
)

// gtfoProgram is the rule key of a program base name: the name without a version
// suffix (python3.11 → python3 is not needed here: the rules name tools, not runtimes).
func gtfoProgram(program string) string {
	return strings.TrimSuffix(cmdline.BaseName(program), ".exe")
}

// gtfoNoEscape are programs a shell is started through at every login or admin
// session: a shell there is not an escape hatch.
var gtfoNoEscape = set("sudo", "su", "doas", "pkexec", "ksu", "runuser", "login", "docker", "podman", "kubectl",
	"nerdctl", "crictl", "ctr", "lxc", "lxc-attach", "machinectl", "nsenter", "chroot", "screen", "tmux", "xterm",
	"gnome-terminal", "konsole", "terminator", "alacritty", "kitty", "tilix", "urxvt", "chsh", "usermod", "useradd",
	"adduser", "which", "whereis", "type", "file", "ls", "stat", "ldd", "readlink", "realpath", "grep", "egrep", "fgrep",
	"dnf", "yum", "zypper", "pacman", "apk", "dpkg", "rpm2cpio", "update-alternatives", "cp", "mv",
	"ln", "rm", "install", "chmod", "chown", "sha256sum", "md5sum", "strings", "pgrep", "pkill", "killall", "echo",
	"printf", "git-shell")

// gtfobins tags a program (not itself a shell) that is made to start a shell or a
// command the way the GTFOBins catalogue documents.
func (st *state) gtfobins(program string, argv []string) {
	if len(argv) < 2 {
		return
	}
	name := gtfoProgram(program)
	if gtfoNoEscape[name] || posixShells[name] {
		return
	}
	args := argv[1:]
	rule := gtfoRules[name]
	escape := false
	// A runner handed a bare shell as its command.
	if rule.runner && runnerRunsShell(args) || rule.bareEnd != "" && args[len(args)-1] == rule.bareEnd {
		escape = true
	}
	// An option documented as running a command, given a shell.
	for i, a := range args {
		for _, o := range rule.opts {
			if a == o && i+1 < len(args) && isShellPath(args[i+1]) {
				// The shell is the option's argv (find -exec sh -c '…' _ {} \;):
				// an escape when it is handed no script.
				if runnerRunsShell(args[i+1:]) || !shellGetsScript(args[i+2:]) {
					escape = true
				}
			}
		}
	}
	for _, v := range optionValues(args, rule.opts) {
		if isShellPath(v) {
			continue // judged above, with what follows it
		}
		if reShellStart.MatchString(v) || reShellInCode.MatchString(v) || rule.shell != nil && rule.shell.MatchString(v) {
			escape = true
		}
	}
	// A shell named inside code any program is handed to run (an argument with
	// more than the shell's name in it).
	for _, a := range args {
		if len(a) > 2 && strings.ContainsAny(a, " \"'!;(){}=|`:&,") && reShellInCode.MatchString(a) {
			escape = true
		}
	}
	if escape {
		st.tag(tagGTFOShellEscape)
	}
}

// runnerRunsShell: some argument of a runner is a shell, followed only by shell
// switches, redirections or a terminator, up to the end.
func runnerRunsShell(args []string) bool {
	for i, a := range args {
		if !isShellPath(a) {
			continue
		}
		rest := strings.Join(args[i:], " ")
		if reShellStart.MatchString(rest) {
			return true
		}
		// sh -c '<script that itself execs a bare shell>'
		if i+2 < len(args)+1 && i+1 < len(args) && args[i+1] == "-c" && i+2 < len(args) &&
			(reShellStart.MatchString(args[i+2]) || reShellInCode.MatchString(args[i+2])) {
			return true
		}
	}
	return false
}

// shellGetsScript: what follows a shell in an argv gives it something to run: -c
// and a script, or a script file ({} included: find runs each file found).
func shellGetsScript(rest []string) bool {
	if len(rest) == 0 {
		return false
	}
	switch r := rest[0]; {
	case r == "-c":
		return true // a script the runner check above found no bare shell in
	case r == ";" || r == "+" || r == `\;` || strings.HasPrefix(r, "#") || strings.HasPrefix(r, "-"):
		return false
	}
	return true
}

func isShellPath(a string) bool {
	b := cmdline.BaseName(a)
	return posixShells[b] || b == "yash" || b == "posh"
}

// optionValues are the values of the given options: "-x v", "-xv" (short), "--x=v",
// "-o X=v" / "-oX=v" (ssh style, the option name given as "X" or "-oX"), and a bare
// name given as a verb (csvtool call v).
func optionValues(args []string, opts []string) []string {
	var out []string
	for i, a := range args {
		for _, o := range opts {
			switch {
			case a == o:
				if i+1 < len(args) {
					out = append(out, args[i+1])
				}
			case strings.HasPrefix(a, o+"="):
				out = append(out, a[len(o)+1:])
			case strings.HasPrefix(o, "-") && !strings.HasPrefix(o, "--") && len(o) == 2 && strings.HasPrefix(a, o) && len(a) > 2:
				out = append(out, a[2:])
			case strings.HasPrefix(a, "-o"+o+"="), strings.HasPrefix(strings.ToLower(a), strings.ToLower(o)+"="):
				out = append(out, a[strings.Index(a, "=")+1:])
			case strings.HasPrefix(a, o+" "):
				out = append(out, a[len(o)+1:])
			}
		}
	}
	return out
}

// GTFOBins "download": programs documented as fetching a file. Fetching is what
// package managers, installers and administrators do all day, so these tags are
// weak: they corroborate a URL to a bare IP or a paste site, and hunts list them.
var (
	// Inline interpreter code that fetches a URL (python urllib/requests, ruby
	// open-uri/Net::HTTP, php file_get_contents/copy, perl LWP/HTTP::Tiny, julia
	// download, jrunscript cp, node http.get, lua socket.http).
	reCodeFetch = regexp.MustCompile(`(?:urlretrieve|urlopen|urllib|requests\.get|open-uri|uri\.open|net::http|file_get_contents|\bcopy\(|lwp::simple|getstore|http::tiny|\bdownload\(|\bcp\(|https?\.get\(|\bfetch\(|socket\.http|http\.request)[^\n]{0,200}(?:https?|ftp)://|(?:https?|ftp)://[^\n]{0,200}(?:urlretrieve|urlopen|getstore|file_put_contents|copy_stream)`)
	// Interpreters and their inline-code switches.
	codeSwitches = map[string][]string{
		"python": {"-c"}, "python2": {"-c"}, "python3": {"-c"}, "perl": {"-e", "-E"}, "ruby": {"-e"},
		"php": {"-r"}, "node": {"-e", "--eval", "-p"}, "julia": {"-e"}, "jrunscript": {"-e"}, "lua": {"-e"},
		"rscript": {"-e"}, "r": {"-e"},
	}
	// Download tools other than curl and wget (tool_download): their URL operand is fetched to a file.
	gtfoFetchers = set("aria2c", "lwp-download", "lwp-mirror", "axel", "tftp")
)

// gtfoDownload tags a documented GTFOBins download: an interpreter one-liner
// fetching a URL, or a download tool handed one.
func (st *state) gtfoDownload(program string, argv []string) {
	name := interpreterName(gtfoProgram(program))
	if gtfoFetchers[name] {
		for _, a := range argv[1:] {
			if hasURL(a) {
				st.tag(tagGTFODownload)
				return
			}
		}
		return
	}
	if sw := codeSwitches[name]; sw != nil {
		for _, code := range optionValues(argv[1:], sw) {
			if reCodeFetch.MatchString(strings.ToLower(code)) {
				st.tag(tagGTFODownload)
				return
			}
		}
	}
}

// interpreterName is a runtime's name without its version (python3.11 → python3).
func interpreterName(name string) string {
	if i := strings.IndexByte(name, '.'); i > 0 && strings.HasPrefix(name, "python") {
		return name[:i]
	}
	return name
}

// gtfoHooks are options GTFOBins documents as running a program, whose ordinary use
// is rare enough on a command line that any program handed to them is listed
// (gtfo_command_exec, weak): a hook with a shell is gtfo_shell_escape.
var gtfoHooks = map[string][]string{
	"tcpdump":   {"-z"},
	"dnsmasq":   {"--conf-script", "--dhcp-script"},
	"restic":    {"--password-command"},
	"aria2c":    {"--on-download-complete", "--on-download-error", "--on-download-start", "--on-download-stop", "--on-bt-download-complete"},
	"sshfs":     {"ssh_command"},
	"zip":       {"-TT", "--unzip-command"},
	"tar":       {"--checkpoint-action=exec", "--to-command", "--info-script", "--new-volume-script"},
	"find":      {"-fprintf"},
	"dmsetup":   {"--exec"},
	"msgfilter": {"-P"},
	"openvt":    {"--"},
	"bpftrace":  {"-c"},
	"agetty":    {"-l", "--login-program"},
	"busctl":    {"--address"},
}

// reCodeExec: inline interpreter code that runs a command line (php shell_exec,
// exec, system, passthru, popen, proc_open; python os.system, subprocess, os.exec*,
// os.popen; perl/ruby system, exec, backquotes; lua os.execute, io.popen; node
// child_process).
var reCodeExec = regexp.MustCompile(`(?:\bshell_exec|\bpassthru|\bproc_open|\bpopen|\bpcntl_exec|os\.system|os\.exec[lv]p?e?|subprocess\.(?:call|run|popen|check_output)|\bsystem|\bexec|os\.execute|child_process)\s*\(?\s*["'` + "`" + `]`)

// gtfoCommand tags a program made to run a command through a documented hook
// option, or an interpreter one-liner that runs one.
func (st *state) gtfoCommand(program string, argv []string) {
	name := interpreterName(gtfoProgram(program))
	if opts := gtfoHooks[name]; opts != nil && len(optionValues(argv[1:], opts)) > 0 {
		st.tag(tagGTFOCommandExec)
		return
	}
	if sw := codeSwitches[name]; sw != nil {
		for _, code := range optionValues(argv[1:], sw) {
			if reCodeExec.MatchString(code) {
				st.tag(tagGTFOCommandExec)
				return
			}
		}
	}
}

// gtfoShellParents are interactive programs GTFOBins documents as starting a shell
// from their own prompt (less and more: !sh, ftp: !, nmap --interactive …) and
// whose ordinary use starts none. Editors, debuggers and database clients are left
// out: developers and DBAs shell out of them every day.
var gtfoShellParents = set("less", "more", "pg", "man", "ftp", "sftp", "ncftp", "lftp", "psftp", "smbclient",
	"telnet", "tftp", "nmap", "iftop", "ispell", "tasksh", "tdbtool", "debugfs", "scanmem", "hping3",
	"loginctl", "asterisk", "bconsole", "ginsh", "minicom", "zathura", "ncdu", "ranger", "top", "journalctl",
	"systemctl", "dmesg", "busctl", "mail", "mailx", "cpan", "irb", "jjs", "jshell", "ghci", "tclsh", "wish")

// gtfoParentEscape tags an interactive shell (no script, or -c with a bare shell)
// whose parent is one of gtfoShellParents: the shell escape seen from the child.
func (st *state) gtfoParentEscape(p Process, argv []string) {
	if p.ParentImage == "" || !gtfoShellParents[gtfoProgram(cmdline.BaseName(cmdline.CleanPath(p.ParentImage)))] {
		return
	}
	if len(argv) < 2 || reShellStart.MatchString(strings.Join(argv[1:], " ")) || !shellGetsScript(argv[1:]) ||
		argv[1] == "-c" && len(argv) > 2 && reShellStart.MatchString(argv[2]) {
		st.tag(tagGTFOShellEscape)
	}
}
