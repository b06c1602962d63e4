package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/offline/sqlengine"
	"github.com/exechunt/exechunt/orchestrator/csvsafe"
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
			w, err := newRowWriter(format, cmd.OutOrStdout())
			if err != nil {
				return usageError{err}
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			tables, stopPlugins, err := offlineTables(cmd.Context(), evidence, plugins, log)
			if err != nil {
				return err
			}
			defer stopPlugins()
			e, err := sqlengine.Open(tables, sqlengine.Options{Logger: log})
			if err != nil {
				return err
			}
			defer e.Close()
			rows, err := e.Query(cmd.Context(), args[0])
			if err != nil {
				return usageError{err}
			}
			defer rows.Close()
			if err := w.header(rows.Columns()); err != nil {
				return err
			}
			for rows.Next() {
				if err := w.row(rows.Values()); err != nil {
					return fmt.Errorf("write output: %w", err)
				}
			}
			if err := rows.Err(); err != nil {
				w.close()
				return usageError{err}
			}
			return w.close()
		},
	}
	cmd.Flags().StringSliceVar(&evidence, "evidence", nil, "evidence files or folders (repeat or comma-separate)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, json or csv")
	addPluginFlag(cmd, &plugins)
	return cmd
}

// rowWriter streams rows in one of the output formats.
type rowWriter struct {
	format string
	out    *bufio.Writer
	cols   []string
	n      int
	tw     *tabwriter.Writer
	cw     *csvsafe.Writer
}

// tableBlock is how many rows the table format aligns at a time (it streams).
const tableBlock = 200

func newRowWriter(format string, w io.Writer) (*rowWriter, error) {
	rw := &rowWriter{format: format, out: bufio.NewWriterSize(w, 64<<10)}
	switch format {
	case "table":
		rw.tw = tabwriter.NewWriter(rw.out, 0, 0, 2, ' ', 0)
	case "json":
	case "csv":
		rw.cw = csvsafe.NewWriter(rw.out)
	default:
		return nil, fmt.Errorf("--format %q: want table, json or csv", format)
	}
	return rw, nil
}

func (w *rowWriter) header(cols []string) error {
	w.cols = cols
	switch w.format {
	case "table":
		_, err := fmt.Fprintln(w.tw, strings.ToUpper(strings.Join(cols, "\t")))
		return err
	case "json":
		_, err := w.out.WriteString("[")
		return err
	case "csv":
		return w.cw.Write(cols)
	}
	return nil
}

func (w *rowWriter) row(vals []any) error {
	w.n++
	switch w.format {
	case "table":
		cells := make([]string, len(vals))
		for i, v := range vals {
			cells[i] = oneLine(text(v), 80)
		}
		if _, err := fmt.Fprintln(w.tw, strings.Join(cells, "\t")); err != nil {
			return err
		}
		if w.n%tableBlock == 0 {
			return w.tw.Flush()
		}
	case "json":
		if w.n > 1 {
			w.out.WriteString(",")
		}
		w.out.WriteString("\n  ")
		b, err := marshalRow(w.cols, vals)
		if err != nil {
			return err
		}
		_, err = w.out.Write(b)
		return err
	case "csv":
		cells := make([]string, len(vals))
		for i, v := range vals {
			cells[i] = text(v)
		}
		return w.cw.Write(cells)
	}
	return nil
}

func (w *rowWriter) close() error {
	switch w.format {
	case "table":
		w.tw.Flush()
	case "json":
		if w.n > 0 {
			w.out.WriteString("\n")
		}
		w.out.WriteString("]\n")
	case "csv":
		w.cw.Flush()
		if err := w.cw.Error(); err != nil {
			return err
		}
	}
	return w.out.Flush()
}

// text renders a value as osquery does in its text outputs (NULL is empty).
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

// marshalRow renders one row as a JSON object with the columns in query order and
// typed values (numbers stay numbers, NULL is null).
func marshalRow(cols []string, vals []any) ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(c)
		b.Write(k)
		b.WriteByte(':')
		v := vals[i]
		if bs, ok := v.([]byte); ok {
			v = string(bs)
		}
		enc, err := marshalNoEscape(v)
		if err != nil {
			return nil, err
		}
		b.Write(enc)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

func marshalNoEscape(v any) ([]byte, error) {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(sb.String(), "\n")), nil
}
