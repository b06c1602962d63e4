package eventtables

import (
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/internal/lru"
	"github.com/exechunt/exechunt/tables/lineage/tree"
)

// lineageIndex remembers the process creations read (Sysmon by process GUID, 4688
// by computer and pid, which have no GUIDs), bounded by cost, so that ancestry
// survives a parent's exit and the eviction of its event, and by pid (the latest
// incarnations of each) for the live process_lineage's History. Safe for concurrent
// use: History lookups read it without the Store's lock.
type lineageIndex struct {
	mu    sync.Mutex
	cache *lru.Cache[string, tree.Proc]
	pids  *lru.Cache[int64, []pidRef]
}

// pidRef points from a pid to one of its incarnations in the index.
type pidRef struct {
	key   string
	start time.Time
}

// maxIncarnations bounds how many incarnations of one pid are remembered.
const maxIncarnations = 4

func newLineageIndex(maxCost int64, pidEntries int) *lineageIndex {
	return &lineageIndex{
		cache: lru.New[string, tree.Proc](0, maxCost, procCost),
		pids:  lru.New[int64, []pidRef](max(pidEntries, 1), 0, nil),
	}
}

func procCost(p tree.Proc) int64 {
	return int64(200 + len(p.Name) + len(p.Path) + len(p.Cmdline) + len(p.User) + len(p.GUID) + len(p.Host) +
		len(p.ParentGUID) + len(p.ParentPath) + len(p.ParentCmdline) + len(p.CurrentDirectory) +
		len(p.OriginalFileName) + len(p.Description) + len(p.Product) + len(p.Company))
}

// guidKey and pidKey are the index keys of a process (GUID) or of a pid on a host.
func guidKey(guid string) string { return "g:" + guid }

func pidKey(host string, pid int64) string { return "p:" + host + ":" + strconv.FormatInt(pid, 10) }

// keyOf is p's index key.
func keyOf(p *tree.Proc) string {
	if p.GUID != "" {
		return guidKey(p.GUID)
	}
	return pidKey(p.Host, p.PID)
}

// add indexes a process creation as a possible parent.
func (l *lineageIndex) add(e *event.Event) {
	p := tree.FromCreation(e)
	l.put(keyOf(&p), p)
}

func (l *lineageIndex) put(key string, p tree.Proc) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cache.Add(key, p)
	refs, _ := l.pids.Peek(p.PID)
	refs = append(refs, pidRef{key, p.Start})
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].start.Before(refs[j].start) })
	if len(refs) > maxIncarnations {
		refs = refs[len(refs)-maxIncarnations:]
	}
	l.pids.Add(p.PID, refs)
}

func (l *lineageIndex) peek(key string) (tree.Proc, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cache.Peek(key)
}

// latest is the latest indexed process with pid that started at or before limit
// (any when limit is zero).
func (l *lineageIndex) latest(pid int64, limit time.Time) (tree.Proc, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	refs, _ := l.pids.Get(pid)
	for i := len(refs) - 1; i >= 0; i-- {
		if !limit.IsZero() && refs[i].start.After(limit) {
			continue
		}
		if p, ok := l.cache.Peek(refs[i].key); ok {
			return p, true
		}
	}
	return tree.Proc{}, false
}

func (l *lineageIndex) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cache.Len()
}

// oldest calls fn for each indexed process, least recently used first, until fn
// returns false.
func (l *lineageIndex) oldest(fn func(key string, p tree.Proc) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cache.Oldest(fn)
}

// indexView is the tree.View of one query over the index: one node per indexed
// process, so that rows share their ancestors' resolution and scores.
type indexView struct {
	l     *lineageIndex
	nodes map[string]*tree.Node
}

func (l *lineageIndex) view() *indexView { return &indexView{l: l, nodes: map[string]*tree.Node{}} }

func (v *indexView) get(key string) *tree.Node {
	if n, ok := v.nodes[key]; ok {
		return n
	}
	var n *tree.Node
	if p, ok := v.l.peek(key); ok {
		n = tree.NewNode(p)
	}
	v.nodes[key] = n
	return n
}

// ByGUID implements tree.View.
func (v *indexView) ByGUID(guid string) *tree.Node { return v.get(guidKey(guid)) }

// ByPID implements tree.View: the latest creation of pid on host.
func (v *indexView) ByPID(host string, pid int64) *tree.Node { return v.get(pidKey(host, pid)) }

// node is the node of the process e created: the indexed one when the index holds
// this very incarnation, else a node of its own.
func (v *indexView) node(e *event.Event) *tree.Node {
	p := tree.FromCreation(e)
	if n := v.get(keyOf(&p)); n != nil && n.P.PID == p.PID && n.P.Start.Equal(p.Start) {
		return n
	}
	return tree.NewNode(p)
}
