package eventtables

import (
	"strconv"
	"time"

	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/evidence"
	"github.com/exechunt/exechunt/tables/internal/lru"
)

// Scorer analyses process creations in the context of their ancestry: a process is
// analysed with its parent's score, the parent with its own parent's, up the indexed
// lineage (at most maxScoreDepth levels), so everything started under a suspicious
// process is part of its chain (`parent_suspicious`). The Store scores its rows with
// one, and `exechunt events` with another (it is an evidence.Lineage), so both give
// the same tags.
type Scorer struct {
	analyzer *analysis.Analyzer
	lineage  *lineageIndex
	results  *lru.Cache[string, analysis.Result]
}

// NewScorer returns a Scorer whose lineage index and analysis cache take the Store's
// shares of cacheBytes (see Options.CacheBytes); a nil analyzer means analysis.New().
func NewScorer(a *analysis.Analyzer, cacheBytes int64) *Scorer {
	if a == nil {
		a = analysis.New()
	}
	if cacheBytes <= 0 {
		cacheBytes = DefaultCacheBytes
	}
	return &Scorer{
		analyzer: a,
		lineage:  newLineageIndex(cacheBytes * 8 / 100),
		results:  lru.New[string, analysis.Result](0, cacheBytes*6/100, resultCost),
	}
}

var _ evidence.Lineage = (*Scorer)(nil)

// Add indexes a process creation as a possible parent.
func (s *Scorer) Add(e *event.Event) { s.lineage.add(e) }

// ParentScore is the score of e's parent, judged with its own parent's score; 0 when
// the parent is not indexed.
func (s *Scorer) ParentScore(e *event.Event) int { return s.parentScore(e, nil) }

// parentScore is ParentScore with memo (nil: none) keeping ancestor scores across the
// rows of one query.
func (s *Scorer) parentScore(e *event.Event, memo map[string]int) int {
	_, parentKey := keys(e)
	return s.nodeScore(memo, parentKey, e.Time, 0)
}

// maxScoreDepth bounds how far up the ancestry a parent's suspicion is looked for.
const maxScoreDepth = 8

// nodeScore is the score of the indexed process under key, judged with its own
// parent's score; 0 when the process is unknown.
func (s *Scorer) nodeScore(memo map[string]int, key string, childTime time.Time, depth int) int {
	if key == "" || depth >= maxScoreDepth {
		return 0
	}
	n, ok := s.lineage.cache.Peek(key)
	if !ok || (key[0] == 'p' && n.time.After(childTime)) {
		return 0
	}
	if score, ok := memo[key]; ok {
		return score
	}
	parent := s.nodeScore(memo, n.parentKey, n.time, depth+1)
	score := s.analyseProcess(&event.ProcessCreation{Image: n.image, Cmdline: n.cmdline, ParentImage: n.parentImage}, parent).Score
	if memo != nil {
		memo[key] = score
	}
	return score
}

// analyseProcess returns the (cached) analysis of a process creation; the cache key
// holds every field evidence.AnalyzeProcess reads.
func (s *Scorer) analyseProcess(p *event.ProcessCreation, parentScore int) analysis.Result {
	k := p.Image + "\x00" + p.ParentImage + "\x00" + p.Cmdline + "\x00" + p.ParentCmdline + "\x00" +
		p.User + "\x00" + p.CurrentDirectory + "\x00" + p.OriginalFileName + "\x00" + p.Description + "\x00" +
		p.Product + "\x00" + p.Company + "\x00" + strconv.Itoa(parentScore)
	if r, ok := s.results.Get(k); ok {
		return r
	}
	r := evidence.AnalyzeProcess(s.analyzer, p, parentScore)
	s.results.Add(k, r)
	return r
}
