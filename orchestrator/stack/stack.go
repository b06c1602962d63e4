package stack

import (
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
)

// Query is what the stacker needs of a hunt query.
type Query struct {
	Name      string
	Technique string
	Severity  string
	Stack     []string // stack columns; ShapeColumn stacks by Shape(cmdline)
}

// MaxExamples bounds the example rows kept per stack.
const MaxExamples = 5

// Stack is one group of result rows of a query across the fleet, as the
// stacker grows it: the stack the API shows (apiv1.Stack; its Key is the stack
// column values joined by \x1f) and the set of hosts that produced it.
type Stack struct {
	apiv1.Stack
	hosts bitset
}

// Hosts returns the names of the hosts that produced the stack.
func (s *Stack) hostNames(names []string) []string {
	var out []string
	s.hosts.each(func(i int) { out = append(out, names[i]) })
	return out
}

// queryState is one query's stacks, the hosts that answered it and its baseline.
type queryState struct {
	q        Query
	stacks   map[string]*Stack
	answered bitset
	normal   map[string]bool // baseline: learnt or marked normal by an analyst
}

// Stacker holds the stacks of every query. It is not safe for concurrent use.
type Stacker struct {
	hostIndex map[string]int
	hostNames []string
	queries   map[string]*queryState
	shapes    shapeCache
}

// New returns an empty Stacker.
func New() *Stacker {
	return &Stacker{hostIndex: map[string]int{}, queries: map[string]*queryState{}}
}

func (s *Stacker) host(name string) int {
	if i, ok := s.hostIndex[name]; ok {
		return i
	}
	i := len(s.hostNames)
	s.hostIndex[name] = i
	s.hostNames = append(s.hostNames, name)
	return i
}

func (s *Stacker) query(q Query) *queryState {
	st := s.queries[q.Name]
	if st == nil {
		st = &queryState{q: q, stacks: map[string]*Stack{}, normal: map[string]bool{}}
		s.queries[q.Name] = st
	}
	if len(q.Stack) > 0 {
		st.q = q // the latest definition wins
	}
	return st
}

// KeyOf computes a row's stack key and the stacked values.
func KeyOf(q Query, row map[string]string) (string, map[string]string) {
	var c shapeCache
	key := keyOf(q, row, &c)
	cols := stackCols(q)
	vals := make(map[string]string, len(cols))
	for i, v := range strings.Split(key, "\x1f") {
		vals[cols[i]] = v
	}
	return key, vals
}

func stackCols(q Query) []string {
	if len(q.Stack) == 0 {
		return []string{"name"}
	}
	return q.Stack
}

// keyOf builds the key only (the values map is made once per new stack).
func keyOf(q Query, row map[string]string, shapes *shapeCache) string {
	cols := stackCols(q)
	var b strings.Builder
	for i, c := range cols {
		v := row[c]
		if c == ShapeColumn {
			v = shapes.shape(row["cmdline"])
		}
		if strings.IndexByte(v, 0x1f) >= 0 {
			v = strings.ReplaceAll(v, "\x1f", " ") // the key separator
		}
		if i > 0 {
			b.WriteByte(0x1f)
		}
		b.WriteString(v)
	}
	return b.String()
}

// shapeCache remembers recent shapes: fleets run the same command lines over and over.
type shapeCache struct{ m map[string]string }

const maxShapeCache = 1 << 16

func (c *shapeCache) shape(cmdline string) string {
	if v, ok := c.m[cmdline]; ok {
		return v
	}
	if c.m == nil || len(c.m) >= maxShapeCache {
		c.m = make(map[string]string, 1024) // start over rather than track recency
	}
	v := Shape(cmdline)
	c.m[cmdline] = v
	return v
}

// Add stacks one host's answer to a query at time t: the rows of a dispatched run, or
// the added/snapshot rows of a pushed pack's result log. A host with no rows still
// counts as having answered (it lowers every stack's prevalence).
func (s *Stacker) Add(q Query, host string, t time.Time, rows []map[string]string) {
	st := s.query(q)
	h := s.host(host)
	st.answered.set(h)
	for _, row := range rows {
		key := keyOf(st.q, row, &s.shapes)
		sk := st.stacks[key]
		if sk == nil {
			cols := stackCols(st.q)
			vals := make(map[string]string, len(cols))
			for i, v := range strings.Split(key, "\x1f") {
				vals[cols[i]] = v
			}
			sk = &Stack{Stack: apiv1.Stack{Query: q.Name, Key: key, Values: vals, FirstSeen: t}}
			st.stacks[key] = sk
		}
		newHost := !sk.hosts.has(h)
		if newHost {
			sk.hosts.set(h)
			sk.HostCount++
		}
		sk.addExample(apiv1.Example{Host: host, Time: t, Row: row}, newHost)
		sk.Rows++
		if t.Before(sk.FirstSeen) {
			sk.FirstSeen = t
		}
		if t.After(sk.LastSeen) {
			sk.LastSeen = t
		}
		if score, err := strconv.Atoi(row["score"]); err == nil && score > sk.MaxScore {
			sk.MaxScore = score
		}
		if ind := row["indicators"]; ind != "" {
			sk.Indicators = mergeTags(sk.Indicators, ind)
		}
	}
}

// addExample keeps up to MaxExamples evidence rows: every row while there is room,
// then a row of a new host replaces the latest example of a host shown twice, so a
// rare stack shows all its rows and a common one shows as many hosts as fit.
func (sk *Stack) addExample(e apiv1.Example, newHost bool) {
	if len(sk.Examples) < MaxExamples {
		sk.Examples = append(sk.Examples, e)
		return
	}
	if !newHost {
		return
	}
	for i := len(sk.Examples) - 1; i > 0; i-- {
		for j := 0; j < i; j++ {
			if sk.Examples[j].Host == sk.Examples[i].Host {
				sk.Examples[i] = e
				return
			}
		}
	}
}

// maxIndicators bounds the indicator tags kept per stack.
const maxIndicators = 32

func mergeTags(have []string, csv string) []string {
	for _, t := range strings.Split(csv, ",") {
		if t == "" || len(have) >= maxIndicators {
			continue
		}
		i := sort.SearchStrings(have, t)
		if i < len(have) && have[i] == t {
			continue
		}
		have = append(have, "")
		copy(have[i+1:], have[i:])
		have[i] = t
	}
	return have
}

// Answered is the number of hosts that answered a query.
func (s *Stacker) Answered(query string) int {
	if st := s.queries[query]; st != nil {
		return st.answered.count()
	}
	return 0
}

// Prevalence is the share of the answering hosts that produced a stack.
func (s *Stacker) Prevalence(sk *Stack) float64 {
	n := s.Answered(sk.Query)
	if n == 0 {
		return 0
	}
	return float64(sk.HostCount) / float64(n)
}

// Hosts returns the names of the hosts that produced a stack.
func (s *Stacker) Hosts(sk *Stack) []string { return sk.hostNames(s.hostNames) }

// Stacks returns a query's stacks, most prevalent first.
func (s *Stacker) Stacks(query string) []*Stack {
	st := s.queries[query]
	if st == nil {
		return nil
	}
	out := make([]*Stack, 0, len(st.stacks))
	for _, sk := range st.stacks {
		out = append(out, sk)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].HostCount != out[j].HostCount {
			return out[i].HostCount > out[j].HostCount
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// LearnBaseline makes every stack first seen at or before until part of the
// baseline of its query (the learning window, or a named baseline run's time).
func (s *Stacker) LearnBaseline(until time.Time) {
	for _, st := range s.queries {
		for k, sk := range st.stacks {
			if !sk.FirstSeen.After(until) {
				st.normal[k] = true
			}
		}
	}
}

// MarkNormal puts one stack into its query's baseline (an analyst's suppression).
func (s *Stacker) MarkNormal(query, key string) {
	if st := s.queries[query]; st != nil {
		st.normal[key] = true
	}
}

// InBaseline reports whether a stack is part of its query's baseline.
func (s *Stacker) InBaseline(sk *Stack) bool {
	st := s.queries[sk.Query]
	return st != nil && st.normal[sk.Key]
}

// bitset is a set of small integers (host ordinals): 10,000 hosts take 1.25 KB.
type bitset []uint64

func (b *bitset) set(i int) {
	w := i / 64
	for len(*b) <= w {
		*b = append(*b, 0)
	}
	(*b)[w] |= 1 << (i % 64)
}

func (b bitset) has(i int) bool {
	w := i / 64
	return w < len(b) && b[w]&(1<<(i%64)) != 0
}

func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

func (b bitset) each(fn func(int)) {
	for wi, w := range b {
		for w != 0 {
			t := bits.TrailingZeros64(w)
			fn(wi*64 + t)
			w &^= 1 << t
		}
	}
}
