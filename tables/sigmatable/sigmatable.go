// Package sigmatable serves sigma_matches: one row per (Sigma rule, event) match of
// a compiled rule set (sigma/engine) over the rows of the event tables
// (process_creation_events, powershell_script_blocks), so that one query returns
// every Sigma detection of a host.
//
// The table reads the event tables through their own Generate, so it shares their
// Store: the same incremental buffers, cache budget and re-reads of the sources, no
// second reader. Constraints on time are handed to them (the Store answers from
// memory when its buffers cover the window); constraints on level leave out the
// rules of other levels, and a table none of the wanted rules reads is not read.
//
// The rule set is swapped whole (Load, Set): a query evaluates the set it started
// with, a reload never shows a half-built one.
package sigmatable

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/sigma"
	"github.com/exechunt/exechunt/sigma/engine"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// Name is the table's name.
const Name = "sigma_matches"

// ExcerptChars bounds the excerpt column (the command line or the script text), in
// characters.
const ExcerptChars = 1024

// kinds names the event kind of the rows of each source table.
var kinds = map[string]string{
	sigma.ProcessCreationTable: "process_creation",
	sigma.ScriptBlockTable:     "script_block",
}

// Matches is the sigma_matches table and the rule set it evaluates.
type Matches struct {
	sources []tablekit.Table
	rules   atomic.Pointer[engine.Engine]
}

// New returns sigma_matches over the given event tables (process_creation_events,
// powershell_script_blocks; others are ignored), with no rules: it returns no rows
// until Load or Set gives it some.
func New(sources ...tablekit.Table) *Matches {
	m := &Matches{}
	for _, t := range sources {
		if _, ok := kinds[t.Name]; ok {
			m.sources = append(m.sources, t)
		}
	}
	return m
}

// Set replaces the rule set (nil: no rules).
func (m *Matches) Set(e *engine.Engine) { m.rules.Store(e) }

// Rules returns the current rule set (nil when there is none).
func (m *Matches) Rules() *engine.Engine { return m.rules.Load() }

// Problem is a rule file that was not loaded, with the reason.
type Problem struct {
	File   string
	RuleID string
	Reason string
}

func (p Problem) String() string {
	if p.RuleID != "" {
		return fmt.Sprintf("%s (rule %s): %s", p.File, p.RuleID, p.Reason)
	}
	return p.File + ": " + p.Reason
}

// Report says what Load loaded: the rules compiled, the rule files that were
// refused (not a valid rule, or a rule over the tables that cannot be evaluated), and
// the rules of logsources the tables do not hold (not problems: a rule folder such as
// SigmaHQ's holds many).
type Report struct {
	Rules      int
	Problems   []Problem
	OutOfScope int
}

func (r Report) String() string {
	return fmt.Sprintf("%d rules loaded, %d refused, %d of other logsources", r.Rules, len(r.Problems), r.OutOfScope)
}

// Compile reads the Sigma rules in paths (*.yml and *.yaml files, folders read
// recursively) and compiles those over the tables' logsources. A rule that does not
// compile is in the report's problems, named with its file and the reason; the
// error is for paths that cannot be read, and for rule files none of which compiled
// (the rules are then surely not what was meant).
func (m *Matches) Compile(paths ...string) (*engine.Engine, Report, error) {
	var rep Report
	if len(paths) == 0 {
		return nil, rep, errors.New("no Sigma rule paths")
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return nil, rep, fmt.Errorf("sigma rules: %w", err)
		}
	}
	res, err := sigma.ConvertPaths(paths...)
	if err != nil {
		return nil, rep, fmt.Errorf("sigma rules: %w", err)
	}
	for _, k := range res.Skipped {
		if k.Unsupported && strings.HasPrefix(k.Reason, "logsource ") {
			rep.OutOfScope++
			continue
		}
		rep.Problems = append(rep.Problems, Problem{File: k.File, RuleID: k.RuleID, Reason: k.Reason})
	}
	schemas := map[string][]table.ColumnDefinition{}
	for _, t := range m.sources {
		schemas[t.Name] = t.Columns
	}
	e, skipped := engine.New(res.Queries, schemas)
	for _, k := range skipped {
		rep.Problems = append(rep.Problems, Problem{File: k.Query.File, RuleID: k.Query.RuleID, Reason: k.Reason})
	}
	rep.Rules = len(e.Rules())
	if rep.Rules == 0 {
		msg := fmt.Sprintf("sigma rules in %s: no rule compiled (%s)", strings.Join(paths, ", "), rep)
		if len(rep.Problems) > 0 {
			msg += "; first refused: " + rep.Problems[0].String()
		}
		return nil, rep, errors.New(msg)
	}
	return e, rep, nil
}

// Load compiles the rules in paths (Compile) and, when that succeeds, makes them the
// table's rules; on an error the rules in use are kept.
func (m *Matches) Load(paths ...string) (Report, error) {
	e, rep, err := m.Compile(paths...)
	if err != nil {
		return rep, err
	}
	m.Set(e)
	return rep, nil
}

// Table is the sigma_matches table.
func (m *Matches) Table() tablekit.Table {
	return tablekit.Table{
		Name: Name,
		Description: "Sigma detections: one row per rule and matching event of process_creation_events and " +
			"powershell_script_blocks, every rule of the configured set (sigma_rules) evaluated in one pass per event.",
		Columns: []table.ColumnDefinition{
			table.BigIntColumn("time", table.IndexColumn(), table.ColumnDescription("event time, Unix seconds (a script block: its first part)")),
			table.TextColumn("rule_id", table.ColumnDescription("the Sigma rule's id")),
			table.TextColumn("rule_name", table.ColumnDescription("the rule's query name in the converted packs (its file name)")),
			table.TextColumn("title"),
			table.TextColumn("level", table.IndexColumn(), table.ColumnDescription("informational, low, medium, high or critical")),
			table.TextColumn("technique", table.ColumnDescription("first ATT&CK technique of the rule's tags")),
			table.TextColumn("kind", table.ColumnDescription("process_creation or script_block")),
			table.TextColumn("computer"),
			table.TextColumn("process_guid", table.ColumnDescription("process creations only")),
			table.BigIntColumn("pid", table.ColumnDescription("the process created, or the PowerShell host of a script block")),
			table.TextColumn("name", table.ColumnDescription("file name of the image, lower-case (process creations)")),
			table.TextColumn("excerpt", table.ColumnDescription(fmt.Sprintf("the command line, or the script text, cut to %d characters", ExcerptChars))),
			table.TextColumn("evidence", table.ColumnDescription("JSON locator of the event, as in the event tables")),
		},
		Generate: m.generate,
	}
}

func (m *Matches) generate(ctx context.Context, qc table.QueryContext) ([]map[string]string, error) {
	e := m.rules.Load()
	if e == nil {
		return nil, nil
	}
	rules := e.Rules()
	var want map[string]bool // nil: every level
	if v, ok := tablekit.Equals(qc, "level"); ok {
		want = map[string]bool{}
		for _, l := range v {
			want[strings.ToLower(strings.TrimSpace(l))] = true
		}
	}
	keep := make([]bool, len(rules))
	reads := map[string]bool{}
	for i, q := range rules {
		if want == nil || want[level(q)] {
			keep[i] = true
			reads[q.Table] = true
		}
	}
	sub := table.QueryContext{Constraints: map[string]table.ConstraintList{}}
	if cl, ok := qc.Constraints["time"]; ok {
		sub.Constraints["time"] = cl
	}
	var out []map[string]string
	for _, src := range m.sources {
		mt := e.Matcher(src.Name)
		if mt == nil || !reads[src.Name] {
			continue
		}
		rows, err := src.Generate(ctx, sub)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src.Name, err)
		}
		kind := kinds[src.Name]
		for i, row := range rows {
			if i%1024 == 0 && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			for _, r := range mt.Match(row) {
				if keep[r] {
					out = append(out, matchRow(rules[r], kind, row))
				}
			}
		}
	}
	return out, nil
}

// level is a rule's level as the table shows it (lower case; "" when the rule has
// none).
func level(q *sigma.Query) string { return strings.ToLower(strings.TrimSpace(q.Level)) }

var excerpt = sigma.Output{Name: "excerpt", MaxChars: ExcerptChars}

func matchRow(q *sigma.Query, kind string, row map[string]string) map[string]string {
	text := row["cmdline"]
	if kind == "script_block" {
		text = row["script_text"]
	}
	return map[string]string{
		"time":         row["time"],
		"rule_id":      q.RuleID,
		"rule_name":    q.Name,
		"title":        q.Title,
		"level":        level(q),
		"technique":    q.Technique,
		"kind":         kind,
		"computer":     row["computer"],
		"process_guid": row["process_guid"],
		"pid":          row["pid"],
		"name":         row["name"],
		"excerpt":      excerpt.Cut(text),
		"evidence":     row["evidence"],
	}
}
