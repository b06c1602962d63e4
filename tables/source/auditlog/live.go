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

// MaxQueued bounds the process creations a Multicast keeps between two Drains; when
// the tables are not queried for long on a busy host the oldest are dropped (and
// counted).
const MaxQueued = 20000

// StreamName is the SourceFile of the events read from the kernel's stream.
const StreamName = "kernel audit (multicast)"

// queue holds the process creations a live stream completed, for Drain.
type queue struct {
	mu      sync.Mutex
	events  []event.Event
	dropped int64
	err     error // why the stream ended, once it has
}

func (q *queue) push(r *event.Record) error {
	e := event.Normalize(r, false)
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.events) >= MaxQueued {
		q.events = q.events[1:]
		q.dropped++
	}
	q.events = append(q.events, e)
	return nil
}

// drain hands the queued events to fn and reports what was lost on the way.
func (q *queue) drain(fn func(*event.Event)) (dropped int64, err error) {
	q.mu.Lock()
	evs := q.events
	q.events, dropped, err = nil, q.dropped, q.err
	q.dropped = 0
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
