package eventtables

import (
	"strconv"
	"strings"
	"time"

	"github.com/exechunt/exechunt/internal/lru"
	"github.com/exechunt/exechunt/tables/event"
)

// node is what the lineage index keeps of a process creation: enough to name an
// ancestor after the process (and its event) are gone.
type node struct {
	image, cmdline string
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
		return int64(160 + len(n.image) + len(n.cmdline) + len(n.parentKey) + len(n.parentImage))
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

func (l *lineageIndex) add(e *event.Event) {
	p := e.ProcessCreation
	self, parent := keys(e)
	l.cache.Add(self, node{image: p.Image, cmdline: p.Cmdline, parentKey: parent, parentImage: p.ParentImage,
		pid: p.PID, ppid: p.ParentPID, time: e.Time})
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

// ancestry returns the chain of ancestor image names of e, root first, ending with e's
// own image, and the number of ancestors. Ancestors missing from the index end the
// walk; the last known parent image (from the child's own event) is still named. For
// pid-keyed nodes (4688) a candidate created after its child is a reused pid, not the
// parent, and ends the walk.
func (l *lineageIndex) ancestry(e *event.Event) (names []string, pids []int64) {
	p := e.ProcessCreation
	names = []string{baseName(p.Image)}
	_, key := keys(e)
	parentImage, parentPID, childTime := p.ParentImage, p.ParentPID, e.Time
	seen := map[string]bool{}
	for depth := 0; depth < maxAncestry && key != "" && !seen[key]; depth++ {
		n, ok := l.cache.Peek(key)
		if !ok || (strings.HasPrefix(key, "p:") && n.time.After(childTime)) {
			break
		}
		seen[key] = true
		names = append(names, baseName(n.image))
		pids = append(pids, n.pid)
		key, parentImage, parentPID, childTime = n.parentKey, n.parentImage, n.ppid, n.time
	}
	if parentImage != "" && !seen[key] {
		names = append(names, baseName(parentImage))
		pids = append(pids, parentPID)
	} else if parentImage == "" && parentPID != 0 && len(names) == 1 {
		names = append(names, "?")
		pids = append(pids, parentPID)
	}
	// Root first.
	for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
		names[i], names[j] = names[j], names[i]
	}
	for i, j := 0, len(pids)-1; i < j; i, j = i+1, j-1 {
		pids[i], pids[j] = pids[j], pids[i]
	}
	return names, pids
}

// baseName is the lower-case file name of a Windows or POSIX path (Windows names are
// case-insensitive; ancestry and name columns compare them as written in packs).
func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		p = p[i+1:]
	}
	return strings.ToLower(p)
}
