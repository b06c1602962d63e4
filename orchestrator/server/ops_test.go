package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/operatorapi"
	"github.com/exechunt/exechunt/orchestrator/server"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
)

const (
	opsSecret = "enroll-secret-for-ops-tests"
	opsAdmin  = "admin-token-for-ops-tests"
	opsViewer = "viewer-token-for-ops-tests"
)

// opsServer starts a server over a fresh SQLite store with an enroll secret, an
// admin and a viewer token.
func opsServer(t *testing.T, public bool) (*httptest.Server, *sqlite.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "exechunt.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now()
	if err := server.SeedEnrollSecret(ctx, st, opsSecret, now); err != nil {
		t.Fatal(err)
	}
	if err := server.SeedAdminToken(ctx, st, opsAdmin, now); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateToken(ctx, store.Token{Name: "viewer", Role: apiv1.RoleViewer,
		Hash: operatorapi.HashToken(opsViewer), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Store: st, Version: "test-1", MetricsPublic: public})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs, st
}

func do(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetricsAfterAgentRequests: agent requests show up in /metrics by route
// pattern and status, with latency histograms, rows ingested, store latency and
// the hosts gauges.
func TestMetricsAfterAgentRequests(t *testing.T) {
	hs, _ := opsServer(t, false)
	code, body := do(t, "POST", hs.URL+"/api/osquery/enroll", "",
		`{"enroll_secret":"`+opsSecret+`","host_identifier":"h1","host_details":{"system_info":{"uuid":"U1","hostname":"h1"}}}`)
	var enr struct {
		NodeKey string `json:"node_key"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &enr) != nil || enr.NodeKey == "" {
		t.Fatalf("enroll: %d %s", code, body)
	}
	results := `{"node_key":"` + enr.NodeKey + `","log_type":"result","data":[
		{"name":"pack_x_q","hostIdentifier":"h1","unixTime":1,"epoch":0,"counter":1,"action":"added","columns":{"pid":"1"}},
		{"name":"pack_x_q","hostIdentifier":"h1","unixTime":1,"epoch":0,"counter":1,"action":"added","columns":{"pid":"2"}},
		{"name":"pack_x_q","hostIdentifier":"h1","unixTime":1,"epoch":0,"counter":1,"action":"added","columns":{"pid":"3"}}]}`
	for range 2 { // the retry stores nothing new
		if code, body := do(t, "POST", hs.URL+"/api/osquery/log", "", results); code != 200 {
			t.Fatalf("log: %d %s", code, body)
		}
	}
	if code, body := do(t, "POST", hs.URL+"/api/v1/osquery/log", "", `{"node_key":"`+enr.NodeKey+
		`","log_type":"status","data":[{"unixTime":"1","severity":"0","filename":"f.cpp","line":"1","message":"m"}]}`); code != 200 {
		t.Fatalf("status log: %d %s", code, body)
	}
	if code, _ := do(t, "POST", hs.URL+"/api/osquery/log", "", `{not json`); code != 400 {
		t.Fatalf("bad log: %d", code)
	}
	if code, _ := do(t, "GET", hs.URL+"/no/such/path/12345", "", ""); code != 404 {
		t.Fatalf("unknown path: %d", code)
	}

	code, body = do(t, "GET", hs.URL+"/metrics", opsViewer, "")
	if code != 200 {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	for _, tc := range []struct{ name, line string }{
		{"enroll counted", `exechunt_http_requests_total{code="200",endpoint="POST /api/osquery/enroll"} 1`},
		{"log posts by pattern", `exechunt_http_requests_total{code="200",endpoint="POST /api/osquery/log"} 2`},
		{"other prefix apart", `exechunt_http_requests_total{code="200",endpoint="POST /api/v1/osquery/log"} 1`},
		{"client error status", `exechunt_http_requests_total{code="400",endpoint="POST /api/osquery/log"} 1`},
		{"unknown path not a label", `exechunt_http_requests_total{code="404",endpoint="unmatched"} 1`},
		{"latency histogram", `exechunt_http_request_duration_seconds_count{endpoint="POST /api/osquery/log"} 3`},
		{"histogram buckets", `exechunt_http_request_duration_seconds_bucket{endpoint="POST /api/osquery/enroll",le="+Inf"} 1`},
		{"new result rows only", `exechunt_results_ingested_total{kind="result"} 3`},
		{"status lines", `exechunt_results_ingested_total{kind="status"} 1`},
		{"store latency", `exechunt_store_operation_duration_seconds_count{operation="InsertResults"} 2`},
		{"store latency of enroll", `exechunt_store_operation_duration_seconds_count{operation="EnrollHost"} 1`},
		{"hosts online", `exechunt_hosts_online 1`},
		{"hosts enrolled", `exechunt_hosts_enrolled 1`},
		{"build info", `exechunt_build_info{version="test-1"} 1`},
		{"go collector", `go_goroutines `},
		{"process collector", `process_resident_memory_bytes `},
	} {
		if !hasLine(body, tc.line) {
			t.Errorf("%s: no line %q in /metrics", tc.name, tc.line)
		}
	}
	if strings.Contains(body, "12345") || strings.Contains(body, enr.NodeKey) || strings.Contains(body, opsSecret) {
		t.Error("/metrics holds a raw path, node key or secret")
	}
	// The scrape itself is counted once served (seen by the next scrape).
	_, body = do(t, "GET", hs.URL+"/metrics", opsViewer, "")
	if !hasLine(body, `exechunt_http_requests_total{code="200",endpoint="GET /metrics"} 1`) {
		t.Error("the first scrape is not counted under GET /metrics")
	}
}

// hasLine reports whether the exposition has a line starting with prefix (a
// metric with its labels and, when given, its value).
func hasLine(body, prefix string) bool {
	for l := range strings.Lines(body) {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// TestMetricsAuth: /metrics needs a valid token of any role unless MetricsPublic.
func TestMetricsAuth(t *testing.T) {
	private, _ := opsServer(t, false)
	public, _ := opsServer(t, true)
	for _, tc := range []struct {
		name  string
		url   string
		token string
		want  int
	}{
		{"no token", private.URL, "", http.StatusUnauthorized},
		{"unknown token", private.URL, "not-a-token", http.StatusUnauthorized},
		{"viewer", private.URL, opsViewer, http.StatusOK},
		{"admin", private.URL, opsAdmin, http.StatusOK},
		{"public, no token", public.URL, "", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(t, "GET", tc.url+"/metrics", tc.token, "")
			if code != tc.want {
				t.Fatalf("GET /metrics = %d, want %d: %s", code, tc.want, body)
			}
			if code == 200 && !strings.Contains(body, "exechunt_build_info") {
				t.Errorf("no exechunt metrics in %q", body)
			}
			if code != 200 && strings.Contains(body, "exechunt_") {
				t.Errorf("refused scrape leaks metrics: %s", body)
			}
		})
	}
}

// TestHealthAndReady: /healthz is liveness (always 200); /readyz is 200 while the
// store answers and 503 with a JSON reason when it does not.
func TestHealthAndReady(t *testing.T) {
	hs, st := opsServer(t, false)
	type status struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	check := func(path string, wantCode int, wantStatus string, wantReason bool) {
		t.Helper()
		code, body := do(t, "GET", hs.URL+path, "", "")
		var s status
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			t.Fatalf("%s: not JSON: %q", path, body)
		}
		if code != wantCode || s.Status != wantStatus || (s.Reason != "") != wantReason {
			t.Errorf("GET %s = %d %+v, want %d status %q reason %v", path, code, s, wantCode, wantStatus, wantReason)
		}
	}
	for _, tc := range []struct {
		name        string
		closeStore  bool
		path        string
		code        int
		status      string
		needsReason bool
	}{
		{"live", false, "/healthz", 200, "ok", false},
		{"ready", false, "/readyz", 200, "ready", false},
		{"store closed: still live", true, "/healthz", 200, "ok", false},
		{"store closed: not ready", true, "/readyz", 503, "unavailable", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.closeStore {
				st.Close()
			}
			check(tc.path, tc.code, tc.status, tc.needsReason)
		})
	}
}
