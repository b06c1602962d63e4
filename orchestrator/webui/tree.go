package webui

import (
	"sort"
	"strconv"
	"strings"
)

// SuspiciousScore is the score from which a process is highlighted (the
// tables' suspicious threshold).
const SuspiciousScore = 50

// Node is a process in a drawn tree.
type Node struct {
	Key            string // process_guid, or "pid:N"; "ghost:N" for an ancestor known only by name
	PID            string
	Name           string
	Row            map[string]string // nil for a ghost
	Score          int
	Indicators     []string
	Suspicious     bool
	Ghost          bool // known only from a descendant's ancestry
	Focus          bool
	Children       []*Node
	parent         *Node
	hasSuspicious  bool // in its subtree (itself included)
	visible        bool
	HiddenChildren int // children not drawn
}

// Tree is a process tree built from process_lineage rows.
type Tree struct {
	Roots      []*Node
	Suspicious []*Node // highlighted nodes, highest score first
	Total      int     // processes in the rows
	Shown      int     // nodes drawn
	Pruned     bool    // only suspicious (or focused) branches are drawn
	Capped     bool    // the drawing stopped at the node limit
}

// BuildTree links process_lineage rows into a forest. Parents are found by
// parent_process_guid, else by parent pid; an ancestor that has no row of its own
// (exited, or outside the rows) is added as a ghost from the child's ancestry and
// ancestor_pids. When focus names a node key or pid, only its branch is drawn;
// otherwise, when some processes are suspicious (score ≥ 50), only their
// ancestors and descendants are; otherwise everything is, up to limit nodes.
func BuildTree(rows []map[string]string, focus string, limit int) *Tree {
	if limit <= 0 {
		limit = 500
	}
	t := &Tree{Total: len(rows)}
	nodes := map[string]*Node{}
	byPID := map[string][]*Node{}
	var order []*Node
	for _, r := range rows {
		key := r["process_guid"]
		if key == "" {
			key = "pid:" + r["pid"]
		}
		if _, dup := nodes[key]; dup {
			continue
		}
		n := &Node{Key: key, PID: r["pid"], Name: r["name"], Row: r}
		n.Score, _ = strconv.Atoi(r["score"])
		n.Indicators = splitTags(r["indicators"])
		n.Suspicious = n.Score >= SuspiciousScore
		nodes[key] = n
		byPID[n.PID] = append(byPID[n.PID], n)
		order = append(order, n)
	}
	ghost := func(pid, name string) *Node {
		key := "ghost:" + pid
		if pid == "" {
			key = "ghost:?" + name
		}
		if g := nodes[key]; g != nil {
			return g
		}
		g := &Node{Key: key, PID: pid, Name: name, Ghost: true}
		nodes[key] = g
		return g
	}
	link := func(child, parent *Node) {
		if child.parent != nil || parent == child {
			return
		}
		for p := parent; p != nil; p = p.parent { // never make a cycle
			if p == child {
				return
			}
		}
		child.parent = parent
		parent.Children = append(parent.Children, child)
	}
	for _, n := range order {
		r := n.Row
		if p := nodes[r["parent_process_guid"]]; r["parent_process_guid"] != "" && p != nil {
			link(n, p)
			continue
		}
		if ps := byPID[r["parent"]]; len(ps) > 0 && r["parent"] != "" && r["parent"] != "0" && r["parent_process_guid"] == "" {
			link(n, ps[0])
			continue
		}
		// Walk the ancestry up, adding ghosts until an ancestor with a row is met.
		pids := splitList(r["ancestor_pids"], ",")
		names := splitList(r["ancestry"], " > ")
		if len(names) > 0 {
			names = names[:len(names)-1] // the last name is the process itself
		}
		child := n
		for i := len(pids) - 1; i >= 0; i-- {
			name := ""
			if j := len(names) - (len(pids) - i); j >= 0 && j < len(names) {
				name = names[j]
			}
			var p *Node
			if i == len(pids)-1 && r["parent_process_guid"] != "" {
				p = nil // the real parent's row is absent: a ghost of it
			} else if ps := byPID[pids[i]]; len(ps) > 0 {
				p = ps[0]
			}
			if p != nil {
				link(child, p)
				break
			}
			g := ghost(pids[i], name)
			link(child, g)
			if g.parent != nil {
				break // the rest of the chain is known already
			}
			child = g
		}
	}
	var roots []*Node
	for _, n := range nodes {
		if n.parent == nil {
			roots = append(roots, n)
		}
	}
	var sortNodes func(ns []*Node)
	sortNodes = func(ns []*Node) {
		sort.Slice(ns, func(i, j int) bool {
			a, b := ns[i], ns[j]
			if a.Row["start_time"] != b.Row["start_time"] {
				ai, _ := strconv.ParseInt(a.Row["start_time"], 10, 64)
				bi, _ := strconv.ParseInt(b.Row["start_time"], 10, 64)
				if ai != bi {
					return ai < bi
				}
			}
			if a.Name != b.Name {
				return a.Name < b.Name
			}
			return a.Key < b.Key
		})
		for _, n := range ns {
			sortNodes(n.Children)
		}
	}
	sortNodes(roots)

	// What to draw.
	var marks []*Node
	if focus != "" && focus != "*" {
		for _, n := range order {
			if n.Key == focus || n.PID == focus {
				n.Focus = true
				marks = append(marks, n)
			}
		}
	}
	if len(marks) == 0 && focus != "*" {
		for _, n := range order {
			if n.Suspicious {
				marks = append(marks, n)
			}
		}
	}
	for _, n := range order {
		if n.Suspicious {
			t.Suspicious = append(t.Suspicious, n)
		}
	}
	sort.SliceStable(t.Suspicious, func(i, j int) bool { return t.Suspicious[i].Score > t.Suspicious[j].Score })
	if len(marks) > 0 {
		t.Pruned = true
		for _, m := range marks {
			for p := m; p != nil && !p.visible; p = p.parent {
				p.visible = true
			}
			var down func(n *Node)
			down = func(n *Node) {
				for _, c := range n.Children {
					c.visible = true
					down(c)
				}
			}
			down(m)
		}
	} else {
		for _, n := range nodes {
			n.visible = true
		}
	}
	// Keep the visible nodes, up to limit, depth first.
	var keep func(ns []*Node) []*Node
	keep = func(ns []*Node) []*Node {
		var out []*Node
		for _, n := range ns {
			if !n.visible {
				continue
			}
			if t.Shown >= limit {
				t.Capped = true
				continue
			}
			t.Shown++
			all := len(n.Children)
			n.Children = keep(n.Children)
			n.HiddenChildren = all - len(n.Children)
			out = append(out, n)
		}
		return out
	}
	t.Roots = keep(roots)
	return t
}

func splitTags(s string) []string { return splitList(s, ",") }

func splitList(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
