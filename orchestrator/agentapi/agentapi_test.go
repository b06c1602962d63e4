package agentapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/exechunt/exechunt/orchestrator/agentapi"
	"github.com/exechunt/exechunt/orchestrator/agentconfig"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
	"github.com/exechunt/exechunt/packs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type env struct {
	t   *testing.T
	srv *httptest.Server
	st  *sqlite.Store
	now time.Time
}

const secret = "s3cret-enroll"

func newEnv(t *testing.T) *env { t.Helper(); return newEnvWith(t, nil) }

// newEnvWith lets configure change the handler's Config.
func newEnvWith(t *testing.T, configure func(*agentapi.Config)) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"old-secret", secret} {
		if err := st.AddEnrollSecret(ctx, store.EnrollSecret{Name: s[:3], Hash: agentapi.HashSecret(s)}); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{t: t, st: st, now: time.Date(2026, 8, 6, 12, 0, 0, 0, time.UTC)}
	c := agentapi.Config{Hosts: st, Secrets: st, Live: st, Logs: st,
		Configs: agentconfig.Static{}, Now: func() time.Time { return e.now },
		Limits: agentapi.Limits{Log: 64 << 10}}
	if configure != nil {
		configure(&c)
	}
	h, err := agentapi.New(c)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	e.srv = httptest.NewTLSServer(mux)
	t.Cleanup(func() { e.srv.Close(); st.Close() })
	return e
}

type resp struct {
	status int
	body   map[string]any
	raw    string
}

func (e *env) post(path, body string, hdr ...string) resp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return e.do(req)
}

func (e *env) do(req *http.Request) resp {
	e.t.Helper()
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, raw: string(b)}
	json.Unmarshal(b, &r.body)
	return r
}

// enrollBody is what osqueryd 5.23 sends (all host_details values are strings).
func enrollBody(secret, ident, platformType, uuid string) string {
	return `{"enroll_secret":"` + secret + `","host_identifier":"` + ident + `","platform_type":` + platformType + `,
	"host_details":{"os_version":{"name":"Ubuntu","platform":"ubuntu","version":"24.04.1 LTS (Noble Numbat)","major":"24"},
	"osquery_info":{"version":"5.23.1","uuid":"` + uuid + `","pid":"4242"},
	"system_info":{"hostname":"` + ident + `","uuid":"` + uuid + `","cpu_brand":"x"},"platform_info":{"vendor":"x"}}}`
}

func (e *env) enroll(ident, platformType, uuid string) string {
	e.t.Helper()
	r := e.post("/api/v1/osquery/enroll", enrollBody(secret, ident, platformType, uuid))
	k, _ := r.body["node_key"].(string)
	if r.status != 200 || len(k) < 40 || r.body["node_invalid"] != false {
		e.t.Fatalf("enroll: %d %s", r.status, r.raw)
	}
	return k
}

func TestEnroll(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, body, platform string
		ok                   bool
	}{
		{"linux string bitmask", enrollBody(secret, "lin1", `"9"`, "U-1"), "linux", true},
		{"windows number bitmask", enrollBody(secret, "win1", `2`, "U-2"), "windows", true},
		{"macOS", enrollBody(secret, "mac1", `"21"`, "U-3"), "darwin", true},
		{"rotated old secret", enrollBody("old-secret", "lin2", `"9"`, "U-4"), "linux", true},
		{"secret with newline (file contents)", enrollBody(secret+`\n`, "lin3", `"9"`, "U-5"), "linux", true},
		{"wrong secret", enrollBody("nope", "x", `"9"`, "U-9"), "", false},
		{"empty secret", enrollBody("", "x", `"9"`, "U-9"), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post("/api/osquery/enroll", tc.body)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			if !tc.ok {
				if r.body["node_invalid"] != true || r.body["node_key"] != nil {
					t.Fatalf("refused enroll answered %s", r.raw)
				}
				if strings.Contains(r.raw, "nope") {
					t.Errorf("secret echoed: %s", r.raw)
				}
				return
			}
			k, _ := r.body["node_key"].(string)
			sum := sha256Key(k)
			h, err := e.st.HostByNodeKey(context.Background(), sum)
			if err != nil {
				t.Fatal(err)
			}
			if h.Platform != tc.platform || h.OsqueryVersion != "5.23.1" || h.OSName != "Ubuntu" || h.UUID == "" {
				t.Errorf("host = %+v", h)
			}
		})
	}
	// Re-enrolling (same UUID) invalidates the previous key.
	k1 := e.enroll("dup", `"9"`, "U-DUP")
	k2 := e.enroll("dup", `"9"`, "U-DUP")
	if r := e.post("/api/v1/osquery/config", `{"node_key":"`+k1+`"}`); r.body["node_invalid"] != true {
		t.Errorf("old key after re-enroll: %s", r.raw)
	}
	if r := e.post("/api/v1/osquery/config", `{"node_key":"`+k2+`"}`); r.body["node_invalid"] != false {
		t.Errorf("new key: %s", r.raw)
	}
	hs, _ := e.st.ListHosts(context.Background(), store.HostFilter{})
	if len(hs) != 6 {
		t.Errorf("%d hosts, want 6", len(hs))
	}
}

func TestNodeKeyFromHeaderOrBody(t *testing.T) {
	e := newEnv(t)
	k := e.enroll("h1", `"9"`, "U-1")
	for _, tc := range []struct {
		name    string
		body    string
		hdr     []string
		invalid bool
	}{
		{"body", `{"node_key":"` + k + `"}`, nil, false},
		{"header only (5.23)", `{}`, []string{"Authorization", "NodeKey " + k}, false},
		{"header and body", `{"node_key":"` + k + `"}`, []string{"Authorization", "NodeKey " + k}, false},
		{"unknown", `{"node_key":"AAAA"}`, nil, true},
		{"missing", `{}`, nil, true},
		{"bearer is not a node key", `{}`, []string{"Authorization", "Bearer " + k}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, p := range []string{"/api/osquery/config", "/api/v1/osquery/distributed/read"} {
				r := e.post(p, tc.body, tc.hdr...)
				if r.status != 200 || r.body["node_invalid"] != tc.invalid {
					t.Errorf("%s: %d %s", p, r.status, r.raw)
				}
				if tc.invalid && strings.Contains(r.raw, "AAAA") {
					t.Errorf("key echoed: %s", r.raw)
				}
			}
		})
	}
}

func TestConfig(t *testing.T) {
	e := newEnv(t)
	k := e.enroll("h1", `"2"`, "U-1")
	r := e.post("/api/v1/osquery/config", `{"node_key":"`+k+`"}`)
	opts, _ := r.body["options"].(map[string]any)
	fv, _ := r.body["feature_vectors"].(map[string]any)
	cf, _ := fv["character_frequencies"].([]any)
	if opts["distributed_interval"] != float64(10) || len(cf) != 255 || r.body["decorators"] == nil || r.body["packs"] == nil {
		t.Errorf("config = %.300s", r.raw)
	}
}

func TestLogs(t *testing.T) {
	e := newEnv(t)
	k := e.enroll("h1", `"9"`, "U-1")
	ctx := context.Background()
	event := `{"name":"pack_execution_hunt_lineage","hostIdentifier":"h1","calendarTime":"Thu Aug  6 12:00:00 2026 UTC",
		"unixTime":1785931200,"epoch":0,"counter":1,"numerics":false,"decorations":{"host_uuid":"U-1"},
		"columns":{"pid":"4242","parent":"1"},"action":"added"}`
	eventStrings := `{"name":"pack_old","hostIdentifier":"h1","unixTime":"1785931200","epoch":"0","counter":"2",
		"columns":{"pid":4243,"ok":true,"gone":null},"action":"removed"}`
	snapshot := `{"name":"pack_snap","hostIdentifier":"h1","unixTime":1785931200,"epoch":0,"counter":0,"numerics":false,
		"snapshot":[{"pid":"1"},{"pid":"2"}],"action":"snapshot"}`
	batch := `{"name":"pack_batch","hostIdentifier":"h1","diffResults":{"added":[{"pid":"7"}],"removed":[{"pid":"8"}]},
		"unixTime":1785931200,"epoch":0,"counter":3}`
	status := `{"hostIdentifier":"h1","calendarTime":"x","unixTime":1785931200,"severity":0,"filename":"scheduler.cpp",
		"line":85,"message":"Executing scheduled query pack_x","version":"5.23.1","decorations":{"host_uuid":"U-1"}}`
	statusStrings := `{"hostIdentifier":"h1","unixTime":"1785931200","severity":"1","filename":"f.cpp","line":"9","message":"m","version":"4.9.0"}`

	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	results := `{"node_key":"` + k + `","log_type":"result","data":[` + event + `,` + eventStrings + `,` + snapshot + `,` + batch + `]}`
	for i := 0; i < 2; i++ { // the second POST is a retry: nothing new
		if r := e.post("/api/v1/osquery/log", results); r.status != 200 || r.body["node_invalid"] != false {
			t.Fatalf("log: %d %s", r.status, r.raw)
		}
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/osquery/log", bytes.NewReader(gz(results)))
	req.Header.Set("Content-Encoding", "gzip")
	if r := e.do(req); r.status != 200 {
		t.Fatalf("gzip log: %d %s", r.status, r.raw)
	}
	rows, err := e.st.Results(ctx, store.ResultFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 {
		t.Fatalf("%d result rows after a retry and a gzip resend, want 6: %+v", len(rows), rows)
	}
	byName := map[string][]store.ResultRow{}
	for _, r := range rows {
		byName[r.Name] = append(byName[r.Name], r)
	}
	if r := byName["pack_execution_hunt_lineage"]; len(r) != 1 || r[0].Action != "added" || r[0].Columns["pid"] != "4242" ||
		r[0].UnixTime != 1785931200 || r[0].Counter != 1 || r[0].Decorations["host_uuid"] != "U-1" {
		t.Errorf("event row = %+v", r)
	}
	if r := byName["pack_old"]; len(r) != 1 || r[0].Action != "removed" || r[0].Columns["pid"] != "4243" ||
		r[0].Columns["ok"] != "true" || r[0].UnixTime != 1785931200 || r[0].Counter != 2 {
		t.Errorf("string-number event row = %+v", r)
	}
	if r := byName["pack_snap"]; len(r) != 2 || r[0].Action != "snapshot" {
		t.Errorf("snapshot rows = %+v", r)
	}
	if r := byName["pack_batch"]; len(r) != 2 {
		t.Errorf("batch rows = %+v", r)
	}
	// Two identical lines in one POST are two rows.
	e.post("/api/v1/osquery/log", `{"node_key":"`+k+`","log_type":"result","data":[`+event+`,`+event+`]}`)
	if rows, _ := e.st.Results(ctx, store.ResultFilter{Name: "pack_execution_hunt_lineage"}); len(rows) != 2 {
		t.Errorf("identical lines in one POST: %d rows, want 2", len(rows))
	}

	st := `{"node_key":"` + k + `","log_type":"status","data":[` + status + `,` + statusStrings + `]}`
	e.post("/api/v1/osquery/log", st)
	e.post("/api/v1/osquery/log", st)
	logs, _ := e.st.StatusLogs(ctx, 0, 0)
	if len(logs) != 2 || logs[0].Line == 0 || logs[0].Version == "" {
		t.Errorf("status logs = %+v", logs)
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t)
	k := e.enroll("h1", `"9"`, "U-1")
	big := `{"node_key":"` + k + `","log_type":"result","data":[` + strings.Repeat(`{"name":"x","action":"added","columns":{"a":"`+strings.Repeat("a", 1000)+`"}},`, 100) + `{}]}`
	var gzBig bytes.Buffer
	w := gzip.NewWriter(&gzBig)
	w.Write([]byte(big))
	w.Close()
	for _, tc := range []struct {
		name, path, body string
		hdr              []string
		status           int
	}{
		{"malformed json", "/api/v1/osquery/enroll", `{"enroll_secret":`, nil, 400},
		{"malformed log", "/api/v1/osquery/log", `{"node_key":"` + k + `","data":{}}`, nil, 400},
		{"unknown result format", "/api/v1/osquery/log", `{"node_key":"` + k + `","log_type":"result","data":[{"name":"x"}]}`, nil, 400},
		{"too large", "/api/v1/osquery/log", big, nil, 413},
		{"too large once inflated", "/api/v1/osquery/log", gzBig.String(), []string{"Content-Encoding", "gzip"}, 413},
		{"bad gzip", "/api/v1/osquery/log", "not gzip", []string{"Content-Encoding", "gzip"}, 400},
		{"GET enroll", "", "", nil, 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r resp
			if tc.path == "" {
				req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/osquery/enroll", nil)
				r = e.do(req)
			} else {
				r = e.post(tc.path, tc.body, tc.hdr...)
			}
			if r.status != tc.status {
				t.Errorf("status %d, want %d: %.200s", r.status, tc.status, r.raw)
			}
			if strings.Contains(r.raw, k) {
				t.Errorf("node key in the answer")
			}
		})
	}
	if rows, _ := e.st.Results(context.Background(), store.ResultFilter{}); len(rows) != 0 {
		t.Errorf("refused requests stored %d rows", len(rows))
	}
}

func TestDistributed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k1 := e.enroll("h1", `"9"`, "U-1")
	k2 := e.enroll("h2", `"9"`, "U-2")
	hs, _ := e.st.ListHosts(ctx, store.HostFilter{})
	q, err := e.st.CreateLiveQuery(ctx, store.LiveQuery{SQL: "SELECT pid FROM processes", Deadline: e.now.Add(time.Minute)},
		[]int64{hs[0].ID, hs[1].ID}, e.now)
	if err != nil {
		t.Fatal(err)
	}
	name := agentapi.QueryName(q.ID)
	r := e.post("/api/v1/osquery/distributed/read", `{"node_key":"`+k1+`"}`)
	qs, _ := r.body["queries"].(map[string]any)
	if qs[name] != "SELECT pid FROM processes" || r.body["accelerate"] == nil {
		t.Fatalf("read = %s", r.raw)
	}
	if r := e.post("/api/v1/osquery/distributed/read", `{}`, "Authorization", "NodeKey "+k1); len(r.body["queries"].(map[string]any)) != 0 {
		t.Errorf("second read = %s", r.raw)
	}
	write := `{"node_key":"` + k1 + `","queries":{"` + name + `":[{"pid":"1"},{"pid":"2"}],"other":[]},
		"statuses":{"` + name + `":0,"other":0},"messages":{"` + name + `":""},
		"stats":{"` + name + `":{"wall_time_ms":12,"user_time":4,"system_time":1,"memory":1048576}}}`
	for i := 0; i < 2; i++ {
		if r := e.post("/api/v1/osquery/distributed/write", write); r.status != 200 || r.body["node_invalid"] != false {
			t.Fatalf("write: %s", r.raw)
		}
	}
	// h2 fails the query with a status string (older agents) and a message.
	e.post("/api/osquery/distributed/read", `{"node_key":"`+k2+`"}`)
	e.post("/api/osquery/distributed/write", `{"node_key":"`+k2+`","queries":{"`+name+`":[]},"statuses":{"`+name+`":"1"},
		"messages":{"`+name+`":"distributed query is denylisted"}}`)
	rows, _ := e.st.LiveQueryRows(ctx, q.ID, 0)
	if len(rows) != 2 {
		t.Errorf("%d rows after a retried write, want 2", len(rows))
	}
	states, _ := e.st.LiveQueryHosts(ctx, q.ID)
	if states[0].State != store.HostOK || states[1].State != store.HostError || states[1].Message != "distributed query is denylisted" {
		t.Errorf("states = %+v", states)
	}
	if got, _ := e.st.LiveQuery(ctx, q.ID); got.State != store.QueryDone {
		t.Errorf("query = %+v", got)
	}
	if r := e.post("/api/osquery/distributed/write", `{"node_key":"bogus","queries":{}}`); r.body["node_invalid"] != true {
		t.Errorf("bogus write: %s", r.raw)
	}
}

// keyedConfigs keys configurations by platform and counts how often one is built.
type keyedConfigs struct {
	agentconfig.Static
	built atomic.Int64
}

func (k *keyedConfigs) Config(ctx context.Context, h store.Host) (map[string]any, error) {
	k.built.Add(1)
	return k.Static.Config(ctx, h)
}

func (k *keyedConfigs) ConfigKey(h store.Host) string { return h.Platform }

// TestConfigEncodedOncePerKey: with a ConfigKeyer, hosts with the same key get
// the same bytes, built and encoded once.
func TestConfigEncodedOncePerKey(t *testing.T) {
	e := newEnv(t)
	cfgs := &keyedConfigs{Static: agentconfig.Static{Packs: []packs.Pack{{Name: "p", Platform: "linux",
		Queries: []packs.Query{{Name: "q", SQL: "SELECT 1", Interval: 60}}}}}}
	h, err := agentapi.New(agentapi.Config{Hosts: e.st, Secrets: e.st, Live: e.st, Logs: e.st, Configs: cfgs,
		Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	e.srv.Config.Handler = mux
	l1, l2, w1 := e.enroll("l1", `"9"`, "U-1"), e.enroll("l2", `"9"`, "U-2"), e.enroll("w1", `"2"`, "U-3")
	get := func(k string) resp { return e.post("/api/v1/osquery/config", `{"node_key":"`+k+`"}`) }
	a, b, c := get(l1), get(l2), get(w1)
	if a.status != 200 || a.raw != b.raw || a.raw == c.raw || a.body["node_invalid"] != false {
		t.Fatalf("linux %d %.200s / %.200s; windows %.200s", a.status, a.raw, b.raw, c.raw)
	}
	if p, _ := a.body["packs"].(map[string]any); p["p"] == nil {
		t.Errorf("linux packs %v", a.body["packs"])
	}
	if n := cfgs.built.Load(); n != 2 {
		t.Errorf("configurations built %d times for 2 keys", n)
	}
}

// blockingConfigs holds every Config call until release is closed.
type blockingConfigs struct {
	agentconfig.Static
	entered chan struct{}
	release chan struct{}
}

func (b *blockingConfigs) Config(ctx context.Context, h store.Host) (map[string]any, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.Static.Config(ctx, h)
}

// TestMaxInFlight: requests beyond MaxInFlight are shed with 503 and Retry-After
// (osquery retries them), and served again once a slot is free.
func TestMaxInFlight(t *testing.T) {
	e := newEnv(t)
	k := e.enroll("h1", `"9"`, "U-1")
	cfgs := &blockingConfigs{entered: make(chan struct{}, 1), release: make(chan struct{})}
	h, err := agentapi.New(agentapi.Config{Hosts: e.st, Secrets: e.st, Live: e.st, Logs: e.st, Configs: cfgs,
		Now: func() time.Time { return e.now }, MaxInFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	e.srv.Config.Handler = mux
	first := make(chan resp, 1)
	go func() { first <- e.post("/api/v1/osquery/config", `{"node_key":"`+k+`"}`) }()
	<-cfgs.entered // the first request holds the only slot
	busy := e.post("/api/v1/osquery/distributed/read", `{"node_key":"`+k+`"}`)
	if busy.status != http.StatusServiceUnavailable || busy.body["error"] == nil {
		t.Errorf("over the limit: %d %s", busy.status, busy.raw)
	}
	close(cfgs.release)
	if r := <-first; r.status != 200 {
		t.Errorf("first request: %d %.200s", r.status, r.raw)
	}
	if r := e.post("/api/v1/osquery/distributed/read", `{"node_key":"`+k+`"}`); r.status != 200 {
		t.Errorf("after the slot freed: %d %s", r.status, r.raw)
	}
}

// countingLive counts the live-query lookups the handler makes.
type countingLive struct {
	agentapi.LiveStore
	lookups atomic.Int64
}

func (c *countingLive) LiveQuery(ctx context.Context, id int64) (store.LiveQuery, error) {
	c.lookups.Add(1)
	return c.LiveStore.LiveQuery(ctx, id)
}

// A host is told to accelerate when it is handed a live query that targets at
// most AccelerateMaxHosts hosts, and only then; each query's hosts are counted
// once.
func TestAccelerate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxHosts int  // Config.AccelerateMaxHosts
		query    bool // a live query to both hosts
		want     bool
	}{
		{"query to few hosts", 2, true, true},
		{"query to more hosts than the bound", 1, true, false},
		{"default bound", 0, true, true},
		{"never", -1, true, false},
		{"no live query", 2, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var live *countingLive
			e := newEnvWith(t, func(c *agentapi.Config) {
				c.AccelerateMaxHosts = tc.maxHosts
				live = &countingLive{LiveStore: c.Live}
				c.Live = live
			})
			ctx := context.Background()
			keys := []string{e.enroll("h1", `"9"`, "U-1"), e.enroll("h2", `"9"`, "U-2")}
			if tc.query {
				hs, _ := e.st.ListHosts(ctx, store.HostFilter{})
				if _, err := e.st.CreateLiveQuery(ctx, store.LiveQuery{SQL: "SELECT 1", Deadline: e.now.Add(time.Minute)},
					[]int64{hs[0].ID, hs[1].ID}, e.now); err != nil {
					t.Fatal(err)
				}
			}
			for _, k := range keys {
				r := e.post("/api/v1/osquery/distributed/read", `{"node_key":"`+k+`"}`)
				if got := r.body["accelerate"] != nil; got != tc.want {
					t.Errorf("read: accelerate sent = %v, want %v: %s", got, tc.want, r.raw)
				}
				if got, want := r.body["accelerate"], any(float64(60)); tc.want && got != want {
					t.Errorf("accelerate = %v, want %v", got, want)
				}
				// Nothing left to hand out: no acceleration.
				if r := e.post("/api/v1/osquery/distributed/read", `{"node_key":"`+k+`"}`); r.body["accelerate"] != nil {
					t.Errorf("read with nothing pending: %s", r.raw)
				}
			}
			if n := live.lookups.Load(); tc.query && tc.maxHosts >= 0 && n != 1 {
				t.Errorf("%d lookups of the query's hosts for two hosts' reads, want 1", n)
			}
		})
	}
}
