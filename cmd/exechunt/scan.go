package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/offline/sqlengine"
	"github.com/exechunt/exechunt/orchestrator/csvsafe"
	"github.com/exechunt/exechunt/packs"
)

func init() { subcommands = append(subcommands, newScanCmd) }

// errFindings ends a scan that found something (exit status 1, no message).
var errFindings = errors.New("findings")

type scanFlags struct {
	packs    []string
	packsDir string
	minScore int
	format   string
	quiet    bool
	stacks   bool
	sigma    []string // Sigma rule files/folders to convert and run (sigma.go)
	packSet  bool     // --pack was given
	plugins  []string // --plugin PATH[:SHA256] (plugins.go)
}

func newScanCmd() *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "scan [--pack NAME|all] [--min-score N] [--format table|json|csv|sarif] PATH...",
		Short: "Run the hunt packs over evidence files and print the findings",
		Long: `Runs every query of the chosen packs (the packs built into exechunt, plus those in
--packs-dir) on the offline engine over the evidence (EVTX, JSON lines, Sysmon-for-Linux
syslog; folders are read recursively). Each row a query returns is a finding, printed
with its pack, query, ATT&CK technique, severity, the row itself and its evidence
location (file and event record id, from the row's "evidence" column).

--min-score N drops rows whose "score" column is below N (rows without one are kept).
Queries of severity "info" only feed the fleet stacker (every row of a kind, ranked by
rarity across hosts); they are skipped unless --stacks is given.
Formats: "table" (one line per finding), "json" (an array), "csv", "sarif" (SARIF 2.1.0
for GitHub code scanning and other SARIF viewers). Findings are streamed to stdout;
progress and a summary go to stderr (progress only when stderr is a terminal).

Exit status: 0 when nothing was found, 1 when there are findings, 2 on an error (bad
arguments, a pack that does not load, a query that fails; the other queries still run).`,
		Example: `  exechunt scan ./evidence/
  exechunt scan --pack execution-basics --min-score 70 Security.evtx Sysmon.evtx
  exechunt scan --packs-dir ./my-packs --format sarif ./evidence > exechunt.sarif
  exechunt scan --sigma ./sigma/rules/windows/process_creation ./evidence`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.packSet = cmd.Flags().Changed("pack")
			found, err := runScan(cmd.Context(), f, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
			switch {
			case err != nil:
				return usageError{err}
			case found > 0:
				cmd.SilenceErrors = true
				return errFindings
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.packs, "pack", []string{"all"}, "packs to run, by name (repeat or comma-separate), or all")
	fl.StringVar(&f.packsDir, "packs-dir", "", "also load the packs (*.json, *.conf) of this folder; a pack named like a built-in one replaces it")
	fl.IntVar(&f.minScore, "min-score", 0, "drop findings whose score column is below N")
	fl.StringVar(&f.format, "format", "table", "output format: table, json, csv or sarif")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress and no summary on stderr")
	fl.BoolVar(&f.stacks, "stacks", false, "also run the stack-only (severity info) queries")
	addPluginFlag(cmd, &f.plugins)
	fl.StringSliceVar(&f.sigma, "sigma", nil, "convert the Sigma rules of these files or folders and run them (the built-in packs too only with --pack)")
	return cmd
}

// selectedQuery is one query to run.
type selectedQuery struct {
	pack string
	q    packs.Query
}

// finding is one row of one query.
type finding struct {
	Pack      string         `json:"pack"`
	Query     string         `json:"query"`
	Technique string         `json:"technique,omitempty"`
	Severity  string         `json:"severity,omitempty"`
	Evidence  evidenceRef    `json:"evidence"`
	Row       map[string]any `json:"row"`
	cols      []string
}

// evidenceRef is where a finding's event is: the file, and the event record ids
// (several for a script block made of several events).
type evidenceRef struct {
	File           string   `json:"file,omitempty"`
	Locator        string   `json:"locator,omitempty"`
	EventRecordIDs []uint64 `json:"event_record_ids,omitempty"`
}

func loadPacks(f scanFlags) ([]packs.Pack, error) {
	all, err := packs.Load(packs.FS)
	if err != nil {
		return nil, fmt.Errorf("built-in packs: %w", err)
	}
	if f.packsDir != "" {
		extra, err := packs.Load(os.DirFS(f.packsDir))
		if err != nil {
			return nil, fmt.Errorf("--packs-dir %s: %w", f.packsDir, err)
		}
		byName := map[string]int{}
		for i, p := range all {
			byName[p.Name] = i
		}
		for _, p := range extra {
			if i, ok := byName[p.Name]; ok {
				all[i] = p
			} else {
				all = append(all, p)
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	want := map[string]bool{}
	for _, n := range f.packs {
		want[strings.TrimSuffix(strings.TrimSpace(n), ".json")] = true
	}
	if want["all"] {
		return all, nil
	}
	var out []packs.Pack
	var names []string
	for _, p := range all {
		names = append(names, p.Name)
		if want[p.Name] {
			out = append(out, p)
			delete(want, p.Name)
		}
	}
	if len(want) > 0 {
		var missing []string
		for n := range want {
			missing = append(missing, n)
		}
		sort.Strings(missing)
		return nil, fmt.Errorf("--pack %s: no such pack (known: %s, or all)", strings.Join(missing, ","), strings.Join(names, ", "))
	}
	return out, nil
}

// runScan runs the packs and returns the number of findings.
func runScan(ctx context.Context, f scanFlags, paths []string, stdout, stderr io.Writer) (int, error) {
	ps, err := loadPacks(f)
	if err != nil {
		return 0, err
	}
	if len(f.sigma) > 0 {
		sp, res, err := sigmaPacks(f.sigma)
		if err != nil {
			return 0, err
		}
		if !f.quiet {
			for _, k := range res.Skipped {
				fmt.Fprintf(stderr, "exechunt: sigma: not converted: %s: %s\n", k.File, oneLine(k.Reason, 300))
			}
			fmt.Fprintf(stderr, "exechunt: sigma: %s\n", strings.TrimSpace(res.Summary().String()))
		}
		if !f.packSet {
			ps = nil
		}
		ps = append(ps, sp...)
	}
	var queries []selectedQuery
	for _, p := range ps {
		for _, q := range p.Queries {
			// Severity "info" marks stack-only queries: every row of a kind, for the
			// fleet stacker to rank; offline they are not findings unless asked for.
			if q.Severity == "info" && !f.stacks {
				continue
			}
			queries = append(queries, selectedQuery{p.Name, q})
		}
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return 0, fmt.Errorf("evidence: %w", err)
		}
	}
	out, err := newFindingWriter(f.format, stdout, queries)
	if err != nil {
		return 0, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tables, stopPlugins, err := offlineTables(ctx, paths, f.plugins, log)
	if err != nil {
		return 0, err
	}
	defer stopPlugins()
	e, err := sqlengine.Open(tables, sqlengine.Options{Logger: log})
	if err != nil {
		return 0, err
	}
	defer e.Close()

	start := time.Now()
	prog := startProgress(stderr, f.quiet, len(queries))
	found, failed := 0, 0
	for i, sq := range queries {
		prog.set(i, sq.pack+"/"+sq.q.Name, found)
		n, err := runQuery(ctx, e, sq, f.minScore, out)
		found += n
		if err != nil {
			if ctx.Err() != nil {
				prog.stop()
				return found, ctx.Err()
			}
			var werr writeError
			if errors.As(err, &werr) {
				prog.stop()
				return found, err
			}
			failed++
			prog.clear()
			fmt.Fprintf(stderr, "exechunt: error: %s/%s: %v\n", sq.pack, sq.q.Name, err)
		}
	}
	prog.stop()
	if err := out.close(); err != nil {
		return found, fmt.Errorf("write output: %w", err)
	}
	if !f.quiet {
		fmt.Fprintf(stderr, "exechunt: scan: %d packs, %d queries (%d failed), %d findings in %s\n",
			len(ps), len(queries), failed, found, time.Since(start).Round(time.Millisecond))
	}
	if failed > 0 {
		return found, fmt.Errorf("%d of %d queries failed", failed, len(queries))
	}
	return found, nil
}

// writeError marks a failure to write the output (fatal, unlike a failing query).
type writeError struct{ error }

func runQuery(ctx context.Context, e *sqlengine.Engine, sq selectedQuery, minScore int, out findingWriter) (int, error) {
	rows, err := e.Query(ctx, sq.q.SQL)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols := rows.Columns()
	scoreCol, evCol := -1, -1
	for i, c := range cols {
		switch c {
		case "score":
			scoreCol = i
		case "evidence":
			evCol = i
		}
	}
	n := 0
	for rows.Next() {
		vals := rows.Values()
		if scoreCol >= 0 && minScore > 0 {
			if s, ok := vals[scoreCol].(int64); ok && s < int64(minScore) {
				continue
			}
		}
		fd := finding{Pack: sq.pack, Query: sq.q.Name, Technique: sq.q.Technique, Severity: sq.q.Severity,
			Row: make(map[string]any, len(cols)), cols: cols}
		for i, c := range cols {
			v := vals[i]
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			fd.Row[c] = v
		}
		if evCol >= 0 {
			fd.Evidence = parseEvidence(text(vals[evCol]))
		}
		if err := out.write(&fd); err != nil {
			return n, writeError{err}
		}
		n++
	}
	return n, rows.Err()
}

// parseEvidence reads the evidence column: an object (process creations) or a list
// of parts (script blocks).
func parseEvidence(s string) evidenceRef {
	type part struct {
		File          string `json:"file"`
		Locator       string `json:"locator"`
		EventRecordID uint64 `json:"event_record_id"`
	}
	var parts []part
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "{"):
		var p part
		if json.Unmarshal([]byte(s), &p) == nil {
			parts = []part{p}
		}
	case strings.HasPrefix(s, "["):
		_ = json.Unmarshal([]byte(s), &parts)
	}
	var ref evidenceRef
	for _, p := range parts {
		if ref.File == "" {
			ref.File, ref.Locator = p.File, p.Locator
		}
		if p.EventRecordID != 0 {
			ref.EventRecordIDs = append(ref.EventRecordIDs, p.EventRecordID)
		}
	}
	return ref
}

func (r evidenceRef) String() string {
	if r.File == "" {
		return "-"
	}
	ids := make([]string, len(r.EventRecordIDs))
	for i, id := range r.EventRecordIDs {
		ids[i] = strconv.FormatUint(id, 10)
	}
	if len(ids) == 0 {
		return r.File
	}
	return r.File + " #" + strings.Join(ids, ",")
}

// findingWriter streams findings in one format.
type findingWriter interface {
	write(*finding) error
	close() error
}

func newFindingWriter(format string, w io.Writer, queries []selectedQuery) (findingWriter, error) {
	out := bufio.NewWriterSize(w, 64<<10)
	switch format {
	case "table":
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEVERITY\tTECHNIQUE\tPACK/QUERY\tEVIDENCE\tROW")
		return &tableFindings{out: out, tw: tw}, nil
	case "json":
		return &jsonFindings{out: out}, nil
	case "csv":
		cw := csvsafe.NewWriter(out)
		cw.Write([]string{"pack", "query", "technique", "severity", "file", "event_record_ids", "row"})
		return &csvFindings{out: out, cw: cw}, nil
	case "sarif":
		return newSARIFWriter(out, queries)
	}
	return nil, fmt.Errorf("--format %q: want table, json, csv or sarif", format)
}

type tableFindings struct {
	out *bufio.Writer
	tw  *tabwriter.Writer
	n   int
}

// summary renders a row as "col=value …" without the evidence column.
func summary(fd *finding, max int) string {
	var parts []string
	for _, c := range fd.cols {
		if c == "evidence" {
			continue
		}
		v := text(fd.Row[c])
		if v == "" {
			continue
		}
		parts = append(parts, c+"="+v)
	}
	return oneLine(strings.Join(parts, " "), max)
}

func (t *tableFindings) write(fd *finding) error {
	t.n++
	ev := fd.Evidence
	ev.File = filepath.Base(ev.File) // the full path is in the json, csv and sarif formats
	if fd.Evidence.File == "" {
		ev.File = ""
	}
	_, err := fmt.Fprintf(t.tw, "%s\t%s\t%s/%s\t%s\t%s\n", fd.Severity, fd.Technique, fd.Pack, fd.Query,
		ev, summary(fd, 160))
	if err == nil && t.n%tableBlock == 0 {
		err = t.tw.Flush()
	}
	return err
}

func (t *tableFindings) close() error {
	t.tw.Flush()
	return t.out.Flush()
}

type jsonFindings struct {
	out *bufio.Writer
	n   int
}

func (j *jsonFindings) write(fd *finding) error {
	if j.n == 0 {
		j.out.WriteString("[\n  ")
	} else {
		j.out.WriteString(",\n  ")
	}
	j.n++
	row, err := marshalRow(fd.cols, valuesOf(fd))
	if err != nil {
		return err
	}
	head, err := marshalNoEscape(struct {
		Pack      string      `json:"pack"`
		Query     string      `json:"query"`
		Technique string      `json:"technique,omitempty"`
		Severity  string      `json:"severity,omitempty"`
		Evidence  evidenceRef `json:"evidence"`
	}{fd.Pack, fd.Query, fd.Technique, fd.Severity, fd.Evidence})
	if err != nil {
		return err
	}
	// {"pack":…,"evidence":{…},"row":{…}} with the row's columns in query order.
	j.out.Write(head[:len(head)-1])
	j.out.WriteString(`,"row":`)
	_, err = j.out.Write(row)
	j.out.WriteString("}")
	return err
}

func (j *jsonFindings) close() error {
	if j.n == 0 {
		j.out.WriteString("[")
	} else {
		j.out.WriteString("\n")
	}
	j.out.WriteString("]\n")
	return j.out.Flush()
}

func valuesOf(fd *finding) []any {
	vals := make([]any, len(fd.cols))
	for i, c := range fd.cols {
		vals[i] = fd.Row[c]
	}
	return vals
}

type csvFindings struct {
	out *bufio.Writer
	cw  *csvsafe.Writer
}

func (c *csvFindings) write(fd *finding) error {
	row, err := marshalRow(fd.cols, valuesOf(fd))
	if err != nil {
		return err
	}
	ids := make([]string, len(fd.Evidence.EventRecordIDs))
	for i, id := range fd.Evidence.EventRecordIDs {
		ids[i] = strconv.FormatUint(id, 10)
	}
	return c.cw.Write([]string{fd.Pack, fd.Query, fd.Technique, fd.Severity, fd.Evidence.File, strings.Join(ids, " "), string(row)})
}

func (c *csvFindings) close() error {
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return err
	}
	return c.out.Flush()
}

// progress shows a one-line progress report on stderr when it is a terminal and the
// scan has run for more than progressDelay.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	total   int
	i       int
	name    string
	found   int
	start   time.Time
	shown   bool
	off     bool
	done    chan struct{}
	stopped sync.Once
}

const progressDelay = 1500 * time.Millisecond

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func startProgress(w io.Writer, quiet bool, total int) *progress {
	p := &progress{w: w, total: total, start: time.Now(), done: make(chan struct{})}
	if quiet || !isTerminal(w) {
		close(p.done)
		return p
	}
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				p.mu.Lock()
				if !p.off && time.Since(p.start) >= progressDelay {
					fmt.Fprintf(p.w, "\r\033[Kexechunt: scan: query %d/%d %s, %d findings, %s",
						p.i+1, p.total, p.name, p.found, time.Since(p.start).Round(time.Second))
					p.shown = true
				}
				p.mu.Unlock()
			}
		}
	}()
	return p
}

func (p *progress) set(i int, name string, found int) {
	p.mu.Lock()
	p.i, p.name, p.found = i, name, found
	p.mu.Unlock()
}

// clear erases the progress line before other output on stderr.
func (p *progress) clear() {
	p.mu.Lock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
	p.mu.Unlock()
}

func (p *progress) stop() {
	p.mu.Lock()
	p.off = true
	p.mu.Unlock()
	p.stopped.Do(func() {
		select {
		case <-p.done:
		default:
			close(p.done)
		}
	})
	p.clear()
}

// SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/), as GitHub code
// scanning reads it: one rule per pack query, one result per finding, located at the
// evidence file (and its line for line-based formats).

const sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json"

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifMessage   `json:"shortDescription"`
	FullDescription      sarifMessage   `json:"fullDescription"`
	Help                 sarifMessage   `json:"help"`
	DefaultConfiguration map[string]any `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifMessage      `json:"message"`
	Locations           []any             `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties"`
}

type sarifWriter struct {
	out   *bufio.Writer
	index map[string]int
	n     int
	cwd   string
}

// sarifLevel maps a pack severity to a SARIF level.
func sarifLevel(sev string) string {
	switch sev {
	case "critical", "high":
		return "error"
	case "medium":
		return "warning"
	}
	return "note"
}

// securitySeverity is GitHub's numeric "security-severity" of a pack severity.
func securitySeverity(sev string) string {
	switch sev {
	case "critical":
		return "9.5"
	case "high":
		return "8.0"
	case "medium":
		return "5.5"
	case "low":
		return "3.0"
	}
	return "1.0"
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

func newSARIFWriter(out *bufio.Writer, queries []selectedQuery) (*sarifWriter, error) {
	w := &sarifWriter{out: out, index: map[string]int{}}
	w.cwd, _ = os.Getwd()
	rules := make([]sarifRule, 0, len(queries))
	for _, sq := range queries {
		id := sq.pack + "/" + sq.q.Name
		if _, dup := w.index[id]; dup {
			continue
		}
		w.index[id] = len(rules)
		desc := sq.q.Description
		if desc == "" {
			desc = id
		}
		tags := []string{"security", "execution"}
		if sq.q.Technique != "" {
			tags = append(tags, "external/mitre-attack/"+sq.q.Technique)
		}
		rules = append(rules, sarifRule{
			ID: id, Name: sq.q.Name,
			ShortDescription:     sarifMessage{firstSentence(desc)},
			FullDescription:      sarifMessage{desc},
			Help:                 sarifMessage{desc + "\n\nQuery: " + sq.q.SQL},
			DefaultConfiguration: map[string]any{"level": sarifLevel(sq.q.Severity)},
			Properties: map[string]any{
				"tags": tags, "technique": sq.q.Technique, "severity": sq.q.Severity,
				"security-severity": securitySeverity(sq.q.Severity), "stack": sq.q.Stack,
			},
		})
	}
	driver := map[string]any{
		"name": "exechunt", "version": version, "semanticVersion": strings.TrimPrefix(version, "v"),
		"informationUri": "https://github.com/exechunt/exechunt", "rules": rules,
	}
	if !isSemver(driver["semanticVersion"].(string)) {
		delete(driver, "semanticVersion")
	}
	head, err := marshalNoEscape(map[string]any{"tool": map[string]any{"driver": driver}})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "{\"$schema\":%q,\"version\":\"2.1.0\",\"runs\":[", sarifSchema)
	out.Write(head[:len(head)-1]) // the run object, left open for its results
	out.WriteString(`,"results":[`)
	return w, nil
}

func isSemver(v string) bool {
	parts := strings.SplitN(strings.SplitN(v, "-", 2)[0], ".", 3)
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			return false
		}
	}
	return true
}

// artifactURI is the evidence file as a URI reference: relative to the working
// directory (as code scanning expects paths in the repository) when it is inside it,
// else a file:// URI.
func (w *sarifWriter) artifactURI(file string) string {
	if file == "" {
		return ""
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		abs = file
	}
	if w.cwd != "" {
		if rel, err := filepath.Rel(w.cwd, abs); err == nil && !strings.HasPrefix(rel, "..") {
			return (&url.URL{Path: filepath.ToSlash(rel)}).String()
		}
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/x → /C:/x
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

// lineOf returns the line of a "line N" locator (JSON lines, syslog), else 1.
func lineOf(locator string) int {
	if rest, ok := strings.CutPrefix(locator, "line "); ok {
		if n, err := strconv.Atoi(strings.Fields(rest + " ")[0]); err == nil && n > 0 {
			return n
		}
	}
	return 1
}

func (w *sarifWriter) write(fd *finding) error {
	id := fd.Pack + "/" + fd.Query
	msg := fmt.Sprintf("%s (%s, %s): %s", fd.Query, orDash(fd.Technique), orDash(fd.Severity), summary(fd, 400))
	res := sarifResult{
		RuleID: id, RuleIndex: w.index[id], Level: sarifLevel(fd.Severity),
		Message:    sarifMessage{msg},
		Locations:  []any{},
		Properties: map[string]any{"row": fd.Row, "evidence": fd.Evidence},
	}
	if uri := w.artifactURI(fd.Evidence.File); uri != "" {
		loc := map[string]any{
			"physicalLocation": map[string]any{
				"artifactLocation": map[string]any{"uri": uri},
				"region":           map[string]any{"startLine": lineOf(fd.Evidence.Locator)},
			},
		}
		if fd.Evidence.Locator != "" {
			loc["message"] = sarifMessage{fd.Evidence.Locator}
		}
		res.Locations = append(res.Locations, loc)
	}
	res.PartialFingerprints = map[string]string{"exechuntEvidence/v1": fmt.Sprintf("%s|%s|%v", id, fd.Evidence.File, fd.Evidence.EventRecordIDs)}
	b, err := marshalNoEscape(res)
	if err != nil {
		return err
	}
	if w.n > 0 {
		w.out.WriteString(",")
	}
	w.n++
	w.out.WriteString("\n")
	_, err = w.out.Write(b)
	return err
}

func (w *sarifWriter) close() error {
	w.out.WriteString("\n]}]}\n")
	return w.out.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
