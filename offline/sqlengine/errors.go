package sqlengine

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ncruces/go-sqlite3"
)

// Error is an error in a query: SQLite's message, the place in the query when SQLite
// knows it, and a hint naming the known tables (for "no such table") or the columns
// of the tables the query names (for "no such column").
type Error struct {
	Msg          string // SQLite's message, e.g. `near "FORM": syntax error`
	Offset       int    // byte offset in Query, -1 when unknown
	Line, Column int    // 1-based place of Offset (Column counts characters)
	Query        string
	Hint         string
	err          error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("sql: ")
	if e.Offset >= 0 {
		fmt.Fprintf(&b, "line %d, column %d: ", e.Line, e.Column)
	}
	b.WriteString(e.Msg)
	if e.Offset >= 0 {
		lines := strings.Split(e.Query, "\n")
		if e.Line-1 < len(lines) {
			line := strings.TrimRight(lines[e.Line-1], "\r")
			b.WriteString("\n    ")
			b.WriteString(strings.ReplaceAll(line, "\t", " "))
			b.WriteString("\n    ")
			b.WriteString(strings.Repeat(" ", e.Column-1))
			b.WriteString("^")
		}
	}
	if e.Hint != "" {
		b.WriteString("\n")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Unwrap returns SQLite's error (errors.Is(err, sqlite3.ERROR) and the like work).
func (e *Error) Unwrap() error { return e.err }

// sqlError turns a prepare error into an *Error.
func (e *Engine) sqlError(query string, err error) error {
	var se *sqlite3.Error
	if !errors.As(err, &se) {
		return &Error{Msg: err.Error(), Offset: -1, Query: query, err: err}
	}
	msg := strings.TrimPrefix(se.Error(), "sqlite3: ")
	// "SQL logic error: no such table: x" → "no such table: x"
	if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "SQL logic error") {
		msg = msg[i+2:]
	}
	off := -1
	if tail := se.SQL(); tail != "" && len(tail) <= len(query) && strings.HasSuffix(query, tail) {
		off = len(query) - len(tail)
	}
	return e.newError(query, off, msg, err)
}

// runError wraps an error from stepping a statement (a table's Generate, an
// interrupt, a function's error).
func (e *Engine) runError(query string, err error) error {
	var se *sqlite3.Error
	if errors.As(err, &se) {
		msg := strings.TrimPrefix(se.Error(), "sqlite3: ")
		return &Error{Msg: msg, Offset: -1, Query: query, err: err}
	}
	return err
}

func (e *Engine) newError(query string, off int, msg string, err error) *Error {
	out := &Error{Msg: msg, Offset: off, Query: query, err: err}
	if off >= 0 {
		out.Line, out.Column = place(query, off)
	}
	switch {
	case strings.Contains(msg, "no such table"):
		out.Hint = "known tables: " + strings.Join(e.Tables(), ", ")
	case strings.Contains(msg, "no such column"):
		var hints []string
		for _, t := range e.namedTables(query) {
			cols, _ := e.Columns(t)
			hints = append(hints, fmt.Sprintf("columns of %s: %s", t, strings.Join(cols, ", ")))
		}
		if len(hints) == 0 {
			hints = append(hints, "known tables: "+strings.Join(e.Tables(), ", "))
		}
		out.Hint = strings.Join(hints, "\n")
	}
	return out
}

// place returns the 1-based line and character column of byte offset off.
func place(s string, off int) (line, col int) {
	if off > len(s) {
		off = len(s)
	}
	before := s[:off]
	line = strings.Count(before, "\n") + 1
	if i := strings.LastIndexByte(before, '\n'); i >= 0 {
		before = before[i+1:]
	}
	return line, utf8.RuneCountInString(before) + 1
}

// namedTables returns the mounted tables whose names appear as words in query, in
// order of first appearance.
func (e *Engine) namedTables(query string) []string {
	seen := map[string]bool{}
	var out []string
	words := strings.FieldsFunc(strings.ToLower(query), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_')
	})
	for _, w := range words {
		if vt, ok := e.byName[w]; ok && !seen[w] {
			seen[w] = true
			out = append(out, vt.name)
		}
	}
	return out
}
