// Package hunts runs exechunt's scheduled fleet hunts. A hunt is a pack (or some of
// its queries), a target (all hosts, platforms, host ids or hostnames) and a
// delivery mode:
//
//   - dispatch: at each cron tick (scheduler, UTC) the queries are sent to the
//     targets as live queries (the distributed API of issue 6) and the answers
//     collected as a hunt run with per-host states and rows (store.HuntRuns).
//     Queries over event tables are wrapped in a time window per host, from the
//     end of the last window the host answered (its watermark) to the tick, so
//     rows are neither missed while a host is offline nor counted twice;
//   - push: the queries go into the targets' osquery schedule as a pack named
//     after the hunt (Config, an agentapi.ConfigSource), with their interval; the
//     rows arrive as result logs named pack_<hunt>_<query> and are attributed to
//     the hunt by that name (Attribute, PushResults).
//
// See docs/hunts.md.
package hunts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/exechunt/exechunt/orchestrator/agentconfig"
	"github.com/exechunt/exechunt/orchestrator/scheduler"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/targeting"
	"github.com/exechunt/exechunt/packs"
)

// Store is what the service needs of the store.
type Store interface {
	store.Hunts
	store.HuntRuns
	store.Leases
	ListHosts(ctx context.Context, f store.HostFilter) ([]store.Host, error)
	CreateLiveQuery(ctx context.Context, q store.LiveQuery, hostIDs []int64, now time.Time) (store.LiveQuery, error)
	LiveQuery(ctx context.Context, id int64) (store.LiveQuery, error)
	Results(ctx context.Context, f store.ResultFilter) ([]store.ResultRow, error)
}

// Defaults.
const (
	DefaultTimeout     = 5 * time.Minute    // how long a dispatch run waits for hosts
	DefaultMaxLookback = 7 * 24 * time.Hour // the oldest window start of a host back after a long absence
	DefaultPoll        = 2 * time.Second    // re-read a running run's state without a wake-up
	DefaultRefresh     = time.Minute        // re-read hunt definitions (other replicas' edits)
	DefaultLeaseTTL    = 15 * time.Second   // the "scheduler" lease: renewed every ttl/3
)

// DefaultEventTables are the evented tables whose queries a dispatch run windows
// by their time column (docs/hunts.md); sigma_matches holds the Sigma matches of
// the other two, with their time.
var DefaultEventTables = []string{"process_creation_events", "powershell_script_blocks", "sigma_matches"}

// Config configures a Service. Store is required.
type Config struct {
	Store Store
	Packs []packs.Pack
	// Base gives every host's options, decorators and feature_vectors; its packs
	// are kept and the push hunts' packs added. Default: agentconfig.Static{}.
	Base  agentconfig.Static
	Clock scheduler.Clock // default scheduler.SystemClock
	Log   *slog.Logger
	// Poke, if set, is called after a run created live queries. The server sets
	// none since acceleration follows the queries a host is handed; tests use it
	// to know a dispatch happened.
	Poke func()
	// Changes returns a channel closed at the next change of live queries
	// (operatorapi.Broadcast.Wait); nil means polling every Poll.
	Changes     func() <-chan struct{}
	Poll        time.Duration
	Timeout     time.Duration // default DefaultTimeout
	MaxLookback time.Duration // default DefaultMaxLookback
	Refresh     time.Duration // default DefaultRefresh
	EventTables []string      // default DefaultEventTables
	// Holder names this replica in the "scheduler" lease (default: hostname and
	// pid). Replicas sharing a store must use distinct holders.
	Holder string
	// LeaseTTL is how long the lease lasts without renewal (default
	// DefaultLeaseTTL): a dead leader's replacement fires cron ticks at most
	// about this long after it died.
	LeaseTTL time.Duration
}

// Service defines, schedules and runs hunts.
type Service struct {
	c        Config
	sched    *scheduler.Scheduler
	packs    map[string]packs.Pack
	eventsRE *regexp.Regexp

	lease    *store.LeaseKeeper // the "scheduler" lease
	awaitMu  sync.Mutex
	awaiting map[int64]bool // runs this replica is waiting on

	mu    sync.RWMutex
	hunts []store.Hunt // cache for Config and Attribute, refreshed by Reload
	push  map[string]attribution
	gen   uint64 // Reload count (part of ConfigKey)
}

type attribution struct{ hunt, query string }

// New checks c and returns a Service; Run starts its scheduler.
func New(c Config) (*Service, error) {
	if c.Store == nil {
		return nil, errors.New("hunts: Store is required")
	}
	if c.Clock == nil {
		c.Clock = scheduler.SystemClock{}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Poke == nil {
		c.Poke = func() {}
	}
	c.Poll = cmp.Or(max(c.Poll, 0), DefaultPoll)
	c.Timeout = cmp.Or(max(c.Timeout, 0), DefaultTimeout)
	c.MaxLookback = cmp.Or(max(c.MaxLookback, 0), DefaultMaxLookback)
	c.Refresh = cmp.Or(max(c.Refresh, 0), DefaultRefresh)
	if c.EventTables == nil {
		c.EventTables = DefaultEventTables
	}
	c.Holder = cmp.Or(c.Holder, DefaultHolder())
	c.LeaseTTL = cmp.Or(max(c.LeaseTTL, 0), DefaultLeaseTTL)
	s := &Service{c: c, packs: map[string]packs.Pack{}, push: map[string]attribution{}, awaiting: map[int64]bool{},
		lease: &store.LeaseKeeper{Leases: c.Store, Name: LeaseName, Holder: c.Holder, TTL: c.LeaseTTL}}
	for _, p := range c.Packs {
		s.packs[p.Name] = p
	}
	var names []string
	for _, t := range c.EventTables {
		names = append(names, regexp.QuoteMeta(t))
	}
	s.eventsRE = regexp.MustCompile(`(?i)\b(?:from|join)\s+["'\x60\[]?(?:` + strings.Join(names, "|") + `)\b`)
	sched, err := scheduler.New(scheduler.Config{Run: s.runJob, Clock: c.Clock, Log: c.Log.With("component", "scheduler")})
	if err != nil {
		return nil, err
	}
	s.sched = sched
	return s, nil
}

// Packs returns the loaded packs, by name.
func (s *Service) Packs() []packs.Pack {
	out := make([]packs.Pack, 0, len(s.packs))
	for _, p := range s.packs {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b packs.Pack) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Builtin returns the hunts created on first start (docs/hunts.md): the
// execution-basics and sigma-detections packs dispatched every hour to all hosts
// (sigma-detections reaches only the hosts that serve sigma_matches), and the default push
// (packs.DefaultPushPack into the osquery schedule of every host its platform
// covers, i.e. Windows).
func Builtin() []store.Hunt {
	return []store.Hunt{
		{Name: "execution-basics", Pack: "execution-basics", Mode: store.ModeDispatch, Schedule: "0 * * * *",
			Targets: targeting.Targets{All: true}, Enabled: true, Builtin: true, CreatedBy: "exechunt",
			Description: "Every process creation and script block scoring 50+, collected from all hosts every hour " +
				"(each host's window starts where its last answered run ended)."},
		{Name: "sigma-detections", Pack: "sigma-detections", Mode: store.ModeDispatch, Schedule: "0 * * * *",
			Targets: targeting.Targets{All: true}, Enabled: true, Builtin: true, CreatedBy: "exechunt",
			Description: "Every Sigma detection (sigma_matches) of the hosts whose extension has sigma_rules, collected every " +
				"hour with one query per host (the pack's discovery query skips the others)."},
		{Name: packs.DefaultPushPack, Pack: packs.DefaultPushPack, Mode: store.ModePush,
			Targets: targeting.Targets{All: true}, Enabled: true, Builtin: true, CreatedBy: "exechunt",
			Description: "Live parent→child processes pushed into the osquery schedule of every Windows host " +
				"(hourly snapshot), stacked fleet-wide so rare pairs rank on day one."},
	}
}

// Seed creates the built-in hunts on a database's first start; it returns how
// many it created (0 after the first start, even if they were deleted since).
func (s *Service) Seed(ctx context.Context) (int, error) {
	var hs []store.Hunt
	for _, h := range Builtin() {
		if _, ok := s.packs[h.Pack]; ok {
			hs = append(hs, h)
		}
	}
	n, err := s.c.Store.SeedHunts(ctx, hs, s.c.Clock.Now())
	if err != nil {
		return 0, fmt.Errorf("hunts: seed: %w", err)
	}
	return n, s.Reload(ctx)
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Validate checks a hunt definition against the loaded packs.
func (s *Service) Validate(h store.Hunt) error {
	var errs []error
	if !nameRE.MatchString(h.Name) {
		errs = append(errs, fmt.Errorf("name %q: want lower-case letters, digits and dashes (at most 63)", h.Name))
	}
	p, ok := s.packs[h.Pack]
	if !ok {
		errs = append(errs, fmt.Errorf("pack %q is not loaded", h.Pack))
	} else {
		for _, q := range h.Queries {
			if !slices.ContainsFunc(p.Queries, func(pq packs.Query) bool { return pq.Name == q }) {
				errs = append(errs, fmt.Errorf("pack %s has no query %q", h.Pack, q))
			}
		}
	}
	if h.Targets.Empty() {
		errs = append(errs, errors.New("targets are required (all, platforms, host_ids or hostnames)"))
	}
	switch h.Mode {
	case store.ModeDispatch:
		if _, err := scheduler.Parse(h.Schedule); err != nil {
			errs = append(errs, err)
		}
		if h.Interval != 0 {
			errs = append(errs, errors.New("interval is for push hunts; dispatch hunts use schedule"))
		}
	case store.ModePush:
		if h.Schedule != "" {
			errs = append(errs, errors.New("schedule is for dispatch hunts; push hunts use interval (osquery schedules them)"))
		}
		if h.Interval < 0 || h.Interval > 604800 {
			errs = append(errs, fmt.Errorf("interval %d: want 1..604800 seconds (0: each query's own)", h.Interval))
		}
	default:
		errs = append(errs, fmt.Errorf("mode %q: want %s or %s", h.Mode, store.ModeDispatch, store.ModePush))
	}
	if h.Timeout < 0 {
		errs = append(errs, errors.New("negative timeout"))
	}
	return errors.Join(errs...)
}

// ErrInvalid wraps validation errors of Create and Update.
var ErrInvalid = errors.New("invalid hunt")

// Create validates and stores a new hunt.
func (s *Service) Create(ctx context.Context, h store.Hunt) (store.Hunt, error) {
	if err := s.Validate(h); err != nil {
		return store.Hunt{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	h.Builtin = false
	out, err := s.c.Store.CreateHunt(ctx, h, s.c.Clock.Now())
	if err != nil {
		return out, err
	}
	return out, s.Reload(ctx)
}

// Update replaces the hunt called name with h (h.Name may rename it).
func (s *Service) Update(ctx context.Context, name string, h store.Hunt) (store.Hunt, error) {
	old, err := s.c.Store.Hunt(ctx, name)
	if err != nil {
		return store.Hunt{}, err
	}
	if err := s.Validate(h); err != nil {
		return store.Hunt{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	h.ID, h.Builtin, h.CreatedBy = old.ID, old.Builtin, old.CreatedBy
	out, err := s.c.Store.UpdateHunt(ctx, h, s.c.Clock.Now())
	if err != nil {
		return out, err
	}
	return out, s.Reload(ctx)
}

// Delete removes a hunt (its runs stay in the history).
func (s *Service) Delete(ctx context.Context, name string) error {
	if err := s.c.Store.DeleteHunt(ctx, name); err != nil {
		return err
	}
	return s.Reload(ctx)
}

// Reload re-reads the hunt definitions: the scheduler's jobs (enabled dispatch
// hunts) and the push hunts of Config.
func (s *Service) Reload(ctx context.Context) error {
	hs, err := s.c.Store.ListHunts(ctx)
	if err != nil {
		return fmt.Errorf("hunts: reload: %w", err)
	}
	var jobs []scheduler.Job
	push := map[string]attribution{}
	for _, h := range hs {
		if !h.Enabled {
			continue
		}
		switch h.Mode {
		case store.ModeDispatch:
			sc, err := scheduler.Parse(h.Schedule)
			if err != nil {
				s.c.Log.Warn("hunt not scheduled", "hunt", h.Name, "err", err)
				continue
			}
			jobs = append(jobs, scheduler.Job{Name: h.Name, Schedule: sc})
		case store.ModePush:
			for _, q := range s.selectQueries(h) {
				push[ScheduleName(h.Name, q.Name)] = attribution{h.Name, q.Name}
			}
		}
	}
	s.sched.Set(jobs)
	s.mu.Lock()
	s.hunts, s.push = hs, push
	s.gen++
	s.mu.Unlock()
	return nil
}

// ScheduleName is the name osquery gives a pushed query's results:
// pack_<hunt>_<query> (agentconfig sets pack_delimiter "_").
func ScheduleName(hunt, query string) string { return "pack_" + hunt + "_" + query }

// Attribute returns the push hunt and query a result log name belongs to.
func (s *Service) Attribute(name string) (hunt, query string, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.push[name]
	return a.hunt, a.query, ok
}

// selectQueries returns the hunt's queries of its pack (all when h.Queries is
// empty), nil when the pack is not loaded.
func (s *Service) selectQueries(h store.Hunt) []packs.Query {
	p, ok := s.packs[h.Pack]
	if !ok {
		return nil
	}
	if len(h.Queries) == 0 {
		return p.Queries
	}
	var out []packs.Query
	for _, q := range p.Queries {
		if slices.Contains(h.Queries, q.Name) {
			out = append(out, q)
		}
	}
	return out
}

// Run starts the scheduler: it loads the hunts and schedules until ctx ends
// (then waits for the runs in progress to notice). Several replicas may run it on
// one store: only the holder of the "scheduler" lease fires cron ticks and
// resumes the runs a previous leader left running (lead).
func (s *Service) Run(ctx context.Context) error {
	if err := s.Reload(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	// The first acquisition happens before the scheduler starts, so a single
	// orchestrator fires its first tick as before.
	s.renew(ctx, &wg)
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.lead(ctx, &wg)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := s.c.Clock.NewTimer(s.c.Refresh)
		for {
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
				if err := s.Reload(ctx); err != nil && ctx.Err() == nil {
					s.c.Log.Warn("reloading hunts", "err", err)
				}
				t = s.c.Clock.NewTimer(s.c.Refresh)
			}
		}
	}()
	return s.sched.Run(ctx)
}

// Next returns a dispatch hunt's next n run times (nil for push or disabled hunts).
func (s *Service) Next(name string, n int) []time.Time {
	t, err := s.sched.Next(name, n)
	if err != nil {
		return nil
	}
	return t
}
