package main

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exechunt/exechunt/offline/simulate/agentsim"
	"github.com/exechunt/exechunt/orchestrator/server"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
	"github.com/exechunt/exechunt/packs"
)

// testFleet is an orchestrator served in-process (SQLite, the built-in packs and
// hunts) with simulated agents polling it, for running CLI commands against.
type testFleet struct {
	api []string // --server, --token and --ca-file of its admin token
}

// newTestFleet starts the orchestrator and one agent per runner, named host-1 …,
// which answer live queries with their runner; it waits until they are enrolled.
func newTestFleet(t *testing.T, runners ...agentsim.Runner) *testFleet {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "exechunt.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const secret, token = "enroll-secret", "admin-token"
	now := time.Now()
	if err := server.SeedEnrollSecret(ctx, st, secret, now); err != nil {
		t.Fatal(err)
	}
	if err := server.SeedAdminToken(ctx, st, token, now); err != nil {
		t.Fatal(err)
	}
	ps, err := packs.Load(packs.FS)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Store: st, Packs: ps, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Hunts().Seed(ctx); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(srv.Handler())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); srv.Run(ctx) }()
	for i, r := range runners {
		a := agentsim.New(agentsim.Config{Server: ts.URL, HTTP: ts.Client(), EnrollSecret: secret,
			Host:   agentsim.Host{Hostname: fmt.Sprintf("host-%d", i+1), UUID: fmt.Sprintf("UUID-%d", i+1), Platform: "linux"},
			Runner: r, DistributedInterval: 100 * time.Millisecond, LogInterval: time.Hour})
		if err := a.Enroll(ctx); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); a.Run(ctx) }()
	}
	t.Cleanup(func() {
		cancel()
		ts.Close()
		wg.Wait()
		st.Close()
	})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &testFleet{api: []string{"--server", ts.URL, "--token", token, "--ca-file", caFile}}
}

// run runs the CLI with args and the fleet's API flags, returning stdout, stderr
// and the exit status.
func (f *testFleet) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runCLIErr(t, append(args, f.api...)...)
}

// sqlErrorRunner answers every query with the error an agent sends for bad SQL
// (several lines: the message, the SQL, a caret).
var sqlErrorRunner = agentsim.RunnerFunc(func(context.Context, string) ([]map[string]string, error) {
	return nil, errors.New("near \"selec\": syntax error\n    selec 1 frm x\n    ^")
})

// rowRunner answers every query with one row.
func rowRunner(row map[string]string) agentsim.Runner {
	return agentsim.RunnerFunc(func(context.Context, string) ([]map[string]string, error) {
		return []map[string]string{row}, nil
	})
}

// TestFleetTypos checks that a typo in a fleet command fails with a message that
// names the bad value, instead of reading as "nothing found" with exit 0.
func TestFleetTypos(t *testing.T) {
	f := newTestFleet(t, sqlErrorRunner, sqlErrorRunner, sqlErrorRunner)
	for _, tc := range []struct {
		name string
		args []string
		want []string // in stderr
	}{
		{"unknown hostname", []string{"query", "--hosts", "host-1,no-such-host", "SELECT 1"},
			[]string{`no enrolled host is named "no-such-host"`}},
		{"platform without hosts", []string{"query", "--hosts", "windows", "SELECT 1"},
			[]string{"the targets (windows) select no enrolled host"}},
		{"unknown host id", []string{"query", "--hosts", "99", "SELECT 1"}, []string{"unknown host id 99"}},
		{"bad SQL on every host", []string{"query", "selec 1 frm x"},
			[]string{`error on 3 hosts (host-`, `near "selec": syntax error` + "\n        selec 1 frm x\n        ^\n",
				"no host answered it (error 3)"}},
		{"unknown hunt", []string{"hunts", "run", "nope"}, []string{`no hunt "nope"`}},
		{"runs of an unknown hunt", []string{"hunts", "runs", "nope"}, []string{`no hunt "nope"`}},
		{"unknown run", []string{"hunts", "show", "999"}, []string{"no run 999"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := f.run(t, tc.args...)
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if n := strings.Count(stderr, "syntax error"); n > 1 {
				t.Errorf("the same error printed %d times, want once:\n%s", n, stderr)
			}
		})
	}
}

// TestHuntsRunDisabled: starting a disabled hunt says so, naming it (it was an
// "internal error").
func TestHuntsRunDisabled(t *testing.T) {
	f := newTestFleet(t)
	def := filepath.Join(t.TempDir(), "hunt.json")
	os.WriteFile(def, []byte(`{"name": "off", "pack": "execution-basics", "targets": {"all": true},
		"mode": "dispatch", "schedule": "0 * * * *", "enabled": false}`), 0o600)
	if out, stderr, code := f.run(t, "hunts", "create", def); code != 0 {
		t.Fatalf("hunts create: exit %d\n%s%s", code, out, stderr)
	}
	_, stderr, code := f.run(t, "hunts", "run", "off")
	if code != 1 || !strings.Contains(stderr, `hunt "off" is disabled: enable it to run it (HTTP 409)`) {
		t.Errorf("exit %d, %s", code, stderr)
	}
}

// TestQueryColumnsInSelectOrder checks that live query rows, which come as JSON
// objects, are printed with their columns in the order of the SELECT.
func TestQueryColumnsInSelectOrder(t *testing.T) {
	f := newTestFleet(t, rowRunner(map[string]string{"pid": "42", "name": "bash", "cmdline": "bash -i"}))
	for _, format := range []string{"table", "csv"} {
		out, stderr, code := f.run(t, "query", "--format", format, "SELECT pid, name, cmdline FROM processes")
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", format, code, stderr)
		}
		head := strings.Fields(strings.ToLower(strings.ReplaceAll(strings.SplitN(out, "\n", 2)[0], ",", " ")))
		if want := []string{"host", "pid", "name", "cmdline"}; strings.Join(head, " ") != strings.Join(want, " ") {
			t.Errorf("%s header %q, want %q", format, head, want)
		}
	}
}

// TestHuntsShowCounts: hunts show prints a run's per-state host counts as words
// ("ok 1"), not as a Go map.
func TestHuntsShowCounts(t *testing.T) {
	f := newTestFleet(t, rowRunner(map[string]string{"time": "1", "name": "bash", "cmdline": "bash -i"}))
	out, stderr, code := f.run(t, "hunts", "run", "execution-basics", "--wait", "1m")
	if code != 0 || !strings.Contains(out, " done") {
		t.Fatalf("hunts run: exit %d\n%s%s", code, out, stderr)
	}
	id := strings.Fields(strings.Split(out, "\n")[1])[0]
	out, stderr, code = f.run(t, "hunts", "show", id)
	if code != 0 || !strings.Contains(out, "ok 1") || strings.Contains(out, "map[") {
		t.Errorf("hunts show %s: exit %d\n%s%s", id, code, out, stderr)
	}
}
