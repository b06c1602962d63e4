package analysis

import (
	"sort"
	"strings"

	"github.com/exechunt/exechunt/tables/analysis/psdecode"
)

// Bounds on one analysis, beyond the decoding limits.
const (
	maxCommandLine = 1 << 20   // bytes of a command line analysed
	maxScript      = 2 << 20   // bytes of a script analysed
	maxDepth       = 4         // nesting of cmd /c, powershell -c, sh -c, ...
	maxNested      = 24        // nested analyses per input
	maxHaystack    = 256 << 10 // bytes of text the content rules scan
	maxLayers      = 32        // layers reported
	maxURLs        = 32
)

// state accumulates one analysis.
type state struct {
	a      *Analyzer
	res    Result
	tags   map[string]bool
	nested int
	// texts feed the content rules; psTexts are PowerShell (script or decoded).
	texts, psTexts []string
	hayBytes       int
	// statsText is what Entropy and CosineSimilarity measure: the script text
	// for scripts (as osquery does), else the decoded text or the command line.
	statsText  string
	scriptMode bool
	seenURL    map[string]bool
	seenIP     map[string]bool
	layerKind  map[string]bool
}

func newState(a *Analyzer) *state {
	return &state{a: a, tags: map[string]bool{}, seenURL: map[string]bool{}, seenIP: map[string]bool{}, layerKind: map[string]bool{}}
}

func (st *state) tag(names ...string) {
	for _, n := range names {
		st.tags[n] = true
	}
}

// addText queues text for the content rules within the haystack budget.
func (st *state) addText(s string, powershell bool) {
	if s == "" || st.hayBytes >= maxHaystack {
		if s != "" {
			st.tag(tagInputTruncated)
		}
		return
	}
	if room := maxHaystack - st.hayBytes; len(s) > room {
		s = s[:room]
		st.tag(tagInputTruncated)
	}
	st.hayBytes += len(s)
	st.texts = append(st.texts, s)
	if powershell {
		st.psTexts = append(st.psTexts, s)
	}
}

// addLayers records decoding layers (bounded) and queues their texts.
func (st *state) addLayers(layers []psdecode.Layer) {
	for _, l := range layers {
		st.layerKind[l.Kind] = true
		if len(st.res.Layers) < maxLayers {
			st.res.Layers = append(st.res.Layers, Layer(l))
		} else {
			st.tag(tagInputTruncated)
		}
	}
	// Content rules read the last layer fully and the others within budget.
	if n := len(layers); n > 0 {
		st.addText(layers[n-1].Text, true)
		for _, l := range layers[:n-1] {
			st.addText(l.Text, true)
		}
	}
}

// finish runs the content rules, computes statistics and the score.
func (st *state) finish() Result {
	st.contentRules()
	r := st.res
	r.Indicators = make([]string, 0, len(st.tags))
	for t := range st.tags {
		r.Indicators = append(r.Indicators, t)
	}
	sort.Strings(r.Indicators)
	r.Score = combine(st.tags)
	stats := st.statsText
	if r.DecodedCommand != "" && !st.scriptMode {
		stats = r.DecodedCommand
	}
	r.Entropy = Entropy(stats)
	r.CosineSimilarity = CosineSimilarity(stats, st.a.vector)
	if r.Family == "" {
		r.Family = FamilyOther
	}
	return r
}

// hay is the text the content rules search: all queued texts, lower-case, and
// a compact form with quotes, backticks, carets, plus signs and blanks removed
// so that 'Down'+'loadString' still reads downloadstring.
type hay struct {
	lower, compact string
}

func newHay(texts []string) hay {
	lower := strings.ToLower(strings.Join(texts, "\n"))
	var b strings.Builder
	b.Grow(len(lower))
	for i := 0; i < len(lower); i++ {
		switch c := lower[i]; c {
		case '`', '\'', '"', '+', '^', ' ', '\t', '\r', '\n':
		default:
			b.WriteByte(c)
		}
	}
	return hay{lower: lower, compact: b.String()}
}

func (h hay) has(needles ...string) bool {
	for _, n := range needles {
		if strings.Contains(h.compact, n) {
			return true
		}
	}
	return false
}
