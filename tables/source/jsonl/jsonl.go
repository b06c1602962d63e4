// Package jsonl reads JSON event exports into event.Records:
//
//   - JSON lines (one object per line), the common case: OTRF Security-Datasets
//     ("Mordor") / NXLog im_msvistalog flat records, Winlogbeat/Elastic records
//     (winlog.event_data, winlog.event_id, winlog.provider_name), Sysmon for Linux
//     syslog records whose message field carries the event XML (Azure Sentinel
//     SyslogMessage, journald MESSAGE, Elastic message), and evtx_dump-style
//     {"Event": {"System": …, "EventData": …}} objects, with EventData as named
//     members, name/value pair lists or unnamed items in any common spelling;
//   - a JSON document: one pretty-printed object, several concatenated (evtx_dump
//     prints "Record N" lines between them), or an array of records.
//
// A line that is not JSON, or too long, is reported as a source.Problem with its
// number and offset, and reading goes on.
package jsonl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source"
)

// Read decodes the JSON in r (named name in reports) and calls emit for every record
// opt wants. It returns an error only on an I/O error, when ctx ends or emit fails.
func Read(ctx context.Context, r io.Reader, name string, opt *source.Options, emit source.Emit) (source.Stats, error) {
	st := source.Stats{Files: 1}
	if opt == nil {
		opt = &source.Options{}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	lineMode, err := sniffLines(br)
	if err == nil && lineMode {
		lineMode = !startsWithRecordHeader(br)
	}
	if err != nil {
		return st, fmt.Errorf("%s: %w", name, err)
	}
	d := &decoder{name: name, opt: opt, st: &st, emit: emit, format: "jsonl"}
	if !lineMode {
		d.format = "json"
		err = d.document(ctx, br)
		return st, err
	}
	long := opt.LongLine(name, &st)
	n, err := source.Lines(ctx, br, source.DefaultMaxLine, func(no int, off int64, line []byte) error {
		if isBlank(line) {
			return nil
		}
		st.Records++
		var m map[string]any
		if derr := unmarshal(line, &m); derr != nil {
			st.BadLines++
			opt.Report(&st, &source.Problem{File: name, Where: opt.Where(no, off),
				Err: fmt.Errorf("not a JSON object: %v; line skipped", derr)})
			return nil
		}
		return d.object(m, fmt.Sprintf("line %d", no+opt.BaseLine))
	}, func(no int, off int64, n int64) {
		st.Records++
		long(no, off, n)
	})
	st.Bytes = n
	return st, err
}

// sniffLines tells JSON lines from a JSON document: the input is line-oriented when
// its first non-blank line is a complete JSON value on its own.
func sniffLines(br *bufio.Reader) (bool, error) {
	for size := 4 << 10; ; size *= 4 {
		if size > br.Size() {
			size = br.Size()
		}
		peek, err := br.Peek(size)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return false, err
		}
		trimmed := bytes.TrimLeft(peek, " \t\r\n\xef\xbb\xbf")
		if len(trimmed) > 0 && trimmed[0] == '[' {
			return false, nil
		}
		if i := bytes.IndexByte(trimmed, '\n'); i >= 0 {
			return json.Valid(bytes.TrimSpace(trimmed[:i])), nil
		}
		if len(peek) < size || size == br.Size() {
			// One line only (or longer than the buffer): treat as lines; an over-long
			// line is then reported rather than decoded as one huge document.
			return true, nil
		}
	}
}

var recordHeader = regexp.MustCompile(`(?m)^Record \d+\s*$`)

// startsWithRecordHeader recognises evtx_dump output, which begins with "Record 1".
func startsWithRecordHeader(br *bufio.Reader) bool {
	peek, _ := br.Peek(64)
	peek = bytes.TrimLeft(peek, " \t\r\n\xef\xbb\xbf")
	if i := bytes.IndexByte(peek, '\n'); i > 0 {
		return recordHeader.Match(peek[:i+1])
	}
	return false
}

// document decodes a stream of JSON values: objects, or arrays of objects.
func (d *decoder) document(ctx context.Context, r io.Reader) error {
	dec := json.NewDecoder(&recordLineFilter{r: bufio.NewReader(r)})
	dec.UseNumber()
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			d.st.Bytes = dec.InputOffset()
			return nil
		}
		if err != nil {
			d.st.BadLines++
			d.opt.Report(d.st, &source.Problem{File: d.name, Where: fmt.Sprintf("offset %d", dec.InputOffset()),
				Err: fmt.Errorf("invalid JSON: %v; rest of file skipped", err)})
			return nil
		}
		items, ok := v.([]any)
		if !ok {
			items = []any{v}
		}
		for i, it := range items {
			d.st.Records++
			m, ok := it.(map[string]any)
			if !ok {
				d.st.BadLines++
				d.opt.Report(d.st, &source.Problem{File: d.name, Where: fmt.Sprintf("value %d", n),
					Err: fmt.Errorf("item %d is not a JSON object; skipped", i)})
				continue
			}
			if err := d.object(m, fmt.Sprintf("value %d", n)); err != nil {
				return err
			}
		}
	}
}

// recordLineFilter drops evtx_dump's "Record N" separator lines from a JSON stream.
type recordLineFilter struct {
	r   *bufio.Reader
	buf []byte
}

func (f *recordLineFilter) Read(p []byte) (int, error) {
	for len(f.buf) == 0 {
		line, err := f.r.ReadBytes('\n')
		if !recordHeader.Match(line) {
			f.buf = line
		}
		if len(line) == 0 && err != nil {
			return 0, err
		}
	}
	n := copy(p, f.buf)
	f.buf = f.buf[n:]
	return n, nil
}

func unmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

func isBlank(b []byte) bool { return len(bytes.TrimSpace(b)) == 0 }

// decoder carries the per-file state of Read.
type decoder struct {
	name   string
	format string
	opt    *source.Options
	st     *source.Stats
	emit   source.Emit
	rec    event.Record
}

// object maps one decoded JSON object and emits it when wanted.
func (d *decoder) object(m map[string]any, where string) error {
	rec := &d.rec
	*rec = event.Record{SourceFile: d.name, Format: d.format, Locator: where}
	if err := toRecord(m, rec); err != nil {
		d.st.BadLines++
		d.opt.Report(d.st, &source.Problem{File: d.name, Where: where, Err: err})
		return nil
	}
	if !d.opt.Wanted(rec.Provider, rec.Channel, rec.EventID) || !d.opt.InWindow(rec.Time) {
		d.st.Skipped++
		return nil
	}
	if rec.Truncated {
		d.opt.Report(d.st, &source.Problem{File: d.name, Where: where,
			Err: fmt.Errorf("event %d (record %d) was cut short by its source; kept the fields before the cut", rec.EventID, rec.RecordID)})
	}
	d.st.Emitted++
	return d.emit(rec)
}
