package eventtables

import (
	"context"

	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/evidence"
	"github.com/exechunt/exechunt/tables/lineage/tree"
)

// Scorer resolves process creations through the ones indexed before (package
// tree's Resolver over a lineageIndex) and analyses them in the context of their
// ancestry (tree.Scorer), so that process_creation_events, the offline
// process_lineage and `exechunt events` (it is an evidence.Lineage) give the same
// ancestries and tags as the live process_lineage.
type Scorer struct {
	index *lineageIndex
	tree  *tree.Scorer
}

// NewScorer returns a Scorer whose lineage index and analysis cache take the Store's
// shares of cacheBytes (see Options.CacheBytes); a nil analyzer means analysis.New().
func NewScorer(a *analysis.Analyzer, cacheBytes int64) *Scorer {
	if cacheBytes <= 0 {
		cacheBytes = DefaultCacheBytes
	}
	return &Scorer{
		index: newLineageIndex(cacheBytes*8/100, int(cacheBytes*2/100/256)),
		tree:  tree.NewScorer(a, cacheBytes*8/100),
	}
}

var _ evidence.Lineage = (*Scorer)(nil)

// Add indexes a process creation as a possible parent.
func (s *Scorer) Add(e *event.Event) { s.index.add(e) }

// ParentScore is the score of e's parent, judged with its own parent's score; 0 when
// the parent is not known.
func (s *Scorer) ParentScore(e *event.Event) int {
	rc := s.newRowContext(context.Background()) // offline resolution does not block
	n := rc.resolve(e)
	return s.tree.ParentScore(n)
}

// rowContext resolves the rows of one query over one view of the index, so that
// rows sharing ancestors resolve and score them once.
type rowContext struct {
	ctx  context.Context
	view *indexView
	res  *tree.Resolver
}

func (s *Scorer) newRowContext(ctx context.Context) *rowContext {
	v := s.index.view()
	return &rowContext{ctx: ctx, view: v, res: tree.NewResolver(v, nil, tree.DefaultMaxDepth)}
}

// resolve returns e's node with its chain resolved. The index is in memory and
// there is no History offline, so resolving cannot fail.
func (rc *rowContext) resolve(e *event.Event) *tree.Node {
	n := rc.view.node(e)
	_ = rc.res.Resolve(rc.ctx, n)
	return n
}
