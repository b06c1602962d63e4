package lineage

import (
	"strconv"
	"time"
)

// Status says whether a chain reaches a root, or why it was cut.
type Status uint8

// Chain states, as shown in lineage_status.
const (
	StatusComplete     Status = iota // reached a root (pid 0/1, or a parent id of 0 or itself)
	StatusParentExited               // the parent id names no live (or remembered) process
	StatusPIDReused                  // the process with the parent id started after the child
	StatusCycle                      // the parent links loop
	StatusTruncated                  // longer than MaxDepth
)

func (s Status) String() string {
	switch s {
	case StatusComplete:
		return "complete"
	case StatusParentExited:
		return "parent_exited"
	case StatusPIDReused:
		return "pid_reused"
	case StatusCycle:
		return "cycle"
	case StatusTruncated:
		return "truncated"
	}
	return "unknown"
}

// cutMark starts the ancestry of a chain that does not reach a root.
const cutMark = "?"

// sep joins the names of an ancestry.
const sep = " > "

const (
	unvisited uint8 = iota
	visiting
	resolved
)

// node is a process in one generate call, with its resolved chain memoised so that
// siblings share their ancestors' work.
type node struct {
	p       Proc
	up      *node // the real parent (for the parent_* columns); nil when unknown
	parent  *node // the chain link; nil at a root or a cut (differs from up only when cut)
	state   uint8
	status  Status
	depth   int    // ancestors in the chain
	chain   string // names, root first, this process last
	pids    string // pids, root first, this process last
	guid    string
	history bool // known only from History: exited, no row of its own
	emitted bool
}

// resolver links nodes to their parents. live finds a process by pid in the
// current view (a listed snapshot, or Source.Get with memoisation); history, when
// set, finds exited parents.
type resolver struct {
	live     func(pid int64) *node
	history  func(pid int64, start time.Time) (Proc, bool)
	hist     map[histKey]*node
	maxDepth int
	stack    []*node
}

type histKey struct {
	pid   int64
	start int64
}

// isRoot reports whether p starts a chain: the kernel/idle (0), init/launchd (1),
// or a process whose parent id is 0 (Windows System, kthreadd, a container's init)
// or itself.
func isRoot(p Proc) bool {
	return p.PID <= 1 || p.PPID <= 0 || p.PPID == p.PID
}

// reused reports whether parent cannot be child's parent because it started later:
// the parent's pid was reused after the real parent exited.
func reused(parent, child Proc) bool {
	return !parent.Start.IsZero() && !child.Start.IsZero() && parent.Start.After(child.Start)
}

// parentOf finds n's real parent: the live process with its parent id unless that
// one started after n, else the remembered one from history.
func (r *resolver) parentOf(n *node) (*node, Status) {
	if isRoot(n.p) {
		return nil, StatusComplete
	}
	ppid := n.p.PPID
	status := StatusParentExited
	if par := r.live(ppid); par != nil && par != n {
		if !reused(par.p, n.p) {
			return par, StatusComplete
		}
		status = StatusPIDReused
	}
	if r.history != nil {
		if h, ok := r.history(ppid, n.p.Start); ok && h.PID == ppid && !reused(h, n.p) {
			k := histKey{ppid, h.Start.UnixNano()}
			hn := r.hist[k]
			if hn == nil {
				if r.hist == nil {
					r.hist = make(map[histKey]*node)
				}
				hn = &node{p: h, history: true}
				r.hist[k] = hn
			}
			return hn, StatusComplete
		}
	}
	return nil, status
}

// resolve fills n's chain (and its ancestors'), walking up until a root, a cut, or
// an ancestor resolved earlier. It is iterative, so hostile depth cannot exhaust
// the stack, and bounded by maxDepth.
func (r *resolver) resolve(n *node) {
	if n.state == resolved {
		return
	}
	stack := r.stack[:0]
	cur := n
	for cur.state != resolved {
		cur.state = visiting
		stack = append(stack, cur)
		par, st := r.parentOf(cur)
		cur.up = par
		if par == nil {
			cur.status = st
			break
		}
		if par.state == visiting {
			cur.status = StatusCycle
			break
		}
		// Linking par makes n at least par.depth+len(stack) deep.
		if len(stack) > r.maxDepth || par.state == resolved && par.depth+len(stack) > r.maxDepth {
			cur.status = StatusTruncated
			break
		}
		cur.parent = par
		cur = par
	}
	for i := len(stack) - 1; i >= 0; i-- {
		s := stack[i]
		pid := strconv.FormatInt(s.p.PID, 10)
		if s.parent == nil {
			s.depth = 0
			if s.status == StatusComplete {
				s.chain = s.p.Name
			} else {
				s.chain = cutMark + sep + s.p.Name
			}
			s.pids = pid
		} else {
			s.depth = s.parent.depth + 1
			s.chain = s.parent.chain + sep + s.p.Name
			s.pids = s.parent.pids + "," + pid
			s.status = s.parent.status
		}
		s.state = resolved
	}
	r.stack = stack[:0]
}

// ancestry returns n's ancestry column: names root first, n last.
func (n *node) ancestry() string { return n.chain }

// ancestorPIDs returns the ancestors' pids, root first, n excluded.
func (n *node) ancestorPIDs() string {
	if n.parent == nil {
		return ""
	}
	return n.parent.pids
}
