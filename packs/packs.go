// Package packs holds exechunt's hunt packs (the *.json files of this folder, embedded
// as FS) and loads packs in osquery's pack format plus exechunt's per-query fields:
//
//	{
//	  "platform": "windows",
//	  "discovery": ["SELECT 1 FROM osquery_info"],
//	  "queries": {
//	    "encoded_powershell": {
//	      "query": "SELECT … FROM process_creation_events WHERE …",
//	      "interval": 3600, "description": "…", "platform": "windows", "version": "5.0.0",
//	      "snapshot": true, "removed": false,
//	      "technique": "T1059.001", "severity": "high",
//	      "stack": ["parent_name", "name"], "schedule": "0 */2 * * *"
//	    }
//	  }
//	}
//
// The loader accepts what osqueryd accepts, so osquery's own packs load unmodified:
// whole-line comments starting with # or //, a backslash at the end of a line inside a
// string (the line continues), and intervals or booleans written as strings.
package packs

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// FS holds the packs shipped with exechunt.
//
//go:embed *.json
var FS embed.FS

// Severities are the allowed values of Query.Severity, lowest first.
var Severities = []string{"info", "low", "medium", "high", "critical"}

// Pack is one pack file.
type Pack struct {
	Name      string   // file name without extension
	File      string   // path inside the FS it was loaded from
	Platform  string   // osquery platform filter ("windows", "posix", …); empty means all
	Version   string   // minimum osquery version
	Shard     int      // osquery shard percentage; 0 means all hosts
	Discovery []string // queries that must return rows for the pack to run
	Queries   []Query  // sorted by name
}

// Query is one query of a pack.
type Query struct {
	Name        string
	SQL         string
	Interval    int // seconds, for osquery's schedule
	Description string
	Value       string // osquery's "value": why the query matters
	Platform    string
	Version     string
	Shard       int
	Snapshot    bool
	Removed     bool
	Denylist    *bool // nil means osquery's default (true)

	// exechunt's fields.
	Technique string   // ATT&CK id, e.g. T1059.001
	Severity  string   // one of Severities; empty means unspecified
	Stack     []string // columns the fleet aggregation stacks results by
	Schedule  string   // cron expression for scheduled hunts
}

// Load reads every *.json and *.conf file at the top of fsys, sorted by name. Errors
// name the file and line.
func Load(fsys fs.FS) ([]Pack, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("packs: %w", err)
	}
	var out []Pack
	var errs []error
	for _, e := range entries {
		ext := path.Ext(e.Name())
		if e.IsDir() || (ext != ".json" && ext != ".conf") {
			continue
		}
		data, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			errs = append(errs, fmt.Errorf("packs: %w", err))
			continue
		}
		p, err := Parse(e.Name(), data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, errors.Join(errs...)
}

// rawPack and rawQuery are the file format, read by Parse and written by Marshal.
type rawPack struct {
	Platform  string              `json:"platform,omitempty"`
	Version   string              `json:"version,omitempty"`
	Shard     flexInt             `json:"shard,omitempty"`
	Discovery []string            `json:"discovery,omitempty"`
	Queries   map[string]rawQuery `json:"queries"`
}

type rawQuery struct {
	Query       string    `json:"query"`
	Interval    flexInt   `json:"interval"`
	Schedule    string    `json:"schedule,omitempty"`
	Platform    string    `json:"platform,omitempty"`
	Version     string    `json:"version,omitempty"`
	Shard       flexInt   `json:"shard,omitempty"`
	Snapshot    flexBool  `json:"snapshot,omitempty"`
	Removed     flexBool  `json:"removed,omitempty"`
	Denylist    *flexBool `json:"denylist,omitempty"`
	Technique   string    `json:"technique,omitempty"`
	Severity    string    `json:"severity,omitempty"`
	Stack       []string  `json:"stack,omitempty"`
	Description string    `json:"description"`
	Value       string    `json:"value,omitempty"`
}

var techniqueRE = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)

// Parse reads one pack file; name is its file name (for messages and Pack.Name).
func Parse(name string, data []byte) (Pack, error) {
	clean, lineOf := preprocess(data)
	var raw rawPack
	dec := json.NewDecoder(bytes.NewReader(clean))
	if err := dec.Decode(&raw); err != nil {
		return Pack{}, fmt.Errorf("%s: %w", where(name, clean, lineOf, err), err)
	}
	if raw.Queries == nil {
		return Pack{}, fmt.Errorf("%s: no \"queries\" object", name)
	}
	p := Pack{
		Name:      strings.TrimSuffix(path.Base(name), path.Ext(name)),
		File:      name,
		Platform:  raw.Platform,
		Version:   raw.Version,
		Shard:     int(raw.Shard),
		Discovery: raw.Discovery,
	}
	var errs []error
	for qn, rq := range raw.Queries {
		q := Query{
			Name: qn, SQL: rq.Query, Interval: int(rq.Interval), Description: rq.Description, Value: rq.Value,
			Platform: rq.Platform, Version: rq.Version, Shard: int(rq.Shard),
			Snapshot: bool(rq.Snapshot), Removed: bool(rq.Removed),
			Technique: rq.Technique, Severity: rq.Severity, Stack: rq.Stack, Schedule: rq.Schedule,
		}
		if rq.Denylist != nil {
			b := bool(*rq.Denylist)
			q.Denylist = &b
		}
		if err := q.check(); err != nil {
			at := fmt.Sprintf("%s:%d: query %q", name, lineOf(bytes.Index(clean, []byte(strconv.Quote(qn)))), qn)
			errs = append(errs, fmt.Errorf("%s: %w", at, err))
		}
		p.Queries = append(p.Queries, q)
	}
	if err := errors.Join(errs...); err != nil {
		return Pack{}, err
	}
	sort.Slice(p.Queries, func(i, j int) bool { return p.Queries[i].Name < p.Queries[j].Name })
	return p, nil
}

// check is what a query must be, wherever it comes from (a file, Sigma rules).
func (q Query) check() error {
	switch {
	case strings.TrimSpace(q.Name) == "":
		// osquery would schedule it as "pack_<pack>_", a name no result can be traced to.
		return errors.New("empty query name")
	case strings.TrimSpace(q.SQL) == "":
		return errors.New("empty \"query\"")
	case q.Interval < 0:
		return errors.New("negative interval")
	case q.Severity != "" && !isSeverity(q.Severity):
		return fmt.Errorf("severity %q: want one of %s", q.Severity, strings.Join(Severities, ", "))
	case q.Technique != "" && !techniqueRE.MatchString(q.Technique):
		return fmt.Errorf("technique %q: want an ATT&CK id such as T1059 or T1059.001", q.Technique)
	}
	return nil
}

// Validate checks a pack built in code (as Parse checks a file), and sorts its
// queries by name as Parse does.
func (p *Pack) Validate() error {
	var errs []error
	for _, q := range p.Queries {
		if err := q.check(); err != nil {
			errs = append(errs, fmt.Errorf("pack %s: query %q: %w", p.Name, q.Name, err))
		}
	}
	sort.Slice(p.Queries, func(i, j int) bool { return p.Queries[i].Name < p.Queries[j].Name })
	return errors.Join(errs...)
}

// Marshal writes a pack as osquery pack JSON with exechunt's fields (the format
// Parse reads), indented, keys in a stable order.
func Marshal(p Pack) ([]byte, error) {
	out := rawPack{Platform: p.Platform, Version: p.Version, Shard: flexInt(p.Shard), Discovery: p.Discovery,
		Queries: make(map[string]rawQuery, len(p.Queries))}
	for _, q := range p.Queries {
		rq := rawQuery{Query: q.SQL, Interval: flexInt(q.Interval), Schedule: q.Schedule, Platform: q.Platform,
			Version: q.Version, Shard: flexInt(q.Shard), Snapshot: flexBool(q.Snapshot), Removed: flexBool(q.Removed),
			Technique: q.Technique, Severity: q.Severity, Stack: q.Stack, Description: q.Description, Value: q.Value}
		if q.Denylist != nil {
			d := flexBool(*q.Denylist)
			rq.Denylist = &d
		}
		out.Queries[q.Name] = rq
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("pack %s: %w", p.Name, err)
	}
	return b.Bytes(), nil
}

func isSeverity(s string) bool {
	for _, v := range Severities {
		if s == v {
			return true
		}
	}
	return false
}

// preprocess applies osqueryd's config clean-up (stripConfigComments): a backslash
// before a newline joins the lines, whole lines starting with # or // (after
// spaces) are dropped. Dropped lines are kept as empty lines so that line numbers
// still match the file; lineOf maps an offset in the output to a line of the input.
func preprocess(data []byte) ([]byte, func(off int) int) {
	lines := strings.Split(string(data), "\n")
	var out strings.Builder
	var starts []int // output offset where each output line starts
	var origin []int // input line (1-based) of each output line
	for i := 0; i < len(lines); i++ {
		first := i
		line := lines[i]
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + lines[i]
		}
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "#") || strings.HasPrefix(t, "//") {
			line = ""
		}
		starts = append(starts, out.Len())
		origin = append(origin, first+1)
		out.WriteString(line)
		out.WriteByte('\n')
	}
	lineOf := func(off int) int {
		if off < 0 {
			return 1
		}
		i := sort.SearchInts(starts, off+1) - 1
		if i < 0 {
			return 1
		}
		return origin[i]
	}
	return []byte(out.String()), lineOf
}

// where names the file and line of a JSON error.
func where(name string, data []byte, lineOf func(int) int, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var fe *flexError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%s:%d", name, lineOf(int(se.Offset)-1))
	case errors.As(err, &te):
		return fmt.Sprintf("%s:%d", name, lineOf(int(te.Offset)-1))
	case errors.As(err, &fe):
		return fmt.Sprintf("%s:%d", name, lineOf(bytes.Index(data, fe.raw)))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("%s:%d", name, lineOf(len(data)-1))
	}
	return name
}

// flexInt is an integer written as a number or a string ("3600"), as osquery reads it.
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return &flexError{"a number", append([]byte(nil), b...)}
	}
	*f = flexInt(n)
	return nil
}

// flexBool is a boolean written as true/false, "true"/"false"/"t"/"f" or a number,
// as osquery's JSON::valueToBool reads it.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	s := strings.ToLower(strings.Trim(string(b), `"`))
	switch s {
	case "true", "t":
		*f = true
	case "false", "f", "", "null":
		*f = false
	default:
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return &flexError{"a boolean", append([]byte(nil), b...)}
		}
		*f = n != 0
	}
	return nil
}

// flexError is a value of the wrong kind; raw locates it in the file.
type flexError struct {
	want string
	raw  []byte
}

func (e *flexError) Error() string { return fmt.Sprintf("want %s, got %s", e.want, e.raw) }

// ShapeColumn is the pseudo-column a query may stack by: the orchestrator's stacker
// computes it from the row's cmdline (docs/stacking.md), so the query returns cmdline.
const ShapeColumn = "cmdline_shape"

// DefaultPushPack is the pack that the default configuration pushes into the osquery
// schedule of every host its platform covers (Windows): a live rare parent→child hunt
// over process_lineage stacked by parent_name,name, so a fresh install stacks
// something on day one. See packs/README.md.
const DefaultPushPack = "default-push"

// StackOnlySeverity marks queries whose rows are raw material for fleet stacking
// (prevalence, baselines) rather than findings by themselves.
const StackOnlySeverity = "info"
