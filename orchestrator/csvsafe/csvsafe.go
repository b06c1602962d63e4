// Package csvsafe writes CSV that spreadsheets open as data, not as formulas: a
// cell that begins with =, +, -, @, a tab or a carriage return is prefixed with a
// single quote (OWASP's advice on CSV injection). Command lines, host names and
// query rows come from agents and logs, so every CSV exechunt writes goes through it.
package csvsafe

import (
	"encoding/csv"
	"io"
	"strings"
)

// Cell returns s as a cell a spreadsheet will not evaluate.
func Cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Writer is a csv.Writer whose records are made safe cell by cell.
type Writer struct{ *csv.Writer }

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{csv.NewWriter(w)} }

// Write writes one record with every cell made safe.
func (w *Writer) Write(record []string) error {
	safe := make([]string, len(record))
	for i, c := range record {
		safe[i] = Cell(c)
	}
	return w.Writer.Write(safe)
}
