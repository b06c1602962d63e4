package forward_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/internal/forwardtest"
	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/forward"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
)

func openStore(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func waitFor(t *testing.T, what string, cond func() bool) { forwardtest.WaitFor(t, what, cond) }

func anomaly(id string, rank float64) apiv1.Anomaly {
	return apiv1.Anomaly{ID: id, Rank: rank, Technique: "T1059.001", Severity: "high", State: apiv1.TriageOpen,
		Hosts: []string{"ws-01", "ws-02"}, Stack: apiv1.Stack{Query: "execution/office_child",
			Values: map[string]string{"parent_name": "winword.exe", "name": "powershell.exe"}, HostCount: 2}}
}

// start runs a forwarder over st with short backoffs until the test ends, and
// waits until it holds the lease.
func start(t *testing.T, st store.Store, urls ...string) (*forward.Forwarder, context.CancelFunc) {
	t.Helper()
	dests, err := forward.ParseAll(urls, forward.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := forward.New(forward.Config{Store: st, Destinations: dests, Holder: "test", Poll: 20 * time.Millisecond,
		Backoff: forward.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the forward lease", f.Leader)
	return f, func() { cancel(); <-done }
}

func TestWebhookSignedAndInOrderAfterOutage(t *testing.T) {
	r := forwardtest.NewReceiver(t)
	st := openStore(t, filepath.Join(t.TempDir(), "x.db"))
	defer st.Close()
	f, _ := start(t, st, r.URL(forwardtest.SecretFile(t), ""))
	ctx := context.Background()
	if err := f.Observe(ctx, []apiv1.Anomaly{anomaly("a1", 0.6)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first delivery", func() bool { return len(r.IDs()) == 1 })
	// The receiver goes down; events queue up and are retried.
	r.Down.Store(true)
	var list []apiv1.Anomaly
	want := []string{"a1"}
	for _, id := range []string{"a2", "a3", "a4", "a5"} {
		list = append(list, anomaly(id, 0.7))
		want = append(want, id)
		if err := f.Observe(ctx, list); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a retried failure", func() bool {
		s, err := f.Status(ctx)
		return err == nil && len(s) == 1 && s[0].Retrying > 0
	})
	r.Down.Store(false)
	waitFor(t, "everything after the outage", func() bool { return len(r.IDs()) == len(want) })
	if got := strings.Join(r.IDs(), " "); got != strings.Join(want, " ") {
		t.Fatalf("received %s, want %s in order", got, strings.Join(want, " "))
	}
	if bad := r.Refused(); len(bad) > 0 {
		t.Fatalf("requests refused: %v", bad)
	}
	s, err := f.Status(ctx)
	if err != nil || s[0].Delivered != 5 || s[0].Queued != 0 || s[0].Dead != 0 {
		t.Fatalf("status = %+v, %v", s, err)
	}
	// Observing the same assessment again sends nothing new; a rise in rank does.
	if err := f.Observe(ctx, append(list, anomaly("a1", 0.85))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rank rise", func() bool { return len(r.IDs()) == 6 })
	last := r.Events()[5]
	if last.Event != apiv1.EventAnomalyRankRaised || last.PreviousRank != 0.6 || last.Anomaly.ID != "a1" {
		t.Fatalf("last event = %+v, want a1 rank raised from 0.6", last)
	}
}

func TestWrongSecretIsRefusedAndDeadLettered(t *testing.T) {
	r := forwardtest.NewReceiver(t)
	st := openStore(t, filepath.Join(t.TempDir(), "x.db"))
	defer st.Close()
	wrong := filepath.Join(t.TempDir(), "wrong")
	os.WriteFile(wrong, []byte("another-secret-of-16-bytes"), 0o600)
	dests, err := forward.ParseAll([]string{r.URL(wrong, "")}, forward.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := forward.New(forward.Config{Store: st, Destinations: dests, Holder: "test", Poll: 20 * time.Millisecond,
		Backoff: forward.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}, MaxAttempts: 3})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.Run(ctx)
	waitFor(t, "the forward lease", f.Leader)
	if err := f.Triaged(ctx, anomaly("a1", 0.9), "alice"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the dead letter", func() bool {
		s, err := f.Status(ctx)
		return err == nil && len(s) == 1 && s[0].Dead == 1
	})
	if len(r.IDs()) != 0 {
		t.Fatalf("a request signed with the wrong secret was accepted")
	}
}

// A forwarder stopped with a queue pending (the receiver down) leaves it in the
// store; one started again on the same database delivers all of it, in order.
func TestQueueSurvivesRestart(t *testing.T) {
	r := forwardtest.NewReceiver(t)
	db := filepath.Join(t.TempDir(), "x.db")
	sf := forwardtest.SecretFile(t)
	st := openStore(t, db)
	r.Down.Store(true)
	f, stop := start(t, st, r.URL(sf, ""))
	ctx := context.Background()
	var list []apiv1.Anomaly
	for _, id := range []string{"b1", "b2", "b3"} {
		list = append(list, anomaly(id, 0.7))
	}
	if err := f.Observe(ctx, list); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a failed try", func() bool {
		s, err := f.Status(ctx)
		return err == nil && len(s) == 1 && s[0].Retrying == 3
	})
	stop()
	st.Close()
	r.Down.Store(false)
	st = openStore(t, db)
	defer st.Close()
	f, _ = start(t, st, r.URL(sf, ""))
	waitFor(t, "the queue after the restart", func() bool { return len(r.IDs()) == 3 })
	if got := strings.Join(r.IDs(), " "); got != "b1 b2 b3" {
		t.Fatalf("received %s after the restart, want b1 b2 b3", got)
	}
	// The restarted forwarder observes the same anomalies: nothing is sent twice.
	if err := f.Observe(ctx, list); err != nil {
		t.Fatal(err)
	}
	s, _ := f.Status(ctx)
	if s[0].Queued != 0 || s[0].Delivered != 3 {
		t.Fatalf("status after observing again = %+v", s[0])
	}
}

func TestFileDestination(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "x.db"))
	defer st.Close()
	path := filepath.Join(t.TempDir(), "anomalies.jsonl")
	f, _ := start(t, st, "file://"+path+"?min_rank=0.5&packs=execution")
	low, other := anomaly("low", 0.2), anomaly("other", 0.9)
	other.Query, other.Queries = "persistence/run_keys", []string{"persistence/run_keys"}
	if err := f.Observe(context.Background(), []apiv1.Anomaly{low, other, anomaly("f1", 0.8)}); err != nil {
		t.Fatal(err)
	}
	var lines []string
	waitFor(t, "the file line", func() bool {
		b, _ := os.ReadFile(path)
		lines = strings.Split(strings.TrimSpace(string(b)), "\n")
		return len(b) > 0
	})
	var ev apiv1.ForwardEvent
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &ev) != nil || ev.Anomaly.ID != "f1" ||
		ev.Event != apiv1.EventAnomalyOpened {
		t.Fatalf("file holds %q, want one anomaly.opened line for f1 (min_rank and packs filter the others)", lines)
	}
}

func TestParseErrors(t *testing.T) {
	sf := forwardtest.SecretFile(t)
	for _, tc := range []struct{ url, want string }{
		{"ftp://x/y", "unknown scheme"},
		{"https://siem.example/hook", "needs an HMAC secret"},
		{"https://siem.example/hook?secret_file=/nonexistent", "secret_file"},
		{"https://siem.example/hook?secret_file=" + sf + "&bogus=1", `unknown option "bogus"`},
		{"https://siem.example/hook?secret_file=" + sf + "&min_rank=2", "min_rank"},
		{"https://siem.example/hook?secret_file=" + sf + "&events=results", "not supported yet"},
		{"https://user:pw@siem.example/hook", "credentials"},
		{"syslog+tcp://127.0.0.1", "host:port"},
		{"file://relative.jsonl", "absolute"},
		{"file:///nonexistent-dir/x.jsonl", "does not exist"},
	} {
		_, err := forward.Parse(tc.url, forward.Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) = %v, want an error with %q", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("Parse(%s) error shows the password: %v", tc.url, err)
		}
	}
	if _, err := forward.ParseAll([]string{"file:///tmp/a.jsonl", "file:///tmp/a.jsonl?max_files=2"}, forward.Options{}); err == nil ||
		!strings.Contains(err.Error(), "given twice") {
		t.Errorf("ParseAll of one destination twice = %v", err)
	}
}

func TestBackoffGrowsToItsCap(t *testing.T) {
	b := forward.Backoff{Initial: time.Second, Max: 8 * time.Second}
	var got []time.Duration
	for i := 1; i <= 6; i++ {
		got = append(got, b.Wait(i))
	}
	want := []time.Duration{1, 2, 4, 8, 8, 8}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("waits = %v, want 1s 2s 4s 8s 8s 8s", got)
		}
	}
	j := forward.Backoff{Initial: time.Second, Max: time.Minute, Jitter: 0.2}
	for range 50 {
		if w := j.Wait(3); w < 3600*time.Millisecond || w > 4400*time.Millisecond {
			t.Fatalf("jittered wait %v outside 4s ±10%%", w)
		}
	}
}

// Two replicas on one store: only the lease holder delivers; when it stops,
// the other takes the lease over and delivers what was queued since.
func TestOneReplicaDeliversAndFailsOver(t *testing.T) {
	r := forwardtest.NewReceiver(t)
	st := openStore(t, filepath.Join(t.TempDir(), "x.db"))
	defer st.Close()
	url := r.URL(forwardtest.SecretFile(t), "")
	replica := func(holder string) (*forward.Forwarder, context.CancelFunc) {
		dests, err := forward.ParseAll([]string{url}, forward.Options{})
		if err != nil {
			t.Fatal(err)
		}
		f := forward.New(forward.Config{Store: st, Destinations: dests, Holder: holder, Poll: 20 * time.Millisecond,
			LeaseTTL: 10 * time.Second, Backoff: forward.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); f.Run(ctx) }()
		stop := func() { cancel(); <-done }
		t.Cleanup(stop)
		return f, stop
	}
	a, stopA := replica("a")
	waitFor(t, "a to hold the lease", a.Leader)
	b, _ := replica("b")
	ctx := context.Background()
	// b is not the holder: what it observes is not its to enqueue, and it
	// delivers nothing; a delivers what a triage on b queued.
	if err := b.Observe(ctx, []apiv1.Anomaly{anomaly("ignored", 0.9)}); err != nil {
		t.Fatal(err)
	}
	if err := b.Triaged(ctx, anomaly("t1", 0.9), "bob"); err != nil {
		t.Fatal(err)
	}
	if err := a.Observe(ctx, []apiv1.Anomaly{anomaly("o1", 0.9)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a's deliveries", func() bool { return len(r.IDs()) == 2 })
	if b.Leader() {
		t.Fatal("both replicas hold the lease")
	}
	stopA() // a graceful stop gives the lease up
	waitFor(t, "b to take the lease over", b.Leader)
	if err := b.Observe(ctx, []apiv1.Anomaly{anomaly("o1", 0.9), anomaly("o2", 0.9)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b's delivery", func() bool { return len(r.IDs()) == 3 })
	if got := strings.Join(r.IDs(), " "); got != "t1 o1 o2" {
		t.Fatalf("received %s, want t1 o1 o2 (o1 once: its key was queued by a)", got)
	}
}

// TestFileRotation: the file destination rotates by size and keeps max_files
// rotated files besides the current one.
func TestFileRotation(t *testing.T) {
	dir := t.TempDir()
	d, err := forward.Parse("file://"+filepath.Join(dir, "a.jsonl")+"?max_size_mb=1&max_files=2", forward.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Sink.Close()
	line := []byte(`{"pad":"` + strings.Repeat("x", 300<<10) + `"}`)
	for range 12 { // 3.6 MB: three rotations
		if err := d.Sink.Deliver(context.Background(), [][]byte{line}); err != nil {
			t.Fatal(err)
		}
	}
	files := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, "a*.jsonl"))
		return m
	}
	waitFor(t, "old rotated files removed", func() bool { return len(files()) == 3 })
	for _, f := range files() {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 1<<20 {
			t.Errorf("%s: %d bytes, over max_size_mb", f, st.Size())
		}
	}
}
