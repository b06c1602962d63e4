// Package webui is the hunter's web UI: server-rendered pages (html/template)
// with a little JavaScript, every asset embedded in the binary, behind the same
// API tokens as the operator API.
//
// The UI holds no data of its own. It reads and writes through the operator API
// handler, called in-process with the session's bearer token, so roles, target
// resolution and live-query rules are the API's; the browser's own calls (the
// console's create and result stream) go through /ui/api/v1/…, which forwards to
// the API after checking the session cookie (and the CSRF token on POSTs).
//
// Login takes an API token and sets a session cookie (Secure, HttpOnly,
// SameSite=Strict). Every response carries a Content-Security-Policy that allows
// only the server's own scripts, styles and connections (no inline scripts, no
// inline styles, no inline event handlers).
//
// The UI is a client of the operator API only: it calls it with
// orchestrator/client (the CLI's client) over an in-process transport and shows
// the API's own types (orchestrator/apiv1). It imports no store, stacker,
// anomaly, hunt or scheduler package (TestUIIsAnAPIClient). A server built
// without hunts or anomalies answers their routes 404, and the pages say the
// feature is not available.
package webui

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/client"
)

// The schema index for SQL completion: the extension's --spec snapshot plus
// osquery's own tables (../shared beside the repository).
//go:generate go run ./internal/schemagen -ext ../../testdata/extension-spec.json -osquery ../../../shared/reference/osquery-schema.json -o static/schema.json

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config configures the UI. API is required.
type Config struct {
	// API is the operator API (a handler that serves /api/v1/…); the UI calls it
	// in-process with the session's bearer token.
	API     http.Handler
	Log     *slog.Logger
	Now     func() time.Time
	Version string
	// SessionTTL is how long a login lasts (default 8h); IdleTimeout ends a
	// session unused for that long (default 1h).
	SessionTTL, IdleTimeout time.Duration
	// OnlineWithin: a host seen within it counts as online (default 5m).
	OnlineWithin time.Duration
	// Insecure drops the Secure flag of the cookies (plain-HTTP tests only).
	Insecure bool
}

// UI serves the pages.
type UI struct {
	c     Config
	pages map[string]*pageTemplate
	hc    *http.Client // to the operator API, in-process (apiTransport)

	mu       sync.Mutex
	sessions map[string]*session // by SHA-256 of the cookie value
}

type session struct {
	token    string // the API token (kept in memory only, never sent back)
	name     string
	role     string
	csrf     string
	created  time.Time
	lastSeen time.Time
}

const (
	sessionCookie = "exechunt_session"
	loginCookie   = "exechunt_login" // double-submit CSRF token of the login form
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
)

// CSP is the Content-Security-Policy of every UI response.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// New checks c and parses the templates.
func New(c Config) (*UI, error) {
	if c.API == nil {
		return nil, errors.New("webui: API is required")
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.SessionTTL = cmp.Or(max(c.SessionTTL, 0), 8*time.Hour)
	c.IdleTimeout = cmp.Or(max(c.IdleTimeout, 0), time.Hour)
	c.OnlineWithin = cmp.Or(max(c.OnlineWithin, 0), 5*time.Minute)
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &UI{c: c, pages: pages, hc: &http.Client{Transport: apiTransport{c.API}}, sessions: map[string]*session{}}, nil
}

// Register adds the UI's routes under /ui/ (and a redirect from /) to mux.
func (u *UI) Register(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	fileServer := http.StripPrefix("/ui/static/", http.FileServerFS(static))
	mux.Handle("GET /ui/static/", u.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // files only: no directory listings
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		fileServer.ServeHTTP(w, r)
	})))
	mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusSeeOther))
	mux.Handle("GET /ui", http.RedirectHandler("/ui/", http.StatusSeeOther))
	mux.Handle("GET /ui/login", u.secure(http.HandlerFunc(u.loginPage)))
	mux.Handle("POST /ui/login", u.secure(http.HandlerFunc(u.login)))
	mux.Handle("POST /ui/logout", u.page(apiv1.RoleViewer, u.logout))

	mux.Handle("GET /ui/{$}", u.page(apiv1.RoleViewer, u.overview))
	mux.Handle("GET /ui/hosts", u.page(apiv1.RoleViewer, u.hosts))
	mux.Handle("GET /ui/console", u.page(apiv1.RoleViewer, u.console))
	mux.Handle("GET /ui/queries/{id}/export", u.page(apiv1.RoleViewer, u.export))
	mux.Handle("GET /ui/hosts/{id}/tree", u.page(apiv1.RoleViewer, u.treePage))
	mux.Handle("POST /ui/hosts/{id}/tree", u.page(apiv1.RoleHunter, u.startTree))
	mux.Handle("GET /ui/hosts/{id}/scripts", u.page(apiv1.RoleViewer, u.scriptsPage))
	mux.Handle("POST /ui/hosts/{id}/scripts", u.page(apiv1.RoleHunter, u.startScripts))
	mux.Handle("GET /ui/hosts/{id}/scripts/view", u.page(apiv1.RoleViewer, u.scriptView))
	mux.Handle("GET /ui/anomalies", u.page(apiv1.RoleViewer, u.anomalies))
	mux.Handle("GET /ui/anomalies/{id}", u.page(apiv1.RoleViewer, u.anomaly))
	mux.Handle("POST /ui/anomalies/{id}/triage", u.page(apiv1.RoleHunter, u.triage))
	mux.Handle("GET /ui/hunts", u.page(apiv1.RoleViewer, u.hunts))
	mux.Handle("GET /ui/hunts/{name}", u.page(apiv1.RoleViewer, u.hunt))
	mux.Handle("POST /ui/hunts/{name}/run", u.page(apiv1.RoleHunter, u.runHunt))

	// The browser's own API calls, authenticated by the session cookie.
	mux.Handle("GET /ui/api/v1/", u.page(apiv1.RoleViewer, u.forward))
	mux.Handle("POST /ui/api/v1/", u.page(apiv1.RoleViewer, u.forward)) // the API checks the role
}

// secure sets the headers every UI response carries.
func (u *UI) secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", CSP)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		// No Strict-Transport-Security: the server speaks only HTTPS anyway, and HSTS
		// would stop operators from accepting a self-signed certificate by hand.
		h.ServeHTTP(w, r)
	})
}

type pageFunc func(w http.ResponseWriter, r *http.Request, s *session) error

// page wraps a handler: a session is required (else a redirect to the login
// page, or 401 for /ui/api/), its role must be at least min, and a POST must
// carry the session's CSRF token (form field or X-CSRF-Token header) and come
// from this origin.
func (u *UI) page(min string, h pageFunc) http.Handler {
	return u.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := strings.HasPrefix(r.URL.Path, "/ui/api/")
		s := u.sessionOf(r)
		if s == nil {
			if api || r.Method != http.MethodGet {
				http.Error(w, "login required", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if err := u.checkCSRF(r, s.csrf); err != nil {
				u.fail(w, r, s, err)
				return
			}
		}
		if !apiv1.RoleAllows(s.role, min) {
			u.fail(w, r, s, apiv1.Errorf(http.StatusForbidden, "your role (%s) may not do this: it needs %s", s.role, min))
			return
		}
		if err := h(w, r, s); err != nil {
			u.fail(w, r, s, err)
		}
	}))
}

func (u *UI) checkCSRF(r *http.Request, want string) error {
	// Browsers send Sec-Fetch-Site or Origin on POSTs; a cross-site one is refused
	// whatever it carries.
	if sfs := r.Header.Get("Sec-Fetch-Site"); sfs != "" && sfs != "same-origin" && sfs != "none" {
		return apiv1.Errorf(http.StatusForbidden, "cross-site request refused")
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		ou, err := url.Parse(o)
		if err != nil || ou.Host != r.Host {
			return apiv1.Errorf(http.StatusForbidden, "cross-origin request refused")
		}
	}
	got := r.Header.Get(csrfHeader)
	if got == "" {
		r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
		got = r.PostFormValue(csrfField)
	}
	if got == "" || want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return apiv1.Errorf(http.StatusForbidden, "missing or invalid CSRF token: reload the page and try again")
	}
	return nil
}

func (u *UI) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	var se *apiv1.StatusError
	var ae *client.Error
	switch {
	case errors.As(err, &se):
		status, msg = se.Status, se.Message
	case errors.As(err, &ae):
		status, msg = ae.Status, ae.Message
		if status == http.StatusUnauthorized && s != nil {
			u.dropSession(r) // the token was revoked or expired
		}
	default:
		if r.Context().Err() == nil {
			u.c.Log.Error("web UI request failed", "path", r.URL.Path, "err", err)
		}
	}
	if strings.HasPrefix(r.URL.Path, "/ui/api/") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": msg})
		return
	}
	u.render(w, r, s, status, "error", "Error", map[string]any{"Status": status, "StatusText": http.StatusText(status), "Message": msg})
}

// --- sessions ---

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func sessionKey(v string) string { h := sha256.Sum256([]byte(v)); return string(h[:]) }

func (u *UI) sessionOf(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	now := u.c.Now()
	u.mu.Lock()
	defer u.mu.Unlock()
	k := sessionKey(c.Value)
	s := u.sessions[k]
	if s == nil {
		return nil
	}
	if now.Sub(s.created) > u.c.SessionTTL || now.Sub(s.lastSeen) > u.c.IdleTimeout {
		delete(u.sessions, k)
		return nil
	}
	s.lastSeen = now
	return s
}

func (u *UI) dropSession(r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		u.mu.Lock()
		delete(u.sessions, sessionKey(c.Value))
		u.mu.Unlock()
	}
}

func (u *UI) newSession(token, name, role string) string {
	v := randomString(32)
	now := u.c.Now()
	u.mu.Lock()
	defer u.mu.Unlock()
	for k, s := range u.sessions { // sweep expired sessions
		if now.Sub(s.created) > u.c.SessionTTL || now.Sub(s.lastSeen) > u.c.IdleTimeout {
			delete(u.sessions, k)
		}
	}
	u.sessions[sessionKey(v)] = &session{token: token, name: name, role: role, csrf: randomString(32), created: now, lastSeen: now}
	return v
}

func (u *UI) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/ui/", MaxAge: maxAge, Secure: !u.c.Insecure,
		HttpOnly: true, SameSite: http.SameSiteStrictMode}
}

func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") ||
		strings.HasPrefix(next, "/ui/api/") {
		return "/ui/"
	}
	return next
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	if u.sessionOf(r) != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	u.showLogin(w, r, http.StatusOK, "")
}

func (u *UI) showLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	tok := randomString(24)
	http.SetCookie(w, u.cookie(loginCookie, tok, 3600))
	u.render(w, r, nil, status, "login", "Log in", map[string]any{
		"CSRF": tok, "Next": safeNext(r.FormValue("next")), "Error": msg})
}

func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	c, err := r.Cookie(loginCookie)
	want := ""
	if err == nil {
		want = c.Value
	}
	if err := u.checkCSRF(r, want); err != nil {
		u.showLogin(w, r, http.StatusForbidden, "The form expired or came from another site; please try again.")
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	if token == "" {
		u.showLogin(w, r, http.StatusBadRequest, "Enter an API token.")
		return
	}
	api, ctx := u.api(r, token)
	who, err := api.Whoami(ctx)
	if err != nil {
		var ae *client.Error
		if errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests {
			u.c.Log.Warn("web UI login rate-limited", "remote", r.RemoteAddr)
			u.showLogin(w, r, http.StatusTooManyRequests, "Too many failed logins from your address; try again in a minute.")
			return
		}
		if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			u.c.Log.Warn("web UI login refused", "remote", r.RemoteAddr)
			u.showLogin(w, r, http.StatusUnauthorized, "That token is not valid (unknown, revoked or expired).")
			return
		}
		u.c.Log.Error("web UI login", "err", err)
		u.showLogin(w, r, http.StatusInternalServerError, "Login failed; see the server log.")
		return
	}
	v := u.newSession(token, who.Name, who.Role)
	http.SetCookie(w, u.cookie(sessionCookie, v, int(u.c.SessionTTL/time.Second)))
	http.SetCookie(w, u.cookie(loginCookie, "", -1))
	u.c.Log.Info("web UI login", "token", who.Name, "role", who.Role)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request, s *session) error {
	u.dropSession(r)
	http.SetCookie(w, u.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
	return nil
}

// --- the operator API, in-process ---

// remoteKey carries the browser's address from a web UI request to the API
// request made for it, so the API's per-IP limit on failed logins and its audit
// log see the browser rather than every web UI user at once.
type remoteKey struct{}

// apiBase is the base URL of the in-process API: apiTransport ignores the host.
const apiBase = "http://operator-api.in-process"

// api returns a client of the operator API acting with token, and the context
// to call it with.
func (u *UI) api(r *http.Request, token string) (*client.Client, context.Context) {
	return client.NewWithHTTPClient(apiBase, token, u.hc), context.WithValue(r.Context(), remoteKey{}, r.RemoteAddr)
}

// apiTransport is an http.RoundTripper that serves a request with the operator
// API's handler in this process: no socket, no TLS, the same handler (and so
// the same authentication, roles and audit) as every other client's requests.
type apiTransport struct{ api http.Handler }

// RoundTrip implements http.RoundTripper.
func (t apiTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	in := req.Clone(req.Context())
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "webui"
	if ra, ok := req.Context().Value(remoteKey{}).(string); ok {
		in.RemoteAddr = ra
	}
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := &recorder{h: http.Header{}}
	t.api.ServeHTTP(rec, in)
	if req.Body != nil {
		req.Body.Close()
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return &http.Response{Status: fmt.Sprintf("%d %s", rec.status, http.StatusText(rec.status)), StatusCode: rec.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: rec.h, Body: io.NopCloser(&rec.buf),
		ContentLength: int64(rec.buf.Len()), Request: req}, nil
}

// recorder is a minimal http.ResponseWriter that keeps the answer.
type recorder struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.buf.Write(b)
}

// forward serves /ui/api/v1/… by the operator API with the session's token
// (result streams included).
func (u *UI) forward(w http.ResponseWriter, r *http.Request, s *session) error {
	r2 := r.Clone(r.Context())
	r2.URL.Path = strings.TrimPrefix(r.URL.Path, "/ui")
	r2.URL.RawPath = ""
	r2.RequestURI = ""
	r2.Header.Del("Cookie")
	r2.Header.Del(csrfHeader)
	r2.Header.Set("Authorization", "Bearer "+s.token)
	w.Header().Set("Cache-Control", "no-store")
	u.c.API.ServeHTTP(w, r2)
	return nil
}
