package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exechunt/exechunt/offline/simulate/agentsim"
	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/client"
	"github.com/exechunt/exechunt/orchestrator/hunts"
	"github.com/exechunt/exechunt/orchestrator/server"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/postgres"
	"github.com/exechunt/exechunt/orchestrator/targeting"
	"github.com/exechunt/exechunt/packs"
)

const pgDSNEnv = "EXECHUNT_TEST_POSTGRES_DSN"

// freshSchemaDSN returns a DSN whose search_path is a new schema, dropped when the
// test ends; it skips the test when EXECHUNT_TEST_POSTGRES_DSN is unset.
func freshSchemaDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(pgDSNEnv)
	if dsn == "" {
		t.Skip(pgDSNEnv + " is not set; skipping the replicas test, which needs PostgreSQL " +
			"(e.g. postgres://postgres@127.0.0.1:55432/exechunt_test?sslmode=disable)")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "exechunt_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", pgDSNEnv, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		conn.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// crashable is a replica's store: once crashed, the replica cannot release its
// lease any more (as when its process is killed), so the other replica has to
// wait for the lease to expire.
type crashable struct {
	store.Store
	crashed atomic.Bool
}

func (c *crashable) ReleaseLease(ctx context.Context, name, holder string) error {
	if c.crashed.Load() {
		return errors.New("crashed")
	}
	return c.Store.ReleaseLease(ctx, name, holder)
}

// switchable sends every request to the current target server (the agent "moves"
// from one replica to another behind a load balancer).
type switchable struct {
	rt     http.RoundTripper
	target atomic.Pointer[url.URL]
}

func (s *switchable) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	u := s.target.Load()
	r.URL.Scheme, r.URL.Host, r.Host = u.Scheme, u.Host, u.Host
	return s.rt.RoundTrip(r)
}

type replica struct {
	name  string
	srv   *server.Server
	hs    *httptest.Server
	st    *crashable
	api   *client.Client
	stop  context.CancelFunc
	ended chan error
}

func (r *replica) run() {
	ctx, cancel := context.WithCancel(context.Background())
	r.stop, r.ended = cancel, make(chan error, 1)
	go func() { r.ended <- r.srv.Run(ctx) }()
}

// TestReplicasSharePostgres runs two orchestrators on one PostgreSQL database:
// an agent enrolled through A answers, through B, a live query created on A, and
// A streams the rows; then the cron hunts fire on the holder of the scheduler
// lease only, and when that replica dies the other takes over within the lease's
// ttl without firing any tick twice.
func TestReplicasSharePostgres(t *testing.T) {
	dsn := freshSchemaDSN(t)
	ctx := context.Background()
	const (
		secret = "enroll-secret-for-replicas"
		admin  = "admin-token-for-replicas"
		ttl    = 2 * time.Second
	)
	pack := packs.Pack{Name: "replica-pack", Queries: []packs.Query{{Name: "one", SQL: "SELECT 1 AS one;", Snapshot: true}}}
	var reps []*replica
	for _, name := range []string{"replica-a", "replica-b"} {
		pg, err := postgres.Open(ctx, dsn, postgres.Options{MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pg.Close() })
		st := &crashable{Store: pg}
		srv, err := server.New(server.Config{Store: st, Packs: []packs.Pack{pack}, Version: "test",
			Hunts: hunts.Config{Holder: name, LeaseTTL: ttl, Poll: 100 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewTLSServer(srv.Handler())
		t.Cleanup(hs.Close)
		r := &replica{name: name, srv: srv, hs: hs, st: st, api: client.NewWithHTTPClient(hs.URL, admin, hs.Client())}
		t.Cleanup(func() {
			if r.stop != nil {
				r.stop()
				<-r.ended
			}
		})
		reps = append(reps, r)
	}
	a, b := reps[0], reps[1]
	now := time.Now()
	if err := server.SeedEnrollSecret(ctx, a.st, secret, now); err != nil {
		t.Fatal(err)
	}
	if err := server.SeedAdminToken(ctx, a.st, admin, now); err != nil {
		t.Fatal(err)
	}

	// A starts first and takes the lease; B then runs without it.
	a.run()
	waitFor(t, 5*time.Second, "replica A holds the scheduler lease", func() bool {
		l, err := a.st.Lease(ctx, hunts.LeaseName)
		return err == nil && l.Holder == "replica-a" && a.srv.Hunts().Leader()
	})
	b.run()

	// Live query: enrolled via A, created via A, answered via B, streamed via A.
	lb := &switchable{rt: a.hs.Client().Transport}
	ua, _ := url.Parse(a.hs.URL)
	ubURL, _ := url.Parse(b.hs.URL)
	lb.target.Store(ua)
	agent := agentsim.New(agentsim.Config{Server: a.hs.URL, HTTP: &http.Client{Transport: lb}, EnrollSecret: secret,
		Host: agentsim.Host{Hostname: "ws-1", UUID: "UUID-WS-1", Platform: "linux"},
		Runner: agentsim.RunnerFunc(func(ctx context.Context, sql string) ([]map[string]string, error) {
			return []map[string]string{{"answer": "42", "sql": sql}}, nil
		})})
	if err := agent.Enroll(ctx); err != nil {
		t.Fatal(err)
	}
	q, err := a.api.CreateQuery(ctx, apiv1.CreateQueryRequest{SQL: "SELECT 42 AS answer;",
		Targets: targeting.Targets{All: true}, Timeout: "60s"})
	if err != nil {
		t.Fatal(err)
	}
	type followed struct {
		rows    []apiv1.Row
		summary apiv1.Query
		err     error
	}
	fctx, fcancel := context.WithTimeout(ctx, 15*time.Second)
	defer fcancel()
	done := make(chan followed, 1)
	go func() {
		var f followed
		f.summary, f.err = a.api.Follow(fctx, q.ID, client.Events{Row: func(r apiv1.Row) { f.rows = append(f.rows, r) }})
		done <- f
	}()
	lb.target.Store(ubURL) // the load balancer now sends the agent to B
	n, err := agent.Distributed(ctx)
	if err != nil || n != 1 {
		t.Fatalf("agent polling B ran %d queries (%v), want the live query created on A", n, err)
	}
	f := <-done
	if f.err != nil {
		t.Fatalf("following the query on A: %v", f.err)
	}
	if len(f.rows) != 1 || f.rows[0].Columns["answer"] != "42" || f.rows[0].Hostname != "ws-1" ||
		f.summary.State != store.QueryDone || f.summary.Counts[store.HostOK] != 1 {
		t.Fatalf("A streamed rows %+v, summary %+v; want the row written through B", f.rows, f.summary)
	}
	d, err := a.api.Query(ctx, q.ID)
	if err != nil || len(d.Hosts) != 1 || d.Hosts[0].State != store.HostOK {
		t.Fatalf("query on A: %+v, %v", d, err)
	}

	// Hunt leadership: a hunt created on A fires every second, on A only.
	if _, err := a.api.CreateHunt(ctx, apiv1.HuntRequest{Name: "every-second", Pack: pack.Name,
		Targets: targeting.Targets{Hostnames: []string{"nobody"}}, Mode: store.ModeDispatch,
		Schedule: "* * * * * *"}); err != nil {
		t.Fatal(err)
	}
	runs := func() []store.HuntRun {
		rs, err := a.st.ListHuntRuns(ctx, store.HuntRunFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	waitFor(t, 10*time.Second, "two cron runs on the leader", func() bool { return len(runs()) >= 2 })
	if !a.srv.Hunts().Leader() || b.srv.Hunts().Leader() {
		t.Fatalf("leaders: A %v, B %v; want A only", a.srv.Hunts().Leader(), b.srv.Hunts().Leader())
	}
	if ga, gb := leaderGauge(t, a), leaderGauge(t, b); ga != 1 || gb != 0 {
		t.Fatalf("exechunt_hunt_scheduler_leader: A %v, B %v; want 1 and 0", ga, gb)
	}

	// Kill A: it stops without releasing the lease.
	a.st.crashed.Store(true)
	killed := time.Now()
	a.stop()
	<-a.ended
	a.stop = nil
	var tookOver time.Time
	waitFor(t, 3*ttl, "replica B takes the scheduler lease over", func() bool {
		l, err := b.st.Lease(ctx, hunts.LeaseName)
		if err == nil && l.Holder == "replica-b" {
			tookOver = time.Now()
			return true
		}
		return false
	})
	// How soon is a figure (logged), not an assertion: the machine may be loaded.
	t.Logf("fail-over: replica B holds the lease %v after replica A died (ttl %v)", tookOver.Sub(killed).Round(time.Millisecond), ttl)
	// (A run A left running when it died, if any, blocks the hunt until B, having
	// resumed it, marks it interrupted: at most resumeGrace, 5 s, after it started.)
	waitFor(t, 15*time.Second, "two cron runs on the new leader", func() bool {
		n := 0
		for _, r := range runs() {
			if r.ScheduledAt.After(tookOver) {
				n++
			}
		}
		return n >= 2
	})
	stopped := time.Now()
	b.stop()
	<-b.ended
	b.stop = nil

	// Every tick fired at most once across both replicas, and every run ended.
	seen := map[time.Time]int64{}
	var beforeKill, afterTakeover int
	for _, r := range runs() {
		if r.Trigger != store.TriggerSchedule {
			continue
		}
		if id, dup := seen[r.ScheduledAt]; dup {
			t.Errorf("tick %v fired twice: runs %d and %d", r.ScheduledAt, id, r.ID)
		}
		seen[r.ScheduledAt] = r.ID
		// A run in flight when its replica stopped fails (its context ended) or
		// is interrupted; every other one is done.
		inFlight := func(stop time.Time) bool {
			return r.ScheduledAt.After(stop.Add(-time.Second)) && r.ScheduledAt.Before(stop)
		}
		if r.State != store.RunDone && !inFlight(killed) && !inFlight(stopped) {
			t.Errorf("run %d (tick %v) is %s (%s), want done", r.ID, r.ScheduledAt, r.State, r.Message)
		}
		switch {
		case r.ScheduledAt.Before(killed):
			beforeKill++
		case r.ScheduledAt.After(tookOver.Add(-ttl)):
			afterTakeover++
		}
	}
	t.Logf("cron runs: %d before the kill (replica A), %d after the take-over (replica B), %d ticks in all",
		beforeKill, afterTakeover, len(seen))
	if beforeKill < 2 || afterTakeover < 2 {
		t.Errorf("runs before the kill %d, after the take-over %d; want at least 2 each", beforeKill, afterTakeover)
	}
}

// leaderGauge reads exechunt_hunt_scheduler_leader from a replica's /metrics.
func leaderGauge(t *testing.T, r *replica) float64 {
	t.Helper()
	mfs, err := r.srv.Metrics().Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "exechunt_hunt_scheduler_leader" && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("%s: no exechunt_hunt_scheduler_leader gauge", r.name)
	return -1
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
