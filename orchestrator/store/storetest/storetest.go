// Package storetest is the conformance suite every store backend must pass.
// Only tests import it (it imports testing):
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
//	}
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// Run runs the suite; newStore returns an empty store that the test may close (the
// suite closes it at the end of each subtest).
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		f    func(*testing.T, store.Store)
	}{
		{"EnrollAndLookup", testEnrollAndLookup},
		{"ReenrollReplacesKey", testReenrollReplacesKey},
		{"ReenrollWithoutUUID", testReenrollWithoutUUID},
		{"ListHostsFilter", testListHostsFilter},
		{"TouchHosts", testTouchHosts},
		{"RevokeNodeKey", testRevokeNodeKey},
		{"EnrollSecrets", testEnrollSecrets},
		{"Tokens", testTokens},
		{"LiveQueryLifecycle", testLiveQueryLifecycle},
		{"LiveQueryRetriedWrite", testLiveQueryRetriedWrite},
		{"LiveQueryDiscoverySkip", testLiveQueryDiscoverySkip},
		{"LiveQueryDeadline", testLiveQueryDeadline},
		{"LiveQueryCancel", testLiveQueryCancel},
		{"LiveQueryHistory", testLiveQueryHistory},
		{"ResultsIdempotent", testResultsIdempotent},
		{"StatusLogsIdempotent", testStatusLogsIdempotent},
		{"PruneLogs", testPruneLogs},
		{"HuntsCRUD", testHuntsCRUD},
		{"HuntsSeedOnce", testHuntsSeedOnce},
		{"HuntRunLifecycle", testHuntRunLifecycle},
		{"HuntRunOneRunning", testHuntRunOneRunning},
		{"HuntRunInterrupted", testHuntRunInterrupted},
		{"AuditLog", testAuditLog},
		{"Triage", testTriage},
		{"SuppressionRules", testSuppressionRules},
		{"Leases", testLeases},
		{"LeaseRace", testLeaseRace},
		{"Outbox", testOutbox},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tc.f(t, s)
		})
	}
}

// t0 has microsecond precision, which every backend keeps.
var t0 = time.Date(2026, 8, 6, 12, 0, 0, 123456000, time.UTC)

func key(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func enroll(t *testing.T, s store.Store, ident, uuid, platform, nodeKey string, now time.Time) store.Host {
	t.Helper()
	h, err := s.EnrollHost(context.Background(), store.Enrollment{
		Host: store.Host{Identifier: ident, Hostname: ident, UUID: uuid, Platform: platform,
			OSName: "Test OS", OSPlatform: platform, OSVersion: "1.0", OsqueryVersion: "5.23.1",
			Details: json.RawMessage(`{"system_info":{"hostname":"` + ident + `"}}`)},
		NodeKeyHash: key(nodeKey),
	}, now)
	if err != nil {
		t.Fatalf("EnrollHost(%s): %v", ident, err)
	}
	return h
}

func testEnrollAndLookup(t *testing.T, s store.Store) {
	ctx := context.Background()
	h := enroll(t, s, "web1", "U-1", "linux", "k1", t0)
	if h.ID == 0 || h.Hostname != "web1" || h.UUID != "U-1" || h.Platform != "linux" || h.OsqueryVersion != "5.23.1" {
		t.Fatalf("enrolled host = %+v", h)
	}
	if !h.FirstSeen.Equal(t0) || !h.LastSeen.Equal(t0) || !h.EnrolledAt.Equal(t0) {
		t.Errorf("times = %v %v %v, want %v", h.FirstSeen, h.LastSeen, h.EnrolledAt, t0)
	}
	var details map[string]any
	if err := json.Unmarshal(h.Details, &details); err != nil || details["system_info"] == nil {
		t.Errorf("details = %s (%v)", h.Details, err)
	}
	got, err := s.HostByNodeKey(ctx, key("k1"))
	if err != nil || got.ID != h.ID {
		t.Fatalf("HostByNodeKey = %+v, %v", got, err)
	}
	if _, err := s.HostByNodeKey(ctx, key("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("HostByNodeKey(unknown) err = %v, want ErrNotFound", err)
	}
	if _, err := s.HostByNodeKey(ctx, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("HostByNodeKey(nil) err = %v, want ErrNotFound", err)
	}
	if _, err := s.Host(ctx, h.ID+100); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Host(unknown) err = %v, want ErrNotFound", err)
	}
	byID, err := s.Host(ctx, h.ID)
	if err != nil || !reflect.DeepEqual(byID, got) {
		t.Errorf("Host = %+v, %v; HostByNodeKey = %+v", byID, err, got)
	}
}

func testReenrollReplacesKey(t *testing.T, s store.Store) {
	ctx := context.Background()
	h1 := enroll(t, s, "web1", "U-1", "linux", "k1", t0)
	h2 := enroll(t, s, "web1-renamed", "U-1", "linux", "k2", t0.Add(time.Hour))
	if h2.ID != h1.ID {
		t.Fatalf("re-enroll by UUID made a new host: %d vs %d", h2.ID, h1.ID)
	}
	if h2.Hostname != "web1-renamed" || !h2.FirstSeen.Equal(t0) || !h2.EnrolledAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("re-enrolled host = %+v", h2)
	}
	if _, err := s.HostByNodeKey(ctx, key("k1")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old key still valid: %v", err)
	}
	if got, err := s.HostByNodeKey(ctx, key("k2")); err != nil || got.ID != h1.ID {
		t.Errorf("new key: %+v, %v", got, err)
	}
}

func testReenrollWithoutUUID(t *testing.T, s store.Store) {
	a := enroll(t, s, "box", "", "linux", "k1", t0)
	b := enroll(t, s, "box", "", "linux", "k2", t0)
	c := enroll(t, s, "other", "", "linux", "k3", t0)
	if a.ID != b.ID || a.ID == c.ID {
		t.Errorf("ids %d %d %d: same identifier must be one host, another identifier another", a.ID, b.ID, c.ID)
	}
}

func ids(hs []store.Host) []int64 {
	var out []int64
	for _, h := range hs {
		out = append(out, h.ID)
	}
	return out
}

func testListHostsFilter(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := enroll(t, s, "win1", "U-1", "windows", "k1", t0)
	l := enroll(t, s, "lin1", "U-2", "linux", "k2", t0.Add(time.Minute))
	m := enroll(t, s, "mac1", "U-3", "darwin", "k3", t0.Add(2*time.Minute))
	for _, tc := range []struct {
		name string
		f    store.HostFilter
		want []int64
	}{
		{"all", store.HostFilter{}, []int64{w.ID, l.ID, m.ID}},
		{"platform", store.HostFilter{Platforms: []string{"linux", "darwin"}}, []int64{l.ID, m.ID}},
		{"ids", store.HostFilter{IDs: []int64{m.ID, w.ID}}, []int64{w.ID, m.ID}},
		{"seen", store.HostFilter{SeenSince: t0.Add(time.Minute)}, []int64{l.ID, m.ID}},
		{"limit", store.HostFilter{Limit: 1}, []int64{w.ID}},
		{"none", store.HostFilter{Platforms: []string{"freebsd"}}, nil},
		// A fleet's worth of ids (SQLite allows 32,766 parameters to a statement).
		{"40,000 ids", store.HostFilter{IDs: fleetIDs(40000, w.ID, l.ID)}, []int64{w.ID, l.ID}},
	} {
		hs, err := s.ListHosts(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := ids(hs); !slices.Equal(got, tc.want) {
			t.Errorf("%s: ids = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// fleetIDs is n host ids that are not enrolled, with want among them.
func fleetIDs(n int, want ...int64) []int64 {
	out := make([]int64, 0, n+len(want))
	for i := range n {
		out = append(out, int64(1_000_000+i))
	}
	return append(out, want...)
}

func testTouchHosts(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enroll(t, s, "a", "U-1", "linux", "k1", t0)
	b := enroll(t, s, "b", "U-2", "linux", "k2", t0)
	later := t0.Add(10 * time.Second)
	if err := s.TouchHosts(ctx, map[int64]time.Time{a.ID: later, b.ID: t0.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchHosts(ctx, nil); err != nil {
		t.Fatal(err)
	}
	ga, _ := s.Host(ctx, a.ID)
	gb, _ := s.Host(ctx, b.ID)
	if !ga.LastSeen.Equal(later) || !gb.LastSeen.Equal(t0) {
		t.Errorf("last seen = %v, %v; want %v, %v (older times are ignored)", ga.LastSeen, gb.LastSeen, later, t0)
	}
	// An older touch after a newer one changes nothing; an unknown host is ignored.
	if err := s.TouchHosts(ctx, map[int64]time.Time{a.ID: t0.Add(time.Second), 1 << 40: later}); err != nil {
		t.Fatal(err)
	}
	if ga, _ := s.HostByNodeKey(ctx, key("k1")); !ga.LastSeen.Equal(later) {
		t.Errorf("by node key: last seen = %v, want %v", ga.LastSeen, later)
	}
	got, err := s.ListHosts(ctx, store.HostFilter{SeenSince: t0.Add(time.Second)})
	if err != nil || len(got) != 1 || got[0].ID != a.ID || !got[0].LastSeen.Equal(later) {
		t.Errorf("seen since: %+v, %v; want host %d only", got, err, a.ID)
	}
	if _, err := s.Host(ctx, 1<<40); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown host after a touch: %v", err)
	}
}

func testRevokeNodeKey(t *testing.T, s store.Store) {
	ctx := context.Background()
	h := enroll(t, s, "a", "U-1", "linux", "k1", t0)
	if err := s.RevokeNodeKey(ctx, h.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.HostByNodeKey(ctx, key("k1")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoked key: %v", err)
	}
	if err := s.RevokeNodeKey(ctx, h.ID+99); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoke unknown: %v", err)
	}
}

func testEnrollSecrets(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, n := range []string{"b", "a"} {
		if err := s.AddEnrollSecret(ctx, store.EnrollSecret{Name: n, Hash: key(n), CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddEnrollSecret(ctx, store.EnrollSecret{Name: "a", Hash: key("x"), CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate name: %v, want ErrConflict", err)
	}
	got, err := s.EnrollSecrets(ctx)
	if err != nil || len(got) != 2 || got[0].Name != "a" || !slices.Equal(got[0].Hash, key("a")) || !got[0].CreatedAt.Equal(t0) {
		t.Fatalf("EnrollSecrets = %+v, %v", got, err)
	}
	if err := s.DeleteEnrollSecret(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEnrollSecret(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	if got, _ := s.EnrollSecrets(ctx); len(got) != 1 || got[0].Name != "b" {
		t.Errorf("after delete: %+v", got)
	}
	if err := s.DeleteEnrollSecret(ctx, "b"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("deleting the last secret: %v, want ErrConflict", err)
	}
	// Deleting every secret at once leaves one (each delete saw another secret
	// and went ahead: none was left, and a restart seeded a revoked secret again).
	for _, n := range []string{"c", "d", "e"} {
		if err := s.AddEnrollSecret(ctx, store.EnrollSecret{Name: n, Hash: key(n), CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for _, n := range []string{"b", "c", "d", "e"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.DeleteEnrollSecret(ctx, n); err != nil && !errors.Is(err, store.ErrConflict) {
				t.Errorf("delete %s: %v", n, err)
			}
		}()
	}
	wg.Wait()
	if got, _ := s.EnrollSecrets(ctx); len(got) != 1 {
		t.Errorf("after deleting all four at once: %d secrets left, want 1", len(got))
	}
}

func testTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	tok, err := s.CreateToken(ctx, store.Token{Name: "admin", Role: "admin", Hash: key("t1"), CreatedAt: t0})
	if err != nil || tok.ID == 0 {
		t.Fatalf("CreateToken = %+v, %v", tok, err)
	}
	if _, err := s.CreateToken(ctx, store.Token{Name: "dup", Role: "viewer", Hash: key("t1"), CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate hash: %v, want ErrConflict", err)
	}
	exp, err := s.CreateToken(ctx, store.Token{Name: "ci", Role: "viewer", Hash: key("t2"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.TokenByHash(ctx, key("t1"))
	if err != nil || got.ID != tok.ID || got.Role != "admin" || !got.Valid(t0) {
		t.Fatalf("TokenByHash = %+v, %v", got, err)
	}
	if _, err := s.TokenByHash(ctx, key("zz")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown token: %v", err)
	}
	if g, _ := s.TokenByHash(ctx, key("t2")); !g.Valid(t0) || g.Valid(t0.Add(time.Hour)) || !g.ExpiresAt.Equal(exp.ExpiresAt) {
		t.Errorf("expiry not kept: %+v", g)
	}
	if err := s.RevokeToken(ctx, tok.ID, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, tok.ID, t0.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoke twice: %v", err)
	}
	if g, _ := s.TokenByHash(ctx, key("t1")); g.Valid(t0.Add(2*time.Minute)) || !g.RevokedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("revoked token = %+v", g)
	}
	if all, err := s.ListTokens(ctx); err != nil || len(all) != 2 {
		t.Errorf("ListTokens = %d, %v", len(all), err)
	}
}

func newQuery(t *testing.T, s store.Store, sql string, hosts ...int64) store.LiveQuery {
	t.Helper()
	q, err := s.CreateLiveQuery(context.Background(), store.LiveQuery{SQL: sql, CreatedBy: "admin",
		Targets: json.RawMessage(`{"all":true}`), Deadline: t0.Add(time.Minute)}, hosts, t0)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func hostStates(t *testing.T, s store.Store, id int64) map[int64]string {
	t.Helper()
	hs, err := s.LiveQueryHosts(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	m := map[int64]string{}
	for _, h := range hs {
		m[h.HostID] = h.State
	}
	return m
}

func testLiveQueryLifecycle(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enroll(t, s, "a", "U-1", "linux", "k1", t0)
	b := enroll(t, s, "b", "U-2", "linux", "k2", t0)
	c := enroll(t, s, "c", "U-3", "linux", "k3", t0)
	q := newQuery(t, s, "SELECT 1", a.ID, b.ID, c.ID)
	if q.ID == 0 || q.State != store.QueryRunning || q.Counts[store.HostPending] != 3 || !q.CreatedAt.Equal(t0) {
		t.Fatalf("created = %+v", q)
	}
	if n, _ := s.RunningLiveQueries(ctx); n != 1 {
		t.Errorf("running = %d", n)
	}
	for _, h := range []int64{a.ID, b.ID, c.ID} {
		p, err := s.TakePendingQueries(ctx, h, t0.Add(time.Second))
		if err != nil || len(p) != 1 || p[0].QueryID != q.ID || p[0].SQL != "SELECT 1" {
			t.Fatalf("TakePendingQueries(%d) = %+v, %v", h, p, err)
		}
		if p, _ := s.TakePendingQueries(ctx, h, t0.Add(time.Second)); len(p) != 0 {
			t.Errorf("taken twice: %+v", p)
		}
	}
	now := t0.Add(2 * time.Second)
	stats := json.RawMessage(`{"wall_time_ms":12}`)
	rows := []map[string]string{{"pid": "1", "name": "init"}, {"pid": "2", "name": "kthreadd"}}
	changed, err := s.RecordResults(ctx, a.ID, []store.HostResult{{QueryID: q.ID, Rows: rows, Stats: stats}}, now)
	if err != nil || !slices.Equal(changed, []int64{q.ID}) {
		t.Fatalf("RecordResults(a) = %v, %v", changed, err)
	}
	if _, err := s.RecordResults(ctx, b.ID, []store.HostResult{{QueryID: q.ID}}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordResults(ctx, c.ID, []store.HostResult{{QueryID: q.ID, Status: 1, Message: "no such table: x"}}, now); err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{a.ID: store.HostOK, b.ID: store.HostNoRows, c.ID: store.HostError}
	if got := hostStates(t, s, q.ID); !maps.Equal(got, want) {
		t.Errorf("states = %v, want %v", got, want)
	}
	hs, _ := s.LiveQueryHosts(ctx, q.ID)
	for _, h := range hs {
		switch h.HostID {
		case a.ID:
			var st map[string]int
			if h.Rows != 2 || json.Unmarshal(h.Stats, &st) != nil || st["wall_time_ms"] != 12 || !h.UpdatedAt.Equal(now) {
				t.Errorf("host a = %+v", h)
			}
		case c.ID:
			if h.Status != 1 || h.Message != "no such table: x" {
				t.Errorf("host c = %+v", h)
			}
		}
	}
	got, err := s.LiveQueryRows(ctx, q.ID, a.ID)
	if err != nil || len(got) != 2 || got[0].Columns["name"] != "init" || got[1].Seq != 1 || got[1].HostID != a.ID {
		t.Errorf("rows = %+v, %v", got, err)
	}
	if all, _ := s.LiveQueryRows(ctx, q.ID, 0); len(all) != 2 {
		t.Errorf("all rows = %d", len(all))
	}
	done, err := s.LiveQuery(ctx, q.ID)
	if err != nil || done.State != store.QueryDone || !done.DoneAt.Equal(now) || done.Counts[store.HostOK] != 1 {
		t.Errorf("after all answered: %+v, %v", done, err)
	}
	if n, _ := s.RunningLiveQueries(ctx); n != 0 {
		t.Errorf("running = %d after done", n)
	}
	if _, err := s.LiveQuery(ctx, q.ID+50); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown query: %v", err)
	}
}

func testLiveQueryRetriedWrite(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enroll(t, s, "a", "U-1", "linux", "k1", t0)
	b := enroll(t, s, "b", "U-2", "linux", "k2", t0)
	q := newQuery(t, s, "SELECT 1", a.ID, b.ID)
	s.TakePendingQueries(ctx, a.ID, t0)
	res := []store.HostResult{{QueryID: q.ID, Rows: []map[string]string{{"x": "1"}}}}
	for i := 0; i < 3; i++ {
		if _, err := s.RecordResults(ctx, a.ID, res, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if rows, _ := s.LiveQueryRows(ctx, q.ID, 0); len(rows) != 1 {
		t.Errorf("retried write stored %d rows, want 1", len(rows))
	}
	// b never received the query: its answer is ignored.
	if ch, err := s.RecordResults(ctx, b.ID, []store.HostResult{{QueryID: q.ID}, {QueryID: 999}}, t0); err != nil || len(ch) != 0 {
		t.Errorf("unsent answer: changed %v, %v", ch, err)
	}
	if got := hostStates(t, s, q.ID)[b.ID]; got != store.HostPending {
		t.Errorf("b = %s, want pending", got)
	}
}

func testLiveQueryDiscoverySkip(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enroll(t, s, "a", "U-1", "linux", "k1", t0)
	q1 := newQuery(t, s, "SELECT 1", a.ID)
	q2, err := s.CreateLiveQuery(ctx, store.LiveQuery{SQL: "SELECT * FROM process_lineage",
		Discovery: "SELECT 1 FROM osquery_registry WHERE name = 'process_lineage'", Deadline: t0.Add(time.Minute)},
		[]int64{a.ID}, t0)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.TakePendingQueries(ctx, a.ID, t0)
	if len(p) != 2 || p[1].Discovery == "" {
		t.Fatalf("pending = %+v", p)
	}
	// q2 absent from the write: its discovery returned no rows.
	if _, err := s.RecordResults(ctx, a.ID, []store.HostResult{{QueryID: q1.ID, Rows: []map[string]string{{"1": "1"}}}}, t0); err != nil {
		t.Fatal(err)
	}
	if got := hostStates(t, s, q2.ID)[a.ID]; got != store.HostNoRows {
		t.Errorf("skipped query = %s, want no-rows", got)
	}
	if g, _ := s.LiveQuery(ctx, q2.ID); g.State != store.QueryDone {
		t.Errorf("q2 = %s, want done", g.State)
	}
}

func testLiveQueryDeadline(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enroll(t, s, "a", "U-1", "linux", "k1", t0)
	b := enroll(t, s, "b", "U-2", "linux", "k2", t0)
	q := newQuery(t, s, "SELECT 1", a.ID, b.ID)
	empty := newQuery(t, s, "SELECT 2")
	s.TakePendingQueries(ctx, a.ID, t0)
	ended, err := s.FinishLiveQueries(ctx, t0.Add(30*time.Second))
	if err != nil || !slices.Equal(ended, []int64{empty.ID}) {
		t.Fatalf("before the deadline ended %v, %v; want only the query without hosts", ended, err)
	}
	if p, _ := s.TakePendingQueries(ctx, b.ID, t0.Add(2*time.Minute)); len(p) != 0 {
		t.Errorf("a query past its deadline was handed out: %+v", p)
	}
	ended, err = s.FinishLiveQueries(ctx, t0.Add(2*time.Minute))
	if err != nil || !slices.Equal(ended, []int64{q.ID}) {
		t.Fatalf("after the deadline ended %v, %v", ended, err)
	}
	want := map[int64]string{a.ID: store.HostError, b.ID: store.HostOffline}
	if got := hostStates(t, s, q.ID); !maps.Equal(got, want) {
		t.Errorf("states = %v, want %v", got, want)
	}
	// A late answer changes nothing.
	if ch, _ := s.RecordResults(ctx, a.ID, []store.HostResult{{QueryID: q.ID, Rows: []map[string]string{{"x": "1"}}}}, t0.Add(3*time.Minute)); len(ch) != 0 {
		t.Errorf("late answer changed %v", ch)
	}
}

func testLiveQueryCancel(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enroll(t, s, "a", "U-1", "linux", "k1", t0)
	q := newQuery(t, s, "SELECT 1", a.ID)
	if err := s.CancelLiveQuery(ctx, q.ID, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.CancelLiveQuery(ctx, q.ID, t0.Add(time.Second)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("cancel twice: %v, want ErrConflict", err)
	}
	if err := s.CancelLiveQuery(ctx, q.ID+9, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cancel unknown: %v, want ErrNotFound", err)
	}
	g, _ := s.LiveQuery(ctx, q.ID)
	if g.State != store.QueryCancelled || g.Counts[store.HostOffline] != 1 {
		t.Errorf("cancelled = %+v", g)
	}
	if p, _ := s.TakePendingQueries(ctx, a.ID, t0); len(p) != 0 {
		t.Errorf("cancelled query handed out: %+v", p)
	}
}

func testLiveQueryHistory(t *testing.T, s store.Store) {
	ctx := context.Background()
	var want []int64
	for i := 0; i < 5; i++ {
		q := newQuery(t, s, fmt.Sprintf("SELECT %d", i))
		want = append([]int64{q.ID}, want...)
	}
	got, err := s.ListLiveQueries(ctx, 3)
	if err != nil || len(got) != 3 {
		t.Fatalf("ListLiveQueries = %d, %v", len(got), err)
	}
	var gotIDs []int64
	for _, q := range got {
		gotIDs = append(gotIDs, q.ID)
	}
	if !slices.Equal(gotIDs, want[:3]) || got[0].SQL != "SELECT 4" || string(got[0].Targets) != `{"all":true}` {
		t.Errorf("history = %v (%+v), want %v newest first", gotIDs, got[0], want[:3])
	}
}

func testResultsIdempotent(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enroll(t, s, "a", "U-1", "linux", "k1", t0)
	rows := []store.ResultRow{
		{ID: "r1", HostID: a.ID, Name: "pack_x_q", Action: store.ActionAdded, UnixTime: 1785931200, Counter: 1,
			Columns: map[string]string{"pid": "4242"}, Decorations: map[string]string{"host_uuid": "U-1"}, ReceivedAt: t0},
		{ID: "r2", HostID: a.ID, Name: "pack_x_q", Action: store.ActionSnapshot, UnixTime: 1785931200,
			Columns: map[string]string{"pid": "1"}, ReceivedAt: t0},
	}
	n, err := s.InsertResults(ctx, rows)
	if err != nil || n != 2 {
		t.Fatalf("InsertResults = %d, %v", n, err)
	}
	n, err = s.InsertResults(ctx, rows)
	if err != nil || n != 0 {
		t.Errorf("retry inserted %d, %v; want 0", n, err)
	}
	got, err := s.Results(ctx, store.ResultFilter{HostID: a.ID, Name: "pack_x_q"})
	if err != nil || len(got) != 2 {
		t.Fatalf("Results = %d, %v", len(got), err)
	}
	if !reflect.DeepEqual(got[0], rows[0]) {
		t.Errorf("row = %+v, want %+v", got[0], rows[0])
	}
	if got, _ := s.Results(ctx, store.ResultFilter{Name: "other"}); len(got) != 0 {
		t.Errorf("filter by name: %d rows", len(got))
	}
	if got, _ := s.Results(ctx, store.ResultFilter{Limit: 1}); len(got) != 1 {
		t.Errorf("limit: %d rows", len(got))
	}
}

func testStatusLogsIdempotent(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enroll(t, s, "a", "U-1", "linux", "k1", t0)
	logs := []store.StatusLog{{ID: "s1", HostID: a.ID, UnixTime: 1785931200, Severity: 1, Filename: "scheduler.cpp",
		Line: 85, Message: "Executing scheduled query", Version: "5.23.1", ReceivedAt: t0}}
	for want := 1; want >= 0; want-- {
		n, err := s.InsertStatusLogs(ctx, logs)
		if err != nil || n != want {
			t.Fatalf("InsertStatusLogs = %d, %v; want %d", n, err, want)
		}
	}
	got, err := s.StatusLogs(ctx, a.ID, 0)
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], logs[0]) {
		t.Errorf("StatusLogs = %+v, %v", got, err)
	}
}

func testPruneLogs(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enroll(t, s, "a", "U-1", "linux", "k1", t0)
	var rows []store.ResultRow
	for i, at := range []time.Time{t0, t0.Add(time.Minute), t0.Add(2 * time.Minute), t0.Add(2 * time.Hour)} {
		rows = append(rows, store.ResultRow{ID: fmt.Sprintf("r%d", i), HostID: a.ID, Name: "q", Action: store.ActionAdded,
			UnixTime: 1785931200, Columns: map[string]string{"i": fmt.Sprint(i)}, ReceivedAt: at})
	}
	if _, err := s.InsertResults(ctx, rows); err != nil {
		t.Fatal(err)
	}
	logs := []store.StatusLog{{ID: "s1", HostID: a.ID, Message: "old", ReceivedAt: t0},
		{ID: "s2", HostID: a.ID, Message: "new", ReceivedAt: t0.Add(2 * time.Hour)}}
	if _, err := s.InsertStatusLogs(ctx, logs); err != nil {
		t.Fatal(err)
	}
	var total int64
	for range 10 {
		n, err := s.PruneLogs(ctx, t0.Add(time.Hour), 2)
		if err != nil {
			t.Fatal(err)
		}
		if n > 4 {
			t.Errorf("one prune deleted %d rows, want at most 2 of each kind", n)
		}
		if total += n; n == 0 {
			break
		}
	}
	if total != 4 {
		t.Errorf("pruned %d rows, want 4 (3 results, 1 status log)", total)
	}
	got, _ := s.Results(ctx, store.ResultFilter{HostID: a.ID})
	st, _ := s.StatusLogs(ctx, a.ID, 0)
	if len(got) != 1 || got[0].ID != "r3" || len(st) != 1 || st[0].ID != "s2" {
		t.Errorf("kept %d results, %d status logs; want only the newest of each", len(got), len(st))
	}
}
