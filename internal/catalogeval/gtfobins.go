package catalogeval

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/exechunt/exechunt/internal/eval"
	"github.com/exechunt/exechunt/internal/packeval"
	"github.com/exechunt/exechunt/packs"
	"github.com/exechunt/exechunt/tables/analysis/cmdline"
	"github.com/exechunt/exechunt/tables/event"
)

// GTFOBinsFunctions are the GTFOBins functions the evaluation counts: the ones that
// run a shell or commands, send a shell back, or fetch a file. The others (file
// read/write, upload, SUID, capabilities…) are out of scope.
var GTFOBinsFunctions = []string{"shell", "command", "reverse-shell", "download"}

// GTFOEvidenceFile is the audit log the GTFOBins evaluation writes.
const GTFOEvidenceFile = "gtfobins-audit.log"

// GTFOCase is one GTFOBins example (or one line of benign administration): the
// processes its shell snippet starts, typed into an interactive bash.
type GTFOCase struct {
	Binary, Function string // Function is "benign" for the administration lines
	Code             string
	Events           []Event
}

// Score is the highest row score of the case's processes.
func (c *GTFOCase) Score() int {
	best := 0
	for _, e := range c.Events {
		best = max(best, e.Score)
	}
	return best
}

// Found reports whether a detection query returned one of its processes.
func (c *GTFOCase) Found() bool {
	for _, e := range c.Events {
		if len(e.Hits) > 0 {
			return true
		}
	}
	return false
}

type gtfoEntry struct {
	Functions map[string][]struct {
		Code     string                            `yaml:"code"`
		Contexts map[string]*struct{ Code string } `yaml:"contexts"`
	} `yaml:"functions"`
}

// LoadGTFOBins reads the examples of GTFOBinsFunctions of every binary in
// dir/_gtfobins (the GTFOBins repository's layout), each with its unprivileged code
// (else the first context's).
func LoadGTFOBins(dir string) ([]*GTFOCase, error) {
	files, err := filepath.Glob(filepath.Join(dir, "_gtfobins", "*"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("catalogeval: no GTFOBins entries in %s: %v", dir, err)
	}
	sort.Strings(files)
	var out []*GTFOCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("catalogeval: %w", err)
		}
		var e gtfoEntry
		if err := yaml.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("catalogeval: %s: %w", f, err)
		}
		for _, fn := range GTFOBinsFunctions {
			for _, ex := range e.Functions[fn] {
				code := ex.Code
				if code == "" {
					for _, ctx := range []string{"unprivileged", "sudo", "suid"} {
						if c := ex.Contexts[ctx]; c != nil && c.Code != "" {
							code = c.Code
							break
						}
					}
				}
				if strings.TrimSpace(code) != "" {
					out = append(out, &GTFOCase{Binary: filepath.Base(f), Function: fn, Code: code})
				}
			}
		}
	}
	return out, nil
}

//go:embed benign-linux.txt
var benignLinux string

// BenignLinux are ordinary Linux administration command lines (benign-linux.txt),
// evaluated like the GTFOBins examples: none should score 50 or more.
func BenignLinux() []*GTFOCase {
	var out []*GTFOCase
	for _, line := range strings.Split(benignLinux, "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, &GTFOCase{Binary: strings.Fields(line)[0], Function: "benign", Code: line})
	}
	return out
}

// shellBuiltins run inside the shell: no process.
var shellBuiltins = map[string]bool{
	"cd": true, "echo": true, "export": true, "read": true, "set": true, "source": true, ".": true, "history": true,
	"while": true, "do": true, "done": true, "for": true, "if": true, "then": true, "fi": true, "else": true,
	"true": true, "false": true, "unset": true, "[": true, "[[": true, "eval": true, "trap": true, "{": true, "}": true,
	"printf": true, "ulimit": true, "umask": true, "wait": true, "exit": true, "break": true, "continue": true,
	"alias": true, "enable": true, "exec": true, "case": true, "esac": true, "in": true, "function": true,
}

// gtfoProcs turns a shell snippet into the argument vectors of the programs it
// starts, as an interactive shell runs them: line by line (backslash continuations
// joined), every command of a pipeline or list its own process, leading variable
// assignments and redirections left out (they are not argv), builtins start none,
// exec runs its command. Heredoc bodies and commands starting with a variable are
// passed over.
func gtfoProcs(code string) [][]string {
	code = strings.ReplaceAll(code, "\\\n", " ")
	var out [][]string
	inHeredoc := ""
	for _, line := range strings.Split(code, "\n") {
		t := strings.TrimSpace(line)
		if inHeredoc != "" {
			if t == inHeredoc {
				inHeredoc = ""
			}
			continue
		}
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if i := strings.Index(t, "<<"); i >= 0 {
			inHeredoc = strings.Trim(strings.TrimLeft(strings.Fields(t[i+2:] + " x")[0], "-"), `'"`)
		}
		for _, cmd := range cmdline.SplitCommands(cmdline.SplitPOSIX(t)) {
			var argv []string
			for _, w := range cmd {
				switch {
				case len(argv) == 0 && strings.Contains(w, "=") && !strings.HasPrefix(w, "="):
					continue // VAR=value before the command
				case strings.HasPrefix(w, "<") || strings.HasPrefix(w, ">") || strings.HasPrefix(w, "&>") ||
					len(w) > 1 && w[0] >= '0' && w[0] <= '9' && (w[1] == '>' || w[1] == '<'):
					continue // a redirection
				}
				argv = append(argv, w)
			}
			for len(argv) > 0 && argv[0] == "exec" {
				argv = argv[1:]
			}
			if len(argv) == 0 || shellBuiltins[argv[0]] || strings.HasPrefix(argv[0], "$") || strings.HasPrefix(argv[0], "(") {
				continue
			}
			out = append(out, argv)
		}
	}
	return out
}

// imagePath is where a program of a GTFOBins example lives: its own path when the
// example names one, else /usr/bin.
func imagePath(arg0 string) string {
	if strings.HasPrefix(arg0, "/") {
		return arg0
	}
	if strings.HasPrefix(arg0, "./") {
		return "/home/alice/" + strings.TrimPrefix(arg0, "./")
	}
	return "/usr/bin/" + filepath.Base(arg0)
}

// auditWriter writes process creations as a Linux audit log (the records auditd
// writes for an execve).
type auditWriter struct {
	w      *bufio.Writer
	serial uint64
	pid    int64
	t      time.Time
}

func hexArg(a string) string {
	for _, c := range []byte(a) {
		if c <= ' ' || c >= 0x7f || c == '"' {
			return strings.ToUpper(hex.EncodeToString([]byte(a)))
		}
	}
	return `"` + a + `"`
}

// exec writes one execve of argv by ppid and returns its serial and pid.
func (aw *auditWriter) exec(ppid int64, image string, argv []string) (uint64, int64) {
	aw.serial++
	aw.pid += 7
	aw.t = aw.t.Add(150 * time.Millisecond)
	id := fmt.Sprintf("audit(%d.%03d:%d)", aw.t.Unix(), aw.t.Nanosecond()/1e6, aw.serial)
	comm := filepath.Base(image)
	fmt.Fprintf(aw.w, "type=SYSCALL msg=%s: arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=0 items=2 ppid=%d pid=%d auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=4 comm=%s exe=%s key=\"exec\"\n",
		id, ppid, aw.pid, hexArg(comm), hexArg(image))
	fmt.Fprintf(aw.w, "type=EXECVE msg=%s: argc=%d", id, len(argv))
	for i, a := range argv {
		fmt.Fprintf(aw.w, " a%d=%s", i, hexArg(a))
	}
	fmt.Fprintf(aw.w, "\ntype=CWD msg=%s: cwd=\"/home/alice\"\n", id)
	fmt.Fprintf(aw.w, "type=PATH msg=%s: item=0 name=%s inode=1 dev=08:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL\n", id, hexArg(image))
	title := strings.Join(argv, "\x00")
	if len(title) > 128 {
		title = title[:128]
	}
	fmt.Fprintf(aw.w, "type=PROCTITLE msg=%s: proctitle=%s\n", id, strings.ToUpper(hex.EncodeToString([]byte(title))))
	return aw.serial, aw.pid
}

// writeGTFOEvidence writes every case as the processes an ssh session's bash starts,
// one session per case.
func writeGTFOEvidence(path string, cases []*GTFOCase) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	aw := &auditWriter{w: bufio.NewWriter(f), pid: 20000, t: baseTime}
	for _, c := range cases {
		_, shell := aw.exec(1200, "/usr/bin/bash", []string{"-bash"})
		for _, argv := range gtfoProcs(c.Code) {
			image := imagePath(argv[0])
			serial, _ := aw.exec(shell, image, argv)
			c.Events = append(c.Events, Event{Record: serial, Image: image, CommandLine: strings.Join(argv, " "), ParentImage: "/usr/bin/bash"})
		}
		aw.t = aw.t.Add(97 * time.Second)
	}
	if err := aw.w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// GTFOReport is the outcome of the GTFOBins evaluation.
type GTFOReport struct {
	Cases  []*GTFOCase // the catalog's examples
	Benign []*GTFOCase // ordinary administration
}

// EvaluateGTFOBins writes the GTFOBins examples of dir and the benign administration
// lines to evidenceDir as a Linux audit log, scores them through
// process_creation_events and runs ps over them.
func EvaluateGTFOBins(ctx context.Context, dir, evidenceDir string, ps []packs.Pack) (GTFOReport, error) {
	var rep GTFOReport
	var err error
	if rep.Cases, err = LoadGTFOBins(dir); err != nil {
		return rep, err
	}
	rep.Benign = BenignLinux()
	all := append(append([]*GTFOCase(nil), rep.Cases...), rep.Benign...)
	if err := writeGTFOEvidence(filepath.Join(evidenceDir, GTFOEvidenceFile), all); err != nil {
		return rep, fmt.Errorf("catalogeval: %w", err)
	}
	scores, found, err := scoreEvidence(ctx, evidenceDir, GTFOEvidenceFile, ps)
	if err != nil {
		return rep, err
	}
	for _, c := range all {
		for i := range c.Events {
			ev := &c.Events[i]
			s := scores[eval.KeyFor(GTFOEvidenceFile, event.ProviderLinuxAudit, event.EventIDAuditExec, ev.Record, "")]
			ev.Score, ev.Indicators = s.Score, s.Indicators
			k := packeval.Key{File: GTFOEvidenceFile, Provider: event.ProviderLinuxAudit, Place: fmt.Sprint("rec:", ev.Record)}
			ev.Hits, ev.Shown = found.Hits(k), found.Shown(k)
		}
	}
	return rep, nil
}

// Share is the share of cases (with processes) scored at least Threshold, and found
// by a pack, for one function ("" for all).
func (r GTFOReport) Share(function string) (n int, scored, found float64) {
	var s, f int
	for _, c := range r.Cases {
		if function != "" && c.Function != function || len(c.Events) == 0 {
			continue
		}
		n++
		if c.Score() >= Threshold {
			s++
		}
		if c.Found() {
			f++
		}
	}
	if n == 0 {
		return 0, 0, 0
	}
	return n, float64(s) / float64(n), float64(f) / float64(n)
}

// BenignAtOrAbove lists the benign lines scoring Threshold or more.
func (r GTFOReport) BenignAtOrAbove() []*GTFOCase {
	var out []*GTFOCase
	for _, c := range r.Benign {
		if c.Score() >= Threshold {
			out = append(out, c)
		}
	}
	return out
}

// Table is the report per function, then the benign lines' outcome.
func (r GTFOReport) Table() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FUNCTION\tEXAMPLES\tSCORED >= 50\tFOUND BY A PACK")
	for _, fn := range append(append([]string(nil), GTFOBinsFunctions...), "") {
		n, s, f := r.Share(fn)
		name := fn
		if fn == "" {
			name = "all"
		}
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\n", name, n, s, f)
	}
	tw.Flush()
	found := 0
	for _, c := range r.Benign {
		if c.Found() {
			found++
		}
	}
	fmt.Fprintf(&b, "benign administration: %d lines, %d scoring >= %d, %d found by a detection query\n", len(r.Benign), len(r.BenignAtOrAbove()), Threshold, found)
	return b.String()
}

// Misses lists every example neither scored nor found, and every benign line scored
// or found, with what ran.
func (r GTFOReport) Misses() string {
	var b strings.Builder
	for _, c := range r.Cases {
		if c.Score() >= Threshold || c.Found() || len(c.Events) == 0 {
			continue
		}
		fmt.Fprintf(&b, "miss %s/%s (score %d): %s\n", c.Binary, c.Function, c.Score(), strings.ReplaceAll(c.Code, "\n", " ⏎ "))
	}
	for _, c := range r.Benign {
		if c.Score() >= Threshold || c.Found() {
			fmt.Fprintf(&b, "benign flagged (score %d, found %v): %s\n", c.Score(), c.Found(), c.Code)
		}
	}
	return b.String()
}
