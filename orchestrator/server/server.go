// Package server wires the orchestrator together: the agent API, the operator
// API, /version, /healthz, /readyz and /metrics on one handler, and the
// background loops (last-seen flushes, live-query deadlines). It is the
// bootstrap package: the only one that knows every part.
package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/exechunt/exechunt/orchestrator/agentapi"
	"github.com/exechunt/exechunt/orchestrator/anomalies"
	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/forward"
	"github.com/exechunt/exechunt/orchestrator/hunts"
	"github.com/exechunt/exechunt/orchestrator/metrics"
	"github.com/exechunt/exechunt/orchestrator/operatorapi"
	"github.com/exechunt/exechunt/orchestrator/scheduler"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/tick"
	"github.com/exechunt/exechunt/orchestrator/webui"
	"github.com/exechunt/exechunt/packs"
)

// Config configures a Server. Store is required.
type Config struct {
	Store   store.Store
	Packs   []packs.Pack // sent to hosts whose platform they target
	Log     *slog.Logger
	Version string
	Now     func() time.Time
	// Agent and Operator override parts of the APIs' configs (limits, timeouts);
	// their store fields are filled in by New.
	Agent    agentapi.Config
	Operator operatorapi.Config
	// UI configures the web UI under /ui/; its API, Log, Now and Version are filled
	// in by New.
	UI webui.Config
	// FinishEvery is how often live-query deadlines are checked (default 1s).
	FinishEvery time.Duration
	// Hunts overrides parts of the hunt service's config (timeouts, lookback);
	// its store, packs, clock and hooks are filled in by New. Clock, when set, is
	// also the server's Now (tests drive both with a scheduler.FakeClock).
	Hunts hunts.Config
	Clock scheduler.Clock
	// Anomalies configures the fleet stacking (thresholds, learning window); its
	// packs, clock and logger are filled in by New.
	Anomalies anomalies.Options
	// StackEvery is how often stacks are brought up to date in the background
	// (default 10s; reads of the anomaly API also sync, at most every 2 s).
	StackEvery time.Duration
	// Metrics collects the Prometheus metrics served at GET /metrics (default:
	// metrics.New(Version)); the store is wrapped to time its operations. One
	// Metrics serves one Server (New registers the hosts gauges in it).
	Metrics *metrics.Metrics
	// MetricsPublic serves GET /metrics without a token; by default it needs a
	// bearer token of any role (docs/security.md).
	MetricsPublic bool
	// OnlineWithin: a host seen within it counts in exechunt_hosts_online
	// (default 5m, like the web UI).
	OnlineWithin time.Duration
	// ReadyTimeout bounds the store check of GET /readyz (default 2s).
	ReadyTimeout time.Duration
	// Retention is how long result rows and status logs are kept
	// (DefaultRetention when 0; negative keeps them forever); PruneEvery is how
	// often older ones are deleted (default 1h).
	Retention, PruneEvery time.Duration
	// Forward are the forwarding destinations (serve --forward); Forwarding
	// overrides parts of the forwarder's config (backoff, tries, poll); its
	// store, destinations, holder, clock, logger and metrics hook are filled in
	// by New.
	Forward    []*forward.Destination
	Forwarding forward.Config
}

// DefaultRetention keeps a month of scheduled results and status logs: enough
// for the anomaly baselines (docs/stacking.md) and a hunter's look back.
const DefaultRetention = 30 * 24 * time.Hour

// Server is the orchestrator's HTTP handler and background work.
type Server struct {
	c       Config
	agent   *agentapi.Handler
	hunts   *hunts.Service
	stacks  *anomalies.Service
	fwd     *forward.Forwarder
	changes *operatorapi.Broadcast
	mux     *http.ServeMux
	handler http.Handler
	metrics *metrics.Metrics
	health  *writeHealth
}

// New builds a Server.
func New(c Config) (*Server, error) {
	if c.Store == nil {
		return nil, errors.New("server: Store is required")
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil && c.Clock != nil {
		c.Now = c.Clock.Now
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.FinishEvery <= 0 {
		c.FinishEvery = time.Second
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.PruneEvery <= 0 {
		c.PruneEvery = time.Hour
	}
	if c.Metrics == nil {
		c.Metrics = metrics.New(c.Version)
	}
	if c.OnlineWithin <= 0 {
		c.OnlineWithin = 5 * time.Minute
	}
	if c.ReadyTimeout <= 0 {
		c.ReadyTimeout = 2 * time.Second
	}
	health := &writeHealth{}
	now := c.Now
	c.Metrics.OnStore(func(op string, err error) {
		if storeWrites[op] {
			health.note(err, now())
		}
	})
	c.Store = c.Metrics.Store(c.Store)
	c.Metrics.WatchHosts(c.Store, c.OnlineWithin, 10*time.Second, c.Now)
	s := &Server{c: c, changes: operatorapi.NewBroadcast(), mux: http.NewServeMux(), metrics: c.Metrics, health: health}
	s.handler = c.Metrics.Middleware(s.mux)
	ac := c.Agent
	ac.Hosts, ac.Secrets, ac.Live, ac.Logs = c.Store, c.Store, c.Store, c.Store
	hc := c.Hunts
	hc.Store, hc.Packs, hc.Clock, hc.Log, hc.Changes = c.Store, c.Packs, c.Clock, c.Log.With("component", "hunts"), s.changes.Wait
	if hc.Clock == nil {
		hc.Clock = nowClock{c.Now}
	}
	hs, err := hunts.New(hc)
	if err != nil {
		return nil, err
	}
	s.hunts = hs
	c.Metrics.WatchLeader(hs.Leader)
	if ac.Configs == nil {
		// Options and decorators for every host, plus the packs of push hunts.
		ac.Configs = s.hunts
	}
	ac.OnResults = func([]int64) { s.changes.Notify() }
	ac.OnQuota = c.Metrics.QuotaRefusal
	ac.Audit = c.Store
	ac.Log, ac.Now = c.Log.With("api", "agent"), c.Now
	agent, err := agentapi.New(ac)
	if err != nil {
		return nil, err
	}
	s.agent = agent
	fc := c.Forwarding
	fc.Store, fc.Destinations, fc.Holder = c.Store, c.Forward, s.hunts.Holder()
	fc.Log, fc.Now = c.Log.With("component", "forward"), c.Now
	fc.LeaseTTL = cmp.Or(fc.LeaseTTL, c.Hunts.LeaseTTL) // one --lease-ttl for every lease a replica holds
	if len(c.Forward) > 0 {
		fc.OnDelivery = c.Metrics.WatchForwarding(func(ctx context.Context) ([]apiv1.ForwardingStatus, error) {
			return s.fwd.Status(ctx)
		})
	}
	s.fwd = forward.New(fc)
	oc := c.Operator
	oc.Forwarding = s.fwd.Status
	oc.Hosts, oc.Tokens, oc.Live = c.Store, c.Store, c.Store
	oc.Audit, oc.Secrets, oc.HashSecret, oc.NodeKeys = c.Store, c.Store, agentapi.HashSecret, c.Store
	oc.NodeKeyRevoked = agent.Forget
	oc.Changes = s.changes
	oc.Hunts = s.hunts
	oc.Log, oc.Now = c.Log.With("api", "operator"), c.Now
	op, err := operatorapi.New(oc)
	if err != nil {
		return nil, err
	}
	agent.Register(s.mux)
	op.Register(s.mux)
	sc := c.Anomalies
	sc.Packs, sc.Now, sc.Logger = c.Packs, c.Now, c.Log.With("component", "anomalies")
	sc.OnTriage = func(ctx context.Context, a apiv1.Anomaly, by string) {
		// The triage is stored: its event is queued even if the client has gone.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := s.fwd.Triaged(ctx, a, by); err != nil {
			c.Log.Warn("forwarding a triage", "anomaly", a.ID, "err", err)
		}
	}
	s.stacks = anomalies.New(c.Store, sc)
	op.RegisterAnomalies(s.mux, s.stacks)
	uc := c.UI
	uc.API, uc.Log, uc.Now, uc.Version = s.mux, c.Log.With("api", "webui"), c.Now, c.Version
	ui, err := webui.New(uc)
	if err != nil {
		return nil, err
	}
	ui.Register(s.mux)
	s.mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"name": "exechunt", "version": c.Version})
	})
	// Liveness: the process is up and serving; it does not depend on the store,
	// so an orchestrator is not restarted for a database outage.
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	// Readiness: the store answers within ReadyTimeout.
	s.mux.HandleFunc("GET /readyz", s.ready)
	mh := c.Metrics.Handler()
	if !c.MetricsPublic {
		mh = op.Authenticated(apiv1.RoleViewer, mh)
	}
	s.mux.Handle("GET /metrics", mh)
	return s, nil
}

// Handler returns the HTTP handler of every endpoint, counted and timed in the
// metrics.
func (s *Server) Handler() http.Handler { return s.handler }

// Metrics returns the server's metrics.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// ready answers GET /readyz: 200 {"status":"ready"} when the store answers a ping
// within ReadyTimeout and its writes are not failing for lack of space, else 503
// with the reason (the error itself is logged, not
// returned: the endpoint needs no token).
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.c.ReadyTimeout)
	defer cancel()
	if err := s.c.Store.Ping(ctx); err != nil {
		reason := "store: ping failed"
		if errors.Is(err, context.DeadlineExceeded) {
			reason = "store: ping timed out after " + s.c.ReadyTimeout.String()
		}
		if r.Context().Err() == nil {
			s.c.Log.Warn("not ready", "reason", reason, "err", err)
		}
		writeStatus(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": reason})
		return
	}
	if full, since := s.health.state(); full {
		reason := "store: disk full (writes failing since " + since.UTC().Format(time.RFC3339) + ")"
		writeStatus(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": reason})
		return
	}
	writeStatus(w, http.StatusOK, map[string]string{"status": "ready"})
}

func writeStatus(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// Run does the background work until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	var agentErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		agentErr = s.agent.Run(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.hunts.Run(ctx); err != nil && ctx.Err() == nil {
			s.c.Log.Error("hunt scheduler stopped", "err", err)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.syncStacks(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.fwd.Run(ctx)
	}()
	if s.c.Retention > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.pruneLoop(ctx)
		}()
	}
	tick.Every(ctx, s.c.FinishEvery, s.finishLiveQueries)
	wg.Wait()
	return agentErr
}

// finishLiveQueries ends the live queries past their deadline.
func (s *Server) finishLiveQueries(ctx context.Context) {
	ended, err := s.c.Store.FinishLiveQueries(ctx, s.c.Now())
	if err != nil {
		if ctx.Err() == nil {
			s.c.Log.Warn("finishing live queries", "err", err)
		}
		return
	}
	if len(ended) > 0 {
		s.c.Log.Info("live queries ended", "query_ids", ended)
		s.changes.Notify()
	}
}

// syncStacks keeps the stacks up to date with the stored hunt results until ctx ends.
func (s *Server) syncStacks(ctx context.Context) {
	every := s.c.StackEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	step := func(ctx context.Context) {
		if err := s.stacks.Sync(ctx); err != nil && ctx.Err() == nil {
			s.c.Log.Warn("stacking hunt results", "err", err)
		} else if err == nil {
			s.forwardAnomalies(ctx)
		}
	}
	step(ctx)
	tick.Every(ctx, every, step)
}

// forwardAnomalies shows the forwarder the current assessment, on the replica
// that delivers: it enqueues the anomalies that opened or rose in rank.
func (s *Server) forwardAnomalies(ctx context.Context) {
	if !s.fwd.Leader() {
		return
	}
	list, err := s.stacks.Anomalies(ctx, anomalies.Filter{})
	if err == nil {
		err = s.fwd.Observe(ctx, list)
	}
	if err != nil && ctx.Err() == nil {
		s.c.Log.Warn("forwarding anomalies", "err", err)
	}
}

// pruneBatch is how many rows of each kind one delete removes: small enough that
// the store's writer is never held long, for agents' posts queue behind it.
const pruneBatch = 5000

// pruneLoop deletes result rows and status logs older than the retention, at
// start and every PruneEvery, until ctx ends.
func (s *Server) pruneLoop(ctx context.Context) {
	step := func(ctx context.Context) {
		n, err := s.Prune(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.c.Log.Warn("pruning old results", "err", err, "pruned", n)
		case n > 0:
			s.c.Log.Info("pruned old results", "rows", n, "retention", s.c.Retention)
		}
	}
	step(ctx)
	tick.Every(ctx, s.c.PruneEvery, step)
}

// Prune deletes the result rows and status logs older than the retention now,
// in batches, and returns how many it deleted; then the forwarding outbox's
// delivered and dead-lettered items older than the retention (not counted).
func (s *Server) Prune(ctx context.Context) (int64, error) {
	if s.c.Retention <= 0 {
		return 0, nil
	}
	before := s.c.Now().Add(-s.c.Retention)
	var total int64
	for ctx.Err() == nil {
		n, err := s.c.Store.PruneLogs(ctx, before, pruneBatch)
		total += n
		s.c.Metrics.Pruned(n)
		if err != nil {
			return total, err
		}
		if n == 0 {
			break
		}
	}
	// Forwarded items delivered or dead-lettered before the retention too
	// (queued ones are kept until delivered); not counted as rows.
	for ctx.Err() == nil {
		n, err := s.c.Store.PruneOutbox(ctx, before, pruneBatch)
		if err != nil || n == 0 {
			return total, err
		}
	}
	return total, ctx.Err()
}
