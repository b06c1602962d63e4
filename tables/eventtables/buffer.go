package eventtables

import (
	"time"

	"github.com/exechunt/exechunt/tables/event"
)

// procBuffer keeps the most recent process creations within a cost budget. When it
// evicts, covered moves forward: windows starting before it are re-read from the
// sources.
type procBuffer struct {
	events  []*event.Event // arrival order
	head    int            // events[:head] are evicted (compacted lazily)
	cost    int64
	maxCost int64
	covered time.Time // every event at or after this time is in the buffer
	seen    map[identity]struct{}
}

func eventCost(e *event.Event) int64 {
	p := e.ProcessCreation
	n := 600 + len(e.SourceFile) + len(e.Computer) + len(e.Channel) + len(e.Locator)
	if p != nil {
		n += len(p.Image) + len(p.Cmdline) + len(p.ParentImage) + len(p.ParentCmdline) + len(p.User) +
			len(p.CurrentDirectory) + len(p.OriginalFileName) + len(p.Description) + len(p.Product) + len(p.Company) +
			len(p.FileVersion) + len(p.ParentUser) + len(p.LoginUser) + len(p.TTY) + len(p.RuleName) + 4*36 + 3*64
	}
	return int64(n)
}

func (b *procBuffer) add(e *event.Event) {
	id := identity{e.Computer, e.Channel, e.EventRecordID}
	if e.EventRecordID != 0 {
		if _, dup := b.seen[id]; dup {
			return
		}
		b.seen[id] = struct{}{}
	}
	cp := *e
	b.events = append(b.events, &cp)
	b.cost += eventCost(&cp)
	for b.cost > b.maxCost && b.head < len(b.events)-1 {
		old := b.events[b.head]
		b.events[b.head] = nil
		b.head++
		b.cost -= eventCost(old)
		delete(b.seen, identity{old.Computer, old.Channel, old.EventRecordID})
		if t := old.Time.Add(time.Nanosecond); t.After(b.covered) {
			b.covered = t
		}
	}
	if b.head > len(b.events)/2 && b.head > 1024 {
		b.events = append([]*event.Event(nil), b.events[b.head:]...)
		b.head = 0
	}
}

// live returns the buffered events (arrival order).
func (b *procBuffer) live() []*event.Event { return b.events[b.head:] }

// covers reports whether a window starting at since is wholly in the buffer.
func (b *procBuffer) covers(since time.Time) bool {
	return b.covered.IsZero() || (!since.IsZero() && !since.Before(b.covered))
}
