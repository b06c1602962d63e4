package lineage

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/lineage/schema"
	"github.com/exechunt/exechunt/tables/lineage/tree"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// TableName is the public name of the table.
const TableName = schema.TableName

// Proc is one process as a Source or a History knows it (tree.Proc: the live and
// the offline table describe processes alike).
type Proc = tree.Proc

// Source reads live processes. Implementations must be safe for concurrent use.
type Source interface {
	// List returns every live process. Processes that vanish while being read are
	// left out, never reported as an error.
	List(ctx context.Context) ([]Proc, error)
	// Get returns one process; an error wrapping ErrNotFound when it does not exist
	// (or no longer does).
	Get(ctx context.Context, pid int64) (Proc, error)
}

// History knows processes that were seen earlier (e.g. from Sysmon process-creation
// events), including ones that already exited.
type History interface {
	// Lookup returns the latest known process with this pid that started at or
	// before start (a process's own start time finds that process; a child's
	// start time finds the process that was its parent). ok is false when none
	// is known. It may wait for the history to catch up with its sources and
	// returns ctx's error when ctx ends first.
	Lookup(ctx context.Context, pid int64, start time.Time) (p Proc, ok bool, err error)
}

// ErrNotFound is wrapped by Source.Get when the process does not exist.
var ErrNotFound = errors.New("process not found")

// ErrUnsupported is returned by the default Source on operating systems without a
// process reader.
var ErrUnsupported = fmt.Errorf("process_lineage: not supported on %s", runtime.GOOS)

// Defaults of Options.
const (
	DefaultMaxDepth   = tree.DefaultMaxDepth
	DefaultCacheBytes = 16 << 20
)

// Options configure New. The zero value serves the platform's live processes.
type Options struct {
	// Source of live processes; nil means DefaultSource() (the platform's).
	Source Source
	// History fills in command lines, GUIDs and exited ancestors; nil means none.
	History History
	// MaxDepth bounds an ancestry; longer chains are cut and marked "truncated".
	// Zero means DefaultMaxDepth.
	MaxDepth int
	// Scorer analyses command lines in their ancestry; share the event tables' one
	// so that both use one cache. Nil means a new one over Analyzer (nil:
	// analysis.New()) with a cache of CacheBytes (zero: DefaultCacheBytes, negative:
	// no cache).
	Scorer     *tree.Scorer
	Analyzer   *analysis.Analyzer
	CacheBytes int
}

// lineageTable is process_lineage over the live processes.
type lineageTable struct {
	src      Source
	history  History
	maxDepth int
	scorer   *tree.Scorer
}

// Columns returns the schema of process_lineage (schema.Columns).
func Columns() []table.ColumnDefinition { return schema.Columns() }

// New returns the process_lineage table.
func New(opts Options) tablekit.Table {
	t := newTable(opts)
	return tablekit.Table{
		Name:        TableName,
		Description: "Live processes with their whole ancestry, parent fields, a stable GUID and command-line analysis.",
		Columns:     Columns(),
		Generate:    t.generate,
		Platforms:   []string{"linux", "windows", "darwin"},
	}
}

func newTable(opts Options) *lineageTable {
	t := &lineageTable{src: opts.Source, history: opts.History, maxDepth: opts.MaxDepth, scorer: opts.Scorer}
	if t.src == nil {
		t.src = DefaultSource()
	}
	if t.scorer == nil {
		bytes := int64(opts.CacheBytes)
		if bytes == 0 {
			bytes = DefaultCacheBytes
		}
		t.scorer = tree.NewScorer(opts.Analyzer, bytes)
	}
	return t
}

// generate answers one query. `pid =` (and IN) is pushed down to Source.Get and
// a walk up the parents; `name =` only limits which rows are built.
func (t *lineageTable) generate(ctx context.Context, qc table.QueryContext) ([]map[string]string, error) {
	names, byName := tablekit.Equals(qc, schema.Name)
	var keep func(*tree.Node) bool
	if byName {
		set := make(map[string]bool, len(names))
		for _, n := range names {
			set[strings.ToLower(n)] = true // names are lower case; SQLite compares the rest
		}
		keep = func(n *tree.Node) bool { return set[n.Name()] }
	}
	if pids, ok := tablekit.IntEquals(qc, schema.PID); ok {
		return t.generatePIDs(ctx, pids, keep)
	}
	procs, err := t.src.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	return t.generateAll(ctx, procs, keep)
}

// listing is the tree.View of one listing.
type listing struct {
	nodes  []tree.Node
	byPID  map[int64]*tree.Node
	byGUID map[string]*tree.Node // built at the first ByGUID (only History's processes name parents by GUID)
}

func (l *listing) ByPID(_ string, pid int64) *tree.Node { return l.byPID[pid] }

func (l *listing) ByGUID(guid string) *tree.Node {
	if l.byGUID == nil {
		l.byGUID = make(map[string]*tree.Node, len(l.nodes))
		for i := range l.nodes {
			if g := l.nodes[i].P.GUID; g != "" {
				l.byGUID[g] = &l.nodes[i]
			}
		}
	}
	return l.byGUID[guid]
}

// generateAll builds one row per listed process.
func (t *lineageTable) generateAll(ctx context.Context, procs []Proc, keep func(*tree.Node) bool) ([]map[string]string, error) {
	for i := range procs {
		if err := t.enrich(ctx, &procs[i]); err != nil {
			return nil, err
		}
	}
	view := &listing{nodes: tree.NewNodes(procs), byPID: make(map[int64]*tree.Node, len(procs))}
	for i := range view.nodes {
		if pid := view.nodes[i].P.PID; view.byPID[pid] == nil {
			view.byPID[pid] = &view.nodes[i]
		}
	}
	r := tree.NewResolver(view, t.lookup(), t.maxDepth)
	sel := make([]*tree.Node, 0, len(procs))
	for i := range view.nodes {
		if i&255 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		n := &view.nodes[i]
		if keep != nil && !keep(n) {
			continue
		}
		if err := r.Resolve(ctx, n); err != nil {
			return nil, fmt.Errorf("resolve ancestry: %w", err)
		}
		sel = append(sel, n)
	}
	return t.rows(ctx, sel)
}

// rowChunk is how many rows a goroutine formats at a time; below rowParallelMin
// rows one goroutine formats them all.
const (
	rowChunk       = 256
	rowParallelMin = 1024
)

// rows scores resolved nodes (in order: ancestors' scores are memoised on shared
// nodes), then formats them, in parallel on large listings: building 10,000 maps
// costs as much as reading /proc. Nodes are read-only by then.
func (t *lineageTable) rows(ctx context.Context, sel []*tree.Node) ([]map[string]string, error) {
	type analysed struct {
		indicators []string
		score      int
	}
	results := make([]analysed, len(sel))
	for i, n := range sel {
		if i&255 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		res := t.scorer.Result(n)
		results[i] = analysed{res.Indicators, res.Score}
	}
	rows := make([]map[string]string, len(sel))
	workers := min(runtime.GOMAXPROCS(0), (len(sel)+rowChunk-1)/rowChunk)
	if len(sel) < rowParallelMin {
		workers = 1
	}
	var next atomic.Int64
	work := func() {
		for ctx.Err() == nil {
			lo := int(next.Add(rowChunk)) - rowChunk
			if lo >= len(sel) {
				return
			}
			for i := lo; i < min(lo+rowChunk, len(sel)); i++ {
				rows[i] = tree.Row(sel[i], results[i].indicators, results[i].score)
			}
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Go(work)
	}
	work()
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return rows, nil
}

// reader is the tree.View of a `pid =` query: processes read one by one through
// Source.Get, each once.
type reader struct {
	ctx  context.Context
	t    *lineageTable
	seen map[int64]*tree.Node
	err  error // History's, while enriching
}

// ByPID reads an ancestor; one that cannot be read only cuts the chain.
func (v *reader) ByPID(_ string, pid int64) *tree.Node {
	if n, ok := v.seen[pid]; ok {
		return n
	}
	var n *tree.Node
	if p, err := v.t.src.Get(v.ctx, pid); err == nil {
		if err := v.t.enrich(v.ctx, &p); err != nil && v.err == nil {
			v.err = err
		}
		n = tree.NewNode(p)
	}
	v.seen[pid] = n
	return n
}

// ByGUID finds the processes read so far.
func (v *reader) ByGUID(guid string) *tree.Node {
	for _, n := range v.seen {
		if n != nil && n.P.GUID == guid {
			return n
		}
	}
	return nil
}

// generatePIDs answers `pid = N` (or IN) by reading only those processes and
// their ancestors.
func (t *lineageTable) generatePIDs(ctx context.Context, pids []int64, keep func(*tree.Node) bool) ([]map[string]string, error) {
	view := &reader{ctx: ctx, t: t, seen: make(map[int64]*tree.Node)}
	r := tree.NewResolver(view, t.lookup(), t.maxDepth)
	emitted := make(map[*tree.Node]bool)
	var sel []*tree.Node
	for _, pid := range pids {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, ok := view.seen[pid]
		if !ok {
			p, err := t.src.Get(ctx, pid)
			switch {
			case errors.Is(err, ErrNotFound):
			case err != nil:
				return nil, fmt.Errorf("read process %d: %w", pid, err)
			default:
				if err := t.enrich(ctx, &p); err != nil {
					return nil, err
				}
				n = tree.NewNode(p)
			}
			view.seen[pid] = n
		}
		if n == nil || emitted[n] || (keep != nil && !keep(n)) {
			continue // gone, listed twice by IN (...), or another name
		}
		if err := r.Resolve(ctx, n); err != nil {
			return nil, fmt.Errorf("resolve ancestry: %w", err)
		}
		if view.err != nil {
			return nil, view.err
		}
		emitted[n] = true
		sel = append(sel, n)
	}
	return t.rows(ctx, sel)
}

// lookup is History as the resolver asks it (nil without one).
func (t *lineageTable) lookup() tree.History {
	if t.history == nil {
		return nil
	}
	return t.history.Lookup
}

// historySlack is how much earlier than the live start time a remembered start may
// be and still be the same process (Sysmon's UtcTime has millisecond precision).
const historySlack = 2 * time.Second

// enrich fills what the live source could not read (command line, path, user)
// from History, and takes History's GUID (Sysmon's ProcessGuid, so rows join with
// process_creation_events), when History knows this very incarnation. Its error is
// ctx's.
func (t *lineageTable) enrich(ctx context.Context, p *Proc) error {
	if t.history == nil || p.Start.IsZero() {
		return nil
	}
	h, ok, err := t.history.Lookup(ctx, p.PID, p.Start)
	if err != nil {
		return fmt.Errorf("process history: %w", err)
	}
	if !ok || h.PID != p.PID || h.Start.IsZero() || h.Start.After(p.Start) || p.Start.Sub(h.Start) > historySlack {
		return nil
	}
	if p.Cmdline == "" {
		p.Cmdline = h.Cmdline
	}
	if p.Path == "" {
		p.Path = h.Path
	}
	if p.User == "" {
		p.User = h.User
	}
	if p.Name == "" {
		p.Name = h.Name
	}
	if h.GUID != "" {
		p.GUID = h.GUID
	}
	return nil
}
