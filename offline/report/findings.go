// Package report prints what the offline engine returns: a scan's findings as a
// table, JSON, CSV or SARIF, a query's rows as a table, JSON or CSV, and the
// progress line of a long scan. Every writer streams: output is flushed as it
// goes, not held until the end.
package report

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/exechunt/exechunt/offline/finding"
	"github.com/exechunt/exechunt/offline/scan"
	"github.com/exechunt/exechunt/orchestrator/csvsafe"
)

// tableBlock is how many rows the table formats align at a time (they stream).
const tableBlock = 200

// FindingFormats are the formats of NewFindingWriter, RowFormats those of
// NewRowWriter; the first is the default.
var (
	FindingFormats = []string{"table", "json", "csv", "sarif"}
	RowFormats     = []string{"table", "json", "csv"}
)

// FindingWriter streams findings in one format.
type FindingWriter interface {
	Write(*finding.Finding) error
	// Close ends the output (a JSON array, the SARIF document) and flushes it.
	Close() error
}

// NewFindingWriter returns a writer of the format "table", "json", "csv" or
// "sarif". queries are the queries of the scan (SARIF lists them as its rules) and
// version the version of exechunt (SARIF names its tool).
func NewFindingWriter(format string, w io.Writer, queries []scan.Query, version string) (FindingWriter, error) {
	out := bufio.NewWriterSize(w, 64<<10)
	switch format {
	case "table":
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEVERITY\tTECHNIQUE\tPACK/QUERY\tEVIDENCE\tROW")
		return &tableFindings{out: out, tw: tw}, nil
	case "json":
		return &jsonFindings{out: out}, nil
	case "csv":
		cw := csvsafe.NewWriter(out)
		cw.Write([]string{"pack", "query", "technique", "severity", "file", "event_record_ids", "row"})
		return &csvFindings{out: out, cw: cw}, nil
	case "sarif":
		return newSARIFWriter(out, queries, version)
	}
	return nil, fmt.Errorf("unknown format %q (want table, json, csv or sarif)", format)
}

// Summary renders a finding's row as "col=value …" without the evidence column and
// empty values, on one line of at most max runes.
func Summary(fd *finding.Finding, max int) string {
	return OneLine(rowText(fd, 0), max)
}

// cellLen bounds each value of a finding's row in the table format but the command
// lines, which are shown whole.
const cellLen = 120

// rowText renders a finding's row as "col=value …" on one line, without the
// evidence column and empty values. With each > 0 a value longer than each runes is
// shortened, except a command line (IsCommandLine): the part of a command line
// that matters is as often at its end as at its start.
func rowText(fd *finding.Finding, each int) string {
	var parts []string
	for _, c := range fd.Columns {
		if c == "evidence" {
			continue
		}
		v := fd.Text(c)
		if v == "" {
			continue
		}
		if each > 0 && !IsCommandLine(c) {
			v = OneLine(v, each)
		}
		parts = append(parts, c+"="+v)
	}
	return OneLine(strings.Join(parts, " "), math.MaxInt)
}

// IsCommandLine reports whether a column holds a command line (cmdline,
// parent_cmdline, command_line, host_application, …).
func IsCommandLine(col string) bool {
	return strings.Contains(col, "cmdline") || strings.Contains(col, "command_line") || col == "host_application"
}

// OneLine folds white space (newlines included) to single spaces and shortens s to
// max runes, ending a shortened text with "…".
func OneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}

type tableFindings struct {
	out *bufio.Writer
	tw  *tabwriter.Writer
	n   int
}

func (t *tableFindings) Write(fd *finding.Finding) error {
	t.n++
	ev := fd.Evidence
	if ev.File != "" {
		ev.File = filepath.Base(ev.File) // the full path is in the json, csv and sarif formats
	}
	_, err := fmt.Fprintf(t.tw, "%s\t%s\t%s\t%s\t%s\n", fd.Severity, fd.Technique, fd.Pack+"/"+fd.Query,
		ev, rowText(fd, cellLen))
	if err == nil && t.n%tableBlock == 0 {
		err = t.tw.Flush()
	}
	return err
}

func (t *tableFindings) Close() error {
	t.tw.Flush()
	return t.out.Flush()
}

type jsonFindings struct {
	out *bufio.Writer
	n   int
}

func (j *jsonFindings) Write(fd *finding.Finding) error {
	b, err := fd.MarshalJSON()
	if err != nil {
		return err
	}
	if j.n == 0 {
		j.out.WriteString("[\n  ")
	} else {
		j.out.WriteString(",\n  ")
	}
	j.n++
	_, err = j.out.Write(b)
	return err
}

func (j *jsonFindings) Close() error {
	if j.n == 0 {
		j.out.WriteString("[")
	} else {
		j.out.WriteString("\n")
	}
	j.out.WriteString("]\n")
	return j.out.Flush()
}

type csvFindings struct {
	out *bufio.Writer
	cw  *csvsafe.Writer
}

func (c *csvFindings) Write(fd *finding.Finding) error {
	row, err := finding.MarshalRow(fd.Columns, fd.Values())
	if err != nil {
		return err
	}
	return c.cw.Write([]string{fd.Pack, fd.Query, fd.Technique, fd.Severity, fd.Evidence.File, fd.Evidence.IDs(" "), string(row)})
}

func (c *csvFindings) Close() error {
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return err
	}
	return c.out.Flush()
}
