package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/exechunt/exechunt/offline/report"
	"github.com/exechunt/exechunt/tables/evidence"
	"github.com/exechunt/exechunt/tables/source"
)

// The commands over evidence files (events, scan, sql) report on their input the
// same way: each problem on its own line as it is met (problemPrinter), then a
// summary of what was read (evidenceLine), and scan and sql fail when some of it
// could not be read (damagedInput).

// problemLen bounds a problem's line: a damaged file can carry anything.
const problemLen = 300

// problemPrinter returns the Problem callback that prints each problem of the input
// on w as "exechunt: warning: FILE: WHERE: WHAT". File names and the damaged
// content come from the evidence, so the line is folded to one line, clipped and
// escaped (termSafe): a file named with terminal escapes cannot drive the
// terminal. before, when set, runs first (it clears a progress line).
func problemPrinter(w io.Writer, before func()) func(*source.Problem) {
	return func(p *source.Problem) {
		if before != nil {
			before()
		}
		fmt.Fprintf(w, "exechunt: warning: %s\n", termSafe(report.OneLine(p.Error(), problemLen)))
	}
}

// evidenceLine says what a read of evidence saw: files read, skipped, unreadable
// and damaged, records and events by kind.
func evidenceLine(sum evidence.Summary) string {
	return fmt.Sprintf("%d files (%s; %d skipped as not evidence, %d unreadable, %d damaged), %d records, %d events (%s)",
		sum.Files, mib(sum.Bytes), sum.FilesSkipped, sum.FilesFailed, sum.FilesDamaged, sum.Records, sum.Emitted, kinds(sum.ByKind))
}

// damagedInput is the error of a scan or query whose input was partly unreadable or
// damaged (exit status 2), nil when it was read whole. The problems were named as
// they were met; the output of what could be read was written.
func damagedInput(sum evidence.Summary, wrote string) error {
	var parts []string
	if sum.FilesFailed > 0 {
		parts = append(parts, fmt.Sprintf("%d unreadable", sum.FilesFailed))
	}
	if sum.FilesDamaged > 0 {
		parts = append(parts, fmt.Sprintf("%d damaged", sum.FilesDamaged))
	}
	if len(parts) == 0 {
		return nil
	}
	return usageError{fmt.Errorf("evidence: %s of %d files (see the warnings above); the %s of the rest were written",
		strings.Join(parts, " and "), sum.Files, wrote)}
}

// escapedError prints an error that may carry names from the evidence (a file
// found in a folder) escaped (termSafe); errors.Is and As see the cause.
type escapedError struct{ err error }

func (e escapedError) Error() string { return termSafe(e.err.Error()) }
func (e escapedError) Unwrap() error { return e.err }
