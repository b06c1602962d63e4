// Package eval measures exechunt's detection quality on the shared corpus: every
// labelled malicious execution event (LABELS.tsv, scope=execution) and every listed
// benign process creation (BENIGN.tsv) is looked up in the rows the real tables
// (process_creation_events, powershell_script_blocks) return for its file, and counted
// as detected when its score reaches Threshold.
package eval

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/exechunt/exechunt/offline"
	"github.com/exechunt/exechunt/offline/finding"
	"github.com/exechunt/exechunt/offline/scan"
	"github.com/exechunt/exechunt/offline/sqlengine"
	"github.com/exechunt/exechunt/packs"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/evidenceref"
)

// Threshold is the score at which an event counts as detected.
const Threshold = 50

// Row is one labelled event with its analysis.
type Row struct {
	File       string
	Provider   string
	EventID    uint32
	RecordID   uint64
	Locator    string // where the event is in its file, for records without an id
	Technique  string // "" for benign rows
	Reason     string
	Score      int
	Indicators []string
	Summary    string // image <- parent :: cmdline, or the script's first line
	Found      bool
}

// Detected reports whether the row scored at or above Threshold.
func (r Row) Detected() bool { return r.Found && r.Score >= Threshold }

// Report is the outcome of an evaluation.
type Report struct {
	Malicious []Row
	Benign    []Row
}

// Recall is the share of labelled malicious execution events detected.
func (r Report) Recall() float64 { return share(r.Malicious) }

// FalsePositiveRate is the share of listed benign process creations detected.
func (r Report) FalsePositiveRate() float64 { return share(r.Benign) }

func share(rows []Row) float64 {
	if len(rows) == 0 {
		return 0
	}
	n := 0
	for _, r := range rows {
		if r.Detected() {
			n++
		}
	}
	return float64(n) / float64(len(rows))
}

// Missing lists the labelled events that were not found in the corpus.
func (r Report) Missing() []Row {
	var out []Row
	for _, rows := range [][]Row{r.Malicious, r.Benign} {
		for _, row := range rows {
			if !row.Found {
				out = append(out, row)
			}
		}
	}
	return out
}

// Key identifies an event of an evidence file: by its EventRecordID, or, for the
// exported records that carry none, by where it is in the file ("line N"). KeyFor
// makes one.
type Key struct {
	file     string
	provider string
	id       uint32
	record   uint64
	locator  string
}

// stableKey turns BENIGN.tsv's stable_key into the locator form AnalyseFile indexes.
func stableKey(k, image string) string {
	if pid, ok := strings.CutPrefix(k, "NewProcessId="); ok {
		return "pid:" + strconv.FormatInt(event.PID(pid), 10) + ":" + strings.ToLower(image)
	}
	if g := event.GUID(k); g != "" {
		return "guid:" + g
	}
	return ""
}

// KeyFor is the key of an event of file (relative to the evidence folder) from
// provider with this event id and record id, found at locator.
func KeyFor(file, provider string, id uint32, record uint64, locator string) Key {
	if record != 0 {
		locator = ""
	}
	return Key{file, provider, id, record, locator}
}

// Evaluate reads LABELS.tsv and BENIGN.tsv of the corpus in dir, analyses the events
// they name and returns the report.
func Evaluate(ctx context.Context, dir string) (Report, error) {
	var rep Report
	mal, err := readTSV(filepath.Join(dir, "LABELS.tsv"))
	if err != nil {
		return rep, err
	}
	ben, err := readTSV(filepath.Join(dir, "BENIGN.tsv"))
	if err != nil {
		return rep, err
	}
	for _, m := range mal {
		if m["scope"] == "execution" {
			rep.Malicious = append(rep.Malicious, newRow(m, m["technique"]))
		}
	}
	for _, b := range ben {
		rep.Benign = append(rep.Benign, newRow(b, ""))
	}
	files := map[string]bool{}
	for _, rows := range [][]Row{rep.Malicious, rep.Benign} {
		for _, r := range rows {
			files[r.File] = true
		}
	}
	results := map[Key]Scored{}
	for f := range files {
		if err := AnalyseFile(ctx, dir, f, results); err != nil {
			return rep, err
		}
	}
	for _, rows := range [][]Row{rep.Malicious, rep.Benign} {
		for i := range rows {
			r := &rows[i]
			if s, ok := results[KeyFor(r.File, r.Provider, r.EventID, r.RecordID, r.Locator)]; ok {
				r.Found, r.Score, r.Indicators, r.Summary = true, s.Score, s.Indicators, s.Summary
			}
		}
	}
	return rep, nil
}

func newRow(m map[string]string, technique string) Row {
	id, _ := strconv.ParseUint(m["event_id"], 10, 32)
	rec, _ := strconv.ParseUint(m["event_record_id"], 10, 64)
	// LABELS.tsv names records as "line=N" (JSON) or "rec=N" (EVTX header number);
	// BENIGN.tsv has no such column: records without an id are found by their stable
	// key, the process GUID (Sysmon) or NewProcessId and image (4688).
	locator := strings.Replace(m["record"], "line=", "line ", 1)
	if rec == 0 && locator == "" {
		locator = stableKey(m["stable_key"], m["image"])
	}
	return Row{File: m["file"], Provider: m["provider"], EventID: uint32(id), RecordID: rec, Locator: locator, Technique: technique, Reason: m["reason"]}
}

// Scored is one event as the tables score it.
type Scored struct {
	Score      int
	Indicators []string
	Summary    string // image <- parent :: cmdline, or the script's first line
}

// providerOf maps the tables' source column back to the event provider.
var providerOf = map[string]string{
	"sysmon":       "Microsoft-Windows-Sysmon",
	"security":     "Microsoft-Windows-Security-Auditing",
	"sysmon_linux": "Linux-Sysmon",
	"audit":        event.ProviderLinuxAudit,
}

// AnalyseFile serves one evidence file (rel, relative to dir) through the real tables
// on the offline engine (offline/scan, as `exechunt scan` runs them) and records the
// score of every event process_creation_events and powershell_script_blocks show in
// out: a process creation is scored with its parent resolved through lineage, a 4104
// part by the reassembled script block it belongs to.
func AnalyseFile(ctx context.Context, dir, rel string, out map[Key]Scored) error {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := sqlengine.Open(offline.Tables([]string{filepath.Join(dir, rel)}, nil, log), sqlengine.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("eval: %s: %w", rel, err)
	}
	defer e.Close()
	s := scan.New(e, scan.Options{})
	procs := scan.Query{Query: packs.Query{Name: "process creations",
		SQL: "SELECT event_record_id, source, evidence, score, indicators, name, parent_name, cmdline, process_guid, pid, image FROM process_creation_events"}}
	if _, err := s.Query(ctx, procs, func(fd *finding.Finding) error {
		id, _ := strconv.ParseUint(fd.Text("event_record_id"), 10, 64)
		source := fd.Text("source")
		eventID := uint32(1)
		switch source {
		case "security":
			eventID = 4688
		case "audit":
			eventID = event.EventIDAuditExec
		}
		sc := Scored{atoi(fd.Text("score")), splitList(fd.Text("indicators")),
			fmt.Sprintf("%s <- %s :: %s", nameOr(fd.Text("name")), nameOr(fd.Text("parent_name")), fd.Text("cmdline"))}
		out[KeyFor(rel, providerOf[source], eventID, id, fd.Evidence.Locator)] = sc
		if id == 0 { // records without an id are also found by their stable key
			if g := fd.Text("process_guid"); g != "" {
				out[Key{rel, providerOf[source], eventID, 0, "guid:" + g}] = sc
			}
			out[Key{rel, providerOf[source], eventID, 0, "pid:" + fd.Text("pid") + ":" + strings.ToLower(fd.Text("image"))}] = sc
		}
		return nil
	}); err != nil {
		return fmt.Errorf("eval: %s: %w", rel, err)
	}
	scripts := scan.Query{Query: packs.Query{Name: "script blocks", SQL: "SELECT evidence, score, indicators, script_text FROM powershell_script_blocks"}}
	if _, err := s.Query(ctx, scripts, func(fd *finding.Finding) error {
		parts, _ := evidenceref.Decode(fd.Text("evidence"))
		for _, p := range parts {
			out[KeyFor(rel, "Microsoft-Windows-PowerShell", 4104, p.EventRecordID, p.Locator)] = Scored{atoi(fd.Text("score")), splitList(fd.Text("indicators")), firstLine(fd.Text("script_text"))}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("eval: %s: %w", rel, err)
	}
	return nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func nameOr(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

func base(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	if p == "" {
		return "?"
	}
	return p
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return s
}

// ReadTSV reads a tab-separated file with a header line (LABELS.tsv, BENIGN.tsv) into
// one map per row, keyed by the header's column names.
func ReadTSV(path string) ([]map[string]string, error) { return readTSV(path) }

func readTSV(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var header []string
	var rows []map[string]string
	for sc.Scan() {
		cells := strings.Split(sc.Text(), "\t")
		if header == nil {
			header = cells
			continue
		}
		m := map[string]string{}
		for i, h := range header {
			if i < len(cells) {
				m[h] = cells[i]
			}
		}
		rows = append(rows, m)
	}
	return rows, sc.Err()
}

// Table renders the confusion table per technique, the benign side and the totals.
func (r Report) Table() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "technique\tlabelled\tdetected\tmissed\trecall\t")
	type agg struct{ n, hit int }
	by := map[string]*agg{}
	for _, row := range r.Malicious {
		a := by[row.Technique]
		if a == nil {
			a = &agg{}
			by[row.Technique] = a
		}
		a.n++
		if row.Detected() {
			a.hit++
		}
	}
	techs := slices.Sorted(maps.Keys(by))
	for _, t := range techs {
		a := by[t]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.2f\t\n", t, a.n, a.hit, a.n-a.hit, float64(a.hit)/float64(a.n))
	}
	tp := int(r.Recall()*float64(len(r.Malicious)) + 0.5)
	fp := int(r.FalsePositiveRate()*float64(len(r.Benign)) + 0.5)
	fmt.Fprintf(tw, "all malicious\t%d\t%d\t%d\t%.3f\t\n", len(r.Malicious), tp, len(r.Malicious)-tp, r.Recall())
	tw.Flush()
	fmt.Fprintf(&b, "\nbenign process creations: %d, scored >= %d: %d, false-positive rate %.4f\n", len(r.Benign), Threshold, fp, r.FalsePositiveRate())
	fmt.Fprintf(&b, "confusion (threshold %d): TP=%d FN=%d FP=%d TN=%d\n", Threshold, tp, len(r.Malicious)-tp, fp, len(r.Benign)-fp)
	return b.String()
}
