package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/metrics"
	"github.com/exechunt/exechunt/orchestrator/store"
)

// fakeStore answers the instrumented methods; the others are nil (unused).
type fakeStore struct {
	store.Store
	hosts []store.Host
	lists int
}

func (f *fakeStore) HostByNodeKey(context.Context, []byte) (store.Host, error) {
	return store.Host{}, store.ErrNotFound
}
func (f *fakeStore) TouchHosts(context.Context, map[int64]time.Time) error {
	return errors.New("disk full")
}
func (f *fakeStore) InsertResults(_ context.Context, rows []store.ResultRow) (int, error) {
	return len(rows) - 1, nil // one was a duplicate
}
func (f *fakeStore) InsertStatusLogs(context.Context, []store.StatusLog) (int, error) {
	return 0, errors.New("locked")
}
func (f *fakeStore) RecordResults(_ context.Context, _ int64, rs []store.HostResult, _ time.Time) ([]int64, error) {
	return []int64{1}, nil
}
func (f *fakeStore) FinishHuntRun(_ context.Context, id int64, state, _ string, _ time.Time) (store.HuntRun, error) {
	if id == 0 {
		return store.HuntRun{}, store.ErrConflict
	}
	return store.HuntRun{ID: id, State: state}, nil
}
func (f *fakeStore) ListHosts(context.Context, store.HostFilter) ([]store.Host, error) {
	f.lists++
	return f.hosts, nil
}

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func hasLine(body, prefix string) bool {
	for l := range strings.Lines(body) {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func TestStoreInstrumentation(t *testing.T) {
	m := metrics.New("v")
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	f := &fakeStore{hosts: []store.Host{{ID: 1, LastSeen: now.Add(-time.Minute)}, {ID: 2, LastSeen: now.Add(-time.Hour)}, {ID: 3}}}
	s := m.Store(f)
	ctx := context.Background()
	s.HostByNodeKey(ctx, nil)
	s.TouchHosts(ctx, nil)
	s.InsertResults(ctx, make([]store.ResultRow, 5))
	s.InsertStatusLogs(ctx, make([]store.StatusLog, 2))
	s.RecordResults(ctx, 1, []store.HostResult{{Rows: make([]map[string]string, 3)}, {Rows: nil}, {Rows: make([]map[string]string, 1)}}, now)
	s.FinishHuntRun(ctx, 1, store.RunDone, "", now)
	s.FinishHuntRun(ctx, 2, store.RunDone, "", now)
	s.FinishHuntRun(ctx, 3, store.RunFailed, "no hosts", now)
	s.FinishHuntRun(ctx, 0, store.RunDone, "", now) // refused: not counted
	clock := now
	m.WatchHosts(s, 5*time.Minute, 10*time.Second, func() time.Time { return clock })
	body := scrape(t, m)
	for _, tc := range []struct{ name, line string }{
		{"new result rows", `exechunt_results_ingested_total{kind="result"} 4`},
		{"live rows", `exechunt_results_ingested_total{kind="live"} 4`},
		{"failed insert not ingested", `exechunt_results_ingested_total{kind="status"}`},
		{"hunt runs done", `exechunt_hunt_runs_total{outcome="done"} 2`},
		{"hunt runs failed", `exechunt_hunt_runs_total{outcome="failed"} 1`},
		{"store latency", `exechunt_store_operation_duration_seconds_count{operation="FinishHuntRun"} 4`},
		{"store latency of lookups", `exechunt_store_operation_duration_seconds_count{operation="HostByNodeKey"} 1`},
		{"store errors", `exechunt_store_operation_errors_total{operation="TouchHosts"} 1`},
		{"store errors of inserts", `exechunt_store_operation_errors_total{operation="InsertStatusLogs"} 1`},
		{"not found is no error", `exechunt_store_operation_errors_total{operation="HostByNodeKey"}`},
		{"hosts online", `exechunt_hosts_online 1`},
		{"hosts enrolled", `exechunt_hosts_enrolled 3`},
	} {
		want := !strings.HasPrefix(tc.name, "failed") && !strings.HasPrefix(tc.name, "not found")
		if hasLine(body, tc.line) != want {
			t.Errorf("%s: line %q present = %v, want %v", tc.name, tc.line, !want, want)
		}
	}
	// The hosts count is cached for cacheFor, then read again.
	scrape(t, m)
	if f.lists != 1 {
		t.Errorf("ListHosts called %d times within the cache period, want 1", f.lists)
	}
	f.hosts = append(f.hosts, store.Host{ID: 4, LastSeen: now.Add(10 * time.Second)})
	clock = now.Add(11 * time.Second)
	if body := scrape(t, m); f.lists != 2 || !hasLine(body, "exechunt_hosts_online 2") || !hasLine(body, "exechunt_hosts_enrolled 4") {
		t.Errorf("after the cache period: %d lists, hosts lines:\n%s", f.lists, grep(body, "exechunt_hosts_"))
	}
}

func grep(body, prefix string) string {
	var out []string
	for l := range strings.Lines(body) {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// TestMiddleware: the endpoint label is the mux pattern, the code what was
// written (200 when nothing was), and streaming still works through it.
func TestMiddleware(t *testing.T) {
	m := metrics.New("v")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "0" {
			http.Error(w, "no", http.StatusNotFound)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /empty", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		fl, ok := w.(http.Flusher)
		if !ok {
			http.Error(w, "streaming unsupported", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "data: 1\n\n")
		fl.Flush()
	})
	h := m.Middleware(mux)
	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/items/1", 200},
		{"GET", "/items/2", 200},
		{"GET", "/items/0", 404},
		{"GET", "/empty", 200},
		{"GET", "/stream", 200},
		{"POST", "/items/1", 405},
		{"GET", "/secret-looking-path", 404},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.code {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, rec.Code, tc.code)
		}
	}
	body := scrape(t, m)
	for _, line := range []string{
		`exechunt_http_requests_total{code="200",endpoint="GET /items/{id}"} 2`,
		`exechunt_http_requests_total{code="404",endpoint="GET /items/{id}"} 1`,
		`exechunt_http_requests_total{code="200",endpoint="GET /empty"} 1`,
		`exechunt_http_requests_total{code="200",endpoint="GET /stream"} 1`,
		`exechunt_http_requests_total{code="405",endpoint="unmatched"} 1`,
		`exechunt_http_requests_total{code="404",endpoint="unmatched"} 1`,
		`exechunt_http_request_duration_seconds_count{endpoint="GET /items/{id}"} 3`,
	} {
		if !hasLine(body, line) {
			t.Errorf("no line %q in:\n%s", line, grep(body, "exechunt_http_requests_total"))
		}
	}
	if strings.Contains(body, "secret-looking-path") {
		t.Error("a raw path became a label")
	}
}
