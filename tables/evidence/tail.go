package evidence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/exechunt/exechunt/tables/source"
	"github.com/exechunt/exechunt/tables/source/auditlog"
	"github.com/exechunt/exechunt/tables/source/evtx"
	"github.com/exechunt/exechunt/tables/source/jsonl"
	"github.com/exechunt/exechunt/tables/source/syslog"
)

// Cursor remembers how far a file was read so that Tail reads only what was added
// since. The zero Cursor reads the whole file.
type Cursor struct {
	Format  Format
	Size    int64
	ModTime time.Time
	// Offset and Line count what line formats consumed: through the last complete line.
	Offset int64
	Line   int
	// NextFileRecordID is where an EVTX tail resumes (record header numbers).
	NextFileRecordID uint64
	info             os.FileInfo
	// audit holds the events of an audit log still missing records: the next tail
	// joins the records it reads to them.
	audit *auditlog.Assembler
}

// Resume is where a new reader of the file should start after this process stops:
// Offset and Line, or, for an audit log, the first record of the oldest event still
// missing records (it is read again; the events before it read twice are the same
// events, with the same identity).
func (c *Cursor) Resume() (offset int64, line int) {
	if c.audit != nil {
		if l, off, ok := c.audit.Oldest(); ok && off < c.Offset {
			return off, l - 1
		}
	}
	return c.Offset, c.Line
}

// Tail reads what was added to path since cur and advances cur. It reports reset when
// the file was replaced, truncated or (for JSON documents, which cannot be tailed)
// rewritten, in which case it was read again from the start.
func Tail(ctx context.Context, path string, cur *Cursor, opt source.Options, emit source.Emit) (st source.Stats, reset bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return st, false, &fileError{err}
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return st, false, &fileError{err}
	}
	if cur.info != nil && os.SameFile(cur.info, info) && info.Size() == cur.Size && info.ModTime().Equal(cur.ModTime) {
		return st, false, nil // unchanged
	}
	if cur.info != nil && (!os.SameFile(cur.info, info) || info.Size() < cur.Offset) {
		if cur.audit != nil {
			// The log was rotated: the events it left unfinished are finished now.
			fst, ferr := cur.audit.Flush(path, &opt, emit)
			st.Add(fst)
			if ferr != nil {
				return st, false, ferr
			}
		}
		*cur = Cursor{}
		reset = true
	}
	if cur.Format == FormatUnknown {
		head := make([]byte, 64<<10)
		n, err := f.ReadAt(head, 0)
		if err != nil && !errors.Is(err, io.EOF) {
			return st, reset, &fileError{err}
		}
		cur.Format = Sniff(head[:n])
	}
	switch cur.Format {
	case FormatEVTX:
		opt.MinFileRecordID = cur.NextFileRecordID
		st, err = evtx.Read(ctx, f, info.Size(), path, &opt, emit)
		if st.LastFileRecordID >= cur.NextFileRecordID {
			cur.NextFileRecordID = st.LastFileRecordID + 1
		}
		if errors.Is(err, evtx.ErrNotEVTX) {
			err = &fileError{err}
		}
	case FormatJSON, FormatSyslog, FormatAudit:
		end, ferr := lastLineEnd(f, cur.Offset, info.Size())
		if ferr != nil {
			return st, reset, &fileError{ferr}
		}
		if end <= cur.Offset {
			break // nothing complete was added
		}
		if cur.Format == FormatJSON && cur.Offset > 0 && !isLineJSON(f) {
			// A JSON document changed: it cannot be tailed, read it again.
			*cur = Cursor{Format: FormatJSON}
			reset = true
		}
		seg := &countingReader{r: io.NewSectionReader(f, cur.Offset, end-cur.Offset)}
		opt.BaseLine, opt.BaseOffset = cur.Line, cur.Offset
		var rst source.Stats
		switch cur.Format {
		case FormatJSON:
			rst, err = jsonl.Read(ctx, seg, path, &opt, emit)
		case FormatAudit:
			if cur.audit == nil {
				cur.audit = &auditlog.Assembler{}
			}
			rst, err = cur.audit.Read(ctx, seg, path, &opt, emit, false)
		default:
			rst, err = syslog.Read(ctx, seg, path, "syslog", &opt, emit)
		}
		st.Add(rst)
		if err == nil {
			cur.Offset, cur.Line = end, cur.Line+seg.lines
		}
	default:
		return st, reset, &fileError{ErrUnknownFormat}
	}
	if err != nil {
		return st, reset, err
	}
	cur.Size, cur.ModTime, cur.info = info.Size(), info.ModTime(), info
	return st, reset, nil
}

// lastLineEnd returns the offset just past the last newline in [from, size), or from
// when there is none (a line still being written is left for the next tail).
func lastLineEnd(f io.ReaderAt, from, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := size; end > from; {
		start := max(from, end-int64(len(buf)))
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("find last line: %w", err)
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return from, nil
}

// isLineJSON reports whether a JSON file is JSON lines (tail-able) rather than a
// document, from its first line.
func isLineJSON(f io.ReaderAt) bool {
	head := make([]byte, 4096)
	n, _ := f.ReadAt(head, 0)
	t := bytes.TrimLeft(head[:n], " \t\r\n\xef\xbb\xbf")
	return len(t) > 0 && t[0] == '{' && bytes.IndexByte(t, '\n') > 0 && bytes.HasSuffix(bytes.TrimRight(t[:bytes.IndexByte(t, '\n')], "\r"), []byte("}"))
}

// countingReader counts the newlines read through it.
type countingReader struct {
	r     io.Reader
	lines int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.lines += bytes.Count(p[:n], []byte{'\n'})
	return n, err
}
