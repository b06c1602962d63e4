// Package packlint checks hunt packs before they reach a fleet: JSON and pack
// schema errors with file:line (packs.Parse, plus keys osquery would ignore),
// tables and columns unknown to the extension's spec and osquery's schema, SQL
// that does not compile (the offline engine's Check, over stub tables with the
// schema's columns; a table osquery retired is a warning), cron schedules that do not parse, tables not available on
// a query's platform, and exechunt's conventions: stack keys must be result
// columns, and queries over event tables must return time so dispatch can
// window them (packs/README.md).
//
// It links the offline SQL engine, so it lives outside orchestrator/ (which must
// not import tables/); exechunt packs lint is its command.
package packlint

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/offline/sqlengine"
	"github.com/exechunt/exechunt/orchestrator/hunts"
	"github.com/exechunt/exechunt/orchestrator/targeting"
	"github.com/exechunt/exechunt/packs"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// Severities of findings.
const (
	Error   = "error"
	Warning = "warning"
)

// Finding is one problem in a pack file.
type Finding struct {
	File     string `json:"file"`
	Line     int    `json:"line,omitempty"`
	Query    string `json:"query,omitempty"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

func (f Finding) String() string {
	at := f.File
	if f.Line > 0 {
		at += ":" + strconv.Itoa(f.Line)
	}
	q := ""
	if f.Query != "" {
		q = "query " + strconv.Quote(f.Query) + ": "
	}
	return fmt.Sprintf("%s: %s: %s%s", at, f.Severity, q, f.Message)
}

// Table is a table's schema, as osquery's --spec / schema JSON describes it.
type Table struct {
	Name      string   `json:"name"`
	Platforms []string `json:"platforms"`
	Evented   bool     `json:"evented"`
	Columns   []Column `json:"columns"`
}

// Column is one column of a Table.
type Column struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Hidden bool   `json:"hidden,omitempty"`
}

// ParseSchema reads a JSON array of tables: the extension's --spec output
// (testdata/extension-spec.json) or osquery's schema (../shared/reference/osquery-schema.json).
func ParseSchema(data []byte) ([]Table, error) {
	var ts []Table
	if err := json.Unmarshal(data, &ts); err != nil {
		return nil, fmt.Errorf("packlint: schema: %w", err)
	}
	return ts, nil
}

//go:embed osquery-schema.json
var osquerySchema []byte

// OsquerySchema returns osquery's own tables: a compact copy (names, platforms,
// column names and types) of ../shared/reference/osquery-schema.json, kept in
// step by TestOsquerySchemaSnapshot.
func OsquerySchema() []Table {
	ts, err := ParseSchema(osquerySchema)
	if err != nil {
		panic(err) // embedded data, checked by the tests
	}
	return ts
}

// Linter checks packs against a set of tables. It is not safe for concurrent use.
type Linter struct {
	e      *sqlengine.Engine
	tables map[string]Table
	from   *regexp.Regexp
}

// New mounts stub tables with the schemas' columns (later tables win on a name
// clash: pass osquery's schema first, then the extension's).
func New(schemas ...[]Table) (*Linter, error) {
	byName := map[string]Table{}
	for _, ts := range schemas {
		for _, t := range ts {
			byName[strings.ToLower(t.Name)] = t
		}
	}
	var stubs []tablekit.Table
	for _, t := range byName {
		var cols []table.ColumnDefinition
		for _, c := range t.Columns {
			cols = append(cols, table.ColumnDefinition{Name: c.Name, Type: columnType(c.Type), Hidden: c.Hidden})
		}
		if len(cols) == 0 {
			continue
		}
		stubs = append(stubs, tablekit.Table{Name: t.Name, Columns: cols,
			Generate: func(context.Context, table.QueryContext) ([]map[string]string, error) { return nil, nil }})
	}
	e, err := sqlengine.Open(stubs, sqlengine.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, fmt.Errorf("packlint: %w", err)
	}
	return &Linter{e: e, tables: byName, from: regexp.MustCompile(`(?i)\b(?:from|join)\s+["\x60\[]?([a-z_][a-z0-9_]*)`)}, nil
}

// Close releases the engine.
func (l *Linter) Close() error { return l.e.Close() }

func columnType(t string) table.ColumnType {
	switch strings.ToLower(t) {
	case "text":
		return table.ColumnTypeText
	case "int", "integer", "uint", "boolean":
		return table.ColumnTypeInteger
	case "bigint", "unsigned_bigint", "unsigned bigint":
		return table.ColumnTypeBigInt
	case "double":
		return table.ColumnTypeDouble
	case "blob":
		return table.ColumnTypeBlob
	}
	return table.ColumnTypeText
}

// Paths lints files and directories (their *.json and *.conf files, not
// recursive), in name order.
func (l *Linter) Paths(paths []string) ([]Finding, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".json" || ext == ".conf") {
				files = append(files, filepath.Join(p, e.Name()))
			}
		}
	}
	var out []Finding
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, l.File(f, data)...)
	}
	return out, nil
}

// FS lints the *.json and *.conf files at the top of fsys (e.g. packs.FS).
func (l *Linter) FS(fsys fs.FS) ([]Finding, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); e.IsDir() || (ext != ".json" && ext != ".conf") {
			continue
		}
		data, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, l.File(e.Name(), data)...)
	}
	return out, nil
}

var atLine = regexp.MustCompile(`^(.*?):(\d+): (?:query "((?:[^"\\]|\\.)*)": )?(.*)$`)

// File lints one pack file; name is used in findings.
func (l *Linter) File(name string, data []byte) []Finding {
	p, err := packs.Parse(name, data)
	var out []Finding
	if err != nil {
		// Query-level errors (severity, technique, schedule) come with the pack:
		// the other checks still run, so one lint shows every problem of the file.
		out = parseFindings(name, err)
		if len(p.Queries) == 0 {
			return out
		}
	}
	out = append(out, l.unknownKeys(name, data, p)...)
	lineOf := func(q string) int {
		re := regexp.MustCompile(`"` + regexp.QuoteMeta(q) + `"\s*:`)
		if loc := re.FindIndex(data); loc != nil {
			return bytes.Count(data[:loc[0]], []byte("\n")) + 1
		}
		return 0
	}
	for _, q := range p.Queries {
		at := Finding{File: name, Line: lineOf(q.Name), Query: q.Name}
		add := func(sev, format string, a ...any) {
			f := at
			f.Severity, f.Message = sev, fmt.Sprintf(format, a...)
			out = append(out, f)
		}
		if gone := l.retiredTables(q.SQL); len(gone) > 0 {
			// Current osquery answers "no such table"; the pack still loads, and
			// osquery's own packs carry such queries.
			for _, t := range gone {
				add(Warning, "%s: current osquery fails this query with \"no such table\" (not compiled here)", retiredWords(t))
			}
			continue
		}
		cols, err := l.Columns(q.SQL)
		if err != nil {
			add(Error, "%s", sqlMessage(err))
			continue
		}
		platform := q.Platform
		if platform == "" {
			platform = p.Platform
		}
		evented := false
		for _, tn := range l.tablesOf(q.SQL) {
			t := l.tables[tn]
			evented = evented || t.Evented || slices.Contains(hunts.DefaultEventTables, tn)
			if miss := missingPlatforms(platform, t.Platforms); len(miss) > 0 {
				add(Warning, "table %s is not available on %s", t.Name, strings.Join(miss, ", "))
			}
		}
		for _, k := range q.Stack {
			need := k
			if k == packs.ShapeColumn {
				need = "cmdline"
			}
			if !slices.Contains(cols, need) {
				add(Error, "stack key %q: the query returns no %s column", k, need)
			}
		}
		if evented && !q.Snapshot && !slices.Contains(cols, "time") {
			add(Warning, "reads an event table but returns no time column: a dispatch hunt cannot window it")
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

// sqlMessage is the engine's error without its list of every known table (the
// caret under the error and the columns of the named tables stay).
func sqlMessage(err error) string {
	var keep []string
	for _, line := range strings.Split(strings.TrimPrefix(err.Error(), "sql: "), "\n") {
		if !strings.HasPrefix(line, "known tables:") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// Columns compiles sql on the stub tables and returns its result columns, in
// order (exechunt query prints live query rows, which come as objects, with it).
func (l *Linter) Columns(sql string) ([]string, error) {
	if err := l.e.Check(sql); err != nil {
		return nil, err
	}
	rows, err := l.e.Query(context.Background(), sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return slices.Clone(rows.Columns()), nil
}

// tablesOf returns the known tables a query reads (CTE names and subqueries are
// not tables and are skipped).
func (l *Linter) tablesOf(sql string) []string {
	var out []string
	for _, m := range l.from.FindAllStringSubmatch(sql, -1) {
		n := strings.ToLower(m[1])
		if _, ok := l.tables[n]; ok && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// RetiredTables are osquery tables that osquery has removed, with the osquery
// version that removed them ("" where no release note found says). A query on one
// is a warning, not an error: osquery's own packs still carry some.
var RetiredTables = map[string]string{
	"alf_services":     "",       // osquery's packs incident-response and it-compliance read it
	"opera_extensions": "",       // osquery's pack vuln-management reads it
	"lldp_neighbors":   "5.4.0",  // osquery CHANGELOG 5.4.0: "Remove the lldp_neighbors table" (#7664)
	"shortcut_files":   "5.2.3",  // osquery CHANGELOG 5.2.3: "Remove the shortcut_files table" (#7545)
	"atom_packages":    "5.11.0", // osquery #8181 (Nov 2023); absent from osquery 5.11.0's schema (fleetdm/fleet#16597)
}

// retiredWords says that table t was retired, with the version when known.
func retiredWords(t string) string {
	if v := RetiredTables[t]; v != "" {
		return fmt.Sprintf("table %s was removed from osquery in %s", t, v)
	}
	return fmt.Sprintf("table %s was removed from osquery's schema", t)
}

// retiredTables returns the retired osquery tables (RetiredTables) a query reads
// that the schemas linted against do not have.
func (l *Linter) retiredTables(sql string) []string {
	var out []string
	for _, m := range l.from.FindAllStringSubmatch(sql, -1) {
		n := strings.ToLower(m[1])
		if _, retired := RetiredTables[n]; retired && !slices.Contains(out, n) {
			if _, known := l.tables[n]; !known {
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out
}

// missingPlatforms returns the platforms of a query's filter that the table does
// not support (none when either side is unrestricted).
func missingPlatforms(filter string, table []string) []string {
	if len(table) == 0 || strings.TrimSpace(filter) == "" {
		return nil
	}
	var miss []string
	for _, fam := range []string{"windows", "linux", "darwin"} {
		if targeting.PlatformMatches(filter, fam) && !targeting.PlatformMatches(filter, "") &&
			!slices.Contains(table, fam) {
			miss = append(miss, fam)
		}
	}
	return miss
}

// parseFindings splits packs.Parse's (joined) errors into findings.
func parseFindings(name string, err error) []Finding {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out []Finding
	for _, e := range errs {
		f := Finding{File: name, Severity: Error, Message: e.Error()}
		if m := atLine.FindStringSubmatch(e.Error()); m != nil {
			f.File = m[1]
			f.Line, _ = strconv.Atoi(m[2])
			f.Query, _ = strconv.Unquote(`"` + m[3] + `"`)
			f.Message = m[4]
		} else {
			f.Message = strings.TrimPrefix(f.Message, name+": ")
		}
		out = append(out, f)
	}
	return out
}

var (
	packKeys  = []string{"queries", "discovery", "platform", "version", "shard", "oncall"}
	queryKeys = []string{"query", "interval", "removed", "snapshot", "platform", "version", "shard", "denylist",
		"startup_priority", "description", "value", "technique", "severity", "stack", "schedule"}
)

// unknownKeys warns about keys osquery and exechunt ignore (usually typos).
func (l *Linter) unknownKeys(name string, data []byte, p packs.Pack) []Finding {
	clean := stripComments(data)
	var raw struct {
		Queries map[string]map[string]json.RawMessage `json:"queries"`
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(clean, &top) != nil || json.Unmarshal(clean, &raw) != nil {
		return nil // packs.Parse accepted it; nothing more to say
	}
	lineOfKey := func(after int, key string) int {
		i := bytes.Index(clean[after:], []byte(strconv.Quote(key)))
		if i < 0 {
			return 0
		}
		return bytes.Count(clean[:after+i], []byte("\n")) + 1
	}
	var out []Finding
	for _, k := range slices.Sorted(mapsKeys(top)) {
		if !slices.Contains(packKeys, k) {
			out = append(out, Finding{File: name, Line: lineOfKey(0, k), Severity: Warning,
				Message: fmt.Sprintf("unknown pack key %q (ignored)", k)})
		}
	}
	for _, q := range p.Queries {
		start := bytes.Index(clean, []byte(strconv.Quote(q.Name)))
		for _, k := range slices.Sorted(mapsKeys(raw.Queries[q.Name])) {
			if !slices.Contains(queryKeys, k) {
				out = append(out, Finding{File: name, Line: lineOfKey(max(start, 0), k), Query: q.Name, Severity: Warning,
					Message: fmt.Sprintf("unknown query key %q (ignored)", k)})
			}
		}
	}
	return out
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// stripComments applies the clean-up osqueryd does before parsing (whole-line #
// and // comments, backslash line continuations), keeping line numbers.
func stripComments(data []byte) []byte {
	lines := strings.Split(string(data), "\n")
	var b strings.Builder
	for i := 0; i < len(lines); i++ {
		line, extra := lines[i], 0
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			extra++
			line = line[:len(line)-1] + lines[i]
		}
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "#") || strings.HasPrefix(t, "//") {
			line = ""
		}
		b.WriteString(line)
		b.WriteString(strings.Repeat("\n", extra+1))
	}
	return []byte(b.String())
}

// Errors counts the findings of severity Error.
func Errors(fs []Finding) int {
	n := 0
	for _, f := range fs {
		if f.Severity == Error {
			n++
		}
	}
	return n
}

// ErrFindings is returned by commands when a lint found errors.
var ErrFindings = errors.New("packlint: errors found")
