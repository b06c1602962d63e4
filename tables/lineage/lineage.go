package lineage

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// TableName is the public name of the table.
const TableName = "process_lineage"

// Proc is one process as a Source or a History knows it. Only PID is required;
// every other field may be empty.
type Proc struct {
	PID, PPID int64
	Name      string    // short name: comm on Linux and macOS, the image base name on Windows
	Path      string    // executable path
	Cmdline   string    // full command line, arguments quoted where needed
	User      string    // user name (or numeric id when it cannot be resolved)
	Start     time.Time // creation time; the zero value means unknown (no pid-reuse check)
	GUID      string    // a stable id given by the source (e.g. Sysmon's ProcessGuid); derived when empty
}

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
	// is known.
	Lookup(pid int64, start time.Time) (p Proc, ok bool)
}

// ErrNotFound is wrapped by Source.Get when the process does not exist.
var ErrNotFound = errors.New("process not found")

// ErrUnsupported is returned by the default Source on operating systems without a
// process reader.
var ErrUnsupported = fmt.Errorf("process_lineage: not supported on %s", runtime.GOOS)

// Defaults of Options.
const (
	DefaultMaxDepth     = 64
	DefaultCacheEntries = 16384
	DefaultCacheBytes   = 16 << 20
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
	// CacheEntries and CacheBytes bound the analysis cache (one entry per process
	// incarnation; bytes count the command lines and paths kept for it). Zero means
	// DefaultCacheEntries / DefaultCacheBytes; negative disables the cache.
	CacheEntries int
	CacheBytes   int
	// Analyzer scores command lines; nil means analysis.New() defaults.
	Analyzer *analysis.Analyzer
}

// lineageTable is process_lineage with its state (the analysis cache).
type lineageTable struct {
	src      Source
	history  History
	maxDepth int
	analyzer *analysis.Analyzer
	cache    *lru
}

// Column names.
const (
	colPID           = "pid"
	colParent        = "parent"
	colName          = "name"
	colPath          = "path"
	colCmdline       = "cmdline"
	colUsername      = "username"
	colStartTime     = "start_time"
	colParentName    = "parent_name"
	colParentPath    = "parent_path"
	colParentCmdline = "parent_cmdline"
	colAncestry      = "ancestry"
	colAncestorPIDs  = "ancestor_pids"
	colDepth         = "depth"
	colStatus        = "lineage_status"
	colGUID          = "process_guid"
	colParentGUID    = "parent_process_guid"
	colIndicators    = "indicators"
	colScore         = "score"
)

// Columns returns the schema of process_lineage.
func Columns() []table.ColumnDefinition {
	d := table.ColumnDescription
	return []table.ColumnDefinition{
		table.BigIntColumn(colPID, table.IndexColumn(), d("Process id")),
		table.BigIntColumn(colParent, d("Parent process id as the OS reports it (may name an exited or reused pid)")),
		table.TextColumn(colName, d("Process name (comm on Linux/macOS, image name on Windows)")),
		table.TextColumn(colPath, d("Executable path")),
		table.TextColumn(colCmdline, d("Command line; arguments with spaces are quoted; kernel threads show [name]")),
		table.TextColumn(colUsername, d("User the process runs as (real uid on Linux/macOS, token user on Windows)")),
		table.BigIntColumn(colStartTime, d("Process start, Unix seconds")),
		table.TextColumn(colParentName, d("Name of the real parent (empty when it exited or its pid was reused)")),
		table.TextColumn(colParentPath, d("Executable path of the real parent")),
		table.TextColumn(colParentCmdline, d("Command line of the real parent")),
		table.TextColumn(colAncestry, d("Names from the root to this process joined by ' > '; starts with '?' when the chain is cut")),
		table.TextColumn(colAncestorPIDs, d("Ancestor pids, root first, comma-separated (this process excluded)")),
		table.BigIntColumn(colDepth, d("Number of known ancestors")),
		table.TextColumn(colStatus, d("complete, or why the chain is cut: parent_exited, pid_reused, cycle, truncated")),
		table.TextColumn(colGUID, d("Stable process id: Sysmon's ProcessGuid when known, else derived from boot id, pid and start time")),
		table.TextColumn(colParentGUID, d("process_guid of the real parent")),
		table.TextColumn(colIndicators, d("Comma-separated indicator tags of the command-line analysis")),
		table.BigIntColumn(colScore, d("Command-line analysis score, 0-100")),
	}
}

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
	t := &lineageTable{src: opts.Source, history: opts.History, maxDepth: opts.MaxDepth, analyzer: opts.Analyzer}
	if t.src == nil {
		t.src = DefaultSource()
	}
	if t.maxDepth <= 0 {
		t.maxDepth = DefaultMaxDepth
	}
	if t.analyzer == nil {
		t.analyzer = analysis.New()
	}
	entries, bytes := opts.CacheEntries, opts.CacheBytes
	if entries == 0 {
		entries = DefaultCacheEntries
	}
	if bytes == 0 {
		bytes = DefaultCacheBytes
	}
	if entries > 0 && bytes > 0 {
		t.cache = newLRU(entries, bytes)
	}
	return t
}

// generate answers one query. `pid =` (and IN) is pushed down to Source.Get and
// a walk up the parents; `name =` only limits which rows are built.
func (t *lineageTable) generate(ctx context.Context, qc table.QueryContext) ([]map[string]string, error) {
	names, byName := tablekit.Equals(qc, colName)
	var keep func(*node) bool
	if byName {
		set := make(map[string]bool, len(names))
		for _, n := range names {
			set[n] = true
		}
		keep = func(n *node) bool { return set[n.p.Name] }
	}
	if pids, ok := tablekit.IntEquals(qc, colPID); ok {
		return t.generatePIDs(ctx, pids, keep)
	}
	procs, err := t.src.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	return t.generateAll(ctx, procs, keep)
}

// generateAll builds one row per listed process.
func (t *lineageTable) generateAll(ctx context.Context, procs []Proc, keep func(*node) bool) ([]map[string]string, error) {
	nodes := make([]node, len(procs))
	live := make(map[int64]*node, len(procs))
	for i := range procs {
		nodes[i].p = procs[i]
		t.enrich(&nodes[i].p)
		if _, dup := live[procs[i].PID]; !dup {
			live[procs[i].PID] = &nodes[i]
		}
	}
	r := t.newResolver(func(pid int64) *node { return live[pid] })
	sel := make([]*node, 0, len(nodes))
	for i := range nodes {
		if i&255 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		n := &nodes[i]
		if keep != nil && !keep(n) {
			continue
		}
		r.resolve(n)
		// Memoised here, before rows are built in parallel.
		n.processGUID()
		if n.up != nil {
			n.up.processGUID()
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

// rows formats resolved nodes, in parallel on large listings: building 10,000
// maps costs as much as reading /proc. Nodes are read-only by now.
func (t *lineageTable) rows(ctx context.Context, sel []*node) ([]map[string]string, error) {
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
				rows[i] = t.row(sel[i])
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

// generatePIDs answers `pid = N` (or IN) by reading only those processes and
// their ancestors.
func (t *lineageTable) generatePIDs(ctx context.Context, pids []int64, keep func(*node) bool) ([]map[string]string, error) {
	seen := make(map[int64]*node)
	// get reads an ancestor; one that cannot be read only cuts the chain.
	get := func(pid int64) *node {
		if n, ok := seen[pid]; ok {
			return n
		}
		var n *node
		if p, err := t.src.Get(ctx, pid); err == nil {
			t.enrich(&p)
			n = &node{p: p}
		}
		seen[pid] = n
		return n
	}
	r := t.newResolver(get)
	var rows []map[string]string
	for _, pid := range pids {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, ok := seen[pid]
		if !ok {
			p, err := t.src.Get(ctx, pid)
			switch {
			case errors.Is(err, ErrNotFound):
			case err != nil:
				return nil, fmt.Errorf("read process %d: %w", pid, err)
			default:
				t.enrich(&p)
				n = &node{p: p}
			}
			seen[pid] = n
		} else if n != nil && n.emitted {
			continue // IN (...) listed it twice
		}
		if n == nil || (keep != nil && !keep(n)) {
			continue
		}
		r.resolve(n)
		n.emitted = true
		rows = append(rows, t.row(n))
	}
	return rows, nil
}

func (t *lineageTable) newResolver(live func(int64) *node) *resolver {
	r := &resolver{live: live, maxDepth: t.maxDepth}
	if t.history != nil {
		r.history = t.history.Lookup
	}
	return r
}

// historySlack is how much earlier than the live start time a remembered start may
// be and still be the same process (Sysmon's UtcTime has millisecond precision).
const historySlack = 2 * time.Second

// enrich fills what the live source could not read (command line, path, user)
// from History, and takes History's GUID (Sysmon's ProcessGuid, so rows join with
// process_creation_events), when History knows this very incarnation.
func (t *lineageTable) enrich(p *Proc) {
	if t.history == nil || p.Start.IsZero() {
		return
	}
	h, ok := t.history.Lookup(p.PID, p.Start)
	if !ok || h.PID != p.PID || h.Start.IsZero() || h.Start.After(p.Start) || p.Start.Sub(h.Start) > historySlack {
		return
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
}
