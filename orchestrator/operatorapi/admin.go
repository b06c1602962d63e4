package operatorapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/store"
)

// SecretStore manages enroll secrets (admin routes).
type SecretStore interface {
	AddEnrollSecret(ctx context.Context, s store.EnrollSecret) error
	EnrollSecrets(ctx context.Context) ([]store.EnrollSecret, error)
	DeleteEnrollSecret(ctx context.Context, name string) error
}

// AuditStore keeps the audit log.
type AuditStore interface {
	AddAudit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error)
	AuditLog(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error)
}

// NodeKeyStore revokes a host's node key.
type NodeKeyStore interface {
	RevokeNodeKey(ctx context.Context, hostID int64) error
}

// HashSecretFunc hashes an enroll secret the way the agent API compares it.
type HashSecretFunc func(secret string) []byte

// registerAdmin adds the admin routes (tokens, enroll secrets, node keys, audit)
// whose stores are configured.
func (a *API) registerAdmin(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/tokens", a.auth(apiv1.RoleAdmin, a.listTokens))
	mux.Handle("POST /api/v1/tokens", a.auth(apiv1.RoleAdmin, a.createToken))
	mux.Handle("POST /api/v1/tokens/{id}/revoke", a.auth(apiv1.RoleAdmin, a.revokeToken))
	if a.c.Secrets != nil && a.c.HashSecret != nil {
		mux.Handle("GET /api/v1/enroll-secrets", a.auth(apiv1.RoleAdmin, a.listSecrets))
		mux.Handle("POST /api/v1/enroll-secrets", a.auth(apiv1.RoleAdmin, a.addSecret))
		mux.Handle("DELETE /api/v1/enroll-secrets/{name}", a.auth(apiv1.RoleAdmin, a.deleteSecret))
	}
	if a.c.NodeKeys != nil {
		mux.Handle("POST /api/v1/hosts/{id}/revoke-node-key", a.auth(apiv1.RoleAdmin, a.revokeNodeKey))
	}
	if a.c.Audit != nil {
		mux.Handle("GET /api/v1/audit", a.auth(apiv1.RoleAdmin, a.auditLog))
	}
}

// clientIP is the address requests are rate-limited and audited by.
func clientIP(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// audit records an action of the request's token. A failed write is returned:
// the caller answers 500 so an unaudited action never looks successful.
func (a *API) audit(r *http.Request, action, target, sql string, detail any) error {
	if a.c.Audit == nil {
		return nil
	}
	tok, _ := r.Context().Value(ctxKey{}).(store.Token)
	e := store.AuditEntry{Time: a.c.Now(), Actor: tok.Name, TokenID: tok.ID, Role: tok.Role, Remote: clientIP(r),
		Action: action, Target: target, SQL: sql}
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return err
		}
		e.Detail = b
	}
	if _, err := a.c.Audit.AddAudit(r.Context(), e); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (a *API) apiToken(t store.Token) apiv1.Token {
	return apiv1.Token{ID: t.ID, Name: t.Name, Role: t.Role, CreatedAt: t.CreatedAt, ExpiresAt: optTime(t.ExpiresAt),
		RevokedAt: optTime(t.RevokedAt), Valid: t.Valid(a.c.Now())}
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apiv1.Errorf(http.StatusBadRequest, "malformed request: %v", err)
	}
	return nil
}

// decodeNamed decodes the body into req, then checks *name, the field of req that
// names a token or an enroll secret (checkName).
func decodeNamed(w http.ResponseWriter, r *http.Request, req any, name *string) error {
	if err := decodeBody(w, r, req); err != nil {
		return err
	}
	return checkName(*name)
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// checkName checks the name of a token or an enroll secret: 1-64 letters,
// digits, - _ . @ (it is shown in listings and the audit log).
func checkName(s string) error {
	ok := s != "" && len(s) <= 64
	for _, c := range s {
		ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.@", c))
	}
	if !ok {
		return apiv1.Errorf(http.StatusBadRequest, "name: 1-64 letters, digits, - _ . @")
	}
	return nil
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) error {
	var req apiv1.CreateTokenRequest
	if err := decodeNamed(w, r, &req, &req.Name); err != nil {
		return err
	}
	if !apiv1.ValidRole(req.Role) {
		return apiv1.Errorf(http.StatusBadRequest, "role must be viewer, hunter or admin")
	}
	now := a.c.Now()
	t := store.Token{Name: req.Name, Role: req.Role, CreatedAt: now}
	if req.ExpiresIn != "" {
		d, err := duration("expires_in", req.ExpiresIn, "720h")
		if err != nil {
			return err
		}
		t.ExpiresAt = now.Add(d)
	}
	secret, err := randomToken()
	if err != nil {
		return err
	}
	t.Hash = HashToken(secret)
	t, err = a.c.Tokens.CreateToken(r.Context(), t)
	if err != nil {
		return err
	}
	if err := a.audit(r, "token.create", itoa(t.ID), "", map[string]any{"name": t.Name, "role": t.Role,
		"expires_at": optTime(t.ExpiresAt)}); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiv1.CreatedToken{Token: a.apiToken(t), Secret: secret})
	return nil
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := a.c.Tokens.ListTokens(r.Context())
	return reply(w, apiv1.Tokens{Tokens: each(ts, a.apiToken)}, err)
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := a.changeByID(r, "token.revoke", func(ctx context.Context, id int64) error {
		return a.c.Tokens.RevokeToken(ctx, id, a.c.Now())
	})
	if err != nil {
		return err
	}
	ts, err := a.c.Tokens.ListTokens(r.Context())
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.ID == id {
			writeJSON(w, http.StatusOK, a.apiToken(t))
			return nil
		}
	}
	return store.ErrNotFound
}

func (a *API) listSecrets(w http.ResponseWriter, r *http.Request) error {
	ss, err := a.c.Secrets.EnrollSecrets(r.Context())
	return reply(w, apiv1.EnrollSecrets{Secrets: each(ss, func(s store.EnrollSecret) apiv1.EnrollSecret {
		return apiv1.EnrollSecret{Name: s.Name, CreatedAt: s.CreatedAt}
	})}, err)
}

func (a *API) addSecret(w http.ResponseWriter, r *http.Request) error {
	var req apiv1.AddSecretRequest
	if err := decodeNamed(w, r, &req, &req.Name); err != nil {
		return err
	}
	secret := strings.TrimSpace(req.Secret)
	switch {
	case secret == "":
		var err error
		if secret, err = randomToken(); err != nil {
			return err
		}
	case len(secret) < 16:
		return apiv1.Errorf(http.StatusBadRequest, "secret: at least 16 characters (or leave it out to generate one)")
	}
	err := a.c.Secrets.AddEnrollSecret(r.Context(), store.EnrollSecret{Name: req.Name, Hash: a.c.HashSecret(secret),
		CreatedAt: a.c.Now()})
	if errors.Is(err, store.ErrConflict) {
		return apiv1.Errorf(http.StatusConflict, "an enroll secret named %q exists", req.Name)
	}
	if err != nil {
		return err
	}
	if err := a.audit(r, "enroll_secret.add", req.Name, "", nil); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiv1.AddedSecret{Name: req.Name, Secret: secret})
	return nil
}

func (a *API) deleteSecret(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	ss, err := a.c.Secrets.EnrollSecrets(r.Context())
	if err != nil {
		return err
	}
	found := false
	for _, s := range ss {
		found = found || s.Name == name
	}
	if !found {
		return store.ErrNotFound
	}
	if len(ss) == 1 {
		return apiv1.Errorf(http.StatusConflict, "%q is the last enroll secret: add another first", name)
	}
	if err := a.c.Secrets.DeleteEnrollSecret(r.Context(), name); errors.Is(err, store.ErrConflict) {
		return apiv1.Errorf(http.StatusConflict, "%q is the last enroll secret: add another first", name)
	} else if err != nil {
		return err
	}
	if err := a.audit(r, "enroll_secret.revoke", name, "", nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) revokeNodeKey(w http.ResponseWriter, r *http.Request) error {
	_, err := a.changeByID(r, "host.revoke_node_key", func(ctx context.Context, id int64) error {
		if _, err := a.c.Hosts.Host(ctx, id); err != nil {
			return err
		}
		if err := a.c.NodeKeys.RevokeNodeKey(ctx, id); err != nil {
			return err
		}
		if a.c.NodeKeyRevoked != nil {
			a.c.NodeKeyRevoked(id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// changeByID applies change to the {id} of the path, then audits it as action
// with the id as target; it returns the id.
func (a *API) changeByID(r *http.Request, action string, change func(ctx context.Context, id int64) error) (int64, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, err
	}
	if err := change(r.Context(), id); err != nil {
		return 0, err
	}
	return id, a.audit(r, action, itoa(id), "", nil)
}

// auditLog serves GET /api/v1/audit?actor=&action=&since=24h&before=ID&limit=N
// (default 100, at most 1,000), newest first.
func (a *API) auditLog(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action")}
	var err error
	if f.Since, err = a.sinceParam(r, "since"); err != nil {
		return err
	}
	if f.BeforeID, err = idParam(r, "before"); err != nil {
		return err
	}
	if f.Limit, err = intParam(r, "limit", 100, 1, 1000); err != nil {
		return err
	}
	es, err := a.c.Audit.AuditLog(r.Context(), f)
	return reply(w, apiv1.AuditLog{Entries: each(es, func(e store.AuditEntry) apiv1.AuditEntry {
		return apiv1.AuditEntry{ID: e.ID, Time: e.Time, Actor: e.Actor, TokenID: e.TokenID, Role: e.Role,
			Remote: e.Remote, Action: e.Action, Target: e.Target, SQL: e.SQL, Detail: e.Detail}
	})}, err)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
