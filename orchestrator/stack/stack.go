package stack

import (
	"crypto/sha256"
	"encoding/base32"
	"maps"
	"math/bits"
	"slices"
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

// Stack is one stack entity as the stacker grows it: the result rows whose stack
// columns hold the same values, across every query that stacks by those columns
// (three hunts returning bash ← java make one stack, not three). It carries the
// stack the API shows (apiv1.Stack: Query and Key are those of the first query
// that returned it, Queries lists them all), its entity key and short id, and the
// set of hosts that produced it.
type Stack struct {
	apiv1.Stack
	entity  string
	id      string
	hosts   bitset
	queries []*queryState
}

// Entity is the stack's entity key (EntityKey of any query that returned it).
func (sk *Stack) Entity() string { return sk.entity }

// ID is the stack's short, stable id (see ShortID).
func (sk *Stack) ID() string { return sk.id }

// hostNames returns the names of the hosts that produced the stack.
func (sk *Stack) hostNames(names []string) []string {
	var out []string
	sk.hosts.each(func(i int) { out = append(out, names[i]) })
	return out
}

// queryState is one query: its definition, the hosts that answered it and its
// stacks by the query's own key.
type queryState struct {
	q        Query
	keys     map[string]*Stack
	answered bitset
}

// Stacker holds the stacks of every query and the baseline. It is not safe for
// concurrent use.
type Stacker struct {
	hostIndex  map[string]int
	hostNames  []string
	queries    map[string]*queryState
	entities   map[string]*Stack // by entity key
	byID       map[string]*Stack // by short id
	learnt     map[string]bool   // entity keys first seen within the learning window
	suppressed map[string]bool   // entity keys an analyst or a rule marked normal
	shapes     shapeCache
}

// New returns an empty Stacker.
func New() *Stacker {
	return &Stacker{hostIndex: map[string]int{}, queries: map[string]*queryState{}, entities: map[string]*Stack{},
		byID: map[string]*Stack{}, learnt: map[string]bool{}, suppressed: map[string]bool{}}
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
		st = &queryState{q: q, keys: map[string]*Stack{}}
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

// EntityKey is the identity of the stack a query's key belongs to: the stack
// columns and their values, in column order, so that queries stacking by the same
// columns (in any order) share their stacks.
func EntityKey(q Query, key string) string {
	cols := stackCols(q)
	vals := strings.Split(key, "\x1f")
	pairs := make([]string, len(cols))
	for i, c := range cols {
		v := ""
		if i < len(vals) {
			v = vals[i]
		}
		pairs[i] = c + "\x1e" + v // \x1e is in no column name; \x1f is in no value
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "\x1f")
}

// idLength is the length of a short id: 10 characters of base32 are 50 bits, so
// a fleet with a million stacks has about one chance in 2,000 of two sharing one.
const idLength = 10

// idEncoding is lower-case Crockford base32 (no i, l, o, u: ids are read aloud and typed).
var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// ShortID is a stack's short, stable id: the first 10 base32 characters of the
// SHA-256 of its entity key. It depends on nothing but the stack columns and
// values, so it survives restarts and is the same on every replica.
func ShortID(entity string) string {
	sum := sha256.Sum256([]byte(entity))
	return idEncoding.EncodeToString(sum[:8])[:idLength]
}

// Add stacks one host's answer to a query at time t: the rows of a dispatched run, or
// the added/snapshot rows of a pushed pack's result log. A host with no rows still
// counts as having answered (it lowers the prevalence of the query's stacks).
func (s *Stacker) Add(q Query, host string, t time.Time, rows []map[string]string) {
	st := s.query(q)
	h := s.host(host)
	st.answered.set(h)
	for _, row := range rows {
		key := keyOf(st.q, row, &s.shapes)
		sk := st.keys[key]
		if sk == nil {
			sk = s.join(st, key, t)
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

// join finds (or makes) the stack of a query's key not seen before in that query:
// another query may have returned the same entity already.
func (s *Stacker) join(st *queryState, key string, t time.Time) *Stack {
	entity := EntityKey(st.q, key)
	sk := s.entities[entity]
	if sk == nil {
		cols := stackCols(st.q)
		vals := make(map[string]string, len(cols))
		for i, v := range strings.Split(key, "\x1f") {
			vals[cols[i]] = v
		}
		sk = &Stack{Stack: apiv1.Stack{Query: st.q.Name, Key: key, Values: vals, FirstSeen: t}, entity: entity, id: ShortID(entity)}
		s.entities[entity] = sk
		if s.byID[sk.id] == nil {
			s.byID[sk.id] = sk
		}
	}
	if !slices.Contains(sk.queries, st) {
		sk.queries = append(sk.queries, st)
		i, _ := slices.BinarySearch(sk.Queries, st.q.Name)
		sk.Queries = slices.Insert(sk.Queries, i, st.q.Name)
	}
	st.keys[key] = sk
	return sk
}

// addExample keeps up to MaxExamples evidence rows: every row while there is room,
// then a row of a new host replaces the latest example of a host shown twice, so a
// rare stack shows all its rows and a common one shows as many hosts as fit. A row
// kept already (the same process returned by another query of the stack) is not
// kept twice.
func (sk *Stack) addExample(e apiv1.Example, newHost bool) {
	if !newHost && len(sk.queries) > 1 {
		for _, x := range sk.Examples {
			if x.Host == e.Host && maps.Equal(x.Row, e.Row) {
				return
			}
		}
	}
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

// Answered is the number of hosts that answered any of the queries that returned
// a stack: the denominator of its prevalence.
func (s *Stacker) Answered(sk *Stack) int {
	if len(sk.queries) == 1 {
		return sk.queries[0].answered.count()
	}
	var all bitset
	for _, st := range sk.queries {
		all.or(st.answered)
	}
	return all.count()
}

// Prevalence is the share of the answering hosts that produced a stack.
func (s *Stacker) Prevalence(sk *Stack) float64 {
	n := s.Answered(sk)
	if n == 0 {
		return 0
	}
	return float64(sk.HostCount) / float64(n)
}

// Hosts returns the names of the hosts that produced a stack.
func (s *Stacker) Hosts(sk *Stack) []string { return sk.hostNames(s.hostNames) }

// Known reports whether a query has answered at least once.
func (s *Stacker) Known(query string) bool { return s.queries[query] != nil }

// Stacks returns the stacks a query returned, most prevalent first. A stack that
// other queries returned too holds their rows and hosts as well.
func (s *Stacker) Stacks(query string) []*Stack {
	st := s.queries[query]
	if st == nil {
		return nil
	}
	out := make([]*Stack, 0, len(st.keys))
	for _, sk := range st.keys {
		if !slices.Contains(out, sk) { // a redefined query's old keys may share a stack
			out = append(out, sk)
		}
	}
	sortStacks(out)
	return out
}

// All returns every stack, most prevalent first.
func (s *Stacker) All() []*Stack {
	out := make([]*Stack, 0, len(s.entities))
	for _, sk := range s.entities {
		out = append(out, sk)
	}
	sortStacks(out)
	return out
}

func sortStacks(list []*Stack) {
	sort.Slice(list, func(i, j int) bool {
		if list[i].HostCount != list[j].HostCount {
			return list[i].HostCount > list[j].HostCount
		}
		return list[i].entity < list[j].entity
	})
}

// ByID returns the stack with a short id, or nil.
func (s *Stacker) ByID(id string) *Stack { return s.byID[id] }

// EachKey calls fn with every query that returned a stack and the stack's key in
// that query, until fn returns false.
func (s *Stacker) EachKey(fn func(query, key string, sk *Stack) bool) {
	for name, st := range s.queries {
		for key, sk := range st.keys {
			if !fn(name, key, sk) {
				return
			}
		}
	}
}

// LearnBaseline makes every stack first seen at or before until part of the
// learnt baseline (the learning window). A learnt stack is not new; it is still
// an anomaly when it is rare or scores high (see Assess).
func (s *Stacker) LearnBaseline(until time.Time) {
	for entity, sk := range s.entities {
		if !sk.FirstSeen.After(until) {
			s.learnt[entity] = true
		}
	}
}

// MarkNormal puts a stack, by its entity key, into the baseline as an analyst's
// (or a suppression rule's) decision: it is no longer new, and no longer an
// anomaly unless it scores high. The stack need not exist yet.
func (s *Stacker) MarkNormal(entity string) { s.suppressed[entity] = true }

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

func (b *bitset) or(o bitset) {
	for len(*b) < len(o) {
		*b = append(*b, 0)
	}
	for i, w := range o {
		(*b)[i] |= w
	}
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
