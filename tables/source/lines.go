package source

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxLine bounds one line of a line-oriented log. Longer lines are reported and
// skipped, never buffered whole, so a 200 MB single line cannot exhaust memory.
const DefaultMaxLine = 16 << 20

// ErrLineTooLong is the cause of the Problem reported for an over-long line.
var ErrLineTooLong = errors.New("line too long")

// Lines calls fn for every line of r (without its line ending; CR LF accepted), with
// its 1-based number and the byte offset where it starts. A line longer than max bytes
// is consumed without being kept and reported to tooLong instead. The slice passed to
// fn is valid only during the call.
func Lines(ctx context.Context, r io.Reader, max int, fn func(no int, off int64, line []byte) error, tooLong func(no int, off int64, n int64)) (int64, error) {
	if max <= 0 {
		max = DefaultMaxLine
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		off  int64
		no   int
		long []byte
	)
	for {
		if no%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return off, err
			}
		}
		no++
		start := off
		frag, err := br.ReadSlice('\n')
		off += int64(len(frag))
		line := frag
		if errors.Is(err, bufio.ErrBufferFull) {
			// The line continues: collect it up to max, then discard the rest.
			long = append(long[:0], frag...)
			over := false
			for errors.Is(err, bufio.ErrBufferFull) {
				frag, err = br.ReadSlice('\n')
				off += int64(len(frag))
				if !over && len(long)+len(frag) > max {
					over, long = true, long[:0]
				}
				if !over {
					long = append(long, frag...)
				}
			}
			if over {
				if tooLong != nil {
					tooLong(no, start, off-start)
				}
				if err != nil && !errors.Is(err, io.EOF) {
					return off, fmt.Errorf("line %d: %w", no, err)
				}
				if errors.Is(err, io.EOF) {
					return off, nil
				}
				continue
			}
			line = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return off, fmt.Errorf("line %d: %w", no, err)
		}
		line = trimEOL(line)
		if len(line) > max {
			if tooLong != nil {
				tooLong(no, start, off-start)
			}
			if errors.Is(err, io.EOF) {
				return off, nil
			}
			continue
		}
		if len(line) > 0 {
			if ferr := fn(no, start, line); ferr != nil {
				return off, ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return off, nil
		}
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// Where names line no, starting at offset off, of a line reader's input, counted
// from BaseLine and BaseOffset: "line 42 (offset 8190)".
func (o *Options) Where(no int, off int64) string {
	return fmt.Sprintf("line %d (offset %d)", no+o.BaseLine, off+o.BaseOffset)
}

// LongLine is the tooLong callback of Lines for a reader of file name: the line
// counts as bad and is reported.
func (o *Options) LongLine(name string, st *Stats) func(no int, off int64, n int64) {
	return func(no int, off int64, n int64) {
		st.BadLines++
		o.Report(st, &Problem{File: name, Where: o.Where(no, off),
			Err: fmt.Errorf("%w: %d bytes (limit %d); line skipped", ErrLineTooLong, n, DefaultMaxLine)})
	}
}
