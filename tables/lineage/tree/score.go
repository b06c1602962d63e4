package tree

import (
	"sync"

	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/internal/lru"
)

// Input is the one mapping from a process and its parent to the analysis context,
// for both process_lineage tables, process_creation_events and `exechunt events`.
// The parent is taken from p's own record when it describes one (as it was when p
// was created), else from parent (nil: unknown). parentScore is the parent's own
// score in its ancestry (Scorer), 0 when unknown.
func Input(p, parent *Proc, parentScore int) analysis.Process {
	in := analysis.Process{
		Image: orName(p.Path, p.Name), User: p.User, CurrentDirectory: p.CurrentDirectory,
		OriginalFileName: p.OriginalFileName, Description: p.Description, Product: p.Product, Company: p.Company,
		ParentScore: parentScore,
	}
	switch {
	case p.reported():
		in.ParentImage, in.ParentCmdline = p.ParentPath, p.ParentCmdline
	case parent != nil:
		in.ParentImage, in.ParentCmdline = orName(parent.Path, parent.Name), parent.Cmdline
	}
	return in
}

// orName is path, or name when the path is unknown (a parent whose executable
// cannot be read still has a name the parent/child rules understand).
func orName(path, name string) string {
	if path != "" {
		return path
	}
	return name
}

// MaxScoreDepth bounds how far up the ancestry a parent's suspicion is looked for.
const MaxScoreDepth = 8

// Scorer analyses processes in the context of their ancestry: a process with its
// parent's score, the parent with its own parent's, up to MaxScoreDepth levels, so
// everything started under a suspicious process is part of its chain
// (`parent_suspicious`). Results are cached by their whole input (an exec keeps pid
// and start time but changes the command line). Safe for concurrent use; the nodes
// it scores are not (score one query's nodes from one goroutine).
type Scorer struct {
	analyzer *analysis.Analyzer
	mu       sync.Mutex
	cache    *lru.Cache[cacheKey, cached] // nil: no cache
}

type cacheKey struct {
	cmdline string
	in      analysis.Process
}

type cached struct {
	res  analysis.Result
	cost int64
}

// NewScorer returns a Scorer whose cache keeps at most cacheBytes (<= 0: no cache);
// a nil a means analysis.New().
func NewScorer(a *analysis.Analyzer, cacheBytes int64) *Scorer {
	if a == nil {
		a = analysis.New()
	}
	s := &Scorer{analyzer: a}
	if cacheBytes > 0 {
		s.cache = lru.New[cacheKey, cached](0, cacheBytes, func(c cached) int64 { return c.cost })
	}
	return s
}

// Analyze is the (cached) analysis of cmdline in context in.
func (s *Scorer) Analyze(cmdline string, in analysis.Process) analysis.Result {
	k := cacheKey{cmdline, in}
	if s.cache != nil {
		s.mu.Lock()
		c, ok := s.cache.Get(k)
		s.mu.Unlock()
		if ok {
			return c.res
		}
	}
	res := s.analyzer.AnalyzeCommandLine(cmdline, in)
	if s.cache != nil {
		s.mu.Lock()
		s.cache.Add(k, cached{res, keyCost(&k) + resultCost(&res)})
		s.mu.Unlock()
	}
	return res
}

// Result is the analysis of resolved n with its parent's score as context.
func (s *Scorer) Result(n *Node) analysis.Result {
	n.GUID() // memoised here, before rows are formatted in parallel
	return s.analyse(n, s.nodeScore(n.up, 0))
}

// ParentScore is the score of resolved n's parent, judged with its own parent's
// score; 0 when the parent is unknown.
func (s *Scorer) ParentScore(n *Node) int { return s.nodeScore(n.up, 0) }

func (s *Scorer) nodeScore(n *Node, depth int) int {
	if n == nil || depth >= MaxScoreDepth {
		return 0
	}
	if !n.scored {
		n.score, n.scored = s.analyse(n, s.nodeScore(n.up, depth+1)).Score, true
	}
	return n.score
}

func (s *Scorer) analyse(n *Node, parentScore int) analysis.Result {
	var par *Proc
	if n.up != nil {
		par = &n.up.P
	}
	cl := n.P.Cmdline
	if n.P.ArgvQuoted != "" {
		cl = n.P.ArgvQuoted
	}
	return s.Analyze(cl, Input(&n.P, par, parentScore))
}

func keyCost(k *cacheKey) int64 {
	in := &k.in
	return int64(len(k.cmdline) + len(in.Image) + len(in.ParentImage) + len(in.ParentCmdline) + len(in.User) +
		len(in.CurrentDirectory) + len(in.OriginalFileName) + len(in.Description) + len(in.Product) + len(in.Company) +
		len(in.ParentOriginalFileName) + 200)
}

func resultCost(r *analysis.Result) int64 {
	n := 256 + len(r.DecodedCommand) + len(r.EncodedCommand) + len(r.Program)
	for _, l := range r.Layers {
		n += len(l.Text) + 32
	}
	for _, a := range r.Args {
		n += len(a) + 16
	}
	for _, t := range r.Indicators {
		n += len(t) + 16
	}
	return int64(n)
}
