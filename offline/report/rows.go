package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/exechunt/exechunt/offline/finding"
	"github.com/exechunt/exechunt/orchestrator/csvsafe"
)

// RowWriter streams the rows of one query (`exechunt sql`): "table" (cells
// shortened to one line, widths per block of rows), "json" (an array of objects,
// columns in query order) or "csv" (with a header).
type RowWriter struct {
	format string
	out    *bufio.Writer
	cols   []string
	n      int
	tw     *tabwriter.Writer
	cw     *csvsafe.Writer
}

// NewRowWriter returns a writer of the format "table", "json" or "csv".
func NewRowWriter(format string, w io.Writer) (*RowWriter, error) {
	rw := &RowWriter{format: format, out: bufio.NewWriterSize(w, 64<<10)}
	switch format {
	case "table":
		rw.tw = tabwriter.NewWriter(rw.out, 0, 0, 2, ' ', 0)
	case "json":
	case "csv":
		rw.cw = csvsafe.NewWriter(rw.out)
	default:
		return nil, fmt.Errorf("unknown format %q (want table, json or csv)", format)
	}
	return rw, nil
}

// Header starts the output with the query's columns.
func (w *RowWriter) Header(cols []string) error {
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

// Row writes one row, its values in column order.
func (w *RowWriter) Row(vals []any) error {
	w.n++
	switch w.format {
	case "table":
		cells := make([]string, len(vals))
		for i, v := range vals {
			cells[i] = OneLine(finding.Text(v), 80)
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
		b, err := finding.MarshalRow(w.cols, vals)
		if err != nil {
			return err
		}
		_, err = w.out.Write(b)
		return err
	case "csv":
		cells := make([]string, len(vals))
		for i, v := range vals {
			cells[i] = finding.Text(v)
		}
		return w.cw.Write(cells)
	}
	return nil
}

// Close ends the output and flushes it.
func (w *RowWriter) Close() error {
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
