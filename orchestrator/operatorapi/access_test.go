package operatorapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/operatorapi"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
)

type fixture struct {
	t      *testing.T
	st     *sqlite.Store
	mux    *http.ServeMux
	now    time.Time
	tokens map[string]string // role or label -> token
	host   store.Host
	forgot []int64
}

func hashSecret(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, st: st, mux: http.NewServeMux(), now: time.Date(2026, 8, 6, 12, 0, 0, 0, time.UTC),
		tokens: map[string]string{}}
	api, err := operatorapi.New(operatorapi.Config{Hosts: st, Tokens: st, Live: st, Audit: st, Secrets: st,
		HashSecret: hashSecret, NodeKeys: st, NodeKeyRevoked: func(id int64) { f.forgot = append(f.forgot, id) },
		Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	api.Register(f.mux)
	add := func(label, role string, expires, revoked bool) {
		tok := "tok-" + label
		tk, err := st.CreateToken(ctx, store.Token{Name: label, Role: role, Hash: operatorapi.HashToken(tok),
			CreatedAt: f.now.Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if expires {
			// expired a minute ago
			tk2, err := st.CreateToken(ctx, store.Token{Name: label + "-x", Role: role, Hash: operatorapi.HashToken(tok + "-x"),
				CreatedAt: f.now.Add(-time.Hour), ExpiresAt: f.now.Add(-time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			_ = tk2
			tok += "-x"
		}
		if revoked {
			if err := st.RevokeToken(ctx, tk.ID, f.now.Add(-time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		f.tokens[label] = tok
	}
	add(apiv1.RoleViewer, apiv1.RoleViewer, false, false)
	add(apiv1.RoleHunter, apiv1.RoleHunter, false, false)
	add(apiv1.RoleAdmin, apiv1.RoleAdmin, false, false)
	add("expired", apiv1.RoleAdmin, true, false)
	add("revoked", apiv1.RoleAdmin, false, true)
	if err := st.AddEnrollSecret(ctx, store.EnrollSecret{Name: "seed", Hash: hashSecret("s"), CreatedAt: f.now}); err != nil {
		t.Fatal(err)
	}
	f.host, err = st.EnrollHost(ctx, store.Enrollment{Host: store.Host{Identifier: "h1", Hostname: "h1"},
		NodeKeyHash: hashSecret("nodekey")}, f.now)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) do(token, method, path, body, remote string) *httptest.ResponseRecorder {
	var rd *bytes.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, path, rd)
	if remote != "" {
		req.RemoteAddr = remote
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	return rec
}

// TestRolesOnEveryRoute checks every operator route: no token, an unknown,
// expired or revoked token → 401; a role below the route's → 403; the route's
// role and above → neither.
func TestRolesOnEveryRoute(t *testing.T) {
	routes := []struct {
		method, path, body, min string
	}{
		{"GET", "/api/v1/whoami", "", apiv1.RoleViewer},
		{"GET", "/api/v1/hosts", "", apiv1.RoleViewer},
		{"GET", "/api/v1/hosts/1", "", apiv1.RoleViewer},
		{"GET", "/api/v1/queries", "", apiv1.RoleViewer},
		{"POST", "/api/v1/queries", `{"sql":"SELECT 1","targets":{"all":true}}`, apiv1.RoleHunter},
		{"GET", "/api/v1/queries/1", "", apiv1.RoleViewer},
		{"GET", "/api/v1/queries/1/rows", "", apiv1.RoleViewer},
		{"POST", "/api/v1/queries/1/cancel", "", apiv1.RoleHunter},
		{"GET", "/api/v1/tokens", "", apiv1.RoleAdmin},
		{"POST", "/api/v1/tokens", `{"name":"n%d","role":"viewer"}`, apiv1.RoleAdmin},
		{"POST", "/api/v1/tokens/999/revoke", "", apiv1.RoleAdmin},
		{"GET", "/api/v1/enroll-secrets", "", apiv1.RoleAdmin},
		{"POST", "/api/v1/enroll-secrets", `{"name":"s%d"}`, apiv1.RoleAdmin},
		{"DELETE", "/api/v1/enroll-secrets/nope", "", apiv1.RoleAdmin},
		{"POST", "/api/v1/hosts/999/revoke-node-key", "", apiv1.RoleAdmin},
		{"GET", "/api/v1/audit", "", apiv1.RoleAdmin},
	}
	rank := map[string]int{apiv1.RoleViewer: 1, apiv1.RoleHunter: 2, apiv1.RoleAdmin: 3}
	f := newFixture(t)
	n := 0
	for _, rt := range routes {
		body := func() string { n++; return strings.ReplaceAll(rt.body, "%d", fmt.Sprint(n)) }
		// Each case from its own address, so the failed-login limit stays out of the way.
		for i, tok := range []string{"", "not-a-token", f.tokens["expired"], f.tokens["revoked"]} {
			b := body()
			rec := f.do(tok, rt.method, rt.path, b, fmt.Sprintf("[2001:db8::%x]:1", n))
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("%s %s with token %d: %d, want 401", rt.method, rt.path, i, rec.Code)
			}
		}
		for _, role := range []string{apiv1.RoleViewer, apiv1.RoleHunter, apiv1.RoleAdmin} {
			rec := f.do(f.tokens[role], rt.method, rt.path, body(), "")
			switch {
			case rank[role] < rank[rt.min] && rec.Code != http.StatusForbidden:
				t.Errorf("%s %s as %s: %d, want 403", rt.method, rt.path, role, rec.Code)
			case rank[role] >= rank[rt.min] && (rec.Code == http.StatusForbidden || rec.Code == http.StatusUnauthorized):
				t.Errorf("%s %s as %s: %d, want allowed", rt.method, rt.path, role, rec.Code)
			}
		}
	}
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
	}
	return v
}

func TestTokenLifecycleAndAudit(t *testing.T) {
	f := newFixture(t)
	admin := f.tokens[apiv1.RoleAdmin]
	rec := f.do(admin, "POST", "/api/v1/tokens", `{"name":"ci","role":"hunter","expires_in":"1h"}`, "")
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	ct := decode[apiv1.CreatedToken](t, rec)
	if ct.Secret == "" || ct.Token.Role != "hunter" || ct.Token.ExpiresAt == nil || !ct.Token.Valid {
		t.Fatalf("created = %+v", ct)
	}
	// Stored hashed: the secret is nowhere in the token list.
	if rec := f.do(admin, "GET", "/api/v1/tokens", "", ""); strings.Contains(rec.Body.String(), ct.Secret) ||
		!strings.Contains(rec.Body.String(), `"ci"`) {
		t.Errorf("token list: %s", rec.Body)
	}
	if rec := f.do(ct.Secret, "GET", "/api/v1/whoami", "", ""); rec.Code != 200 {
		t.Fatalf("new token: %d", rec.Code)
	}
	// It expires.
	f.now = f.now.Add(2 * time.Hour)
	if rec := f.do(ct.Secret, "GET", "/api/v1/whoami", "", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("expired token: %d", rec.Code)
	}
	// Another is revoked.
	ct2 := decode[apiv1.CreatedToken](t, f.do(admin, "POST", "/api/v1/tokens", `{"name":"ci2","role":"viewer"}`, ""))
	if rec := f.do(admin, "POST", fmt.Sprintf("/api/v1/tokens/%d/revoke", ct2.Token.ID), "", ""); rec.Code != 200 ||
		decode[apiv1.Token](t, rec).Valid {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(ct2.Secret, "GET", "/api/v1/whoami", "", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("revoked token: %d", rec.Code)
	}
	for _, body := range []string{`{"name":"x","role":"root"}`, `{"name":"","role":"viewer"}`,
		`{"name":"x","role":"viewer","expires_in":"-1h"}`, `{"name":"x","role":"viewer","extra":1}`, `{`} {
		if rec := f.do(admin, "POST", "/api/v1/tokens", body, ""); rec.Code != http.StatusBadRequest {
			t.Errorf("create %s: %d", body, rec.Code)
		}
	}

	// A live query is audited with who, SQL and targets.
	hunter := f.tokens[apiv1.RoleHunter]
	if rec := f.do(hunter, "POST", "/api/v1/queries", `{"sql":"SELECT * FROM process_lineage","targets":{"platforms":["linux"],"hostnames":["h1"]}}`,
		"203.0.113.9:5555"); rec.Code != http.StatusCreated {
		t.Fatalf("query: %d %s", rec.Code, rec.Body)
	}
	rec = f.do(admin, "GET", "/api/v1/audit?action=live_query.create", "", "")
	log := decode[struct{ Entries []apiv1.AuditEntry }](t, rec)
	if len(log.Entries) != 1 {
		t.Fatalf("audit: %s", rec.Body)
	}
	e := log.Entries[0]
	if e.Actor != apiv1.RoleHunter || e.Role != "hunter" || e.SQL != "SELECT * FROM process_lineage" ||
		e.Remote != "203.0.113.9" || !strings.Contains(string(e.Detail), `"linux"`) || !e.Time.Equal(f.now) {
		t.Errorf("audit entry = %+v", e)
	}
	all := decode[struct{ Entries []apiv1.AuditEntry }](t, f.do(admin, "GET", "/api/v1/audit", "", ""))
	var actions []string
	for _, e := range all.Entries {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, ","); got != "live_query.create,token.revoke,token.create,token.create" {
		t.Errorf("audit actions = %s", got)
	}
}

func TestEnrollSecretsAndNodeKeys(t *testing.T) {
	f := newFixture(t)
	admin := f.tokens[apiv1.RoleAdmin]
	rec := f.do(admin, "POST", "/api/v1/enroll-secrets", `{"name":"2026-q3"}`, "")
	added := decode[apiv1.AddedSecret](t, rec)
	if rec.Code != http.StatusCreated || len(added.Secret) < 32 {
		t.Fatalf("add: %d %s", rec.Code, rec.Body)
	}
	ss, _ := f.st.EnrollSecrets(context.Background())
	if len(ss) != 2 || !bytes.Equal(ss[0].Hash, hashSecret(added.Secret)) {
		t.Fatalf("secrets = %+v", ss)
	}
	if rec := f.do(admin, "GET", "/api/v1/enroll-secrets", "", ""); strings.Contains(rec.Body.String(), added.Secret) {
		t.Error("the list shows a secret")
	}
	if rec := f.do(admin, "POST", "/api/v1/enroll-secrets", `{"name":"2026-q3"}`, ""); rec.Code != http.StatusConflict {
		t.Errorf("duplicate name: %d", rec.Code)
	}
	if rec := f.do(admin, "POST", "/api/v1/enroll-secrets", `{"name":"short","secret":"abc"}`, ""); rec.Code != http.StatusBadRequest {
		t.Errorf("short secret: %d", rec.Code)
	}
	if rec := f.do(admin, "DELETE", "/api/v1/enroll-secrets/seed", "", ""); rec.Code != http.StatusNoContent {
		t.Errorf("revoke seed: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(admin, "DELETE", "/api/v1/enroll-secrets/2026-q3", "", ""); rec.Code != http.StatusConflict {
		t.Errorf("revoke the last secret: %d, want 409", rec.Code)
	}

	path := fmt.Sprintf("/api/v1/hosts/%d/revoke-node-key", f.host.ID)
	if rec := f.do(admin, "POST", path, "", ""); rec.Code != http.StatusNoContent {
		t.Fatalf("revoke node key: %d %s", rec.Code, rec.Body)
	}
	if _, err := f.st.HostByNodeKey(context.Background(), hashSecret("nodekey")); err == nil {
		t.Error("the node key still works")
	}
	if len(f.forgot) != 1 || f.forgot[0] != f.host.ID {
		t.Errorf("NodeKeyRevoked calls = %v", f.forgot)
	}
	all := decode[struct{ Entries []apiv1.AuditEntry }](t, f.do(admin, "GET", "/api/v1/audit", "", ""))
	var actions []string
	for _, e := range all.Entries {
		actions = append(actions, e.Action+":"+e.Target)
	}
	want := fmt.Sprintf("host.revoke_node_key:%d,enroll_secret.revoke:seed,enroll_secret.add:2026-q3", f.host.ID)
	if got := strings.Join(actions, ","); got != want {
		t.Errorf("audit = %s, want %s", got, want)
	}
}

// TestFailedAuthRateLimited: after 10 bad tokens from one address, even a good
// token from it gets 429 for a while; other addresses are unaffected.
func TestFailedAuthRateLimited(t *testing.T) {
	f := newFixture(t)
	const ip = "192.0.2.77:4444"
	for i := range 10 {
		if rec := f.do(fmt.Sprint("guess-", i), "GET", "/api/v1/whoami", "", ip); rec.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, rec.Code)
		}
	}
	rec := f.do(f.tokens[apiv1.RoleViewer], "GET", "/api/v1/whoami", "", ip)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("after 10 failures: %d (Retry-After %q), want 429", rec.Code, rec.Header().Get("Retry-After"))
	}
	if rec := f.do(f.tokens[apiv1.RoleViewer], "GET", "/api/v1/whoami", "", "192.0.2.78:1"); rec.Code != 200 {
		t.Errorf("another address: %d", rec.Code)
	}
	f.now = f.now.Add(10 * time.Second) // 10/min: one more try after 6 s
	if rec := f.do(f.tokens[apiv1.RoleViewer], "GET", "/api/v1/whoami", "", ip); rec.Code != 200 {
		t.Errorf("after the refill: %d", rec.Code)
	}
}
