package analysis

import (
	"strings"

	"github.com/exechunt/exechunt/tables/analysis/cmdline"
)

// remoteExecValued are the PsExec-family switches that take a value, so the
// command to run starts after them.
var remoteExecValued = set("-u", "-p", "-w", "-n", "-r", "-a", "-g", "-csrc", "-lo", "-dbg", "/user", "/pwd")

// remoteExec: PsExec and its kin (PAExec, RemCom, CsExec, xCmd) run a command on
// \\host through a service they install, or locally as SYSTEM; winrs runs one
// over WinRM (-r:host). Administrators use them too, so the tool alone is weak; a
// password on the command line, a copy in Temp or what the remote command is
// corroborates it. The remote command (cl's raw text after the tool's switches)
// is analysed as PSEXESVC will start it.
func (st *state) remoteExec(cl string, argv []string, depth int) {
	target, system, cmdAt := false, false, -1
	for i := 1; i < len(argv); i++ {
		a := strings.Trim(argv[i], `"`)
		low := strings.ToLower(a)
		switch {
		case strings.HasPrefix(a, `\\`), strings.HasPrefix(low, "-r:"), strings.HasPrefix(low, "-remote:"), strings.HasPrefix(low, "/r:"):
			target = true // \\host, or winrs -r:host
		case low == "-s":
			system = true
		case remoteExecValued[low]:
			if low == "-p" || low == "/pwd" {
				st.cleartextPassword(argvAt(argv, i+1))
			}
			i++
		case strings.HasPrefix(low, "/pwd:") || strings.HasPrefix(low, "-p:") || strings.HasPrefix(low, "-password:"):
			st.cleartextPassword(a[strings.IndexByte(a, ':')+1:])
		case isSwitch(a):
		default:
			cmdAt = i
		}
		if cmdAt >= 0 {
			break
		}
	}
	innerShell := cmdAt >= 0 && shellLike(programName("", argv[cmdAt:cmdAt+1]))
	if target || system && innerShell {
		st.tag(tagRemoteExecTool)
	}
	if cmdAt >= 0 {
		st.commandLine(cmdline.RestAfterArgs(cl, cmdAt), Process{ParentImage: `C:\Windows\PSEXESVC.exe`}, depth+1)
	}
}

// argvAt returns argv[i], or "" past the end.
func argvAt(argv []string, i int) string {
	if i < len(argv) {
		return argv[i]
	}
	return ""
}

// cleartextPassword tags a password given on a command line; an empty value or a
// prompt marker ("*", "-") is not one.
func (st *state) cleartextPassword(v string) {
	v = strings.Trim(strings.TrimSpace(v), `"'`)
	if v != "" && v != "*" && v != "-" && !isSwitch(v) {
		st.tag(tagCleartextCred)
	}
}

// tunnel: an SSH client (plink, ssh, klink) opening a remote (-R) or dynamic
// (-D, SOCKS) forward, which exposes this network to the far end: an RDP port
// published to an intruder's host, a SOCKS proxy into the LAN (T1572). A
// password given with -pw is a credential on the command line.
func (st *state) tunnel(argv []string) {
	for i := 1; i < len(argv); i++ {
		switch a := argv[i]; {
		case a == "-R" || a == "-D" || strings.HasPrefix(a, "-R") && len(a) > 2 && a[2] >= '0' && a[2] <= '9':
			st.tag(tagTunnelForward)
		case a == "-pw":
			st.cleartextPassword(argvAt(argv, i+1))
			i++
		}
	}
}
