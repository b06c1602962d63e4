// Package syslog reads Sysmon for Linux events from text logs: syslog files
// (/var/log/syslog, /var/log/messages, `journalctl` text output) where each Sysmon
// line carries one event as XML after the syslog prefix, e.g.
//
//	May 11 18:10:20 UBUNTU5 sysmon: <Event><System><Provider Name="Linux-Sysmon" …
//
// and files of Windows event XML (`wevtutil qe /f:xml`), where an event may span lines.
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
// opt wants. format names the input in records ("syslog" or "xml"). In "xml" input an
// event may span lines (`wevtutil qe /f:xml` writes the line breaks of script text and
// PowerShell details as they are): its lines are joined up to </Event>, the next
// <Event or DefaultMaxLine bytes. Syslog keeps one event per line, since a message cut
// by its transport is followed by other programs' lines.
func Read(ctx context.Context, r io.Reader, name, format string, opt *source.Options, emit source.Emit) (source.Stats, error) {
	st := source.Stats{Files: 1}
	if opt == nil {
		opt = &source.Options{}
	}
	var (
		rec     event.Record
		pend    []byte // an event begun on an earlier line (xml input)
		pendNo  int    // the line it began on
		pendOff int64
		lastNo  int // the last line joined to pend (Lines skips empty ones)
	)
	// handle parses one event's XML that starts on line no at offset off.
	handle := func(chunk []byte, no int, off int64) error {
		where := opt.Where(no, off)
		st.Records++
		el, perr := xmlevent.Parse(chunk)
		if perr != nil {
			st.BadLines++
			opt.Report(&st, &source.Problem{File: name, Where: where, Err: fmt.Errorf("%v; event skipped", perr)})
			return nil
		}
		rec = event.Record{SourceFile: name, Format: format, Locator: fmt.Sprintf("line %d", no+opt.BaseLine)}
		xmlevent.ToRecord(el, &rec)
		if !opt.Wanted(rec.Provider, rec.Channel, rec.EventID) || !opt.InWindow(rec.Time) {
			st.Skipped++
			return nil
		}
		if rec.Truncated {
			opt.Report(&st, &source.Problem{File: name, Where: where,
				Err: fmt.Errorf("event %d (record %d) was cut short by its source; kept the fields before the cut", rec.EventID, rec.RecordID)})
		}
		st.Emitted++
		return emit(&rec)
	}
	join := func(no int, b []byte) {
		pend = append(pend, bytes.Repeat([]byte{'\n'}, no-lastNo)...)
		pend, lastNo = append(pend, b...), no
	}
	flush := func() error {
		chunk := pend
		pend = nil
		return handle(chunk, pendNo, pendOff)
	}
	n, err := source.Lines(ctx, r, source.DefaultMaxLine, func(no int, off int64, line []byte) error {
		if pend != nil {
			end := bytes.Index(line, closeTag)
			switch {
			case end >= 0 && eventStart(line[:end]) < 0 && len(pend)+(no-lastNo)+end < source.DefaultMaxLine:
				join(no, line[:end+len(closeTag)])
				if err := flush(); err != nil {
					return err
				}
				line = line[end+len(closeTag):]
			case eventStart(line) >= 0 || len(pend)+(no-lastNo)+len(line) >= source.DefaultMaxLine:
				if err := flush(); err != nil { // cut short: the next event begins, or too long
					return err
				}
			default:
				join(no, line)
				return nil
			}
		}
		for len(line) > 0 {
			i := eventStart(line)
			if i < 0 {
				return nil
			}
			end := bytes.Index(line[i:], closeTag)
			if end < 0 && format == "xml" {
				pend, pendNo, pendOff, lastNo = append([]byte(nil), line[i:]...), no, off, no
				return nil
			}
			var chunk []byte
			if end < 0 {
				// Cut short by the syslog message size limit: xmlevent keeps what is there.
				chunk, line = line[i:], nil
			} else {
				chunk = line[i : i+end+len(closeTag)]
				line = line[i+end+len(closeTag):]
			}
			if err := handle(chunk, no, off); err != nil {
				return err
			}
		}
		return nil
	}, opt.LongLine(name, &st))
	if pend != nil && err == nil {
		err = flush()
	}
	st.Bytes = n
	return st, err
}

// eventStart is the index of the first <Event> or <Event …> start tag in line (not
// <EventData>), or -1.
func eventStart(line []byte) int {
	for at := 0; ; {
		i := bytes.Index(line[at:], openTag)
		if i < 0 {
			return -1
		}
		j := at + i + len(openTag)
		if j >= len(line) || line[j] == '>' || line[j] == ' ' {
			return at + i
		}
		at = j
	}
}
