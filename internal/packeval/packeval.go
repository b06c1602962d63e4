// Package packeval measures the hunt packs on the shared corpus (make eval-packs): every
// query of every pack runs on the offline engine (offline + offline/sqlengine, the
// engine of `exechunt scan`), each result row is mapped back to the corpus event it
// shows through its evidence column, and the labelled events (LABELS.tsv,
// scope=execution) and listed benign process creations (BENIGN.tsv) are looked up
// among them.
//
// A labelled event is found when any detection query returns a row for it; a benign
// process creation is flagged the same way. Queries of severity "info" are stack-only
// (their rows are raw material for the fleet stacker, not findings) and do not count.
// Rows of process_lineage queries have no evidence column; they are mapped to the
// process creations with the same pid, start time, name and command line.
package packeval

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/exechunt/exechunt/internal/eval"
	"github.com/exechunt/exechunt/offline"
	"github.com/exechunt/exechunt/offline/finding"
	"github.com/exechunt/exechunt/offline/scan"
	"github.com/exechunt/exechunt/offline/sqlengine"
	"github.com/exechunt/exechunt/packs"
	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/evidenceref"
)

// StackOnly is the severity of queries whose rows are not findings by themselves.
const StackOnly = scan.StackOnly

// Key names one event of the corpus: its file (relative to the corpus), its provider
// and its place (rec:N for an event record id, line:N for a line of a JSON file).
type Key struct {
	File     string
	Provider string
	Place    string
}

// Row is one labelled or listed-benign event.
type Row struct {
	Key
	Technique string   // "" for benign rows
	Reason    string   // the label's reason or the benign row's reason
	Summary   string   // the label's evidence text, or the benign image
	InTables  bool     // the tables show the event at all
	Hits      []string // pack/query of the detection queries that returned it
}

// Detected reports whether a detection query returned the event.
func (r Row) Detected() bool { return len(r.Hits) > 0 }

// QueryStat is what one query returned.
type QueryStat struct {
	Pack, Query, Technique, Severity string
	Rows                             int
	Mapped                           int // rows mapped to a corpus event
	Err                              error
}

// Report is the outcome of an evaluation.
type Report struct {
	Malicious []Row
	Benign    []Row
	Queries   []QueryStat
}

// Recall is the share of labelled execution events some detection query found.
func (r Report) Recall() float64 {
	if len(r.Malicious) == 0 {
		return 0
	}
	return float64(count(r.Malicious)) / float64(len(r.Malicious))
}

// BenignPerThousand is the number of flagged benign process creations per 1,000.
func (r Report) BenignPerThousand() float64 {
	if len(r.Benign) == 0 {
		return 0
	}
	return 1000 * float64(count(r.Benign)) / float64(len(r.Benign))
}

func count(rows []Row) int {
	n := 0
	for _, r := range rows {
		if r.Detected() {
			n++
		}
	}
	return n
}

// TechniqueRecall is recall per labelled technique.
type TechniqueRecall struct {
	Technique               string
	Labelled, InTables, Hit int
}

// ByTechnique returns recall per technique, sorted by technique.
func (r Report) ByTechnique() []TechniqueRecall {
	by := map[string]*TechniqueRecall{}
	for _, row := range r.Malicious {
		t := by[row.Technique]
		if t == nil {
			t = &TechniqueRecall{Technique: row.Technique}
			by[row.Technique] = t
		}
		t.Labelled++
		if row.InTables {
			t.InTables++
		}
		if row.Detected() {
			t.Hit++
		}
	}
	out := make([]TechniqueRecall, 0, len(by))
	for _, t := range by {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Technique < out[j].Technique })
	return out
}

// Findings are the rows every query of a set of packs returned over a folder of
// evidence, mapped back to the events they show. Run makes them; Evaluate (the
// corpus) and internal/catalogeval (the LOLBAS catalog) read them.
type Findings struct {
	Queries []QueryStat
	hits    map[Key][]string
	m       *mapper
}

// Hits returns the detection queries (pack/query, sorted) that returned the event k;
// stack-only queries do not count.
func (f *Findings) Hits(k Key) []string { return dedup(f.hits[k]) }

// Shown reports whether the tables show the event k at all.
func (f *Findings) Shown(k Key) bool { return f.m.known[k] }

// Run runs every query of ps with offline/scan (the engine of `exechunt scan`) over
// the evidence in dir and maps each finding back to the events it shows.
func Run(ctx context.Context, dir string, ps []packs.Pack) (*Findings, error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := sqlengine.Open(offline.Tables([]string{dir}, analysis.New(), log), sqlengine.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	defer e.Close()
	s := scan.New(e, scan.Options{})
	m := &mapper{dir: dir, known: map[Key]bool{}, byProcess: map[procKey][]Key{}, byGUID: map[string]Key{}}
	if err := m.index(ctx, s); err != nil {
		return nil, err
	}
	f := &Findings{hits: map[Key][]string{}, m: m}
	for _, q := range scan.Select(ps, true) {
		st := QueryStat{Pack: q.Pack, Query: q.Name, Technique: q.Technique, Severity: q.Severity}
		var keys []Key
		st.Rows, st.Err = s.Query(ctx, q, func(fd *finding.Finding) error {
			keys = append(keys, m.keys(fd)...)
			return nil
		})
		st.Mapped = len(keys)
		f.Queries = append(f.Queries, st)
		if q.Severity == scan.StackOnly {
			continue
		}
		for _, k := range keys {
			f.hits[k] = append(f.hits[k], q.ID())
		}
	}
	return f, nil
}

// Evaluate runs every query of ps over the corpus in dir and matches the findings
// with LABELS.tsv and BENIGN.tsv.
func Evaluate(ctx context.Context, dir string, ps []packs.Pack) (Report, error) {
	var rep Report
	f, err := Run(ctx, dir, ps)
	if err != nil {
		return rep, err
	}
	rep.Queries = f.Queries
	labels, err := eval.ReadTSV(filepath.Join(dir, "LABELS.tsv"))
	if err != nil {
		return rep, err
	}
	benign, err := eval.ReadTSV(filepath.Join(dir, "BENIGN.tsv"))
	if err != nil {
		return rep, err
	}
	for _, l := range labels {
		if l["scope"] != "execution" {
			continue
		}
		rep.Malicious = append(rep.Malicious, f.row(l, l["technique"], l["evidence"]))
	}
	for _, b := range benign {
		rep.Benign = append(rep.Benign, f.row(b, "", b["image"]))
	}
	return rep, nil
}

// mapper maps result rows and label lines to corpus events.
type mapper struct {
	dir       string
	known     map[Key]bool      // every event the tables show
	byProcess map[procKey][]Key // process creations by pid, time, name, cmdline
	byGUID    map[string]Key    // provider|record|process guid → event (duplicated files)
}

type procKey struct {
	pid, time     int64
	name, cmdline string
}

// index records every event the tables show.
func (m *mapper) index(ctx context.Context, s *scan.Scanner) error {
	procs := scan.Query{Query: packs.Query{Name: "index", SQL: "SELECT evidence, pid, time, name, cmdline, process_guid, event_record_id FROM process_creation_events"}}
	if _, err := s.Query(ctx, procs, func(fd *finding.Finding) error {
		for _, k := range m.evidenceKeys(fd) {
			m.known[k] = true
			pk := procKey{num(fd.Row["pid"]), num(fd.Row["time"]), strings.ToLower(fd.Text("name")), fd.Text("cmdline")}
			m.byProcess[pk] = append(m.byProcess[pk], k)
			if g := fd.Text("process_guid"); g != "" {
				m.byGUID[guidKey(k.Provider, strconv.FormatInt(num(fd.Row["event_record_id"]), 10), g)] = k
			}
		}
		return nil
	}); err != nil {
		return err
	}
	scripts := scan.Query{Query: packs.Query{Name: "index", SQL: "SELECT evidence FROM powershell_script_blocks"}}
	_, err := s.Query(ctx, scripts, func(fd *finding.Finding) error {
		for _, k := range m.evidenceKeys(fd) {
			m.known[k] = true
		}
		return nil
	})
	return err
}

// keys returns the events a finding shows: through its evidence column, or, for a
// process_lineage row (no evidence column), the process creations with its pid,
// start time, name and command line.
func (m *mapper) keys(fd *finding.Finding) []Key {
	if _, ok := fd.Row["evidence"]; ok {
		return m.evidenceKeys(fd)
	}
	for _, c := range []string{"pid", "start_time", "name", "cmdline"} {
		if _, ok := fd.Row[c]; !ok {
			return nil
		}
	}
	return m.byProcess[procKey{num(fd.Row["pid"]), num(fd.Row["start_time"]), strings.ToLower(fd.Text("name")), fd.Text("cmdline")}]
}

// evidenceKeys maps a finding's evidence column to the events it names: one (a
// process creation) or each part of a script block.
func (m *mapper) evidenceKeys(fd *finding.Finding) []Key {
	parts, _ := evidenceref.Decode(fd.Text("evidence"))
	var out []Key
	for _, p := range parts {
		rel, err := filepath.Rel(m.dir, p.File)
		if err != nil {
			rel = p.File
		}
		k := Key{File: filepath.ToSlash(rel), Provider: providerOf(p.Channel)}
		if p.Channel == "" && p.MessageNumber != 0 {
			k.Provider = "Microsoft-Windows-PowerShell" // script-block parts name no channel
		}
		switch {
		case p.EventRecordID != 0:
			k.Place = "rec:" + strconv.FormatUint(p.EventRecordID, 10)
		case strings.HasPrefix(p.Locator, "line "):
			k.Place = "line:" + strings.TrimPrefix(p.Locator, "line ")
		default:
			k.Place = "at:" + p.Locator
		}
		out = append(out, k)
	}
	return out
}

// row resolves one line of LABELS.tsv or BENIGN.tsv to its event.
func (f *Findings) row(l map[string]string, technique, summary string) Row {
	k := Key{File: l["file"], Provider: l["provider"]}
	switch {
	case l["event_record_id"] != "":
		k.Place = "rec:" + l["event_record_id"]
	case strings.HasPrefix(l["record"], "line="):
		k.Place = "line:" + strings.TrimPrefix(l["record"], "line=")
	}
	if !f.Shown(k) {
		// The same event in two files (identical exports) is shown once, under the
		// first file: find it by its record id and process GUID.
		if alt, ok := f.m.byGUID[guidKey(k.Provider, l["event_record_id"], l["stable_key"])]; ok {
			k = alt
		}
	}
	return Row{Key: k, Technique: technique, Reason: l["reason"], Summary: summary, InTables: f.Shown(k), Hits: f.Hits(k)}
}

func guidKey(provider, record, guid string) string {
	g := strings.ToLower(strings.Trim(guid, "{}"))
	return provider + "|" + record + "|" + g
}

func providerOf(channel string) string {
	c := strings.ToLower(channel)
	switch {
	case strings.HasPrefix(c, "linux-sysmon"):
		return "Linux-Sysmon"
	case strings.Contains(c, "sysmon"):
		return "Microsoft-Windows-Sysmon"
	case c == "security":
		return "Microsoft-Windows-Security-Auditing"
	case c == event.ChannelLinuxAudit:
		return event.ProviderLinuxAudit
	case strings.Contains(c, "powershell"):
		return "Microsoft-Windows-PowerShell"
	}
	return channel
}

func dedup(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	s = append([]string(nil), s...)
	sort.Strings(s)
	out := s[:1]
	for _, v := range s[1:] {
		if v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}

func num(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	}
	n, _ := strconv.ParseInt(finding.Text(v), 10, 64)
	return n
}

// Table renders recall per technique, the benign background and what each query returned.
func (r Report) Table() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "technique\tlabelled\tin tables\tfound\tmissed\trecall\t")
	for _, t := range r.ByTechnique() {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.2f\t\n", t.Technique, t.Labelled, t.InTables, t.Hit, t.Labelled-t.Hit, float64(t.Hit)/float64(t.Labelled))
	}
	hit := count(r.Malicious)
	fmt.Fprintf(tw, "all execution\t%d\t\t%d\t%d\t%.3f\t\n", len(r.Malicious), hit, len(r.Malicious)-hit, r.Recall())
	tw.Flush()
	fmt.Fprintf(&b, "\nbenign process creations: %d, flagged by a detection query: %d (%.2f per 1,000)\n",
		len(r.Benign), count(r.Benign), r.BenignPerThousand())
	b.WriteString("\nquery rows (mapped to corpus events; severity info = stack-only, not counted):\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, q := range r.Queries {
		status := ""
		if q.Err != nil {
			status = "ERROR " + q.Err.Error()
		}
		fmt.Fprintf(tw, "  %s/%s\t%s\t%s\t%d\t%d\t%s\n", q.Pack, q.Query, q.Technique, q.Severity, q.Rows, q.Mapped, status)
	}
	tw.Flush()
	return b.String()
}

// Misses lists the labelled events no detection query found, and the benign rows flagged.
func (r Report) Misses() string {
	var b strings.Builder
	for _, row := range r.Malicious {
		if !row.Detected() {
			where := ""
			if !row.InTables {
				where = " (not in the tables)"
			}
			fmt.Fprintf(&b, "  missed %-10s %s%s :: %s\n", row.Technique, row.Reason, where, clip(row.Summary, 140))
		}
	}
	for _, row := range r.Benign {
		if row.Detected() {
			fmt.Fprintf(&b, "  benign flagged by %s: %s %s %s\n", strings.Join(row.Hits, ","), row.File, row.Place, row.Summary)
		}
	}
	return b.String()
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
