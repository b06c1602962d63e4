package tree

import (
	"context"
	"strconv"
	"time"

	"github.com/exechunt/exechunt/tables/lineage/schema"
)

// DefaultMaxDepth bounds an ancestry; longer chains are cut and marked truncated.
const DefaultMaxDepth = 64

// Node is a process in one query, with its resolved chain memoised so that siblings
// share their ancestors' work. A Node is not safe for concurrent use; once resolved
// and scored it is only read.
type Node struct {
	P    Proc
	name string // the name column

	up       *Node // the real parent (parent_* columns, analysis context); nil when unknown
	parent   *Node // the chain link; nil at a root or a cut (differs from up only when cut)
	state    uint8
	status   schema.State
	depth    int    // ancestors in the chain
	chain    string // names, root first, this process last
	pids     string // pids, root first, this process last
	guid     string
	reported bool // known only from its child's record: no row of its own, no known parent
	scored   bool
	score    int
}

// NewNode returns an unresolved node for p.
func NewNode(p Proc) *Node { return &Node{P: p, name: schema.ProcessName(p.Path, p.Name)} }

// NewNodes returns unresolved nodes for ps, in one allocation (a listing has
// thousands).
func NewNodes(ps []Proc) []Node {
	nodes := make([]Node, len(ps))
	for i := range ps {
		nodes[i] = Node{P: ps[i], name: schema.ProcessName(ps[i].Path, ps[i].Name)}
	}
	return nodes
}

// Name is the name column of n.
func (n *Node) Name() string { return n.name }

// GUID is the source's GUID, or one derived from host, pid and start time.
func (n *Node) GUID() string {
	if n.guid == "" {
		n.guid = n.P.GUID
		if n.guid == "" {
			n.guid = DeriveGUID(n.P.Host, n.P.PID, n.P.Start.UnixNano())
		}
	}
	return n.guid
}

// View is where a Resolver finds a parent among the processes of one query: a live
// snapshot, a process table read on demand, or the process creations of evidence.
// It returns the same *Node for the same process within a query (nil: unknown).
type View interface {
	// ByGUID returns the process with this GUID.
	ByGUID(guid string) *Node
	// ByPID returns the process holding pid on host now (live) or last (evidence).
	ByPID(host string, pid int64) *Node
}

// History finds processes seen earlier that may have exited: the latest one with
// this pid that started at or before start (a child's start finds its parent). It
// may block (it may wait for a reader of the sources) and must honour ctx.
type History func(ctx context.Context, pid int64, start time.Time) (Proc, bool, error)

// Resolver links nodes to their parents and walks each chain to its root once.
type Resolver struct {
	view     View
	history  History
	maxDepth int
	hist     map[histKey]*Node
	reported map[histKey]*Node
	stack    []*Node
	ctx      context.Context
	err      error
}

type histKey struct {
	host  string
	pid   int64
	start int64
	guid  string
	path  string
}

// NewResolver returns a resolver over v; h may be nil, maxDepth <= 0 means
// DefaultMaxDepth.
func NewResolver(v View, h History, maxDepth int) *Resolver {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	return &Resolver{view: v, history: h, maxDepth: maxDepth}
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

// parentOf finds n's real parent, in this order: the process with the GUID n's
// record names; the process holding n's parent id unless it started after n; the
// one History remembers; the parent as n's own record describes it (a node without
// a known parent of its own).
func (r *Resolver) parentOf(n *Node) (*Node, schema.State) {
	if n.reported {
		if n.P.PID <= 1 {
			return nil, schema.Complete
		}
		return nil, schema.ParentUnknown
	}
	if isRoot(n.P) {
		return nil, schema.Complete
	}
	ppid := n.P.PPID
	if g := n.P.ParentGUID; g != "" {
		if par := r.view.ByGUID(g); par != nil && par != n {
			return par, schema.Complete
		}
	}
	status := schema.ParentUnknown
	if par := r.view.ByPID(n.P.Host, ppid); par != nil && par != n {
		if !reused(par.P, n.P) {
			return par, schema.Complete
		}
		status = schema.PIDReused
	}
	if r.history != nil && r.err == nil {
		h, ok, err := r.history(r.ctx, ppid, n.P.Start)
		if err != nil {
			r.err = err
		} else if ok && h.PID == ppid && !reused(h, n.P) {
			return memo(&r.hist, histKey{host: h.Host, pid: ppid, start: h.Start.UnixNano()}, func() *Node { return NewNode(h) }), schema.Complete
		}
	}
	if n.P.reported() {
		k := histKey{host: n.P.Host, pid: ppid, guid: n.P.ParentGUID, path: n.P.ParentPath}
		return memo(&r.reported, k, func() *Node {
			p := NewNode(Proc{PID: ppid, Host: n.P.Host, Path: n.P.ParentPath, Cmdline: n.P.ParentCmdline, GUID: n.P.ParentGUID})
			p.reported = true
			return p
		}), schema.Complete
	}
	return nil, status
}

func memo(m *map[histKey]*Node, k histKey, mk func() *Node) *Node {
	if n := (*m)[k]; n != nil {
		return n
	}
	if *m == nil {
		*m = make(map[histKey]*Node)
	}
	n := mk()
	(*m)[k] = n
	return n
}

// Resolve fills n's chain (and its ancestors'), walking up until a root, a cut, or
// an ancestor resolved earlier. It is iterative, so hostile depth cannot exhaust
// the stack, and bounded by the maximum depth. The error is History's (ctx's).
func (r *Resolver) Resolve(ctx context.Context, n *Node) error {
	if n.state == resolved {
		return nil
	}
	r.ctx = ctx
	defer func() { r.ctx = nil }()
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
			cur.status = schema.Cycle
			break
		}
		// Linking par makes n at least par.depth+len(stack) deep.
		if len(stack) > r.maxDepth || par.state == resolved && par.depth+len(stack) > r.maxDepth {
			cur.status = schema.Truncated
			break
		}
		cur.parent = par
		cur = par
	}
	for i := len(stack) - 1; i >= 0; i-- {
		s := stack[i]
		pid := strconv.FormatInt(s.P.PID, 10)
		if s.parent == nil {
			s.depth = 0
			if s.status == schema.Complete {
				s.chain = s.name
			} else {
				s.chain = schema.CutMark + schema.Sep + s.name
			}
			s.pids = pid
		} else {
			s.depth = s.parent.depth + 1
			s.chain = s.parent.chain + schema.Sep + s.name
			s.pids = s.parent.pids + "," + pid
			s.status = s.parent.status
		}
		s.state = resolved
	}
	r.stack = stack[:0]
	return r.err
}

const (
	unvisited uint8 = iota
	visiting
	resolved
)

// Ancestry is n's ancestry column: names root first, n last.
func (n *Node) Ancestry() string { return n.chain }

// Depth is the number of known ancestors of n.
func (n *Node) Depth() int { return n.depth }

// Status is why n's chain ends.
func (n *Node) Status() schema.State { return n.status }

// AncestorPIDs returns the ancestors' pids, root first, n excluded.
func (n *Node) AncestorPIDs() string {
	if n.parent == nil {
		return ""
	}
	return n.parent.pids
}
