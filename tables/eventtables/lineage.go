package eventtables

import (
	"strconv"
	"strings"
	"time"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/internal/lru"
)

// node is what the lineage index keeps of a process creation: enough to name an
// ancestor after the process (and its event) are gone.
type node struct {
	image, cmdline string
	user           string
	parentKey      string // key of the parent node
	parentImage    string
	pid, ppid      int64
	time           time.Time
}

// lineageIndex maps process GUIDs (Sysmon) or computer+pid (4688, no GUIDs) to nodes,
// bounded by cost.
type lineageIndex struct {
	cache *lru.Cache[string, node]
}

func newLineageIndex(maxCost int64) *lineageIndex {
	return &lineageIndex{cache: lru.New[string, node](0, maxCost, func(n node) int64 {
		return int64(176 + len(n.image) + len(n.cmdline) + len(n.user) + len(n.parentKey) + len(n.parentImage))
	})}
}

// keys returns the index keys of a process creation and of its parent.
func keys(e *event.Event) (self, parent string) {
	p := e.ProcessCreation
	if p.ProcessGUID != "" {
		self = "g:" + p.ProcessGUID
	} else {
		self = "p:" + strings.ToLower(e.Computer) + ":" + strconv.FormatInt(p.PID, 10)
	}
	if p.ParentProcessGUID != "" {
		parent = "g:" + p.ParentProcessGUID
	} else if p.ParentPID != 0 {
		parent = "p:" + strings.ToLower(e.Computer) + ":" + strconv.FormatInt(p.ParentPID, 10)
	}
	return self, parent
}

// add indexes a process creation and returns its key.
func (l *lineageIndex) add(e *event.Event) string {
	p := e.ProcessCreation
	self, parent := keys(e)
	l.cache.Add(self, node{image: p.Image, cmdline: p.Cmdline, user: p.User, parentKey: parent, parentImage: p.ParentImage,
		pid: p.PID, ppid: p.ParentPID, time: e.Time})
	return self
}

// parent returns the node of e's parent when the index knows it (for pid keys, only a
// process created before e can be its parent).
func (l *lineageIndex) parent(e *event.Event) (node, bool) {
	_, key := keys(e)
	if key == "" {
		return node{}, false
	}
	n, ok := l.cache.Peek(key)
	if !ok || (strings.HasPrefix(key, "p:") && n.time.After(e.Time)) {
		return node{}, false
	}
	return n, true
}

// maxAncestry bounds an ancestry walk (and breaks cycles made by pid reuse).
const maxAncestry = 64

// walker resolves ancestries for one generate call, memoising each ancestor's chain so
// that rows sharing ancestors cost one lookup each.
type walker struct {
	l    *lineageIndex
	memo map[string]chain
}

// chain is an ancestry: names root first, joined by " > ", the pids of the indexed
// links root first (comma-separated), the number of links, and whether its top
// process's parent is missing from the index.
type chain struct {
	text  string
	depth int
	pids  string
	cut   bool
}

func (l *lineageIndex) walker() *walker { return &walker{l: l, memo: map[string]chain{}} }

// ancestry returns e's chain of image names, root first, ending with e's own image,
// and the number of ancestors in it. Ancestors missing from the index end the chain;
// the last known parent image (from the child's own event) is still named. For
// pid-keyed nodes (4688) a candidate created after its child is a reused pid, not the
// parent, and ends the chain.
func (w *walker) ancestry(e *event.Event) (string, int) {
	c := w.full(e)
	return c.text, c.depth - 1
}

// full is e's whole chain, e included.
func (w *walker) full(e *event.Event) chain {
	p := e.ProcessCreation
	_, key := keys(e)
	up, ok := w.of(key, e.Time, 0)
	switch {
	case ok:
	case p.ParentImage != "":
		up = chain{text: baseName(p.ParentImage), depth: 1, pids: strconv.FormatInt(p.ParentPID, 10), cut: true}
	case p.ParentPID != 0:
		up = chain{text: "?", depth: 1, pids: strconv.FormatInt(p.ParentPID, 10), cut: true}
	default:
		return chain{text: baseName(p.Image), depth: 1}
	}
	c := extend(up, baseName(p.Image))
	c.pids, c.cut = up.pids, up.cut // a row's pids are its ancestors'
	return c
}

// of returns the chain ending with the indexed process under key.
func (w *walker) of(key string, childTime time.Time, depth int) (chain, bool) {
	if key == "" || depth >= maxAncestry {
		return chain{}, false
	}
	n, ok := w.l.cache.Peek(key)
	if !ok || (strings.HasPrefix(key, "p:") && n.time.After(childTime)) {
		return chain{}, false
	}
	if c, ok := w.memo[key]; ok {
		return c, true
	}
	w.memo[key] = chain{text: baseName(n.image), depth: 1} // breaks cycles while this key is open
	up, ok := w.of(n.parentKey, n.time, depth+1)
	switch {
	case ok:
	case n.parentImage != "":
		up = chain{text: baseName(n.parentImage), depth: 1, pids: strconv.FormatInt(n.ppid, 10), cut: true}
	default:
		up = chain{cut: n.ppid != 0}
	}
	c := extend(up, baseName(n.image))
	c.cut = up.cut
	c.pids = strconv.FormatInt(n.pid, 10)
	if up.pids != "" {
		c.pids = up.pids + "," + c.pids
	}
	w.memo[key] = c
	return c, true
}

// extend appends a name to a chain, keeping at most maxAncestry names: beyond that the
// root-most names give way to "…".
func extend(up chain, name string) chain {
	if up.depth == 0 {
		return chain{text: name, depth: 1}
	}
	text := up.text
	if up.depth >= maxAncestry {
		parts := strings.SplitN(text, " > ", 3)
		switch {
		case parts[0] == "…" && len(parts) == 3:
			text = "… > " + parts[2]
		case len(parts) >= 2:
			text = "… > " + strings.Join(parts[1:], " > ")
		}
	}
	return chain{text: text + " > " + name, depth: up.depth + 1}
}

// baseName is the lower-case file name of a Windows or POSIX path (Windows names are
// case-insensitive; ancestry and name columns compare them as written in packs).
func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		p = p[i+1:]
	}
	return strings.ToLower(p)
}
