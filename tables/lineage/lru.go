package lineage

import (
	"container/list"
	"sync"
)

// cacheKey is one process incarnation.
type cacheKey struct {
	pid   int64
	start int64 // Start.UnixNano()
}

// analysisInput is everything the analysis of a row depends on; a cached result is
// used only when all of it is unchanged (an exec keeps pid and start time but
// changes the command line).
type analysisInput struct {
	cmdline, image, user, parentImage, parentCmdline string
}

func (in *analysisInput) size() int {
	return len(in.cmdline) + len(in.image) + len(in.user) + len(in.parentImage) + len(in.parentCmdline)
}

type cacheEntry struct {
	in         analysisInput
	indicators string
	score      int
}

// lru is a bounded least-recently-used cache of analysis results, limited both in
// entries and in the bytes of the strings it keeps. Safe for concurrent use.
type lru struct {
	mu                   sync.Mutex
	maxEntries, maxBytes int
	bytes                int
	ll                   *list.List // front = most recent; values are *lruItem
	items                map[cacheKey]*list.Element
}

type lruItem struct {
	key cacheKey
	val cacheEntry
}

func newLRU(maxEntries, maxBytes int) *lru {
	return &lru{maxEntries: maxEntries, maxBytes: maxBytes, ll: list.New(), items: make(map[cacheKey]*list.Element)}
}

func (c *lru) get(k cacheKey) (cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*lruItem).val, true
	}
	return cacheEntry{}, false
}

func (c *lru) put(k cacheKey, v cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sz := entrySize(&v)
	if sz > c.maxBytes {
		return
	}
	if e, ok := c.items[k]; ok {
		it := e.Value.(*lruItem)
		c.bytes += sz - entrySize(&it.val)
		it.val = v
		c.ll.MoveToFront(e)
	} else {
		c.items[k] = c.ll.PushFront(&lruItem{key: k, val: v})
		c.bytes += sz
	}
	for c.ll.Len() > c.maxEntries || c.bytes > c.maxBytes {
		e := c.ll.Back()
		it := e.Value.(*lruItem)
		c.ll.Remove(e)
		delete(c.items, it.key)
		c.bytes -= entrySize(&it.val)
	}
}

func (c *lru) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// entrySize approximates an entry's memory: its strings plus fixed overhead.
func entrySize(v *cacheEntry) int { return v.in.size() + len(v.indicators) + 160 }
