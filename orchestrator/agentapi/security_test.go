package agentapi_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/agentapi"
	"github.com/exechunt/exechunt/orchestrator/agentconfig"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newHandler opens a store with the test's enroll secret and serves the agent
// endpoints on a mux, logging JSON to logs at debug level; now, if set, is the clock.
func newHandler(t *testing.T, logs io.Writer, now func() time.Time, tune func(*agentapi.Config)) (*agentapi.Handler, *http.ServeMux, *sqlite.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.AddEnrollSecret(ctx, store.EnrollSecret{Name: "s", Hash: agentapi.HashSecret(secret)}); err != nil {
		t.Fatal(err)
	}
	c := agentapi.Config{Hosts: st, Secrets: st, Live: st, Logs: st, Configs: agentconfig.Static{}, Now: now,
		Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if tune != nil {
		tune(&c)
	}
	h, err := agentapi.New(c)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	return h, mux, st
}

// newSecEnv is newEnv with a captured debug log and a configurable handler.
func newSecEnv(t *testing.T, logs *syncBuffer, tune func(*agentapi.Config)) (*env, *agentapi.Handler) {
	t.Helper()
	e := &env{t: t, now: time.Date(2026, 8, 6, 12, 0, 0, 0, time.UTC)}
	h, mux, st := newHandler(t, logs, func() time.Time { return e.now }, func(c *agentapi.Config) {
		c.Limits = agentapi.Limits{Log: 64 << 10, Enroll: 4 << 10}
		if tune != nil {
			tune(c)
		}
	})
	e.st = st
	e.srv = httptest.NewTLSServer(mux)
	t.Cleanup(e.srv.Close)
	return e, h
}

// TestSecretsNeverInLogsOrErrors drives good and bad enroll and node key paths
// with a captured debug log and checks that no enroll secret or node key shows
// up in a log line or an error answer.
func TestSecretsNeverInLogsOrErrors(t *testing.T) {
	var logs syncBuffer
	e, h := newSecEnv(t, &logs, nil)
	const wrongSecret = "WRONG-secret-4f1c9a77"
	const fakeKey = "FAKE-nodekey-0b8e2d11"
	var answers []string
	post := func(path, body string, hdr ...string) resp {
		r := e.post(path, body, hdr...)
		answers = append(answers, r.raw)
		return r
	}
	p := "/api/v1/osquery"
	post(p+"/enroll", enrollBody(wrongSecret, "h1", `"9"`, "U-1"))
	post(p+"/enroll", `{"enroll_secret":"`+wrongSecret+`","host_identifier":5}`) // malformed
	post(p+"/enroll", `{"enroll_secret":"`+secret+`","platform_type":"`+secret+`"}`)
	post(p+"/enroll", `{"enroll_secret":"`+secret+`","pad":"`+strings.Repeat("x", 5000)+`"}`) // 413
	key := e.enroll("h1", `"9"`, "U-1")
	for _, k := range []string{fakeKey, key} {
		for _, ep := range []string{"/config", "/distributed/read"} {
			post(p+ep, `{"node_key":"`+k+`"}`)
			post(p+ep, `{"node_key":"`+k+`"}`, "Authorization", "NodeKey "+k)
			post(p+ep, `{"node_key":`, "Authorization", "NodeKey "+k)
		}
		post(p+"/log", `{"node_key":"`+k+`","log_type":"result","data":[{"name":"q","action":"bogus"}]}`)
		post(p+"/log", `{"node_key":"`+k+`","log_type":"result","data":[{"name":"q","unixTime":"`+k+`","action":"added"}]}`)
		post(p+"/log", `{"node_key":"`+k+`","log_type":"status","data":[{"message":"hi","severity":"x"}]}`)
		post(p+"/log", `{"node_key":"`+k+`","log_type":"other","data":[]}`)
		post(p+"/distributed/write", `{"node_key":"`+k+`","queries":{"exechunt_lq_1":[{"a":"b"}]},"statuses":{"exechunt_lq_1":"`+k+`"}}`)
	}
	// Revoked: the key is refused at once and the refusal does not echo it.
	hosts, _ := e.st.ListHosts(context.Background(), store.HostFilter{})
	if err := e.st.RevokeNodeKey(context.Background(), hosts[0].ID); err != nil {
		t.Fatal(err)
	}
	h.Forget(hosts[0].ID)
	if r := post(p+"/config", `{"node_key":"`+key+`"}`); r.body["node_invalid"] != true {
		t.Errorf("revoked key: %d %s, want node_invalid", r.status, r.raw)
	}

	out := logs.String()
	if !strings.Contains(out, "enrollment refused") || !strings.Contains(out, "host enrolled") {
		t.Fatalf("the paths were not driven; log:\n%s", out)
	}
	for _, s := range []string{secret, wrongSecret, fakeKey, key} {
		if strings.Contains(out, s) {
			t.Errorf("log holds secret %q:\n%s", s, out)
		}
		for _, a := range answers {
			if strings.Contains(a, s) {
				t.Errorf("answer holds secret %q: %s", s, a)
			}
		}
	}
}

// TestPerHostRateLimit: a host that floods gets 429 with Retry-After while
// another host is served; the flooding host is served again after the refill.
func TestPerHostRateLimit(t *testing.T) {
	var logs syncBuffer
	e, _ := newSecEnv(t, &logs, func(c *agentapi.Config) { c.HostRate, c.HostBurst = 1, 5 })
	noisy := e.enroll("noisy", `"9"`, "U-N")
	quiet := e.enroll("quiet", `"9"`, "U-Q")
	read := func(k string) resp {
		return e.post("/api/v1/osquery/distributed/read", `{"node_key":"`+k+`"}`)
	}
	limited := 0
	for range 20 {
		r := read(noisy)
		if r.status == http.StatusTooManyRequests {
			limited++
			if r.body["error"] == nil {
				t.Errorf("429 without an error: %s", r.raw)
			}
		}
	}
	if limited != 15 {
		t.Errorf("%d of 20 requests limited, want 15 (burst 5)", limited)
	}
	if r := read(quiet); r.status != 200 {
		t.Errorf("the quiet host: %d %s", r.status, r.raw)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/osquery/log", strings.NewReader(
		`{"node_key":"`+noisy+`","log_type":"result","data":[{"name":"q","columns":{"a":"1"},"action":"added"}]}`))
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "1" {
		t.Errorf("log while limited: %d Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if rows, _ := e.st.Results(context.Background(), store.ResultFilter{}); len(rows) != 0 {
		t.Errorf("a limited log stored %d rows", len(rows))
	}
	e.now = e.now.Add(2 * time.Second)
	if r := read(noisy); r.status != 200 {
		t.Errorf("after the refill: %d", r.status)
	}
}
