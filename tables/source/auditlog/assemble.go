package auditlog

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/exechunt/exechunt/tables/analysis/cmdline"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/internal/decimal"
	"github.com/exechunt/exechunt/tables/source"
)

// Bounds of the assembler. An event is complete when its PROCTITLE (the kernel's last
// record of a syscall event) or EOE record arrives, or its SYSCALL when it began with
// its PROCTITLE (ausearch prints events last record first), or at ausearch's ----; one whose last record lies
// Window records back is complete too (old kernels write no PROCTITLE, a log may be
// cut), as is every event at the end of the input. At most MaxInFlight events wait
// at once (the oldest goes first), and one event keeps at most MaxArgBytes of
// arguments and MaxArgs arguments: the rest is dropped and the event marked
// truncated.
const (
	Window      = 256
	MaxInFlight = 512
	MaxArgBytes = 1 << 20
	MaxArgs     = 1 << 14
	// MaxPendingBytes bounds the arguments of all waiting events together: past it
	// the oldest are finished first, so a hostile log of many huge unfinished events
	// cannot hold MaxInFlight × MaxArgBytes.
	MaxPendingBytes = 8 << 20
	// maxField bounds the other values an event keeps (cwd, path, exe, proctitle…):
	// the kernel writes at most PATH_MAX (4096) of a path and 128 bytes of a title.
	maxField = 4096
	// recentDone is how many completed events are remembered so that their late
	// records are passed over instead of starting an event of their own.
	recentDone = 64
)

// pending is an event whose records are still arriving.
type pending struct {
	stamp
	line int   // line of its first record (with opt.BaseLine)
	off  int64 // and its offset
	last int64 // the assembler's record count at its last record
	// reversed: the event began with its PROCTITLE, as ausearch prints events
	// (PROCTITLE … SYSCALL): its SYSCALL ends it.
	reversed bool

	syscall bool // a SYSCALL record was seen
	execve  bool // the SYSCALL is execve/execveat, or an EXECVE record was seen
	other   bool // the SYSCALL is some other call: the event is passed over
	vals    [nSyscallFields]string
	names   [2]string // UID, AUID of an enriched log

	argc      int
	args      []string
	split     map[int]*strings.Builder // aN[i] chunks of long arguments
	argBytes  int
	proctitle []byte
	cwd       string
	path      string // PATH item 0 name
	truncated bool
}

// The SYSCALL fields kept, in the order Fields gives them.
const (
	fPID = iota
	fPPID
	fUID
	fAUID
	fSes
	fTTY
	fComm
	fExe
	fSuccess
	fExit
	fKey
	nSyscallFields
)

var syscallFieldNames = [nSyscallFields]string{"pid", "ppid", "uid", "auid", "ses", "tty", "comm", "exe", "success", "exit", "key"}

// Assembler joins the records of audit events into process creations. It keeps the
// events still missing records between calls, so that a tail of a growing log (or
// the kernel's stream) joins records that arrive in different reads. The zero value
// is ready to use; it is not safe for concurrent use.
type Assembler struct {
	inflight []*pending // arrival order
	bytes    int        // argBytes of the inflight events
	done     [recentDone]stamp
	doneN    int
	records  int64 // records seen, for Window
}

// find returns the pending event of st, or nil.
func (a *Assembler) find(st stamp) *pending {
	for i := len(a.inflight) - 1; i >= 0; i-- {
		if a.inflight[i].stamp == st {
			return a.inflight[i]
		}
	}
	return nil
}

func (a *Assembler) recentlyDone(st stamp) bool {
	for i := 0; i < min(a.doneN, recentDone); i++ {
		if a.done[i] == st {
			return true
		}
	}
	return false
}

// sink is where completed events go during one read.
type sink struct {
	name string
	opt  *source.Options
	st   *source.Stats
	emit source.Emit
	rec  event.Record
	f    joined
}

// add takes one record. Records of types the reader does not join are counted and
// passed over unless they belong to a pending event.
func (a *Assembler) add(h header, body []byte, line int, off int64, s *sink) error {
	a.records++
	if err := a.expire(s); err != nil {
		return err
	}
	for a.bytes > MaxPendingBytes && len(a.inflight) > 0 {
		if err := a.finish(0, s); err != nil {
			return err
		}
	}
	p := a.find(h.stamp)
	if p == nil {
		switch h.typ {
		case typeSyscall, typeExecve, typeCwd, typePath, typeProctitle:
		default:
			s.st.Skipped++ // a record of some other event (login, service, …)
			return nil
		}
		if a.recentlyDone(h.stamp) {
			s.st.Skipped++
			return nil
		}
		if len(a.inflight) >= MaxInFlight {
			if err := a.finish(0, s); err != nil {
				return err
			}
		}
		p = &pending{stamp: h.stamp, line: line, off: off, reversed: h.typ == typeProctitle}
		a.inflight = append(a.inflight, p)
	}
	p.last = a.records
	before := p.argBytes
	defer func() { a.bytes += p.argBytes - before }()
	if p.other {
		s.st.Skipped++
		if (h.typ == typeProctitle && !p.reversed) || h.typ == typeEOE {
			return a.finish(a.index(p), s)
		}
		return nil
	}
	switch h.typ {
	case typeSyscall:
		p.syscallRecord(body)
		if p.other {
			s.st.Skipped++
		}
		if p.reversed {
			return a.finish(a.index(p), s)
		}
	case typeExecve:
		p.execve = true
		p.execveRecord(body)
	case typeCwd:
		fields(body, func(k, v []byte) {
			if string(k) == "cwd" {
				p.cwd = clip(text(v))
			}
		})
	case typePath:
		p.pathRecord(body)
	case typeProctitle:
		fields(body, func(k, v []byte) {
			if string(k) == "proctitle" {
				if b, ok := unhex(v[:min(len(v), 2*maxField)]); ok {
					p.proctitle = b
				} else {
					p.proctitle = []byte(clip(text(v)))
				}
			}
		})
		if p.reversed {
			return nil
		}
		return a.finish(a.index(p), s)
	case typeEOE:
		return a.finish(a.index(p), s)
	}
	return nil
}

func (a *Assembler) index(p *pending) int {
	for i, q := range a.inflight {
		if q == p {
			return i
		}
	}
	return -1
}

// expire completes the events whose last record lies Window records back.
func (a *Assembler) expire(s *sink) error {
	for i := 0; i < len(a.inflight); {
		if a.records-a.inflight[i].last > Window {
			if err := a.finish(i, s); err != nil {
				return err
			}
			continue
		}
		i++
	}
	return nil
}

// Flush completes every pending event (the end of a file).
func (a *Assembler) flush(s *sink) error {
	for len(a.inflight) > 0 {
		if err := a.finish(0, s); err != nil {
			return err
		}
	}
	return nil
}

// flushComplete completes the pending execve events that have every record but the
// closing PROCTITLE (old kernels write none): the end of a tail's read, so that a live
// query need not wait for later records.
func (a *Assembler) flushComplete(s *sink) error {
	for i := 0; i < len(a.inflight); {
		if p := a.inflight[i]; p.syscall && p.execve && p.argc > 0 && len(p.args) >= p.argc && p.split == nil && p.cwd != "" && p.path != "" {
			if err := a.finish(i, s); err != nil {
				return err
			}
			continue
		}
		i++
	}
	return nil
}

// finish removes inflight[i] and emits it when it is a process creation.
func (a *Assembler) finish(i int, s *sink) error {
	if i < 0 {
		return nil
	}
	p := a.inflight[i]
	a.inflight = append(a.inflight[:i], a.inflight[i+1:]...)
	a.bytes -= p.argBytes
	a.done[a.doneN%recentDone] = p.stamp
	a.doneN++
	if p.other {
		return nil
	}
	if !p.execve {
		if p.syscall {
			s.st.Skipped++ // an execve rule never gives these, other rules do
		}
		return nil
	}
	return s.deliver(p)
}

// deliver emits a completed execve event.
func (s *sink) deliver(p *pending) error {
	where := fmt.Sprintf("line %d", p.line)
	t := time.Unix(p.sec, int64(p.ms)*int64(time.Millisecond)).UTC()
	if !s.opt.InWindow(t) {
		s.st.Skipped++
		return nil
	}
	s.f.reset(p)
	s.rec = event.Record{
		Provider: event.ProviderLinuxAudit, Channel: event.ChannelLinuxAudit, EventID: event.EventIDAuditExec,
		Computer: p.node, RecordID: p.serial, Time: t, Data: &s.f, Truncated: p.truncated,
		SourceFile: s.name, Format: "audit", Locator: where,
	}
	if pid, ok := decimal.Uint(p.vals[fPID]); ok {
		s.rec.ExecutionPID = int64(pid)
	}
	id := fmt.Sprintf("audit(%d.%03d:%d)", p.sec, p.ms, p.serial)
	at := fmt.Sprintf("line %d (offset %d)", p.line, p.off) // with BaseLine and BaseOffset already
	switch {
	case !p.syscall:
		s.opt.Report(s.st, &source.Problem{File: s.name, Where: at,
			Err: fmt.Errorf("event %s has no SYSCALL record (the log begins inside it or lost it): kept without pid, user or program", id)})
	case p.truncated:
		s.opt.Report(s.st, &source.Problem{File: s.name, Where: at,
			Err: fmt.Errorf("event %s: arguments missing or beyond %d bytes / %d arguments; kept those read", id, MaxArgBytes, MaxArgs)})
	}
	s.st.Emitted++
	return s.emit(&s.rec)
}

// syscallRecord reads a SYSCALL record.
func (p *pending) syscallRecord(body []byte) {
	p.syscall = true
	var arch, call, name []byte
	fields(body, func(k, v []byte) {
		switch string(k) {
		case "arch":
			arch = v
		case "syscall":
			call = v
		case "SYSCALL":
			name = v
		case "UID":
			p.names[0] = clip(text(v))
		case "AUID":
			p.names[1] = clip(text(v))
		}
		switch i := syscallField(k); i {
		case -1:
		case fComm, fExe, fKey:
			p.vals[i] = clip(text(v))
		default:
			p.vals[i] = clip(string(bytes.Trim(v, `"`)))
		}
	})
	if !p.execve && !isExecve(arch, call, bytes.Trim(name, `"`)) {
		p.other = true
		return
	}
	p.execve = true
}

// syscallField is the index of a kept SYSCALL field, or -1.
func syscallField(k []byte) int {
	for i, n := range syscallFieldNames {
		if string(k) == n {
			return i
		}
	}
	return -1
}

// execveRecord reads an EXECVE record: argc, then a0… (quoted or hex), or for a long
// argument aN_len=… and its chunks aN[0]=… aN[1]=…, which may come in further EXECVE
// records of the same event.
func (p *pending) execveRecord(body []byte) {
	fields(body, func(k, v []byte) {
		if string(k) == "argc" {
			if n, ok := decimal.Uint(v); ok {
				p.argc = int(min(n, MaxArgs+1))
			}
			return
		}
		if len(k) < 2 || k[0] != 'a' {
			return
		}
		k = k[1:]
		num := k
		chunk := -1
		if i := bytes.IndexByte(k, '['); i > 0 && k[len(k)-1] == ']' {
			num = k[:i]
			c, ok := decimal.Uint(k[i+1 : len(k)-1])
			if !ok {
				return
			}
			chunk = int(min(c, MaxArgs))
		} else if i := bytes.IndexByte(k, '_'); i > 0 {
			return // aN_len: the chunks tell the length
		}
		n, ok := decimal.Uint(num)
		if !ok {
			return
		}
		if n >= MaxArgs {
			p.truncated = true
			return
		}
		val := text(v)
		if p.argBytes+len(val) > MaxArgBytes {
			p.truncated = true
			return
		}
		p.argBytes += len(val)
		idx := int(n)
		if chunk >= 0 {
			if p.split == nil {
				p.split = map[int]*strings.Builder{}
			}
			sb := p.split[idx]
			if sb == nil {
				sb = &strings.Builder{}
				p.split[idx] = sb
			}
			sb.WriteString(val)
			return
		}
		for len(p.args) <= idx {
			p.args = append(p.args, "")
			p.argBytes += 16 // the slot
		}
		p.args[idx] = val
	})
}

// pathRecord keeps the name of item 0: the file execve was asked to run.
func (p *pending) pathRecord(body []byte) {
	var item, name []byte
	fields(body, func(k, v []byte) {
		switch string(k) {
		case "item":
			item = v
		case "name":
			name = v
		}
	})
	if string(item) == "0" && name != nil {
		p.path = clip(text(name))
	}
}

// clip bounds a value an event keeps to maxField bytes.
func clip(s string) string {
	if len(s) > maxField {
		return s[:maxField]
	}
	return s
}

// argv is the event's argument vector: EXECVE's arguments with the split ones joined.
func (p *pending) argv() []string {
	if len(p.split) > 0 {
		for idx, sb := range p.split {
			for len(p.args) <= idx {
				p.args = append(p.args, "")
			}
			p.args[idx] = sb.String()
		}
		p.split = nil
	}
	if p.argc > 0 && len(p.args) > p.argc {
		p.args = p.args[:p.argc]
	}
	if len(p.args) < p.argc {
		p.truncated = true // arguments lost, or more than MaxArgs
	}
	return p.args
}

// joined is the event.Fields of a completed event, reused from one event to the
// next.
type joined struct {
	names  []string
	values []string
}

func (f *joined) reset(p *pending) {
	f.names, f.values = f.names[:0], f.values[:0]
	for i, v := range p.vals {
		if v != "" {
			f.names = append(f.names, syscallFieldNames[i])
			f.values = append(f.values, v)
		}
	}
	if p.names[0] != "" {
		f.names, f.values = append(f.names, "UID"), append(f.values, p.names[0])
	}
	if p.names[1] != "" {
		f.names, f.values = append(f.names, "AUID"), append(f.values, p.names[1])
	}
	if p.cwd != "" {
		f.names, f.values = append(f.names, "cwd"), append(f.values, p.cwd)
	}
	if p.path != "" {
		f.names, f.values = append(f.names, "path"), append(f.values, p.path)
	}
	argv := p.argv()
	cl := ""
	switch {
	case len(argv) > 0:
		cl = strings.Join(argv, " ") // as Sysmon for Linux joins them: the Sigma rules' form
		f.names, f.values = append(f.names, "argc"), append(f.values, strconv.Itoa(p.argc))
		// The same line quoted where a shell would need it, for the analysis to split
		// back into the argv the program was given (perl -e 'exec "/bin/sh"').
		if q := cmdline.Join(argv); q != cl {
			f.names, f.values = append(f.names, "argv_quoted"), append(f.values, q)
		}
	case len(p.proctitle) > 0 && p.vals[fSuccess] != "no":
		// No EXECVE record: the title of the process after the exec (the first 128
		// bytes of its argv). A failed execve's title is the caller's, not kept.
		cl = spaced(p.proctitle)
	}
	if cl != "" {
		f.names, f.values = append(f.names, "cmdline"), append(f.values, cl)
	}
	if len(p.proctitle) > 0 {
		f.names, f.values = append(f.names, "proctitle"), append(f.values, spaced(p.proctitle))
	}
}

// spaced joins the NUL-separated arguments of a PROCTITLE with spaces.
func spaced(b []byte) string {
	return string(bytes.ReplaceAll(bytes.TrimRight(b, "\x00"), []byte{0}, []byte{' '}))
}

// Get implements event.Fields.
func (f *joined) Get(name string) (string, bool) {
	for i, n := range f.names {
		if n == name {
			return f.values[i], true
		}
	}
	return "", false
}

// Each implements event.Fields.
func (f *joined) Each(fn func(name, value string)) {
	for i, n := range f.names {
		fn(n, f.values[i])
	}
}
