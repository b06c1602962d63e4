package eventtables

import (
	"sort"
	"strings"
	"time"

	"github.com/exechunt/exechunt/tables/event"
)

// part is one 4104 event of a script block.
type part struct {
	number   int
	text     string
	recordID uint64
	file     string
	locator  string
	time     time.Time
}

// block is a script block being (or fully) reassembled.
type block struct {
	id       string
	total    int
	parts    map[int]*part
	first    time.Time
	computer string
	userSID  string
	pid      int64
	path     string
	channel  string
	cost     int64
}

func newBlock(e *event.Event) *block {
	s := e.ScriptBlockPart
	return &block{id: s.ScriptBlockID, total: s.MessageTotal, parts: map[int]*part{}, first: e.Time,
		computer: e.Computer, userSID: e.UserSID, pid: e.ExecutionPID, path: s.ScriptPath, channel: e.Channel}
}

// add files one part; a part already seen (the same event read twice) is ignored.
// It returns the cost added.
func (b *block) add(e *event.Event) int64 {
	s := e.ScriptBlockPart
	if _, dup := b.parts[s.MessageNumber]; dup {
		return 0
	}
	p := &part{number: s.MessageNumber, text: s.ScriptText, recordID: e.EventRecordID, file: e.SourceFile, locator: e.Locator, time: e.Time}
	b.parts[s.MessageNumber] = p
	if s.MessageTotal > b.total {
		b.total = s.MessageTotal
	}
	if e.Time.Before(b.first) {
		b.first = e.Time
	}
	if b.path == "" {
		b.path = s.ScriptPath
	}
	c := partCost(p)
	b.cost += c
	return c
}

func partCost(p *part) int64 { return int64(200 + len(p.text) + len(p.file) + len(p.locator)) }

// complete reports whether every part 1..total was seen.
func (b *block) complete() bool {
	if b.total <= 0 || len(b.parts) < b.total {
		return false
	}
	for i := 1; i <= b.total; i++ {
		if _, ok := b.parts[i]; !ok {
			return false
		}
	}
	return true
}

// ordered returns the parts in MessageNumber order (not arrival order).
func (b *block) ordered() []*part {
	out := make([]*part, 0, len(b.parts))
	for _, p := range b.parts {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].number < out[j].number })
	return out
}

// text joins the parts in MessageNumber order.
func (b *block) text() string {
	var sb strings.Builder
	for _, p := range b.ordered() {
		sb.WriteString(p.text)
	}
	return sb.String()
}

// scriptIndex holds script blocks within a cost budget, evicting the oldest complete
// blocks first; partial blocks are kept as long as the budget allows, since their
// missing parts may still arrive.
type scriptIndex struct {
	blocks  map[string]*block
	order   []string // block ids by first arrival
	cost    int64
	maxCost int64
	covered time.Time
}

func (x *scriptIndex) add(e *event.Event) {
	id := e.ScriptBlockPart.ScriptBlockID
	b := x.blocks[id]
	if b == nil {
		b = newBlock(e)
		x.blocks[id] = b
		x.order = append(x.order, id)
	}
	x.cost += b.add(e)
	x.evict()
}

func (x *scriptIndex) evict() {
	for pass := 0; pass < 2 && x.cost > x.maxCost; pass++ {
		keep := x.order[:0]
		for _, id := range x.order {
			b := x.blocks[id]
			if b != nil && x.cost > x.maxCost && (pass == 1 || b.complete()) {
				x.cost -= b.cost
				delete(x.blocks, id)
				if t := b.first.Add(time.Nanosecond); t.After(x.covered) {
					x.covered = t
				}
				continue
			}
			if b != nil {
				keep = append(keep, id)
			}
		}
		x.order = keep
	}
}

func (x *scriptIndex) covers(since time.Time) bool {
	return x.covered.IsZero() || (!since.IsZero() && !since.Before(x.covered))
}
