// Package auditlog reads Linux audit records — /var/log/audit/audit.log, the output of
// `ausearch --raw` (or plain `ausearch`, whose ---- and time-> lines are passed over)
// and the kernel's audit stream — into process creations: the SYSCALL record of an
// execve or execveat joined with the EXECVE (arguments, quoted or hex, long ones split
// into aN[i] chunks), CWD, PATH and PROCTITLE records that carry the same event id
// (audit(SECONDS.MS:SERIAL) and node). Records of different events may interleave;
// an Assembler keeps the events still missing records, within fixed bounds (Window,
// MaxInFlight, MaxArgBytes, MaxPendingBytes), so memory stays bounded whatever the input.
//
// Each process creation is handed over as one event.Record of provider
// event.ProviderLinuxAudit whose fields are the SYSCALL record's own names (pid,
// ppid, uid, auid, ses, tty, comm, exe, success, exit, key; UID and AUID in enriched
// logs), cwd, path (PATH item 0), argc, cmdline (the arguments joined with spaces, as
// Sysmon for Linux and osquery's process_events write them, so that Sigma rules and
// stacks match across the sources; PROCTITLE's when there is no EXECVE record) and
// proctitle; event.Normalize
// maps them. An execve that failed (success=no) is kept and marked.
//
// Stats: Records counts audit records (lines), Emitted process creations, Skipped
// the records of other events and the process creations outside the time window.
// A line that is not an audit record is reported as a source.Problem with its number
// and reading goes on. No panic escapes a reader.
package auditlog

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source"
)

// Read reads a whole audit log from r (named name in reports) and calls emit for
// every process creation opt wants. It returns an error only on an I/O error, when
// ctx ends or emit fails.
func Read(ctx context.Context, r io.Reader, name string, opt *source.Options, emit source.Emit) (source.Stats, error) {
	var a Assembler
	return a.Read(ctx, r, name, opt, emit, true)
}

// Read reads the records of r into the assembler and calls emit for every process
// creation completed on the way. With atEnd, every event still pending at the end of
// r is completed too (the end of a file); without, events are kept for the next Read
// (a tail of a growing log) except those with every record but PROCTITLE.
func (a *Assembler) Read(ctx context.Context, r io.Reader, name string, opt *source.Options, emit source.Emit, atEnd bool) (st source.Stats, err error) {
	st = source.Stats{Files: 1}
	if opt == nil {
		opt = &source.Options{}
	}
	defer func() {
		if v := recover(); v != nil { // a bug here must not take the host's extension down
			err = fmt.Errorf("%s: audit reader: internal error: %v", name, v)
			*a = Assembler{}
		}
	}()
	s := &sink{name: name, opt: opt, st: &st, emit: emit}
	long := opt.LongLine(name, &st)
	want := opt.Wanted(event.ProviderLinuxAudit, event.ChannelLinuxAudit, event.EventIDAuditExec)
	n, err := source.Lines(ctx, r, source.DefaultMaxLine, func(no int, off int64, line []byte) error {
		if isSeparator(line) {
			if bytes.HasPrefix(line, []byte("----")) {
				return a.flush(s) // plain ausearch: the events before are whole
			}
			return nil
		}
		st.Records++
		if !want {
			st.Skipped++
			return nil
		}
		h, body, perr := parseLine(line)
		if perr != nil {
			st.BadLines++
			opt.Report(&st, &source.Problem{File: name, Where: opt.Where(no, off), Err: fmt.Errorf("%v; line skipped", perr)})
			return nil
		}
		return a.add(h, body, no+opt.BaseLine, off+opt.BaseOffset, s)
	}, func(no int, off int64, n int64) {
		st.Records++
		long(no, off, n)
	})
	st.Bytes = n
	if err != nil {
		return st, err
	}
	if atEnd {
		err = a.flush(s)
	} else {
		err = a.flushComplete(s)
	}
	return st, err
}

// Flush completes every event still pending (a tailed file was replaced) and calls
// emit for each process creation among them.
func (a *Assembler) Flush(name string, opt *source.Options, emit source.Emit) (source.Stats, error) {
	st := source.Stats{}
	if opt == nil {
		opt = &source.Options{}
	}
	return st, a.flush(&sink{name: name, opt: opt, st: &st, emit: emit})
}

// Pending is the number of events still missing records.
func (a *Assembler) Pending() int { return len(a.inflight) }

// Oldest is where the oldest pending event's first record is (its 1-based line and
// byte offset, with the BaseLine and BaseOffset of its read): a reader that must start
// over (a restart) resumes there so as not to lose the event. ok is false when none
// is pending.
func (a *Assembler) Oldest() (line int, off int64, ok bool) {
	for _, p := range a.inflight {
		if !ok || p.off < off {
			line, off, ok = p.line, p.off, true
		}
	}
	return line, off, ok
}

// isSeparator reports the lines plain ausearch prints between events.
func isSeparator(line []byte) bool {
	return bytes.HasPrefix(line, []byte("----")) || bytes.HasPrefix(line, []byte("time->"))
}

// Sniff reports whether the first bytes of a file are audit records: its first
// non-blank line is one (after ausearch's separator lines).
func Sniff(head []byte) bool {
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 || isSeparator(line) {
			continue
		}
		if head == nil && !bytes.Contains(line, []byte("):")) {
			// A first line cut by the sniff buffer: judge by its start.
			return bytes.Contains(line, []byte("type=")) && bytes.Contains(line, []byte(" msg=audit("))
		}
		_, _, err := parseLine(line)
		return err == nil
	}
	return false
}
