// Package operatorapi is the REST API operators, the CLI and the web UI use,
// under /api/v1/: hosts, live queries (create, follow over server-sent events,
// cancel, history), hunts, anomalies and the admin routes. Every request needs
// "Authorization: Bearer <token>"; tokens are stored hashed and carry a role
// (apiv1.RoleViewer < RoleHunter < RoleAdmin). The bodies are orchestrator/apiv1's
// types, which the clients share.
package operatorapi

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/ratelimit"
	"github.com/exechunt/exechunt/orchestrator/store"
)

// HostStore is what the API reads of hosts.
type HostStore interface {
	Host(ctx context.Context, id int64) (store.Host, error)
	ListHosts(ctx context.Context, f store.HostFilter) ([]store.Host, error)
}

// TokenStore resolves bearer tokens and, for admins, creates, lists and revokes
// them.
type TokenStore interface {
	TokenByHash(ctx context.Context, hash []byte) (store.Token, error)
	CreateToken(ctx context.Context, t store.Token) (store.Token, error)
	ListTokens(ctx context.Context) ([]store.Token, error)
	RevokeToken(ctx context.Context, id int64, now time.Time) error
}

// LiveStore creates and reads live queries.
type LiveStore interface {
	CreateLiveQuery(ctx context.Context, q store.LiveQuery, hostIDs []int64, now time.Time) (store.LiveQuery, error)
	LiveQuery(ctx context.Context, id int64) (store.LiveQuery, error)
	ListLiveQueries(ctx context.Context, limit int) ([]store.LiveQuery, error)
	LiveQueryHosts(ctx context.Context, queryID int64) ([]store.LiveQueryHost, error)
	LiveQueryRows(ctx context.Context, queryID, hostID int64) ([]store.Row, error)
	CancelLiveQuery(ctx context.Context, id int64, now time.Time) error
}

// Config configures the API. Hosts, Tokens and Live are required.
type Config struct {
	Hosts  HostStore
	Tokens TokenStore
	Live   LiveStore
	// Changes wakes result streams when live queries change; nil means streams poll.
	Changes *Broadcast
	Log     *slog.Logger
	Now     func() time.Time
	// DefaultTimeout and MaxTimeout bound live queries (defaults 60s and 1h).
	DefaultTimeout, MaxTimeout time.Duration
	// Poll is how often a result stream re-reads the store without a wake-up (1s).
	Poll time.Duration

	// Audit records live queries and admin actions (GET /api/v1/audit); the server
	// always sets it. Secrets (with HashSecret) and NodeKeys enable the enroll
	// secret and node key admin routes; NodeKeyRevoked is called after a host's
	// node key is revoked (e.g. to drop the agent API's key cache).
	Audit          AuditStore
	Secrets        SecretStore
	HashSecret     HashSecretFunc
	NodeKeys       NodeKeyStore
	NodeKeyRevoked func(hostID int64)
	// AuthFailures limits failed token authentications per client IP (API and web
	// UI login); default: bursts of 10, then 10 per minute.
	AuthFailures *ratelimit.Limiter
	// Hunts enables the hunt and run routes (hunts.go); nil leaves them out.
	Hunts HuntService
	// Forwarding serves GET /api/v1/forwarding: every forwarding destination's
	// outbox (orchestrator/forward). Nil leaves the route out.
	Forwarding func(ctx context.Context) ([]apiv1.ForwardingStatus, error)
}

// API serves the operator endpoints.
type API struct{ c Config }

// New checks c and returns an API.
func New(c Config) (*API, error) {
	if c.Hosts == nil || c.Tokens == nil || c.Live == nil {
		return nil, errors.New("operatorapi: Hosts, Tokens and Live are required")
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.DefaultTimeout = cmp.Or(max(c.DefaultTimeout, 0), time.Minute)
	c.MaxTimeout = cmp.Or(max(c.MaxTimeout, 0), time.Hour)
	c.Poll = cmp.Or(max(c.Poll, 0), time.Second)
	if c.Changes == nil {
		c.Changes = NewBroadcast()
	}
	if c.AuthFailures == nil {
		c.AuthFailures = ratelimit.New(10.0/60, 10, c.Now, 0)
	}
	return &API{c: c}, nil
}

// Register adds the endpoints to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/hosts", a.auth(apiv1.RoleViewer, a.listHosts))
	mux.Handle("GET /api/v1/hosts/{id}", a.auth(apiv1.RoleViewer, a.getHost))
	mux.Handle("GET /api/v1/queries", a.auth(apiv1.RoleViewer, a.listQueries))
	mux.Handle("POST /api/v1/queries", a.auth(apiv1.RoleHunter, a.createQuery))
	mux.Handle("GET /api/v1/queries/{id}", a.auth(apiv1.RoleViewer, a.getQuery))
	mux.Handle("GET /api/v1/queries/{id}/rows", a.auth(apiv1.RoleViewer, a.queryRows))
	mux.Handle("GET /api/v1/queries/{id}/events", a.auth(apiv1.RoleViewer, a.streamQuery))
	mux.Handle("POST /api/v1/queries/{id}/cancel", a.auth(apiv1.RoleHunter, a.cancelQuery))
	mux.Handle("GET /api/v1/whoami", a.auth(apiv1.RoleViewer, a.whoami))
	a.registerAdmin(mux)
	if a.c.Hunts != nil {
		a.registerHunts(mux)
	}
	if a.c.Forwarding != nil {
		mux.Handle("GET /api/v1/forwarding", a.auth(apiv1.RoleViewer, a.forwarding))
	}
}

// forwarding answers GET /api/v1/forwarding.
func (a *API) forwarding(w http.ResponseWriter, r *http.Request) error {
	list, err := a.c.Forwarding(r.Context())
	return replyList(w, list, err)
}

// HashToken is how bearer tokens are hashed for the store.
func HashToken(tok string) []byte { s := sha256.Sum256([]byte(tok)); return s[:] }

type ctxKey struct{}

type handler func(w http.ResponseWriter, r *http.Request) error

func (a *API) auth(min string, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := func() error {
			ip := clientIP(r)
			if blocked, wait := a.c.AuthFailures.Blocked(ip); blocked {
				w.Header().Set("Retry-After", ratelimit.RetryAfter(wait))
				return apiv1.Errorf(http.StatusTooManyRequests, "too many failed authentications; retry later")
			}
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || strings.TrimSpace(tok) == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="exechunt"`)
				return apiv1.Errorf(http.StatusUnauthorized, "missing bearer token")
			}
			t, err := a.c.Tokens.TokenByHash(r.Context(), HashToken(strings.TrimSpace(tok)))
			if errors.Is(err, store.ErrNotFound) || (err == nil && !t.Valid(a.c.Now())) {
				a.c.AuthFailures.Fail(ip)
				a.c.Log.Warn("API authentication failed", "remote", ip, "path", r.URL.Path)
				w.Header().Set("WWW-Authenticate", `Bearer realm="exechunt", error="invalid_token"`)
				return apiv1.Errorf(http.StatusUnauthorized, "invalid token")
			}
			if err != nil {
				return err
			}
			if !apiv1.RoleAllows(t.Role, min) {
				return apiv1.Errorf(http.StatusForbidden, "role %s may not do this (needs %s)", t.Role, min)
			}
			return h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, t)))
		}()
		if err != nil {
			a.fail(w, r, err)
		}
	})
}

// Authenticated wraps h so that it needs a valid bearer token of role min or
// above, with the same checks, failure limits and answers as the API's routes
// (the server puts GET /metrics behind it).
func (a *API) Authenticated(min string, h http.Handler) http.Handler {
	return a.auth(min, func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	})
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var se *apiv1.StatusError
	switch {
	case errors.As(err, &se):
		writeJSON(w, se.Status, apiv1.Error{Error: se.Message})
	case errors.Is(err, store.ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiv1.Error{Error: "not found"})
	case errors.Is(err, store.ErrConflict):
		writeJSON(w, http.StatusConflict, apiv1.Error{Error: err.Error()})
	default:
		if r.Context().Err() == nil {
			a.c.Log.Error("operator request failed", "path", r.URL.Path, "err", err)
		}
		writeJSON(w, http.StatusInternalServerError, apiv1.Error{Error: "internal error"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// reply ends a handler: err if the step before failed, else v as the 200 answer.
func reply[T any](w http.ResponseWriter, v T, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// replyList is reply for a list, answered as [] rather than null when empty.
func replyList[T any](w http.ResponseWriter, list []T, err error) error {
	if list == nil {
		list = []T{}
	}
	return reply(w, list, err)
}

func (a *API) whoami(w http.ResponseWriter, r *http.Request) error {
	t, _ := r.Context().Value(ctxKey{}).(store.Token)
	writeJSON(w, http.StatusOK, apiv1.Whoami{Name: t.Name, Role: t.Role})
	return nil
}

// Broadcast wakes every waiter at once: Wait returns a channel closed by the next
// Notify.
type Broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

// NewBroadcast returns a Broadcast.
func NewBroadcast() *Broadcast { return &Broadcast{ch: make(chan struct{})} }

// Wait returns a channel closed at the next Notify.
func (b *Broadcast) Wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

// Notify wakes all current waiters.
func (b *Broadcast) Notify() {
	b.mu.Lock()
	close(b.ch)
	b.ch = make(chan struct{})
	b.mu.Unlock()
}
