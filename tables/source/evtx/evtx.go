// Package evtx reads Windows EVTX files chunk by chunk into event.Records, using
// www.velocidex.com/golang/evtx for the BinXML of each chunk.
//
// The reader holds one 64 KiB chunk at a time (memory does not grow with file size),
// skips chunks wholly outside a time window using their first/last record times, and
// reports damaged chunks (bad magic, checksum mismatch, records cut short) as
// source.Problems while going on with the rest. A panic inside the parser is recovered
// per chunk. A live channel file that grows while being read is read up to the size it
// had when the read began.
package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	vevtx "www.velocidex.com/golang/evtx"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source"
	"github.com/exechunt/exechunt/tables/source/evtx/binxml"
	"github.com/exechunt/exechunt/tables/source/xmlevent"
)

// ErrNotEVTX is returned for input that does not start with the EVTX file magic.
var ErrNotEVTX = errors.New("not an EVTX file (no ElfFile header)")

// maxRecordsPerChunk bounds work on a corrupted chunk header; a 64 KiB chunk cannot
// hold more than this many records of the 24-byte minimum size.
const maxRecordsPerChunk = (chunkSize - chunkHeaderSize) / recordHeader

// Read parses the EVTX data in r (size bytes, named name in reports) and calls emit
// for every record opt wants. It returns an error only when the input is not EVTX at
// all, on an I/O error, when ctx ends, or when emit fails.
func Read(ctx context.Context, r io.ReaderAt, size int64, name string, opt *source.Options, emit source.Emit) (source.Stats, error) {
	st := source.Stats{Files: 1}
	if opt == nil {
		opt = &source.Options{}
	}
	head := make([]byte, 128)
	if n, err := r.ReadAt(head, 0); n < len(head) {
		if err == nil || errors.Is(err, io.EOF) {
			return st, fmt.Errorf("%s: %w (file is %d bytes)", name, ErrNotEVTX, size)
		}
		return st, fmt.Errorf("%s: read header: %w", name, err)
	}
	fh, ok := parseFileHeader(head)
	if !ok {
		return st, fmt.Errorf("%s: %w", name, ErrNotEVTX)
	}
	if fh.major != 3 {
		opt.Report(&st, &source.Problem{File: name, Where: "file header",
			Err: fmt.Errorf("unknown EVTX version %d.%d, reading anyway", fh.major, fh.minor)})
	}

	buf := make([]byte, chunkSize)
	rd := &reader{name: name, opt: opt, st: &st, emit: emit}
	for off, idx := int64(fh.headerBlockSize), 0; off < size; off, idx = off+chunkSize, idx+1 {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		n, err := r.ReadAt(buf, off)
		st.Bytes += int64(n)
		where := fmt.Sprintf("chunk %d (offset %#x)", idx, off)
		if n < chunkSize {
			if err != nil && !errors.Is(err, io.EOF) {
				return st, fmt.Errorf("%s: %s: %w", name, where, err)
			}
			if n > 0 && !allZero(buf[:n]) {
				st.DamagedChunks++
				opt.Report(&st, &source.Problem{File: name, Where: where,
					Err: fmt.Errorf("file ends inside the chunk (%d of %d bytes); its records are skipped", n, chunkSize)})
			}
			break
		}
		if err := rd.chunk(buf, where); err != nil {
			return st, err
		}
	}
	return st, nil
}

// reader carries the per-file state of Read.
type reader struct {
	name string
	opt  *source.Options
	st   *source.Stats
	emit source.Emit
	rec  event.Record
}

func (rd *reader) problem(where string, err error) {
	rd.opt.Report(rd.st, &source.Problem{File: rd.name, Where: where, Err: err})
}

// chunk parses one 64 KiB chunk held in b.
func (rd *reader) chunk(b []byte, where string) error {
	if string(b[:8]) != chunkMagic {
		if !allZero(b[:chunkHeaderSize]) { // zeroed chunks are pre-allocated, not damaged
			rd.st.DamagedChunks++
			rd.problem(where, errors.New("bad chunk magic; chunk skipped"))
		}
		return nil
	}
	h := parseChunkHeader(b)
	if h.lastID == math.MaxUint64 {
		return nil // unused chunk
	}
	if rd.opt.MinFileRecordID > 0 && h.lastID < rd.opt.MinFileRecordID && h.lastNumber < rd.opt.MinFileRecordID {
		return nil // already read by an earlier tail
	}
	hOK, dOK := h.checksumsOK(b)
	if h.lastNumber < h.firstNumber || h.lastNumber-h.firstNumber >= maxRecordsPerChunk {
		rd.st.DamagedChunks++
		rd.problem(where, fmt.Errorf("impossible record numbers %d..%d (header checksum ok=%t); chunk skipped", h.firstNumber, h.lastNumber, hOK))
		return nil
	}
	if !rd.opt.Since.IsZero() || !rd.opt.Until.IsZero() {
		if first, last, ok := h.timeRange(b); ok &&
			((!rd.opt.Since.IsZero() && last.Before(rd.opt.Since)) || (!rd.opt.Until.IsZero() && first.After(rd.opt.Until))) {
			rd.st.SkippedChunks++
			return nil
		}
	}
	damaged := false
	if !hOK || !dOK {
		damaged = true
		rd.problem(where, fmt.Errorf("checksum mismatch (header ok=%t, records ok=%t); parsing anyway", hOK, dOK))
	}
	want := h.lastNumber - h.firstNumber + 1
	records, perr := parseChunk(b)
	if perr != nil {
		damaged = true
		rd.problem(where, perr)
	}
	for i, r := range records {
		rd.st.Records++
		if err := rd.record(r, where, i); err != nil {
			return err
		}
	}
	if uint64(len(records)) < want {
		damaged = true
		recovered, err := rd.recover(b, where, recordEnd(b, len(records)), want-uint64(len(records)))
		if err != nil {
			return err
		}
		rd.problem(where, fmt.Errorf("%d of %d records unreadable (record cut short or bad record magic); %d of them recovered by scanning",
			want-uint64(len(records)), want, recovered))
	}
	if damaged {
		rd.st.DamagedChunks++
	}
	return nil
}

// recordEnd is the offset just past the first n records of a chunk, where Velocidex
// stopped.
func recordEnd(b []byte, n int) int {
	offs := recordOffsets(b, n+1)
	if len(offs) > n {
		return offs[n]
	}
	if len(offs) == 0 {
		return chunkHeaderSize
	}
	last := offs[len(offs)-1]
	return last + int(binary.LittleEndian.Uint32(b[last+4:]))
}

// recover scans the rest of a damaged chunk from off for record headers and decodes
// each with the bounded binxml decoder (templates are resolved by chunk offset, so
// records after a damaged one still decode). It emits at most limit records.
func (rd *reader) recover(b []byte, where string, off int, limit uint64) (int, error) {
	recovered := 0
	for off < len(b)-recordHeader && uint64(recovered) < limit {
		i := bytes.Index(b[off+1:], []byte(recordMagic))
		if i < 0 {
			break
		}
		off += 1 + i
		size := int(binary.LittleEndian.Uint32(b[off+4:]))
		if size < recordHeader || off+size > len(b) {
			continue
		}
		el, err := binxml.ParseRecord(b, off)
		if err != nil {
			continue
		}
		fileID := binary.LittleEndian.Uint64(b[off+8:])
		rd.st.LastFileRecordID = max(rd.st.LastFileRecordID, fileID)
		if fileID < rd.opt.MinFileRecordID {
			off += size - 1
			continue
		}
		rec := &rd.rec
		*rec = event.Record{SourceFile: rd.name, Format: "evtx", FileRecordID: fileID,
			Locator: fmt.Sprintf("%s record %d (recovered)", where, fileID)}
		xmlevent.ToRecord(el, rec)
		if rec.Time.IsZero() {
			rec.Time = filetime(binary.LittleEndian.Uint64(b[off+16:]))
		}
		recovered++
		rd.st.Records++
		if !rd.opt.Wanted(rec.Provider, rec.Channel, rec.EventID) || !rd.opt.InWindow(rec.Time) {
			rd.st.Skipped++
		} else {
			rd.st.Emitted++
			if err := rd.emit(rec); err != nil {
				return recovered, err
			}
		}
		off += size - 1
	}
	return recovered, nil
}

// parseChunk runs the Velocidex parser over one chunk buffer, turning a panic into an
// error so one malformed chunk cannot take the process down.
func parseChunk(b []byte) (recs []*vevtx.EventRecord, err error) {
	defer func() {
		if r := recover(); r != nil {
			recs, err = nil, fmt.Errorf("evtx parser panic: %v; chunk skipped", r)
		}
	}()
	c, err := vevtx.NewChunk(bytes.NewReader(b), 0)
	if err != nil {
		return nil, fmt.Errorf("chunk header: %w", err)
	}
	if c.Header.LastEventRecNumber-c.Header.FirstEventRecNumber >= maxRecordsPerChunk {
		c.Header.LastEventRecNumber = c.Header.FirstEventRecNumber + maxRecordsPerChunk - 1
	}
	recs, err = c.Parse(0)
	if err != nil {
		err = fmt.Errorf("records: %w", err)
	}
	return recs, err
}

// record maps one parsed record and hands it to emit when wanted.
func (rd *reader) record(r *vevtx.EventRecord, where string, i int) (err error) {
	defer func() {
		if p := recover(); p != nil {
			rd.problem(fmt.Sprintf("%s record %d", where, i), fmt.Errorf("record mapping panic: %v; record skipped", p))
			err = nil
		}
	}()
	rd.st.LastFileRecordID = max(rd.st.LastFileRecordID, r.Header.RecordID)
	if r.Header.RecordID < rd.opt.MinFileRecordID {
		return nil
	}
	root, _ := r.Event.(*ordereddict.Dict)
	evAny, _ := dictGet(root, "Event")
	ev, _ := evAny.(*ordereddict.Dict)
	if ev == nil {
		rd.problem(fmt.Sprintf("%s record %d", where, i), errors.New("record has no <Event> element; skipped"))
		return nil
	}
	sysAny, _ := ev.Get("System")
	sys, _ := sysAny.(*ordereddict.Dict)

	rec := &rd.rec
	*rec = event.Record{SourceFile: rd.name, Format: "evtx", FileRecordID: r.Header.RecordID}
	rec.Provider = str(path(sys, "Provider", "Name"))
	if rec.Provider == "" {
		rec.Provider = str(path(sys, "Provider", "EventSourceName"))
	}
	rec.Channel = str(path(sys, "Channel"))
	rec.EventID = uint32(num(eventID(sys)))
	if !rd.opt.Wanted(rec.Provider, rec.Channel, rec.EventID) {
		rd.st.Skipped++
		return nil
	}
	rec.Time = systemTime(path(sys, "TimeCreated", "SystemTime"))
	if rec.Time.IsZero() {
		rec.Time = filetime(r.Header.FileTime)
	}
	if !rd.opt.InWindow(rec.Time) {
		rd.st.Skipped++
		return nil
	}
	rec.RecordID = num(path(sys, "EventRecordID"))
	rec.Computer = str(path(sys, "Computer"))
	rec.Keywords = keywords(path(sys, "Keywords"))
	rec.Level = int(num(path(sys, "Level")))
	rec.ExecutionPID = int64(num(path(sys, "Execution", "ProcessID")))
	rec.UserSID = str(path(sys, "Security", "UserID"))
	rec.Locator = fmt.Sprintf("%s record %d", where, r.Header.RecordID)
	rec.Data = newDictFields(ev)
	rd.st.Emitted++
	return rd.emit(rec)
}

// eventID unwraps EventID, which is {Value: n} or {Qualifiers: q, Value: n} in
// templated records and plain text in inline ones.
func eventID(sys *ordereddict.Dict) any {
	v, _ := dictGet(sys, "EventID")
	if d, ok := v.(*ordereddict.Dict); ok {
		v, _ = d.Get("Value")
	}
	return v
}

func dictGet(d *ordereddict.Dict, key string) (any, bool) {
	if d == nil {
		return nil, false
	}
	return d.Get(key)
}

// path walks nested dicts.
func path(d *ordereddict.Dict, keys ...string) any {
	var v any = d
	for _, k := range keys {
		dd, ok := v.(*ordereddict.Dict)
		if !ok || dd == nil {
			return nil
		}
		v, _ = dd.Get(k)
	}
	return v
}

// systemTime reads TimeCreated/SystemTime: Velocidex gives FILETIME substitutions as
// float64 seconds since 1970; inline records carry RFC 3339 text.
func systemTime(v any) time.Time {
	switch t := v.(type) {
	case float64:
		if t <= 0 {
			return time.Time{}
		}
		sec, frac := math.Modf(t)
		return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC()
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999 -0700 MST"} {
			if ts, err := time.Parse(layout, t); err == nil {
				return ts.UTC()
			}
		}
	}
	return time.Time{}
}

// keywords keeps the uint64 Keywords exact (HexInt64 arrives as uint64, text as 0x…).
func keywords(v any) uint64 {
	if s, ok := v.(string); ok {
		return event.ParseKeywords(s)
	}
	return num(v)
}

// num converts Velocidex's integer representations to uint64 (text is parsed).
func num(v any) uint64 {
	switch n := v.(type) {
	case uint8:
		return uint64(n)
	case uint16:
		return uint64(n)
	case uint32:
		return uint64(n)
	case uint64:
		return n
	case int32:
		return uint64(n)
	case int64:
		return uint64(n)
	case int:
		return uint64(n)
	case float64:
		return uint64(n)
	case string:
		s := strings.TrimSpace(n)
		if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
			u, _ := strconv.ParseUint(h, 16, 64)
			return u
		}
		u, _ := strconv.ParseUint(s, 10, 64)
		return u
	}
	return 0
}

// str renders any Velocidex value as the text Windows would show in XML.
func str(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case uint8:
		return strconv.FormatUint(uint64(t), 10)
	case uint16:
		return strconv.FormatUint(uint64(t), 10)
	case uint32:
		return strconv.FormatUint(uint64(t), 10)
	case uint64:
		return strconv.FormatUint(t, 10)
	case int32:
		return strconv.FormatInt(int64(t), 10)
	case int64:
		return strconv.FormatInt(t, 10)
	case int:
		return strconv.Itoa(t)
	case float32:
		return strconv.FormatFloat(float64(t), 'f', -1, 32)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	case []byte:
		return strings.ToUpper(fmt.Sprintf("%x", t))
	case []string:
		return strings.Join(t, "\n")
	case []any:
		parts := make([]string, len(t))
		for i, p := range t {
			parts[i] = str(p)
		}
		return strings.Join(parts, "\n")
	}
	return fmt.Sprint(v)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
