package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/offline/report"
)

func init() { subcommands = append(subcommands, newSQLCmd) }

func newSQLCmd() *cobra.Command {
	var evidence []string
	var format string
	var plugins []string
	cmd := &cobra.Command{
		Use:   "sql --evidence PATH... [--plugin PATH[:SHA256]]... [--format table|json|csv] QUERY",
		Short: "Run osquery SQL over evidence files with exechunt's tables (no osquery needed)",
		Long: `Mounts exechunt's tables (process_creation_events, powershell_script_blocks,
command_line_analysis) over the evidence given with --evidence (EVTX, JSON lines,
Sysmon-for-Linux syslog; folders are read recursively) in an embedded SQLite, and runs
one query. SQL is osquery's: SQLite plus osquery's functions (regex_match, split,
concat_ws, from_base64, ...; see docs/offline.md). command_line_analysis needs
"cmdline = ..." or a JOIN on cmdline.

Rows are streamed to stdout as they come: "table" (cells shortened to one line, widths
per block of rows), "json" (an array of objects) or "csv" (with a header).
Exit status: 0 on success, 2 on an error in the query or the arguments.`,
		Example: `  exechunt sql --evidence ./evidence "SELECT name, parent_name, score FROM process_creation_events WHERE score >= 50"
  exechunt sql --evidence Security.evtx --format json \
    "SELECT p.cmdline, c.decoded_command FROM process_creation_events p JOIN command_line_analysis c ON c.cmdline = p.cmdline WHERE c.decoded_command != ''"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(evidence) == 0 {
				return usageError{fmt.Errorf("--evidence PATH is required (files or folders)")}
			}
			if err := checkFormat(format, report.RowFormats...); err != nil {
				return err
			}
			w, err := report.NewRowWriter(format, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			e, closeEngine, err := openEngine(cmd.Context(), evidence, plugins, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer closeEngine()
			rows, err := e.Query(cmd.Context(), args[0])
			if err != nil {
				return usageError{err}
			}
			defer rows.Close()
			if err := w.Header(rows.Columns()); err != nil {
				return err
			}
			for rows.Next() {
				if err := w.Row(rows.Values()); err != nil {
					return fmt.Errorf("write output: %w", err)
				}
			}
			if err := rows.Err(); err != nil {
				w.Close()
				return usageError{err}
			}
			return w.Close()
		},
	}
	cmd.Flags().StringSliceVar(&evidence, "evidence", nil, "evidence files or folders (repeat or comma-separate)")
	addFormatFlag(cmd, &format, report.RowFormats...)
	addPluginFlag(cmd, &plugins)
	return cmd
}
