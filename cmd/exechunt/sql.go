package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/offline/report"
)

func newSQLCmd() *cobra.Command {
	var f sqlFlags
	cmd := &cobra.Command{
		Use:   "sql --evidence PATH... [--sigma RULES]... [--plugin PATH[:SHA256]]... [--format table|json|csv] QUERY",
		Short: "Run osquery SQL over evidence files with exechunt's tables (no osquery needed)",
		Long: `Mounts exechunt's tables (process_creation_events, powershell_script_blocks, process_lineage,
command_line_analysis, sigma_matches) over the evidence given with --evidence (EVTX, JSON lines,
Sysmon-for-Linux syslog, Linux audit logs; folders are read recursively) in an embedded SQLite, and runs
one query. SQL is osquery's: SQLite plus osquery's functions (regex_match, split,
concat_ws, from_base64, ...; see docs/offline.md). command_line_analysis needs
"cmdline = ..." or a JOIN on cmdline. sigma_matches evaluates the Sigma rules given with
--sigma (files, or folders read recursively) as the extension does with its sigma_rules;
each rule file refused is named on stderr, and it is an error when none compiles.

Rows are streamed to stdout as they come: "table" (cells shortened to one line, widths
per block of rows), "json" (an array of objects) or "csv" (with a header). The evidence
is read first: each problem in it is named on stderr, and a summary of the files and
events read and the rows ends the run on stderr (-q drops the summary).

Exit status: 0 on success, 2 on an error in the query or the arguments, a path that
does not exist or holds nothing readable (before any row), or evidence that was partly
unreadable or damaged (after the rows of the rest are written).`,
		Example: `  exechunt sql --evidence ./evidence "SELECT name, parent_name, score FROM process_creation_events WHERE score >= 50"
  exechunt sql --evidence Security.evtx --format json \
    "SELECT p.cmdline, c.decoded_command FROM process_creation_events p JOIN command_line_analysis c ON c.cmdline = p.cmdline WHERE c.decoded_command != ''"
  exechunt sql --evidence ./evidence --sigma ./sigma/rules \
    "SELECT level, title, name, excerpt FROM sigma_matches WHERE level IN ('high', 'critical')"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(f.evidence) == 0 {
				return usageError{fmt.Errorf("--evidence PATH is required (files or folders)")}
			}
			return runSQL(cmd.Context(), args[0], f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringSliceVar(&f.evidence, "evidence", nil, "evidence files or folders (repeat or comma-separate)")
	cmd.Flags().StringSliceVar(&f.sigma, "sigma", nil, "Sigma rule files or folders that sigma_matches evaluates (repeat or comma-separate)")
	cmd.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "no summary on stderr (problems in the input are still shown)")
	addFormatFlag(cmd, &f.format, report.RowFormats...)
	addPluginFlag(cmd, &f.plugins)
	return cmd
}

type sqlFlags struct {
	evidence, plugins []string
	sigma             []string
	format            string
	quiet             bool
}

// runSQL reads the evidence, naming its problems on stderr, then runs the query and
// streams its rows to stdout; a summary of what was read and the rows ends on
// stderr. A path that does not exist or evidence with nothing readable fails before
// the query; damaged input fails after the rows are written (damagedInput).
func runSQL(ctx context.Context, query string, f sqlFlags, stdout, stderr io.Writer) error {
	if err := checkFormat(f.format, report.RowFormats...); err != nil {
		return err
	}
	w, err := report.NewRowWriter(f.format, stdout)
	if err != nil {
		return err
	}
	e, ev, closeEngine, err := openEngine(ctx, f.evidence, f.plugins, stderr, problemPrinter(stderr, nil))
	if err != nil {
		return err
	}
	defer closeEngine()
	if len(f.sigma) > 0 {
		rep, err := ev.Sigma.Load(f.sigma...)
		for _, p := range rep.Problems {
			fmt.Fprintf(stderr, "exechunt: warning: sigma rule refused: %s\n", termSafe(report.OneLine(p.String(), 300)))
		}
		if err != nil {
			return usageError{fmt.Errorf("--sigma: %w", err)}
		}
		if !f.quiet {
			fmt.Fprintf(stderr, "exechunt: sigma: %s\n", rep)
		}
	}
	start := time.Now()
	sum, err := ev.Read(ctx)
	if err != nil {
		return usageError{escapedError{err}}
	}
	rows, err := e.Query(ctx, query)
	if err != nil {
		return usageError{err}
	}
	defer rows.Close()
	if err := w.Header(rows.Columns()); err != nil {
		return err
	}
	n := 0
	for rows.Next() {
		n++
		if err := w.Row(rows.Values()); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		w.Close()
		return usageError{err}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if !f.quiet {
		fmt.Fprintf(stderr, "exechunt: sql: %s; %d rows in %s\n", evidenceLine(sum), n, time.Since(start).Round(time.Millisecond))
	}
	return damagedInput(sum, "rows")
}
