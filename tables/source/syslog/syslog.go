// Package syslog reads Sysmon for Linux events from text logs: syslog files
// (/var/log/syslog, /var/log/messages, `journalctl` text output) where each Sysmon
// line carries one event as XML after the syslog prefix, e.g.
//
//	May 11 18:10:20 UBUNTU5 sysmon: <Event><System><Provider Name="Linux-Sysmon" …
//
// and files of Windows event XML with one <Event> per line (`wevtutil qe /f:xml`).
// Lines without event XML belong to other programs and are skipped; a line whose
// event XML is malformed is reported with its number and reading goes on.
package syslog

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source"
	"github.com/exechunt/exechunt/tables/source/xmlevent"
)

var (
	openTag  = []byte("<Event")
	closeTag = []byte("</Event>")
)

// Read scans r (named name in reports) for event XML and calls emit for every record
// opt wants. format names the input in records ("syslog" or "xml").
func Read(ctx context.Context, r io.Reader, name, format string, opt *source.Options, emit source.Emit) (source.Stats, error) {
	st := source.Stats{Files: 1}
	if opt == nil {
		opt = &source.Options{}
	}
	var rec event.Record
	n, err := source.Lines(ctx, r, source.DefaultMaxLine, func(no int, off int64, line []byte) error {
		for len(line) > 0 {
			i := bytes.Index(line, openTag)
			if i < 0 {
				return nil
			}
			// "<Event>" or "<Event xmlns=…>", not "<EventData>".
			if j := i + len(openTag); j < len(line) && line[j] != '>' && line[j] != ' ' {
				line = line[j:]
				continue
			}
			end := bytes.Index(line[i:], closeTag)
			where := fmt.Sprintf("line %d (offset %d)", no+opt.BaseLine, off+opt.BaseOffset)
			st.Records++
			var chunk []byte
			if end < 0 {
				// Cut short by the syslog message size limit: xmlevent keeps what is there.
				chunk, line = line[i:], nil
			} else {
				chunk = line[i : i+end+len(closeTag)]
				line = line[i+end+len(closeTag):]
			}
			el, perr := xmlevent.Parse(chunk)
			if perr != nil {
				st.BadLines++
				opt.Report(&st, &source.Problem{File: name, Where: where, Err: fmt.Errorf("%v; event skipped", perr)})
				continue
			}
			rec = event.Record{SourceFile: name, Format: format, Locator: fmt.Sprintf("line %d", no+opt.BaseLine)}
			xmlevent.ToRecord(el, &rec)
			if !opt.Wanted(rec.Provider, rec.Channel, rec.EventID) || !opt.InWindow(rec.Time) {
				st.Skipped++
				continue
			}
			if rec.Truncated {
				opt.Report(&st, &source.Problem{File: name, Where: where,
					Err: fmt.Errorf("event %d (record %d) was cut short by its source; kept the fields before the cut", rec.EventID, rec.RecordID)})
			}
			st.Emitted++
			if err := emit(&rec); err != nil {
				return err
			}
		}
		return nil
	}, func(no int, off int64, n int64) {
		st.BadLines++
		opt.Report(&st, &source.Problem{File: name, Where: fmt.Sprintf("line %d (offset %d)", no+opt.BaseLine, off+opt.BaseOffset),
			Err: fmt.Errorf("%w: %d bytes (limit %d); line skipped", source.ErrLineTooLong, n, source.DefaultMaxLine)})
	})
	st.Bytes = n
	return st, err
}
