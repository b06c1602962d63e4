package auditlog

import (
	"errors"
	"os"
	"sync"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source"
)

// ErrNoMulticast is returned by OpenMulticast where the kernel's audit stream cannot
// be read: not Linux, or the process lacks CAP_AUDIT_READ, or the kernel has no audit
// support (it wraps the cause).
var ErrNoMulticast = errors.New("the kernel audit multicast group cannot be read")

// MaxQueuedBytes bounds the process creations a Multicast keeps between two Drains
// (by their strings' size plus 256 bytes each); when the tables are not queried for
// long on a busy host the oldest are dropped, and counted.
const MaxQueuedBytes = 8 << 20

// StreamName is the SourceFile of the events read from the kernel's stream.
const StreamName = "kernel audit (multicast)"

// queue holds the process creations a live stream completed, for Drain.
type queue struct {
	mu      sync.Mutex
	events  []event.Event
	bytes   int
	dropped int64
	err     error // why the stream ended, once it has
}

func (q *queue) push(r *event.Record) error {
	e := event.Normalize(r, false)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.events = append(q.events, e)
	q.bytes += queuedCost(&e)
	for q.bytes > MaxQueuedBytes && len(q.events) > 1 {
		q.bytes -= queuedCost(&q.events[0])
		q.events[0] = event.Event{}
		q.events = q.events[1:]
		q.dropped++
	}
	return nil
}

func queuedCost(e *event.Event) int {
	n := 256 + len(e.SourceFile) + len(e.Computer)
	if p := e.ProcessCreation; p != nil {
		n += len(p.Image) + len(p.Cmdline) + len(p.CurrentDirectory) + len(p.User) + len(p.LoginUser) + len(p.RuleName)
	}
	return n
}

// drain hands the queued events to fn and reports what was lost on the way.
func (q *queue) drain(fn func(*event.Event)) (dropped int64, err error) {
	q.mu.Lock()
	evs := q.events
	q.events, dropped, err = nil, q.dropped, q.err
	q.dropped, q.bytes = 0, 0
	q.mu.Unlock()
	for i := range evs {
		fn(&evs[i])
	}
	return dropped, err
}

// addMessage joins one record as the kernel sends it (netlink type and
// "audit(…): fields").
func (a *Assembler) addMessage(typ uint16, data []byte, s *sink) error {
	s.st.Records++
	h, body, err := parseMessage(typ, data)
	if err != nil {
		s.st.BadLines++
		s.opt.Report(s.st, &source.Problem{File: s.name, Err: err})
		return nil
	}
	return a.add(h, body, 0, 0, s)
}

// Hostname is the computer name of live events ("" when the system does not say).
func Hostname() string {
	h, _ := os.Hostname()
	return h
}
