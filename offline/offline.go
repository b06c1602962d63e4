// Package offline is the table set of the offline engine (`exechunt sql|scan`): the
// extension's own tables, read from evidence files instead of live channels.
package offline

import (
	"log/slog"

	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/cmdlinetable"
	"github.com/exechunt/exechunt/tables/eventtables"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// Tables returns the tables served over the evidence in paths (files, folders read
// recursively, globs): process_lineage (the tree reconstructed from the process
// creations), process_creation_events and powershell_script_blocks from one
// eventtables.Store with its default memory budget (events beyond it are re-read
// from the files for each query, so memory does not grow with the evidence), and
// command_line_analysis. A nil a means analysis.New(); a nil log, slog.Default().
//
// Add a table by appending its constructor to the list below.
func Tables(paths []string, a *analysis.Analyzer, log *slog.Logger) []tablekit.Table {
	if a == nil {
		a = analysis.New()
	}
	if paths == nil {
		paths = []string{} // nil would mean the host's live logs
	}
	events := eventtables.New(eventtables.Options{Paths: paths, Analyzer: a, Logger: log})
	return []tablekit.Table{
		events.LineageTable(),
		events.ProcessCreationTable(),
		events.ScriptBlockTable(),
		cmdlinetable.New(a),
	}
}
