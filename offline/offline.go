// Package offline is the table set of the offline engine (`exechunt sql|scan`): the
// extension's own tables, read from evidence files instead of live channels.
package offline

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/cmdlinetable"
	"github.com/exechunt/exechunt/tables/eventtables"
	"github.com/exechunt/exechunt/tables/evidence"
	"github.com/exechunt/exechunt/tables/sigmatable"
	"github.com/exechunt/exechunt/tables/source"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// Options configure Open. The zero value uses analysis.New() and slog.Default().
type Options struct {
	Analyzer *analysis.Analyzer
	Logger   *slog.Logger
	// Problem, when set, receives each problem of the input once (a damaged chunk, a
	// bad line, a file unreadable or of no known format) instead of the log.
	Problem func(*source.Problem)
}

// Evidence is the table set over evidence files and the reader behind it, which
// tells what was read (Read).
type Evidence struct {
	Tables []tablekit.Table
	// Sigma is sigma_matches, one of Tables: it has no rules until its Load (exechunt
	// sql --sigma) gives it some.
	Sigma *sigmatable.Matches
	paths []string
	store *eventtables.Store
}

// Tables returns the tables of Open(paths, …) for callers that need no report on
// the input.
func Tables(paths []string, a *analysis.Analyzer, log *slog.Logger) []tablekit.Table {
	return Open(paths, Options{Analyzer: a, Logger: log}).Tables
}

// Open returns the tables served over the evidence in paths (files, folders read
// recursively, globs): process_lineage (the tree reconstructed from the process
// creations), process_creation_events and powershell_script_blocks from one
// eventtables.Store with its default memory budget (events beyond it are re-read
// from the files for each query, so memory does not grow with the evidence),
// command_line_analysis, and sigma_matches over the two event tables (no rules until
// Evidence.Sigma loads some).
//
// Add a table by appending its constructor to the list below.
func Open(paths []string, opt Options) *Evidence {
	if opt.Analyzer == nil {
		opt.Analyzer = analysis.New()
	}
	if paths == nil {
		paths = []string{} // nil would mean the host's live logs
	}
	events := eventtables.New(eventtables.Options{Paths: paths, Analyzer: opt.Analyzer, Logger: opt.Logger, Problem: opt.Problem})
	procs, scripts := events.ProcessCreationTable(), events.ScriptBlockTable()
	sigma := sigmatable.New(procs, scripts)
	return &Evidence{
		paths: paths,
		store: events,
		Sigma: sigma,
		Tables: []tablekit.Table{
			events.LineageTable(),
			procs,
			scripts,
			cmdlinetable.New(opt.Analyzer),
			sigma.Table(),
		},
	}
}

// Read reads the evidence, as the first query would (queries after it read only
// what the files gained), handing each problem to Options.Problem, and returns what
// was read. It fails when a path does not exist, or when no file of the paths could
// be read ("no evidence read from X: N files, none a known format"): a typo or a
// folder of other files must not look like evidence with nothing in it.
func (e *Evidence) Read(ctx context.Context) (evidence.Summary, error) {
	for _, p := range e.paths {
		if m, err := filepath.Glob(p); err == nil && len(m) > 0 && m[0] != p {
			continue // a glob the Store expands
		}
		if _, _, err := evidence.Collect([]string{p}); err != nil {
			return evidence.Summary{}, err
		}
	}
	sum, err := e.store.Read(ctx)
	if err != nil {
		return sum, fmt.Errorf("read evidence: %w", err)
	}
	if sum.Files == sum.FilesFailed {
		n := sum.Files + sum.FilesSkipped
		what := "no files in it"
		switch {
		case n == 1:
			what = "1 file, not a known format"
		case n > 1:
			what = fmt.Sprintf("%d files, none a known format", n)
		}
		return sum, fmt.Errorf("no evidence read from %s: %s (EVTX, JSON lines, Sysmon-for-Linux syslog, Linux audit)", strings.Join(e.paths, ", "), what)
	}
	return sum, nil
}
