// Package agentapi serves osquery's TLS remote API (enroll, config, log,
// distributed read/write) to osqueryd agents, under /api/osquery/ and
// /api/v1/osquery/, following what osquery itself sends and expects
// (../shared/reference/osquery-tls-api.md).
//
// An unknown or revoked node key is answered with HTTP 200 and
// {"node_invalid": true}: osquery then drops its key and re-enrolls. Malformed
// bodies get 400, bodies over the endpoint's limit 413; neither changes anything.
// Node keys and enroll secrets never appear in logs or error messages; only
// their SHA-256 hashes reach the store.
package agentapi

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/exechunt/exechunt/orchestrator/ratelimit"
	"github.com/exechunt/exechunt/orchestrator/smallcache"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/tick"
)

// HostStore is what the agent API needs of enrolled hosts.
type HostStore interface {
	EnrollHost(ctx context.Context, e store.Enrollment, now time.Time) (store.Host, error)
	HostByNodeKey(ctx context.Context, nodeKeyHash []byte) (store.Host, error)
	TouchHosts(ctx context.Context, seen map[int64]time.Time) error
}

// SecretStore lists the enroll secrets currently valid.
type SecretStore interface {
	EnrollSecrets(ctx context.Context) ([]store.EnrollSecret, error)
}

// LiveStore hands out and records live queries.
type LiveStore interface {
	TakePendingQueries(ctx context.Context, hostID int64, now time.Time) ([]store.PendingQuery, error)
	RecordResults(ctx context.Context, hostID int64, results []store.HostResult, now time.Time) ([]int64, error)
	// LiveQuery returns a live query with its hosts counted by state (Counts).
	LiveQuery(ctx context.Context, id int64) (store.LiveQuery, error)
}

// LogStore stores result and status logs.
type LogStore interface {
	InsertResults(ctx context.Context, rows []store.ResultRow) (int, error)
	InsertStatusLogs(ctx context.Context, logs []store.StatusLog) (int, error)
}

// ConfigSource builds the osquery configuration of one host (options, schedule,
// packs, decorators, feature_vectors), without node_invalid.
type ConfigSource interface {
	Config(ctx context.Context, h store.Host) (map[string]any, error)
}

// ConfigKeyer is optionally implemented by a ConfigSource whose configuration of a
// host follows entirely from a short key (equal keys, equal configurations). The
// handler then encodes each distinct configuration once: a fleet fetching its
// config at once would otherwise spend most of that time encoding the same
// packs as JSON.
type ConfigKeyer interface {
	ConfigKey(h store.Host) string
}

// Limits are the largest request bodies accepted, per endpoint, after gzip
// decompression. Zero fields take the defaults.
type Limits struct {
	Enroll, Config, Log, Read, Write int64
}

// DefaultLimits: osquery drops log lines over 1 MiB and sends at most
// logger_tls_max_lines (1024) per POST.
var DefaultLimits = Limits{Enroll: 1 << 20, Config: 64 << 10, Log: 64 << 20, Read: 64 << 10, Write: 64 << 20}

// Config configures a Handler. Hosts, Secrets, Live, Logs and Configs are required.
type Config struct {
	Hosts   HostStore
	Secrets SecretStore
	Live    LiveStore
	Logs    LogStore
	Configs ConfigSource
	// OnResults is called with the IDs of live queries that got answers.
	OnResults func(queryIDs []int64)
	Log       *slog.Logger     // default: discard
	Now       func() time.Time // default: time.Now
	Limits    Limits
	// Accelerate is the "accelerate" value (seconds) sent to a host with the live
	// queries it is handed: osquery then polls every 5 s for that long, so the
	// next query of a hunter drilling into those hosts reaches them sooner.
	// Default 60.
	Accelerate int
	// AccelerateMaxHosts: a host is told to accelerate only when each live query
	// it is handed targets at most this many hosts (default
	// DefaultAccelerateMaxHosts; negative: never).
	AccelerateMaxHosts int
	// KeyCacheTTL bounds how long a node key lookup is cached (default 10s); a
	// revoked key is refused at the latest this long after revocation.
	KeyCacheTTL time.Duration
	// TouchEvery is how often last-seen times are written in one batch (default 5s).
	TouchEvery time.Duration
	// HostRate and HostBurst limit the requests of one enrolled host (one node
	// key's host): bursts of HostBurst, then HostRate per second; more get 429,
	// which osquery retries later with its buffer kept. Defaults 10/s and 100:
	// far above osquery's own pace (config 5 min, distributed 5-60 s, logger 10 s),
	// so only a broken or hostile agent is slowed and the others are not starved.
	HostRate  float64
	HostBurst int
	// MaxInFlight bounds the agent requests served at once (default 1024); more are
	// answered 503 with Retry-After, which osquery retries later with its logs
	// kept. Without it an overloaded orchestrator queues requests, and their bodies,
	// until memory runs out instead of shedding the load it cannot serve.
	MaxInFlight int
	// BodyTimeout is how long a request's body may take to arrive (default 30s): a
	// client that sends headers and then nothing, or a trickle, is cut off then
	// instead of holding a connection, a goroutine and its reserved memory.
	BodyTimeout time.Duration
	// BodyBudget bounds the bytes of request bodies (after gzip inflation) held at
	// once by requests whose node key has been checked (default
	// DefaultBodyBudget); AnonBudget bounds those of enrollments and of bodies not
	// yet tied to a known node key (default DefaultAnonBudget). A request that
	// finds its budget spent is answered 503 with Retry-After.
	BodyBudget, AnonBudget int64
	// HostLogRate and HostLogBurst are one host's quota of log bytes (after
	// inflation): bursts of HostLogBurst, then HostLogRate per second on average
	// (defaults DefaultHostLogRate, DefaultHostLogBurst). A POST over the quota gets
	// 429 with Retry-After; osquery keeps its buffer and sends it later, so one
	// flooding host cannot fill the disk or hold the store's writer from the others.
	HostLogRate  float64
	HostLogBurst int
	// MaxRowsPerPost bounds the rows one log POST may store (default 100,000): a
	// small body of many empty rows otherwise costs far more to store than to send.
	MaxRowsPerPost int
	// OnQuota is called when a host's log POST is refused over its quota (metrics).
	OnQuota func()
	// Audit, when set, records re-enrollments: a host record whose node key was
	// replaced by a new enrollment with its UUID (osquery that lost its key, or
	// someone holding the enroll secret taking the host's place).
	Audit AuditStore
}

// AuditStore adds audit entries.
type AuditStore interface {
	AddAudit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error)
}

// Defaults of a host's log quota: 32 MiB at once, 64 KiB/s (5.3 GiB a day) on
// average — hundreds of times what a host's scheduled execution hunts send.
const (
	DefaultHostLogRate  = 64 << 10
	DefaultHostLogBurst = 32 << 20
)

// Defaults of Config.BodyBudget and Config.AnonBudget: four of the largest log
// bodies at once for enrolled hosts (a fleet's answers to a live query arrive
// together); what a few hundred enrollments hold for everyone else, which is all
// an attacker without a node key can make the server hold (docs/security.md).
const (
	DefaultBodyBudget = 256 << 20
	DefaultAnonBudget = 16 << 20
)

// DefaultAccelerateMaxHosts is Config.AccelerateMaxHosts's default. Acceleration
// doubles the check-ins of the hosts told to accelerate, for a minute. For a
// query to a few hosts that is cheap and what a hunter wants; for one to a whole
// fleet it doubles the fleet's read rate just when every host is answering, and
// buys nothing: every host gets a new query at its next check-in anyway, and a
// query to the fleet takes one interval whatever the pace. Measured at 5,000
// simulated hosts (docs/scaling.md): the fleet-wide live query with acceleration
// sent 35,000 reads in 45 s, without 22,500.
const DefaultAccelerateMaxHosts = 1000

// DefaultMaxInFlight is Config.MaxInFlight's default. Measured on two cores
// (docs/scaling.md): it sheds nothing at 5,000 simulated hosts; at 10,000 it shed
// 2.3% and kept the server at 616 MiB, serving 3,726 req/s, while a bound of 4,096
// let requests pile up (2 GiB, garbage collection) and served only 2,305 req/s.
const DefaultMaxInFlight = 1024

// Handler serves the agent endpoints.
type Handler struct {
	c        Config
	log      *slog.Logger
	perHost  *ratelimit.Limiter
	slots    chan struct{}                          // one per request in flight (MaxInFlight)
	main     *budget                                // body bytes of authenticated requests (BodyBudget)
	anon     *budget                                // body bytes of the others (AnonBudget)
	refused  *logEvery                              // refused enrollments: a log line a second at most
	logQuota *ratelimit.Limiter                     // log bytes per host (HostLogRate, HostLogBurst)
	configs  *smallcache.Cache[string, encodedJSON] // encoded configurations (ConfigKeyer)
	targets  targetCache                            // hosts targeted per live query (accelerate)

	mu     sync.Mutex
	keys   map[[32]byte]cachedHost
	byHost map[int64][32]byte
	seen   map[int64]time.Time
}

type cachedHost struct {
	host    store.Host
	expires time.Time
}

// New checks c and returns a Handler.
func New(c Config) (*Handler, error) {
	if c.Hosts == nil || c.Secrets == nil || c.Live == nil || c.Logs == nil || c.Configs == nil {
		return nil, errors.New("agentapi: Hosts, Secrets, Live, Logs and Configs are required")
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Logs = newBatchedLogs(c.Logs) // group commit (batch.go)
	c.Accelerate = cmp.Or(max(c.Accelerate, 0), 60)
	c.AccelerateMaxHosts = cmp.Or(c.AccelerateMaxHosts, DefaultAccelerateMaxHosts)
	c.KeyCacheTTL = cmp.Or(max(c.KeyCacheTTL, 0), 10*time.Second)
	c.TouchEvery = cmp.Or(max(c.TouchEvery, 0), 5*time.Second)
	c.HostRate = cmp.Or(max(c.HostRate, 0), 10)
	c.HostBurst = cmp.Or(max(c.HostBurst, 0), 100)
	c.MaxInFlight = cmp.Or(max(c.MaxInFlight, 0), DefaultMaxInFlight)
	c.BodyTimeout = cmp.Or(max(c.BodyTimeout, 0), 30*time.Second)
	c.BodyBudget = cmp.Or(max(c.BodyBudget, 0), DefaultBodyBudget)
	c.AnonBudget = cmp.Or(max(c.AnonBudget, 0), DefaultAnonBudget)
	c.HostLogRate = cmp.Or(max(c.HostLogRate, 0), DefaultHostLogRate)
	c.HostLogBurst = cmp.Or(max(c.HostLogBurst, 0), DefaultHostLogBurst)
	c.MaxRowsPerPost = cmp.Or(max(c.MaxRowsPerPost, 0), 100_000)
	d := DefaultLimits
	for _, p := range []struct{ v, def *int64 }{{&c.Limits.Enroll, &d.Enroll}, {&c.Limits.Config, &d.Config},
		{&c.Limits.Log, &d.Log}, {&c.Limits.Read, &d.Read}, {&c.Limits.Write, &d.Write}} {
		if *p.v <= 0 {
			*p.v = *p.def
		}
	}
	return &Handler{c: c, log: c.Log, keys: map[[32]byte]cachedHost{}, byHost: map[int64][32]byte{},
		seen: map[int64]time.Time{}, perHost: ratelimit.New(c.HostRate, c.HostBurst, c.Now, 0),
		slots: make(chan struct{}, c.MaxInFlight), main: newBudget(c.BodyBudget), anon: newBudget(c.AnonBudget),
		refused:  &logEvery{every: time.Second, now: c.Now},
		logQuota: ratelimit.New(c.HostLogRate, c.HostLogBurst, c.Now, 0),
		configs:  &smallcache.Cache[string, encodedJSON]{Max: configCacheMax}}, nil
}

// Prefixes are the URL prefixes the endpoints are served under.
var Prefixes = []string{"/api/osquery", "/api/v1/osquery"}

// Register adds the endpoints to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, p := range Prefixes {
		mux.Handle("POST "+p+"/enroll", h.endpoint("enroll", h.c.Limits.Enroll, h.enroll))
		mux.Handle("POST "+p+"/config", h.endpoint("config", h.c.Limits.Config, h.config))
		mux.Handle("POST "+p+"/log", h.endpoint("log", h.c.Limits.Log, h.logs))
		mux.Handle("POST "+p+"/distributed/read", h.endpoint("distributed/read", h.c.Limits.Read, h.read))
		mux.Handle("POST "+p+"/distributed/write", h.endpoint("distributed/write", h.c.Limits.Write, h.write))
	}
}

// Run flushes last-seen times until ctx ends, then flushes once more.
func (h *Handler) Run(ctx context.Context) error {
	tick.Every(ctx, h.c.TouchEvery, func(ctx context.Context) {
		if err := h.flushSeen(ctx); err != nil {
			h.log.Warn("recording last-seen times", "err", err)
		}
	})
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return h.flushSeen(fctx)
}

func (h *Handler) flushSeen(ctx context.Context) error {
	h.mu.Lock()
	seen := h.seen
	h.seen = make(map[int64]time.Time, len(seen))
	h.mu.Unlock()
	// In chunks: one write of a whole fleet's hosts would hold the store's writer
	// (and every agent's log POST behind it) for tens of milliseconds.
	var err error
	chunk := make(map[int64]time.Time, touchChunk)
	flush := func() {
		if len(chunk) == 0 {
			return
		}
		if e := h.c.Hosts.TouchHosts(ctx, chunk); e != nil {
			err = e
			h.mu.Lock()
			for id, t := range chunk { // keep them for the next flush
				if t.After(h.seen[id]) {
					h.seen[id] = t
				}
			}
			h.mu.Unlock()
		}
		chunk = make(map[int64]time.Time, touchChunk)
	}
	for id, t := range seen {
		chunk[id] = t
		if len(chunk) == touchChunk {
			flush()
		}
	}
	flush()
	return err
}

// touchChunk is how many hosts' last-seen times one store write records.
const touchChunk = 500

// errNodeInvalid answers an unknown, revoked or missing node key.
var errNodeInvalid = errors.New("invalid node key")

// requestError is a client error with its HTTP status; its message is safe to
// return (it never holds secrets).
type requestError struct {
	status     int
	msg        string
	retryAfter string // Retry-After header for 429
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, a ...any) error {
	return &requestError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, a...)}
}

type handlerFunc func(ctx context.Context, r *http.Request, body []byte) (any, error)

// endpoint authenticates a request as early as its protocol allows, reads its
// (possibly gzip) body within limit, budget and deadline, then takes one of the
// in-flight slots to serve it and writes the JSON answer; errors become
// {"error": ...} or {"node_invalid": true}.
//
// The slot is taken only once the body is in: a client that sends headers and
// then nothing holds a connection (until BodyTimeout) but no slot, so it cannot
// lock enrolled agents out. A node key in the Authorization header (osquery ≥ 5.23)
// is checked before the body is read at all, and a body's leading node_key before
// the rest of it is read or inflated (readBody).
func (h *Handler) endpoint(name string, limit int64, f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var host *store.Host
		var err error
		if name != "enroll" && headerNodeKey(r) != "" {
			var hst store.Host
			if hst, err = h.authenticate(ctx, r, ""); err == nil {
				host = &hst
			}
		}
		var body []byte
		var resp any
		if err == nil {
			var authed *store.Host
			var release func()
			body, authed, release, err = h.readBody(ctx, w, r, limit, host, name != "enroll")
			defer release()
			if authed != nil {
				host = authed
			}
		}
		if err == nil {
			select {
			case h.slots <- struct{}{}:
				defer func() { <-h.slots }()
				if host != nil {
					ctx = context.WithValue(ctx, authedHostKey{}, *host)
				}
				resp, err = f(ctx, r, body)
			default:
				err = errBusy
			}
		}
		var re *requestError
		switch {
		case err == nil:
			if b, ok := resp.(encodedJSON); ok {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusOK)
				w.Write(b)
				break
			}
			writeJSON(w, http.StatusOK, resp)
		case errors.Is(err, errNodeInvalid):
			writeJSON(w, http.StatusOK, map[string]any{"node_invalid": true, "error": "invalid node key"})
		case errors.As(err, &re):
			if re.retryAfter != "" {
				w.Header().Set("Retry-After", re.retryAfter)
			}
			writeJSON(w, re.status, map[string]any{"error": re.msg})
		default:
			if r.Context().Err() == nil {
				h.log.Error("agent request failed", "endpoint", name, "err", err)
			}
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "internal error"})
		}
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func hashKey(k string) [32]byte { return sha256.Sum256([]byte(k)) }

// headerNodeKey returns the key of "Authorization: NodeKey …" (osquery ≥ 5.23).
func headerNodeKey(r *http.Request) string {
	if k, ok := strings.CutPrefix(r.Header.Get("Authorization"), "NodeKey "); ok {
		return strings.TrimSpace(k)
	}
	return ""
}

// nodeKey returns the key from "Authorization: NodeKey …" or, failing that, from
// the body's node_key.
func nodeKey(r *http.Request, bodyKey string) string {
	if k := headerNodeKey(r); k != "" {
		return k
	}
	return bodyKey
}

// authedHostKey carries the host a request authenticated as before its body was
// parsed (endpoint), so that the handler's own authenticate does not count the
// request twice against the host's rate.
type authedHostKey struct{}

// authenticate returns the host holding the node key, from a short-lived cache.
func (h *Handler) authenticate(ctx context.Context, r *http.Request, bodyKey string) (store.Host, error) {
	if host, ok := ctx.Value(authedHostKey{}).(store.Host); ok {
		return host, nil
	}
	k := nodeKey(r, bodyKey)
	if k == "" {
		return store.Host{}, errNodeInvalid
	}
	sum := hashKey(k)
	now := h.c.Now()
	h.mu.Lock()
	c, ok := h.keys[sum]
	h.mu.Unlock()
	if !ok || now.After(c.expires) {
		host, err := h.c.Hosts.HostByNodeKey(ctx, sum[:])
		if errors.Is(err, store.ErrNotFound) {
			h.mu.Lock()
			delete(h.keys, sum)
			h.mu.Unlock()
			return store.Host{}, errNodeInvalid
		}
		if err != nil {
			return store.Host{}, err
		}
		c = cachedHost{host: host, expires: now.Add(h.c.KeyCacheTTL)}
		h.mu.Lock()
		h.keys[sum] = c
		h.byHost[host.ID] = sum
		h.mu.Unlock()
	}
	if ok, wait := h.perHost.Allow(itoa(c.host.ID)); !ok {
		return store.Host{}, &requestError{status: http.StatusTooManyRequests, msg: "too many requests from this host",
			retryAfter: ratelimit.RetryAfter(wait)}
	}
	h.mu.Lock()
	if now.After(h.seen[c.host.ID]) {
		h.seen[c.host.ID] = now
	}
	h.mu.Unlock()
	return c.host, nil
}

// Forget drops the cached node key of a host, so a key revoked in the store is
// refused at once rather than after KeyCacheTTL.
func (h *Handler) Forget(hostID int64) { h.forget(hostID) }

// forget drops the cached key of a host (it re-enrolled).
func (h *Handler) forget(hostID int64) {
	h.mu.Lock()
	if k, ok := h.byHost[hostID]; ok {
		delete(h.keys, k)
		delete(h.byHost, hostID)
	}
	h.mu.Unlock()
}

// Endpoint paths under a prefix, for clients (the simulator, enroll-flags).
const (
	PathEnroll = "/enroll"
	PathConfig = "/config"
	PathLog    = "/log"
	PathRead   = "/distributed/read"
	PathWrite  = "/distributed/write"
)
