// Package anomalies feeds the fleet stacker (orchestrator/stack) with every hunt
// result the store holds — the rows of dispatched hunt runs and the result logs of
// pushed packs alike — and serves the ranked anomalies with their triage state.
//
// It pulls from the store incrementally (runs it has not seen, result rows received
// since the last sync), so it needs no hook in the agent API or the scheduler, and a
// restarted orchestrator rebuilds its stacks from the stored history.
package anomalies

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/stack"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/packs"
)

// Source is what the service reads from (and, for triage, writes to) the store.
type Source interface {
	ListHunts(ctx context.Context) ([]store.Hunt, error)
	ListHuntRuns(ctx context.Context, f store.HuntRunFilter) ([]store.HuntRun, error)
	HuntRunHosts(ctx context.Context, runID int64) ([]store.HuntRunHost, error)
	HuntRunRows(ctx context.Context, runID int64, f store.RunRowFilter) ([]store.HuntRow, error)
	Results(ctx context.Context, f store.ResultFilter) ([]store.ResultRow, error)
	ListHosts(ctx context.Context, f store.HostFilter) ([]store.Host, error)
	store.Triages
}

// Options configure a Service.
type Options struct {
	Packs      []packs.Pack
	Thresholds stack.Thresholds // zero means stack.DefaultThresholds
	// BaselineWindow is the learning window: stacks first seen within this long of
	// the first result the orchestrator stacked are the baseline. Zero: no window
	// (only analysts' suppressions make the baseline).
	BaselineWindow time.Duration
	// SyncEvery bounds how often reads sync with the store (default 2 s).
	SyncEvery time.Duration
	Logger    *slog.Logger
	Now       func() time.Time
	// OnTriage, when set, is told of every triage decision once it is stored:
	// the anomaly as triaged and who triaged it (forwarding's anomaly.triaged).
	OnTriage func(ctx context.Context, a apiv1.Anomaly, by string)
}

// Service holds the fleet's stacks.
type Service struct {
	src Source
	opt Options
	log *slog.Logger

	mu          sync.Mutex
	st          *stack.Stacker
	queries     map[string]packs.Query // "pack/query" → definition
	packNames   []string               // longest first, to parse osquery schedule names
	huntsOf     map[string][]string    // "pack/query" → hunts that fed it
	lastRun     int64
	resultSince time.Time
	resultSeen  map[string]bool
	firstData   time.Time
	lastSync    time.Time
	hostNames   map[int64]string
	hostsRead   time.Time               // when every host's name was last read
	triage      map[string]store.Triage // entity key (stack.EntityKey) → current triage
	rules       []store.SuppressionRule
}

// New returns a Service over src; call Sync (or any read) to load the stored history.
func New(src Source, opt Options) *Service {
	if opt.Thresholds == (stack.Thresholds{}) {
		opt.Thresholds = stack.DefaultThresholds
	}
	if opt.SyncEvery <= 0 {
		opt.SyncEvery = 2 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Service{src: src, opt: opt, log: opt.Logger, st: stack.New(), queries: map[string]packs.Query{},
		huntsOf: map[string][]string{}, resultSeen: map[string]bool{}, hostNames: map[int64]string{}, triage: map[string]store.Triage{}}
	for _, p := range opt.Packs {
		s.packNames = append(s.packNames, p.Name)
		for _, q := range p.Queries {
			s.queries[p.Name+"/"+q.Name] = q
		}
	}
	sort.Slice(s.packNames, func(i, j int) bool { return len(s.packNames[i]) > len(s.packNames[j]) })
	return s
}

// stackQuery is the stacker's query for a pack query.
func (s *Service) stackQuery(name string) stack.Query {
	q := s.queries[name]
	return stack.Query{Name: name, Technique: q.Technique, Severity: q.Severity, Stack: q.Stack}
}

// Sync stacks what the store gained since the last sync: finished hunt runs and
// result logs. It is the background sync: it reads the result logs in steps and
// rests twice as long as each step took, so catching up on a busy fleet's logs
// takes at most a third of a core from the agents' requests.
func (s *Service) Sync(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncPaced(ctx, true)
}

func (s *Service) sync(ctx context.Context) error { return s.syncPaced(ctx, false) }

func (s *Service) syncPaced(ctx context.Context, paced bool) error {
	s.lastSync = s.opt.Now()
	if s.lastSync.Sub(s.hostsRead) >= hostNamesTTL {
		if err := s.loadHosts(ctx); err != nil {
			return err
		}
		s.hostsRead = s.lastSync
	}
	if err := s.syncRuns(ctx); err != nil {
		return err
	}
	if err := s.syncResults(ctx, paced); err != nil {
		return err
	}
	states, err := s.src.TriageStates(ctx)
	if err != nil {
		return fmt.Errorf("anomalies: triage: %w", err)
	}
	for _, t := range states {
		e := s.entity(t.Query, t.Key)
		s.triage[e] = t
		if t.State == apiv1.TriageSuppressed {
			s.st.MarkNormal(e)
		}
	}
	if s.rules, err = s.src.SuppressionRules(ctx); err != nil {
		return fmt.Errorf("anomalies: suppression rules: %w", err)
	}
	s.applyRules()
	if s.opt.BaselineWindow > 0 && !s.firstData.IsZero() {
		s.st.LearnBaseline(s.firstData.Add(s.opt.BaselineWindow))
	}
	return nil
}

// hostNamesTTL is how often every host's name is read again (to follow renames).
// In between, only hosts not seen before are looked up (knowHosts): reading all
// of them at every sync cost 33 ms of a core every 10 s at 5,000 hosts, and grows
// with the fleet.
const hostNamesTTL = 5 * time.Minute

// hostLookupChunk bounds the host IDs of one lookup (one SQL parameter each).
const hostLookupChunk = 500

func (s *Service) loadHosts(ctx context.Context) error {
	return s.readHosts(ctx, store.HostFilter{})
}

// knowHosts reads the names of the hosts among ids that have none yet.
func (s *Service) knowHosts(ctx context.Context, ids []int64) error {
	var missing []int64
	asked := map[int64]bool{}
	for _, id := range ids {
		if _, ok := s.hostNames[id]; !ok && !asked[id] {
			asked[id] = true
			missing = append(missing, id)
		}
	}
	for len(missing) > 0 {
		n := min(len(missing), hostLookupChunk)
		if err := s.readHosts(ctx, store.HostFilter{IDs: missing[:n]}); err != nil {
			return err
		}
		for _, id := range missing[:n] {
			if _, ok := s.hostNames[id]; !ok {
				s.hostNames[id] = "" // unknown to the store: host-<id>, not asked again
			}
		}
		missing = missing[n:]
	}
	return nil
}

func (s *Service) readHosts(ctx context.Context, f store.HostFilter) error {
	hosts, err := s.src.ListHosts(ctx, f)
	if err != nil {
		return fmt.Errorf("anomalies: hosts: %w", err)
	}
	for _, h := range hosts {
		name := h.Hostname
		if name == "" {
			name = h.Identifier
		}
		s.hostNames[h.ID] = name
	}
	return nil
}

func (s *Service) host(id int64) string {
	if n, ok := s.hostNames[id]; ok && n != "" {
		return n
	}
	return fmt.Sprintf("host-%d", id)
}

func (s *Service) seen(t time.Time) {
	if !t.IsZero() && (s.firstData.IsZero() || t.Before(s.firstData)) {
		s.firstData = t
	}
}

// maxRunsPerSync bounds the finished runs read in one sync.
const maxRunsPerSync = 1000

// syncRuns stacks the rows of finished dispatch runs not stacked yet: every host
// that answered counts, with or without rows.
func (s *Service) syncRuns(ctx context.Context) error {
	runs, err := s.src.ListHuntRuns(ctx, store.HuntRunFilter{State: store.RunDone, Limit: maxRunsPerSync})
	if err != nil {
		return fmt.Errorf("anomalies: runs: %w", err)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].ID < runs[j].ID })
	hunts, err := s.src.ListHunts(ctx)
	if err != nil {
		return fmt.Errorf("anomalies: hunts: %w", err)
	}
	packOf := map[string]string{}
	for _, h := range hunts {
		packOf[h.Name] = h.Pack
	}
	for _, r := range runs {
		if r.ID <= s.lastRun {
			continue
		}
		if err := s.stackRun(ctx, r, packOf[r.Hunt]); err != nil {
			return err
		}
		s.lastRun = r.ID
	}
	return nil
}

func (s *Service) stackRun(ctx context.Context, r store.HuntRun, pack string) error {
	t := r.WindowEnd
	if t.IsZero() {
		t = r.EndedAt
	}
	s.seen(t)
	hosts, err := s.src.HuntRunHosts(ctx, r.ID)
	if err != nil {
		return fmt.Errorf("anomalies: run %d hosts: %w", r.ID, err)
	}
	byQuery := map[string]map[int64][]map[string]string{}
	for off := 0; ; off += 1000 {
		rows, err := s.src.HuntRunRows(ctx, r.ID, store.RunRowFilter{Offset: off, Limit: 1000})
		if err != nil {
			return fmt.Errorf("anomalies: run %d rows: %w", r.ID, err)
		}
		for _, row := range rows {
			if byQuery[row.Query] == nil {
				byQuery[row.Query] = map[int64][]map[string]string{}
			}
			byQuery[row.Query][row.HostID] = append(byQuery[row.Query][row.HostID], row.Columns)
		}
		if len(rows) < 1000 {
			break
		}
	}
	ids := make([]int64, 0, len(hosts))
	for _, h := range hosts {
		ids = append(ids, h.HostID)
	}
	if err := s.knowHosts(ctx, ids); err != nil {
		return err
	}
	for query, perHost := range byQuery {
		name := pack + "/" + query
		s.noteHunt(name, r.Hunt)
		q := s.stackQuery(name)
		for _, h := range hosts {
			if h.State == store.HostOK || h.State == store.HostNoRows {
				s.st.Add(q, s.host(h.HostID), t, perHost[h.HostID])
			}
		}
	}
	return nil
}

func (s *Service) noteHunt(query, hunt string) {
	for _, h := range s.huntsOf[query] {
		if h == hunt {
			return
		}
	}
	s.huntsOf[query] = append(s.huntsOf[query], hunt)
}

// maxResultsPerSync bounds the result-log rows read in one sync; resultPage is
// how many one step reads, so a sync that catches up never holds them all at once.
const (
	maxResultsPerSync = 50000
	resultPage        = 2000
)

// syncResults stacks pushed packs' result logs received since the last sync: the
// added rows of differential results and snapshot rows. It reads them in pages,
// resting after each twice as long as it took when paced.
func (s *Service) syncResults(ctx context.Context, paced bool) error {
	// Push hunts put their queries into osquery's config as a pack named after the
	// hunt, so results arrive as pack_<hunt>_<query>.
	hunts, err := s.src.ListHunts(ctx)
	if err != nil {
		return fmt.Errorf("anomalies: hunts: %w", err)
	}
	pushed := map[string][2]string{} // schedule name → hunt, pack/query
	for _, h := range hunts {
		if h.Mode != store.ModePush {
			continue
		}
		for name := range s.queries {
			pack, query, _ := strings.Cut(name, "/")
			if pack == h.Pack && (len(h.Queries) == 0 || contains(h.Queries, query)) {
				pushed["pack_"+h.Name+"_"+query] = [2]string{h.Name, name}
			}
		}
	}
	limit := resultPage
	for read := 0; read < maxResultsPerSync; {
		start := time.Now()
		rows, err := s.src.Results(ctx, store.ResultFilter{Since: s.resultSince, Limit: limit})
		if err != nil {
			return fmt.Errorf("anomalies: results: %w", err)
		}
		read += len(rows)
		fresh, err := s.stackResults(ctx, rows, pushed)
		if err != nil {
			return err
		}
		if len(rows) < limit {
			return nil
		}
		if fresh == 0 {
			// A full page received at one instant, all seen: read more of that instant.
			if limit >= maxResultsPerSync {
				return nil
			}
			limit = min(2*limit, maxResultsPerSync)
			continue
		}
		limit = resultPage
		if paced {
			t := time.NewTimer(2 * time.Since(start))
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
	}
	return nil
}

// stackResults adds one page of result rows to the stacks and returns how many
// were not seen before.
func (s *Service) stackResults(ctx context.Context, rows []store.ResultRow, pushed map[string][2]string) (int, error) {
	type batch struct {
		query string
		host  int64
		t     time.Time
	}
	groups := map[batch][]map[string]string{}
	var order []batch
	fresh := 0
	for _, r := range rows {
		if s.resultSeen[r.ID] {
			continue
		}
		fresh++
		if r.ReceivedAt.After(s.resultSince) {
			s.resultSince, s.resultSeen = r.ReceivedAt, map[string]bool{}
		}
		s.resultSeen[r.ID] = true
		if r.Action != "added" && r.Action != "snapshot" {
			continue
		}
		hunt, name := "", ""
		if p, ok := pushed[r.Name]; ok {
			hunt, name = p[0], p[1]
		} else if n, ok := s.queryOfSchedule(r.Name); ok {
			hunt, name = "push:"+strings.SplitN(n, "/", 2)[0], n
		} else {
			continue
		}
		t := time.Unix(r.UnixTime, 0).UTC()
		s.seen(t)
		b := batch{name, r.HostID, t}
		if _, ok := groups[b]; !ok {
			order = append(order, b)
		}
		groups[b] = append(groups[b], r.Columns)
		s.noteHunt(name, hunt)
	}
	ids := make([]int64, len(order))
	for i, b := range order {
		ids[i] = b.host
	}
	if err := s.knowHosts(ctx, ids); err != nil {
		return fresh, err
	}
	for _, b := range order {
		s.st.Add(s.stackQuery(b.query), s.host(b.host), b.t, groups[b])
	}
	return fresh, nil
}

// queryOfSchedule maps osquery's schedule name of a pack query ("pack_<pack>_<query>",
// the default pack delimiter) to "pack/query".
func (s *Service) queryOfSchedule(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "pack_")
	if !ok {
		return "", false
	}
	for _, p := range s.packNames {
		if q, ok := strings.CutPrefix(rest, p+"_"); ok {
			if _, known := s.queries[p+"/"+q]; known {
				return p + "/" + q, true
			}
		}
	}
	return "", false
}

// entity is the stack entity of a query's key (triage is stored by query and key).
func (s *Service) entity(query, key string) string { return stack.EntityKey(s.stackQuery(query), key) }

// LegacyID is the numeric id earlier versions gave a stack: a 63-bit hash of one
// query and the key. The API still takes it where it takes an id.
func LegacyID(query, key string) int64 {
	h := fnv.New64a()
	h.Write([]byte(query))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return int64(h.Sum64() &^ (1 << 63))
}

// Filter selects anomalies; zero fields select everything.
type Filter struct {
	State, Technique, Hunt, Host string
	Limit                        int
}

// ErrNotFound is returned for an unknown anomaly id.
var ErrNotFound = errors.New("anomaly not found")

// ErrUnknownQuery is returned for stacks of a query that is neither in the
// packs nor stacked.
var ErrUnknownQuery = errors.New("unknown hunt query")

func (s *Service) syncIfStale(ctx context.Context) error {
	if s.opt.Now().Sub(s.lastSync) < s.opt.SyncEvery {
		return nil
	}
	return s.sync(ctx)
}

// Anomalies returns the matching anomalies, best rank first.
func (s *Service) Anomalies(ctx context.Context, f Filter) ([]apiv1.Anomaly, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.syncIfStale(ctx); err != nil {
		return nil, err
	}
	var out []apiv1.Anomaly
	for _, a := range s.st.Anomalies(s.opt.Thresholds) {
		x := s.view(a)
		if (f.State != "" && x.State != f.State) || (f.Technique != "" && !s.hasTechnique(x, f.Technique)) ||
			(f.Hunt != "" && !contains(x.Hunts, f.Hunt)) || (f.Host != "" && !contains(x.Hosts, f.Host)) {
			continue
		}
		out = append(out, x)
		if f.Limit > 0 && len(out) >= f.Limit {
			break
		}
	}
	return out, nil
}

// hasTechnique reports whether any query that returned an anomaly hunts a
// technique (prefix: T1059 matches T1059.001).
func (s *Service) hasTechnique(a apiv1.Anomaly, technique string) bool {
	if strings.HasPrefix(a.Technique, technique) {
		return true
	}
	for _, q := range a.Queries {
		if strings.HasPrefix(s.queries[q].Technique, technique) {
			return true
		}
	}
	return false
}

// Anomaly returns one stack by id — its short id, or the numeric id of earlier
// versions — with its anomaly flags and rank: a stack that is no longer an
// anomaly (suppressed into the baseline, say) is still found.
func (s *Service) Anomaly(ctx context.Context, id string) (apiv1.Anomaly, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.syncIfStale(ctx); err != nil {
		return apiv1.Anomaly{}, err
	}
	sk := s.lookup(id)
	if sk == nil {
		return apiv1.Anomaly{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	a, _ := s.st.Assess(sk, s.opt.Thresholds)
	return s.view(a), nil
}

// lookup finds a stack by its short id or a legacy numeric id. Callers hold s.mu.
func (s *Service) lookup(id string) *stack.Stack {
	if sk := s.st.ByID(strings.ToLower(id)); sk != nil {
		return sk
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil
	}
	var found *stack.Stack
	s.st.EachKey(func(query, key string, sk *stack.Stack) bool {
		if LegacyID(query, key) == n {
			found = sk
		}
		return found == nil
	})
	return found
}

// Triage records an analyst's decision about an anomaly; suppressing it puts its
// stack into the baseline.
func (s *Service) Triage(ctx context.Context, id, state, reason, by string) (apiv1.Anomaly, error) {
	if !apiv1.ValidTriageState(state) {
		return apiv1.Anomaly{}, fmt.Errorf("unknown triage state %q (open, acknowledged, suppressed, resolved)", state)
	}
	if state == apiv1.TriageSuppressed && strings.TrimSpace(reason) == "" {
		return apiv1.Anomaly{}, errors.New("suppressing needs a reason")
	}
	a, err := s.Anomaly(ctx, id)
	if err != nil {
		return apiv1.Anomaly{}, err
	}
	t := store.Triage{Query: a.Query, Key: a.Key, State: state, Reason: reason, By: by, At: s.opt.Now().UTC()}
	if err := s.src.SetTriage(ctx, t); err != nil {
		return apiv1.Anomaly{}, err
	}
	s.mu.Lock()
	e := s.entity(t.Query, t.Key)
	s.triage[e] = t
	if state == apiv1.TriageSuppressed {
		s.st.MarkNormal(e)
	}
	s.mu.Unlock()
	x, err := s.Anomaly(ctx, a.ID) // ranked again: a suppressed stack is no longer new
	if err == nil && s.opt.OnTriage != nil {
		s.opt.OnTriage(ctx, x, by)
	}
	return x, err
}

// Stacks returns every stack a pack query ("pack/query") returned, most prevalent
// first, each ranked as the anomaly list ranks it (a stack other queries returned
// too counts their hosts as well). A query in no pack and never stacked is
// ErrUnknownQuery.
func (s *Service) Stacks(ctx context.Context, query string) ([]apiv1.Anomaly, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.syncIfStale(ctx); err != nil {
		return nil, err
	}
	if _, inPack := s.queries[query]; !inPack && !s.st.Known(query) {
		return nil, fmt.Errorf("%w %q", ErrUnknownQuery, query)
	}
	var out []apiv1.Anomaly
	for _, sk := range s.st.Stacks(query) {
		a, _ := s.st.Assess(sk, s.opt.Thresholds)
		out = append(out, s.view(a))
	}
	return out, nil
}

// Queries lists the stacked queries ("pack/query").
func (s *Service) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.huntsOf))
}

// learning returns the end of the learning window while it runs.
func (s *Service) learning() (time.Time, bool) {
	if s.opt.BaselineWindow <= 0 || s.firstData.IsZero() {
		return time.Time{}, false
	}
	until := s.firstData.Add(s.opt.BaselineWindow)
	return until, s.opt.Now().Before(until)
}

// view adds what the service knows to a stacker's anomaly: the hunts that fed
// its queries, the learning mark while the window runs and its triage (an
// analyst's, else a suppression rule's).
func (s *Service) view(a apiv1.Anomaly) apiv1.Anomaly {
	a.Hunts, a.State = nil, apiv1.TriageOpen
	for _, q := range a.Queries {
		for _, h := range s.huntsOf[q] {
			if !contains(a.Hunts, h) {
				a.Hunts = append(a.Hunts, h)
			}
		}
	}
	if until, ok := s.learning(); ok {
		a.Learning = true
		if len(a.Reasons) > 0 {
			a.Reasons = append(a.Reasons, "learning: nothing is new until "+until.UTC().Format("2006-01-02 15:04 UTC"))
		}
	}
	if t, ok := s.triage[s.entity(a.Query, a.Key)]; ok {
		a.State, a.Reason, a.By, a.At = t.State, t.Reason, t.By, t.At
	} else if r := s.ruleFor(a.Stack, func() []string { return a.Hosts }); r != nil {
		a.State, a.Reason, a.By, a.At = apiv1.TriageSuppressed, fmt.Sprintf("rule %d: %s", r.ID, r.Reason), r.By, r.At
	}
	return a
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
