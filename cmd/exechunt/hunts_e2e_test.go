package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/offline/simulate"
	"github.com/exechunt/exechunt/offline/simulate/agentsim"
	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/client"
	"github.com/exechunt/exechunt/orchestrator/hunts"
	"github.com/exechunt/exechunt/orchestrator/scheduler"
	"github.com/exechunt/exechunt/orchestrator/server"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
	"github.com/exechunt/exechunt/orchestrator/targeting"
	"github.com/exechunt/exechunt/packs"
)

// logEvents forwards log messages, so the test waits for "hunt run ended"
// without sleeping.
type logEvents struct{ ch chan string }

func (e logEvents) Enabled(context.Context, slog.Level) bool { return true }
func (e logEvents) Handle(_ context.Context, r slog.Record) error {
	if !strings.HasPrefix(r.Message, "hunt run") {
		return nil
	}
	select {
	case e.ch <- r.Message:
	default:
	}
	return nil
}
func (e logEvents) WithAttrs([]slog.Attr) slog.Handler { return e }
func (e logEvents) WithGroup(string) slog.Handler      { return e }

// runHunt starts a run of hunt, lets every agent answer its queries and waits
// for the run to end (logged on logs).
func runHunt(ctx context.Context, t *testing.T, api *client.Client, logs chan string, hunt string, agents ...*agentsim.Agent) apiv1.HuntRunDetail {
	t.Helper()
	r, err := api.RunHunt(ctx, hunt)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		if _, err := a.Distributed(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitMessage(t, logs, "hunt run ended")
	d, err := api.HuntRun(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func waitMessage(t *testing.T, ch chan string, want string) {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case m := <-ch:
			if m == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %q logged", want)
		}
	}
}

const huntSQL = "SELECT time, computer, name, cmdline, evidence FROM process_creation_events WHERE score >= 50"

type simHost struct {
	agent  *agentsim.Agent
	runner *simulate.Runner
	name   string
	times  []int64 // event times of the hunt query's rows
}

// TestHuntsEndToEnd runs the orchestrator in-process (SQLite store, a fake clock)
// with simulated agents that answer with the offline engine over corpus Sysmon
// files: two dispatch runs of the execution-basics query collect real rows whose
// time windows neither miss nor double a row, and the default push reaches the
// Windows hosts' config and comes back as result logs attributed to its hunt.
func TestHuntsEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Pick two Sysmon files whose high-score process creations span more than one time.
	var hosts []*simHost
	for _, f := range sysmonFilesAll(t) {
		if len(hosts) == 2 {
			break
		}
		r, err := simulate.NewRunner([]string{f}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := r.Run(ctx, huntSQL)
		if err != nil {
			t.Fatal(err)
		}
		var times []int64
		for _, row := range rows {
			n, _ := strconv.ParseInt(row["time"], 10, 64)
			times = append(times, n)
		}
		slices.Sort(times)
		if len(times) < 2 || times[0] == times[len(times)-1] {
			r.Close()
			continue
		}
		t.Cleanup(func() { r.Close() })
		hosts = append(hosts, &simHost{runner: r, name: strings.TrimSuffix(filepath.Base(f), ".evtx"), times: times})
	}
	if len(hosts) < 2 {
		t.Skip("the corpus has fewer than two Sysmon files with high-score process creations")
	}
	var everything []int64
	for _, h := range hosts {
		everything = append(everything, h.times...)
	}
	slices.Sort(everything)
	t1 := time.Unix(everything[len(everything)/2], 0).UTC()   // run 1: events up to the median
	t2 := time.Unix(everything[len(everything)-1]+1, 0).UTC() // run 2: the rest

	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "exechunt.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := scheduler.NewFakeClock(t1)
	const secret, token = "enroll-secret", "admin-token"
	if err := server.SeedEnrollSecret(ctx, st, secret, t1); err != nil {
		t.Fatal(err)
	}
	if err := server.SeedAdminToken(ctx, st, token, t1); err != nil {
		t.Fatal(err)
	}
	ps, err := packs.Load(packs.FS)
	if err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 1024)
	srv, err := server.New(server.Config{Store: st, Packs: ps, Clock: clock, Log: slog.New(logEvents{logs}),
		Hunts: hunts.Config{MaxLookback: 100 * 365 * 24 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := srv.Hunts().Seed(ctx); err != nil || n != 3 {
		t.Fatalf("seed: %d, %v", n, err)
	}
	ts := httptest.NewTLSServer(srv.Handler())
	defer ts.Close()
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- srv.Run(runCtx) }()
	defer func() { stopRun(); <-runDone }()

	api := client.NewWithHTTPClient(ts.URL, token, ts.Client())
	linux := agentsim.New(agentsim.Config{Server: ts.URL, HTTP: ts.Client(), EnrollSecret: secret,
		Host: agentsim.Host{Hostname: "lin1", UUID: "SIM-LIN", Platform: "linux"}})
	for i, h := range hosts {
		h.agent = agentsim.New(agentsim.Config{Server: ts.URL, HTTP: ts.Client(), EnrollSecret: secret,
			Host:   agentsim.Host{Hostname: h.name, UUID: "SIM-WIN-" + strconv.Itoa(i), Platform: "windows"},
			Runner: h.runner})
	}
	agents := []*agentsim.Agent{hosts[0].agent, hosts[1].agent, linux}
	for _, a := range agents {
		if err := a.Enroll(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// The built-in hourly hunt would also fire when the fake clock jumps years ahead:
	// disable it (through the API) so the runs below are the only ones.
	off := false
	if _, err := api.UpdateHunt(ctx, "execution-basics", apiv1.HuntRequest{Pack: "execution-basics",
		Targets: targeting.Targets{All: true}, Mode: store.ModeDispatch, Schedule: "0 * * * *", Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	// The hunt: the execution-basics process query, windowed, every 10 years so the
	// first window reaches back over the whole corpus.
	if _, err := api.CreateHunt(ctx, apiv1.HuntRequest{Name: "window-check", Pack: "execution-basics",
		Queries: []string{"high_score_process_creations"}, Targets: targeting.Targets{All: true},
		Mode: store.ModeDispatch, Schedule: "@every 87600h"}); err != nil {
		t.Fatal(err)
	}
	runOnce := func(at time.Time) apiv1.HuntRunDetail {
		t.Helper()
		clock.Set(at)
		return runHunt(ctx, t, api, logs, "window-check", agents...)
	}
	rowsOf := func(id int64) map[string][]string {
		t.Helper()
		out := map[string][]string{}
		for off := 0; ; {
			page, err := api.RunRows(ctx, id, "", off, 7) // small pages: paging is exercised
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Rows {
				if r.Query != "high_score_process_creations" || r.Columns["evidence"] == "" {
					t.Fatalf("row %+v", r)
				}
				out[r.Hostname] = append(out[r.Hostname], r.Columns["time"]+" "+r.Columns["evidence"])
			}
			if page.NextOffset == nil {
				return out
			}
			off = *page.NextOffset
		}
	}
	d1 := runOnce(t1)
	d2 := runOnce(t2)
	for i, d := range []apiv1.HuntRunDetail{d1, d2} {
		if d.Run.State != store.RunDone || d.Run.HostsTargeted != 3 || d.Run.HostsResponded != 3 || d.Run.Rows == 0 {
			t.Errorf("run %d = %+v", i+1, d.Run)
		}
		for _, q := range d.Queries {
			if q.WindowStart == nil {
				t.Errorf("run %d: query %s is not windowed", i+1, q.Query)
			}
		}
	}
	if len(d2.Queries) != 1 || !d2.Queries[0].WindowStart.Equal(t1) {
		t.Errorf("run 2 windows = %+v, want one starting at %v (every host answered run 1)", d2.Queries, t1)
	}
	r1, r2 := rowsOf(d1.Run.ID), rowsOf(d2.Run.ID)
	total := 0
	for _, h := range hosts {
		var want1, want2 int
		for _, tm := range h.times {
			if tm <= t1.Unix() {
				want1++
			} else {
				want2++
			}
		}
		if len(r1[h.name]) != want1 || len(r2[h.name]) != want2 {
			t.Errorf("%s: %d + %d rows, want %d + %d", h.name, len(r1[h.name]), len(r2[h.name]), want1, want2)
		}
		for _, k := range r2[h.name] {
			if slices.Contains(r1[h.name], k) {
				t.Errorf("%s: row %s in both runs", h.name, k)
			}
		}
		total += len(r1[h.name]) + len(r2[h.name])
	}
	if total != len(everything) {
		t.Errorf("%d rows over both runs, want %d", total, len(everything))
	}
	t.Logf("run 1: %d rows, run 2: %d rows from %d hosts (windows split at %v)", d1.Run.Rows, d2.Run.Rows, len(hosts), t1)

	// The default push: in the Windows hosts' config only.
	push := hunts.ScheduleName(packs.DefaultPushPack, "rare_parent_child_live")
	for _, a := range agents {
		cfg, err := a.Config(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ps, _ := cfg["packs"].(map[string]any)
		_, has := ps[packs.DefaultPushPack]
		if want := a != linux; has != want {
			t.Errorf("config packs = %v (default push present: %v, want %v)", ps, has, want)
		}
	}
	lineage, err := hosts[0].runner.Run(ctx, "SELECT pid, name, parent_name FROM process_lineage LIMIT 5")
	if err != nil || len(lineage) == 0 {
		t.Fatalf("lineage rows: %d, %v", len(lineage), err)
	}
	logger := agentsim.New(agentsim.Config{Server: ts.URL, HTTP: ts.Client(), EnrollSecret: secret,
		Host:        agentsim.Host{Hostname: hosts[0].name, UUID: "SIM-WIN-0", Platform: "windows"},
		ResultLines: agentsim.EventLines(push, lineage)})
	if err := logger.Enroll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := logger.Log(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := api.HuntResults(ctx, packs.DefaultPushPack, "", 100)
	if err != nil || len(res.Rows) != len(lineage) || res.Rows[0].Query != "rare_parent_child_live" ||
		res.Rows[0].Hostname != hosts[0].name || res.Rows[0].Columns["name"] == "" {
		t.Errorf("push results = %+v, %v", res, err)
	}

	// The CLI: exechunt hunts lists the schedule in words and the next runs.
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600)
	var out bytes.Buffer
	root := newRootCmd()
	root.SetArgs([]string{"hunts", "--server", ts.URL, "--token", token, "--ca-file", caFile})
	root.SetOut(&out)
	root.SetErr(&out)
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("exechunt hunts: %v\n%s", err, out.String())
	}
	for _, want := range []string{"execution-basics", "every hour, UTC", "default-push", "pushed: osquery runs it every hour",
		"window-check", "every 3650 days", "(disabled)", "#" + strconv.FormatInt(d2.Run.ID, 10) + " done"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("exechunt hunts output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	root = newRootCmd()
	root.SetArgs([]string{"hunts", "runs", "window-check", "--server", ts.URL, "--token", token, "--ca-file", caFile})
	root.SetOut(&out)
	if err := root.ExecuteContext(ctx); err != nil || strings.Count(out.String(), "window-check") != 2 {
		t.Errorf("exechunt hunts runs: %v\n%s", err, out.String())
	}
}

// sysmonFilesAll returns every Sysmon EVTX file of the corpus, sorted.
func sysmonFilesAll(t *testing.T) []string {
	dir, ok := corpus.Dir()
	if !ok {
		t.Skip(corpus.SkipMessage)
	}
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && strings.HasSuffix(strings.ToLower(p), ".evtx") &&
			strings.Contains(strings.ToLower(p), "sysmon") {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}
