package agentapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/agentapi"
	"github.com/exechunt/exechunt/orchestrator/store"
)

// memStore is a minimal in-memory store for fuzzing: one host holds node key
// "k", "secret" enrolls, and every write is counted.
type memStore struct {
	mu     sync.Mutex
	writes int
}

func (m *memStore) wrote() { m.mu.Lock(); m.writes++; m.mu.Unlock() }
func (m *memStore) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writes
}

func (m *memStore) EnrollHost(ctx context.Context, e store.Enrollment, now time.Time) (store.Host, error) {
	m.wrote()
	h := e.Host
	h.ID = 2
	return h, nil
}

func (m *memStore) HostByNodeKey(ctx context.Context, hash []byte) (store.Host, error) {
	if k := sha256.Sum256([]byte("k")); bytes.Equal(hash, k[:]) {
		return store.Host{ID: 1, Identifier: "h1", Platform: "linux"}, nil
	}
	return store.Host{}, store.ErrNotFound
}

func (m *memStore) TouchHosts(ctx context.Context, seen map[int64]time.Time) error { return nil }
func (m *memStore) EnrollSecrets(ctx context.Context) ([]store.EnrollSecret, error) {
	return []store.EnrollSecret{{Name: "s", Hash: agentapi.HashSecret("secret")}}, nil
}

func (m *memStore) TakePendingQueries(ctx context.Context, hostID int64, now time.Time) ([]store.PendingQuery, error) {
	return []store.PendingQuery{{QueryID: 1, SQL: "SELECT 1"}}, nil
}

func (m *memStore) RecordResults(ctx context.Context, hostID int64, rs []store.HostResult, now time.Time) ([]int64, error) {
	m.wrote()
	return nil, nil
}
func (m *memStore) LiveQuery(ctx context.Context, id int64) (store.LiveQuery, error) {
	return store.LiveQuery{ID: id, Counts: map[string]int{store.HostPending: 1}}, nil
}
func (m *memStore) InsertResults(ctx context.Context, rows []store.ResultRow) (int, error) {
	for _, r := range rows {
		if r.ID == "" || r.HostID != 1 {
			panic("result row without an ID or with another host")
		}
	}
	m.wrote()
	return len(rows), nil
}

func (m *memStore) InsertStatusLogs(ctx context.Context, logs []store.StatusLog) (int, error) {
	m.wrote()
	return len(logs), nil
}

func (m *memStore) Config(ctx context.Context, h store.Host) (map[string]any, error) {
	return map[string]any{"schedule": map[string]any{}}, nil
}

var fuzzEndpoints = []string{agentapi.PathEnroll, agentapi.PathConfig, agentapi.PathLog, agentapi.PathRead, agentapi.PathWrite}

// FuzzRequestBodies posts arbitrary bodies (optionally gzip) to every agent
// endpoint: the handler never panics or answers 500, and a refused request
// (4xx) writes nothing.
func FuzzRequestBodies(f *testing.F) {
	seeds := []struct {
		ep   uint8
		body string
	}{
		{0, enrollBody("secret", "h1", `"9"`, "U-1")},
		{0, `{"enroll_secret":"secret","host_identifier":"","platform_type":1e400}`},
		{0, `{"enroll_secret":"secret","host_details":{"os_version":{"name":5,"platform":null}}}`},
		{1, `{"node_key":"k"}`},
		{1, ``},
		{2, `{"node_key":"k","log_type":"result","data":[{"name":"q","hostIdentifier":"h","unixTime":"1785931200","epoch":0,"counter":1,"decorations":{"a":"b"},"columns":{"pid":4242,"x":null,"y":[1]},"action":"added"}]}`},
		{2, `{"node_key":"k","log_type":"result","data":[{"name":"q","snapshot":[{"pid":"1"},{"pid":"2"}],"action":"snapshot"},{"name":"q","diffResults":{"added":[{"a":"1"}],"removed":[{"a":"2"}]}}]}`},
		{2, `{"node_key":"k","log_type":"status","data":[{"unixTime":1,"severity":"2","filename":"f","line":"3","message":"m","version":"5.23.1"}]}`},
		{3, `{"node_key":"k"}`},
		{4, `{"node_key":"k","queries":{"exechunt_lq_1":[{"pid":"1"}],"other":[]},"statuses":{"exechunt_lq_1":"0"},"messages":{"exechunt_lq_1":""},"stats":{"exechunt_lq_1":{"wall_time_ms":1}}}`},
		{4, `{"node_key":"k","queries":{"exechunt_lq_9223372036854775808":null},"statuses":{"exechunt_lq_-1":1.5}}`},
	}
	for _, s := range seeds {
		f.Add(s.ep, false, []byte(s.body))
		f.Add(s.ep, true, []byte(s.body))
	}
	m := &memStore{}
	h, err := agentapi.New(agentapi.Config{Hosts: m, Secrets: m, Live: m, Logs: m, Configs: m,
		Limits:   agentapi.Limits{Enroll: 8 << 10, Config: 8 << 10, Log: 64 << 10, Read: 8 << 10, Write: 64 << 10},
		HostRate: 1e9, HostBurst: 1 << 30})
	if err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	f.Fuzz(func(t *testing.T, ep uint8, gz bool, body []byte) {
		path := "/api/v1/osquery" + fuzzEndpoints[int(ep)%len(fuzzEndpoints)]
		b := body
		if gz {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(body)
			zw.Close()
			b = buf.Bytes()
		}
		req := httptest.NewRequest("POST", path, bytes.NewReader(b))
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		before := m.count()
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if m.count() != before {
				t.Fatalf("%s answered %d but wrote to the store: %q", path, rec.Code, body)
			}
		default:
			t.Fatalf("%s: HTTP %d %s for %q", path, rec.Code, rec.Body, body)
		}
	})
}
