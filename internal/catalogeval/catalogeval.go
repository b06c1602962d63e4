// Package catalogeval measures what exechunt finds of the LOLBAS catalog (make
// eval-catalog): every command of an execution-relevant category (Categories:
// Execute, AWL Bypass, Download, Compile, UAC Bypass) of every entry of
// ../shared/reference/lolbas/yml (or $EXECHUNT_LOLBAS) becomes the process
// creations it causes, written as Sysmon Event ID 1 records (Winlogbeat JSON lines)
// to a temporary evidence folder; then the real pipeline runs over it, as on any
// evidence: the row score of process_creation_events (internal/eval.AnalyseFile)
// and every hunt pack on the offline engine (internal/packeval.Run). A command is
// scored when one of its processes scores at least Threshold, and found when a
// detection query (severity not info) returns one of them. The report is per
// binary, then every miss with what it ran, its score and indicators: the feedback
// loop for the tags and scores of tables/analysis and for the packs.
//
// All three HonorableMentions (code.exe, GfxDownloadWrapper.exe, PowerShell.exe)
// are Windows binaries with commands of these categories and are counted. Binaries
// left out are listed with the reason in excluded.tsv (binary, or one command of it, and the reason).
//
// # Placeholders
//
// Filled with realistic attacker values, deterministically: every choice is a hash
// of the binary and command (so a command always reads the same and commands spread
// over all values), never a value that makes detection trivial.
//
//	{PATH}, {PATH:.ext}         a file in one of: C:\Users\<u>\AppData\Local\Temp\ (%TEMP%),
//	                            C:\Users\<u>\AppData\Roaming\, C:\Users\Public\, C:\ProgramData\,
//	                            or a bare name in the current directory C:\Users\<u>\Downloads\;
//	                            names such as update, setup, report, invoice_0412 (+ .ext, else .dat)
//	{PATH_ABSOLUTE[:.ext]}      the same folders, always absolute (Downloads in the last slot)
//	{PATH[_ABSOLUTE]:folder}    <that folder>\cache
//	{PATH:.source.exe}, .1.log  source, dest and numbers only tell files apart: x.exe, y.log
//	{PATH_SMB[:.ext|folder]}    \\fs01.corp.example.com\public\…, \\files.northwind-traders.net@SSL\DavWWWRoot\share\…,
//	                            \\DESKTOP-7H2K4LQ\Users\Public\… (file, or the folder "tools")
//	{REMOTEURL[:.ext]}          https://cdn.brightwave-media.com/assets/…, https://files.northwind-traders.net/dl/…,
//	                            https://static.acme-cloudsync.com/v2/…, https://downloads.fabrikam-software.com/releases/…
//	                            (ordinary https sites: no bare IP, no paste or file-sharing service)
//	{CMD}                       a dropped payload: <folder>\<name>.exe, cmd.exe /c <folder>\<name>.exe
//	                            or cmd.exe /c <folder>\<name>.bat
//	{CMD:args}                  /S, -install, --silent, /q /norestart or -c config.dat
//	{CLSID}, {GUID}             a random-looking {XXXXXXXX-XXXX-4XXX-XXXX-XXXXXXXXXXXX}
//	{PID}, {LSASS_PID}          1000–16996, 600–836 (multiples of 4)
//	{process_name}, {name or ID} explorer.exe, 9NKSQGP7F2NH (a Store product id)
//	{a|b|c}, [a|b|c]            a (the first alternative)
//
// Users and hosts rotate too (CORP\jsmith on WKS-0142, CORP\a.kowalski on LT-FIN-027,
// mike on DESKTOP-4J8Q2MV). The catalog's literal example values (c:\data\playfolder,
// 192.168.1.10, attacker.com) stay as written; the three commands it writes in
// prose ("URL", a regular expression in a path, c:\path\to\a\script.ps1) get
// placeholders first (fixups).
//
// # Events
//
// shell turns a filled command into processes as cmd.exe would run it (see its doc):
// Image is the program the command runs, resolved to the catalog's Full_Path when
// the catalog lists it (its own binary, or e.g. rundll32.exe for OSLibraries), to
// C:\Windows\System32 for a few Windows programs it does not list, to the command's
// folder for tools the attacker brings; scripts (.vbs, .wsf) run as
// "cscript //nologo <script> …" as winrm.cmd runs winrm.vbs, batch files through
// cmd.exe /c. OriginalFileName is the PE name Sysmon writes (originalNames, else the
// catalog's Name; a copied program keeps its own; "-" for the attacker's payloads). The parent is an interactive
// C:\Windows\System32\cmd.exe, unless the command names one (cmd /c …, a program's
// prompt, a debugger's .shell). Integrity is High when the catalog says the command
// needs an administrator, System (as NT AUTHORITY\SYSTEM) when it says SYSTEM, else
// Medium. The evidence is written to a temporary folder
// (or $EXECHUNT_CATALOG_EVIDENCE, kept, for `exechunt sql --evidence`); the catalog
// itself is read in place and never copied into this repository.
package catalogeval

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/exechunt/exechunt/internal/eval"
	"github.com/exechunt/exechunt/internal/packeval"
	"github.com/exechunt/exechunt/packs"
)

// Threshold is the row score at which a command counts as scored.
const Threshold = eval.Threshold

// Goal is the share of commands issue 18 wants both scored and found by a pack.
const Goal = 0.95

// Event is one process creation of a case, as the pipeline saw it.
type Event struct {
	Record                                            uint64
	Image, OriginalFileName, CommandLine, ParentImage string
	Score                                             int
	Indicators                                        []string
	Hits                                              []string // detection queries that returned it
	Shown                                             bool     // the tables show it at all
}

// Case is one catalog command of one entry.
type Case struct {
	Entry   *Entry
	Command Command
	Filled  string  // the command with its placeholders filled
	Events  []Event // the process creations it causes, in order
	Note    string  // why it causes none

	acct  account
	procs []proc
}

// Best is the case's highest-scoring event (nil without events).
func (c *Case) Best() *Event {
	var best *Event
	for i := range c.Events {
		if best == nil || c.Events[i].Score > best.Score {
			best = &c.Events[i]
		}
	}
	return best
}

// Score is the highest row score of the case's events.
func (c *Case) Score() int {
	if b := c.Best(); b != nil {
		return b.Score
	}
	return 0
}

// Scored reports whether one of the case's events scores at least Threshold.
func (c *Case) Scored() bool { return c.Score() >= Threshold }

// Found reports whether a detection query returned one of the case's events.
func (c *Case) Found() bool { return len(c.Hits()) > 0 }

// Hits are the detection queries that returned one of the case's events.
func (c *Case) Hits() []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range c.Events {
		for _, h := range e.Hits {
			if !seen[h] {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Exclusion is a binary, or one command of it, left out of the evaluation, with
// the reason. An empty Command leaves out every command of the binary.
type Exclusion struct{ Binary, Command, Reason string }

//go:embed excluded.tsv
var excludedTSV []byte

// Excluded reads excluded.tsv, tab-separated, # starting a comment: a binary (the
// catalog's Name) and the reason, or a binary, one of its catalog commands exactly as
// the catalog writes it, and the reason.
func Excluded() ([]Exclusion, error) {
	var out []Exclusion
	sc := bufio.NewScanner(bytes.NewReader(excludedTSV))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		var x Exclusion
		switch len(cols) {
		case 2:
			x = Exclusion{Binary: cols[0], Reason: cols[1]}
		case 3:
			x = Exclusion{Binary: cols[0], Command: cols[1], Reason: cols[2]}
		}
		x.Binary, x.Command, x.Reason = strings.TrimSpace(x.Binary), strings.TrimSpace(x.Command), strings.TrimSpace(x.Reason)
		if x.Binary == "" || x.Reason == "" || len(cols) == 3 && x.Command == "" {
			return nil, fmt.Errorf("catalogeval: excluded.tsv line %d: want binary<TAB>reason or binary<TAB>command<TAB>reason", n)
		}
		out = append(out, x)
	}
	return out, sc.Err()
}

// Report is the outcome of an evaluation.
type Report struct {
	Cases      []*Case
	Excluded   []Exclusion
	OutOfScope map[string]int // category → commands not counted
	Queries    []packeval.QueryStat
}

// Cases builds the cases of the catalog: every command of a counted category of
// every entry not excluded, filled and played through the shell.
func Cases(entries []*Entry, excluded []Exclusion) ([]*Case, map[string]int) {
	skip := map[string]bool{} // lower-case binary, or binary + "\x00" + command
	for _, x := range excluded {
		k := strings.ToLower(x.Binary)
		if x.Command != "" {
			k += "\x00" + x.Command
		}
		skip[k] = true
	}
	cat := newIndex(entries)
	var cases []*Case
	out := map[string]int{}
	for _, e := range entries {
		for _, cmd := range e.Commands {
			switch {
			case !Categories[cmd.Category]:
				out[cmd.Category]++
				continue
			case skip[strings.ToLower(e.Name)], skip[strings.ToLower(e.Name)+"\x00"+strings.TrimSpace(cmd.Command)]:
				continue
			}
			f := newFiller(e.Name, cmd.Command)
			filled := f.fill(fixup(e, strings.TrimSpace(cmd.Command)))
			sh := newShell(cat, e, f)
			c := &Case{Entry: e, Command: cmd, Filled: filled, acct: f.acct, procs: sh.run(filled), Note: sh.note}
			for _, p := range c.procs {
				c.Events = append(c.Events, Event{Image: p.Image, OriginalFileName: p.OriginalFileName, CommandLine: p.CommandLine})
			}
			for i, p := range c.procs {
				if p.Parent >= 0 {
					c.Events[i].ParentImage = c.procs[p.Parent].Image
				} else {
					c.Events[i].ParentImage = `C:\Windows\System32\cmd.exe`
				}
			}
			cases = append(cases, c)
		}
	}
	return cases, out
}

// fixups rewrite the few commands the catalog writes in prose instead of with
// placeholders (a regular expression in a path, "URL", "DESTINATION FILE").
var fixups = []struct{ binary, old, new string }{
	{"GfxDownloadWrapper.exe", `igdlh64.inf_amd64_[0-9]+`, `igdlh64.inf_amd64_01ee1299f4982efe`},
	{"GfxDownloadWrapper.exe", `"URL" "DESTINATION FILE"`, `"{REMOTEURL:.exe}" "{PATH_ABSOLUTE:.exe}"`},
	{"Powershell.exe", `c:\path\to\a\script.ps1`, `{PATH_ABSOLUTE:.ps1}`},
}

func fixup(e *Entry, cmd string) string {
	for _, f := range fixups {
		if strings.EqualFold(f.binary, e.Name) {
			cmd = strings.ReplaceAll(cmd, f.old, f.new)
		}
	}
	return cmd
}

// Evaluate builds the cases of the catalog in catalogDir, writes their events to
// evidenceDir, scores them through process_creation_events and runs ps over them.
func Evaluate(ctx context.Context, catalogDir, evidenceDir string, ps []packs.Pack) (Report, error) {
	var rep Report
	entries, err := Load(catalogDir)
	if err != nil {
		return rep, err
	}
	if rep.Excluded, err = Excluded(); err != nil {
		return rep, err
	}
	rep.Cases, rep.OutOfScope = Cases(entries, rep.Excluded)
	if err := writeEvidence(filepath.Join(evidenceDir, EvidenceFile), rep.Cases); err != nil {
		return rep, fmt.Errorf("catalogeval: %w", err)
	}
	scores, found, err := scoreEvidence(ctx, evidenceDir, EvidenceFile, ps)
	if err != nil {
		return rep, err
	}
	rep.Queries = found.Queries
	const provider = "Microsoft-Windows-Sysmon"
	for _, c := range rep.Cases {
		for i := range c.Events {
			ev := &c.Events[i]
			s := scores[eval.KeyFor(EvidenceFile, provider, 1, ev.Record, "")]
			ev.Score, ev.Indicators = s.Score, s.Indicators
			k := packeval.Key{File: EvidenceFile, Provider: provider, Place: fmt.Sprint("rec:", ev.Record)}
			ev.Hits, ev.Shown = found.Hits(k), found.Shown(k)
		}
	}
	return rep, nil
}

// scoreEvidence scores the events of the evidence file in dir through
// process_creation_events (eval) and runs ps over dir (packeval): what both the
// LOLBAS and the GTFOBins evaluations check each case against.
func scoreEvidence(ctx context.Context, dir, file string, ps []packs.Pack) (map[eval.Key]eval.Scored, *packeval.Findings, error) {
	scores := map[eval.Key]eval.Scored{}
	if err := eval.AnalyseFile(ctx, dir, file, scores); err != nil {
		return nil, nil, err
	}
	found, err := packeval.Run(ctx, dir, ps)
	if err != nil {
		return nil, nil, err
	}
	return scores, found, nil
}

// Totals counts the cases, the binaries they come from, and how many were scored,
// found, and both.
func (r Report) Totals() (cases, binaries, scored, found, both int) {
	bins := map[*Entry]bool{}
	for _, c := range r.Cases {
		bins[c.Entry] = true
		if c.Scored() {
			scored++
		}
		if c.Found() {
			found++
		}
		if c.Scored() && c.Found() {
			both++
		}
	}
	return len(r.Cases), len(bins), scored, found, both
}

// ScoredShare is the share of commands with an event scoring at least Threshold.
func (r Report) ScoredShare() float64 {
	n, _, s, _, _ := r.Totals()
	return ratio(s, n)
}

// FoundShare is the share of commands a detection query found.
func (r Report) FoundShare() float64 {
	n, _, _, f, _ := r.Totals()
	return ratio(f, n)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Table renders the per-binary table (missed: commands not both scored and found)
// and the totals.
func (r Report) Table() string {
	type agg struct {
		kind                   string
		n, scored, found, both int
	}
	by := map[string]*agg{}
	var names []string
	for _, c := range r.Cases {
		a := by[c.Entry.Name]
		if a == nil {
			a = &agg{kind: c.Entry.Kind}
			by[c.Entry.Name] = a
			names = append(names, c.Entry.Name)
		}
		a.n++
		if c.Scored() {
			a.scored++
		}
		if c.Found() {
			a.found++
		}
		if c.Scored() && c.Found() {
			a.both++
		}
	}
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "binary\tkind\tcommands\tscore>=%d\tfound by pack\tmissed\t\n", Threshold)
	for _, n := range names {
		a := by[n]
		missed := ""
		if a.n > a.both {
			missed = fmt.Sprint(a.n - a.both)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t\n", n, a.kind, a.n, a.scored, a.found, missed)
	}
	tw.Flush()
	n, bins, s, f, both := r.Totals()
	fmt.Fprintf(&b, "\ncommands in scope: %d from %d binaries (categories: Execute, AWL Bypass, Download, Compile, UAC Bypass)\n", n, bins)
	fmt.Fprintf(&b, "  score >= %d:        %3d  (%.3f)\n", Threshold, s, ratio(s, n))
	fmt.Fprintf(&b, "  found by a pack:    %3d  (%.3f)\n", f, ratio(f, n))
	fmt.Fprintf(&b, "  both:               %3d  (%.3f)   goal %.2f\n", both, ratio(both, n), Goal)
	return b.String()
}

// Misses lists every command not both scored and found: binary, category, MitreID,
// what missed, the filled catalog command when the processes differ from it, then
// each process it caused (image <- parent, score, indicators, command line).
func (r Report) Misses() string {
	var b strings.Builder
	for _, c := range r.Cases {
		if c.Scored() && c.Found() {
			continue
		}
		var what []string
		if !c.Scored() {
			what = append(what, fmt.Sprintf("score %d < %d", c.Score(), Threshold))
		}
		if !c.Found() {
			what = append(what, "no pack")
		} else {
			what = append(what, "packs "+strings.Join(c.Hits(), ","))
		}
		fmt.Fprintf(&b, "%s  %s  %s  (%s)\n", c.Entry.Name, c.Command.Category, c.Command.MitreID, strings.Join(what, "; "))
		if len(c.Events) == 0 {
			fmt.Fprintf(&b, "    no process creation: %s\n", c.Note)
		}
		if len(c.Events) != 1 || c.Events[0].CommandLine != c.Filled {
			fmt.Fprintf(&b, "    catalog: %s\n", oneLine(c.Filled))
		}
		for _, e := range c.Events {
			tags := strings.Join(e.Indicators, ",")
			if tags == "" {
				tags = "-"
			}
			fmt.Fprintf(&b, "    %s <- %s  score %d  [%s]\n      %s\n", base(e.Image), base(e.ParentImage), e.Score, tags, e.CommandLine)
		}
	}
	return b.String()
}

// Scope lists the categories not counted and the binaries left out.
func (r Report) Scope() string {
	var b strings.Builder
	cats := slices.Sorted(maps.Keys(r.OutOfScope))
	parts := make([]string, len(cats))
	for i, c := range cats {
		parts[i] = fmt.Sprintf("%s %d", c, r.OutOfScope[c])
	}
	b.WriteString("out of scope (not counted): " + strings.Join(parts, ", "))
	b.WriteString("\nexcluded binaries and commands (excluded.tsv):\n")
	if len(r.Excluded) == 0 {
		b.WriteString("  none\n")
	}
	for _, x := range r.Excluded {
		if x.Command != "" {
			fmt.Fprintf(&b, "  %s `%s`: %s\n", x.Binary, x.Command, x.Reason)
			continue
		}
		fmt.Fprintf(&b, "  %s: %s\n", x.Binary, x.Reason)
	}
	return b.String()
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " \\n ") }
