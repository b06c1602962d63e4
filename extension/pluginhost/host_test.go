//go:build !windows

package pluginhost_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/osquery/osquery-go/plugin/table"
	"go.uber.org/goleak"

	"github.com/exechunt/exechunt/extension/pluginhost"
	"github.com/exechunt/exechunt/extension/pluginsdk"
	"github.com/exechunt/exechunt/tables/tablekit"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[string]string{}
)

// fixture builds testdata/fixture with the given -X main.var=value settings
// (once per variant) and returns its spec.
func fixture(t testing.TB, settings ...string) pluginhost.Spec {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs plugin processes; skipped with -short")
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	key := strings.Join(settings, " ")
	path, ok := built[key]
	if !ok {
		if buildDir == "" {
			d, err := os.MkdirTemp("", "pluginhost-test")
			if err != nil {
				t.Fatal(err)
			}
			buildDir = d
		}
		path = filepath.Join(buildDir, fmt.Sprintf("fixture%d", len(built)))
		var ldflags []string
		for _, s := range settings {
			ldflags = append(ldflags, "-X main."+s)
		}
		cmd := exec.Command("go", "build", "-ldflags", strings.Join(ldflags, " "), "-o", path, "./testdata/fixture")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build fixture: %v\n%s", err, out)
		}
		built[key] = path
	}
	sum, err := pluginhost.FileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	return pluginhost.Spec{Path: path, SHA256: sum}
}

// logs collects the host's log for the test's failure output and assertions.
type logs struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func start(t *testing.T, specs []pluginhost.Spec, o pluginhost.Options) (*pluginhost.Host, error) {
	t.Helper()
	l := &logs{}
	o.Logger = slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := pluginhost.Start(ctx, specs, o)
	t.Cleanup(func() {
		h.Close()
		if t.Failed() {
			t.Logf("host log:\n%s", l.String())
		}
	})
	return h, err
}

func words(ws ...string) table.QueryContext {
	var cs []table.Constraint
	for _, w := range ws {
		cs = append(cs, table.Constraint{Operator: table.OperatorEquals, Expression: w})
	}
	return table.QueryContext{Constraints: map[string]table.ConstraintList{"word": {Affinity: table.ColumnTypeText, Constraints: cs}}}
}

func TestStartAndGenerate(t *testing.T) {
	t.Setenv("EXECHUNT_TEST_SECRET", "hunter2")
	h, err := start(t, []pluginhost.Spec{fixture(t)}, pluginhost.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tables := h.Tables()
	if len(tables) != 1 || tables[0].Name != "fixture_echo" || tables[0].Description != "echoes each word = constraint" ||
		len(tables[0].Columns) != 3 || !tables[0].Columns[0].Index {
		t.Fatalf("tables = %+v", tables)
	}
	rows, err := tables[0].Generate(context.Background(), words("env", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0]["word"] != "env" || rows[1]["word"] != "b" || rows[0]["pid"] == "" {
		t.Fatalf("rows = %v", rows)
	}
	// No environment reaches the plugin but go-plugin's own variables.
	for _, kv := range strings.Split(rows[0]["env"], "\n") {
		if strings.Contains(kv, "hunter2") || strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "HOME=") {
			t.Errorf("host environment leaked into the plugin: %q", kv)
		}
	}
	if !strings.Contains(rows[0]["env"], "PLUGIN_CLIENT_CERT=") {
		t.Errorf("AutoMTLS is off: no PLUGIN_CLIENT_CERT in the plugin's environment")
	}
	pid, _ := strconv.Atoi(rows[0]["pid"])
	h.Close()
	if _, err := tables[0].Generate(context.Background(), words("a")); !errors.Is(err, pluginsdk.ErrUnavailable) {
		t.Errorf("after Close: %v", err)
	}
	if processAlive(pid) {
		t.Errorf("plugin process %d still runs after Close", pid)
	}
}

func TestWrongChecksum(t *testing.T) {
	good := fixture(t)
	bad := good
	bad.SHA256 = strings.Repeat("0", 64)
	h, err := start(t, []pluginhost.Spec{bad}, pluginhost.Options{})
	var le *pluginhost.LoadError
	if !errors.As(err, &le) || le.Path != bad.Path || !strings.Contains(err.Error(), "SHA-256 does not match") {
		t.Errorf("err = %v", err)
	}
	if len(h.Tables()) != 0 {
		t.Errorf("tables = %v", h.Names())
	}
}

func TestRefusedPlugins(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec func(t *testing.T) pluginhost.Spec
		want string
	}{
		{"relative path", func(*testing.T) pluginhost.Spec {
			return pluginhost.Spec{Path: "plugins/x", SHA256: strings.Repeat("a", 64)}
		}, "must be absolute"},
		{"missing", func(*testing.T) pluginhost.Spec {
			return pluginhost.Spec{Path: filepath.Join(t.TempDir(), "nope"), SHA256: strings.Repeat("a", 64)}
		}, "no such file"},
		{"newer protocol", func(t *testing.T) pluginhost.Spec { return fixture(t, "protocol=2") },
			"another exechunt plugin protocol version than this host (1)"},
		{"not a plugin", func(t *testing.T) pluginhost.Spec {
			p := filepath.Join(t.TempDir(), "notaplugin")
			if err := os.WriteFile(p, []byte("#!/bin/sh\necho hello\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			sum, _ := pluginhost.FileSHA256(p)
			return pluginhost.Spec{Path: p, SHA256: sum}
		}, "not started"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec(t)
			h, err := start(t, []pluginhost.Spec{spec}, pluginhost.Options{StartTimeout: 5 * time.Second})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
			if len(h.Tables()) != 0 {
				t.Errorf("tables = %v", h.Names())
			}
		})
	}
}

// A table named like a built-in table or like a table of an earlier plugin is
// refused; the other plugins are served.
func TestNameClash(t *testing.T) {
	echo := fixture(t)
	other := fixture(t, "tableName=other_echo")
	h, err := start(t, []pluginhost.Spec{echo, other, echo}, pluginhost.Options{Reserved: []string{"other_echo"}})
	if !errors.Is(err, pluginhost.ErrNameClash) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "other_echo is a built-in table") || !strings.Contains(msg, "fixture_echo is served by plugin "+echo.Path) {
		t.Errorf("err = %v", err)
	}
	if got := h.Names(); len(got) != 1 || got[0] != "fixture_echo" {
		t.Errorf("tables = %v", got)
	}
	if _, err := h.Tables()[0].Generate(context.Background(), words("x")); err != nil {
		t.Error(err)
	}
}

// A call that outlives the plugin call timeout fails with a deadline error; the
// plugin itself is healthy and keeps serving.
func TestCallTimeout(t *testing.T) {
	spec := fixture(t)
	h, err := start(t, []pluginhost.Spec{spec}, pluginhost.Options{
		Timeouts: map[string]time.Duration{spec.Path: 200 * time.Millisecond}, HealthInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	tb := h.Tables()[0]
	// The call ends on the plugin timeout, not on the caller's context (which is
	// only a hang guard here).
	guard, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = tb.Generate(guard, words("sleep"))
	if !errors.Is(err, pluginsdk.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "plugin call timeout 200ms") {
		t.Errorf("err = %v", err)
	}
	if guard.Err() != nil {
		t.Error("the call ended on the hang guard, not on the plugin timeout")
	}
	time.Sleep(200 * time.Millisecond) // a few health checks
	rows, err := tb.Generate(context.Background(), words("a"))
	if err != nil || len(rows) != 1 {
		t.Errorf("after a timeout: %v %v", rows, err)
	}
}

// Killing the plugin mid-query fails the query with ErrUnavailable; the table
// fails at once while the plugin is down, and works again after the restart.
func TestRestartAfterKill(t *testing.T) {
	h, err := start(t, []pluginhost.Spec{fixture(t)}, pluginhost.Options{MinBackoff: 500 * time.Millisecond, HealthInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	tb := h.Tables()[0]
	pid := pidOf(t, tb)

	errc := make(chan error, 1)
	go func() {
		_, err := tb.Generate(context.Background(), words("wait 30s"))
		errc <- err
	}()
	time.Sleep(300 * time.Millisecond) // the call reaches the plugin
	kill(t, pid)
	select {
	case err := <-errc:
		if !errors.Is(err, pluginsdk.ErrUnavailable) || !errors.Is(err, pluginsdk.ErrTransport) {
			t.Errorf("mid-query kill: err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the query did not end when the plugin was killed")
	}
	_, err = tb.Generate(context.Background(), words("a"))
	if !errors.Is(err, pluginsdk.ErrUnavailable) || !strings.Contains(err.Error(), "not running") {
		t.Errorf("while down: err = %v", err)
	}
	if newPID := waitServing(t, tb, 20*time.Second); newPID == pid {
		t.Errorf("same pid %d after restart", pid)
	}
}

// A plugin that stops answering (SIGSTOP) is found by the health check, killed and
// restarted.
func TestRestartHungPlugin(t *testing.T) {
	h, err := start(t, []pluginhost.Spec{fixture(t)}, pluginhost.Options{
		MinBackoff: 100 * time.Millisecond, HealthInterval: 100 * time.Millisecond, HealthTimeout: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	tb := h.Tables()[0]
	pid := pidOf(t, tb)
	stopProcess(t, pid)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		rows, err := tb.Generate(ctx, words("a"))
		cancel()
		if err == nil && rows[0]["pid"] != strconv.Itoa(pid) {
			if processAlive(pid) {
				t.Errorf("the hung process %d was not killed", pid)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the hung plugin was not restarted")
}

func pidOf(t *testing.T, tb tablekit.Table) int {
	t.Helper()
	rows, err := tb.Generate(context.Background(), words("pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(rows[0]["pid"])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func processAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func kill(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

func stopProcess(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
}

// waitServing waits until the table answers again and returns the pid serving it.
func waitServing(t *testing.T, tb tablekit.Table, d time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		rows, err := tb.Generate(context.Background(), words("a"))
		if err == nil {
			pid, _ := strconv.Atoi(rows[0]["pid"])
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("the table did not work again within %v: %v", d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BenchmarkGenerate: one plugin call returning rows rows through the host (gRPC
// over a unix socket with mutual TLS), and the start of a plugin process.
func BenchmarkGenerate(b *testing.B) {
	spec := fixture(b)
	ctx := context.Background()
	h, err := pluginhost.Start(ctx, []pluginhost.Spec{spec}, pluginhost.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	tb := h.Tables()[0]
	for _, n := range []int{1, 1000} {
		qc := words(make([]string, n)...)
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			for b.Loop() {
				rows, err := tb.Generate(ctx, qc)
				if err != nil || len(rows) != n {
					b.Fatal(len(rows), err)
				}
			}
		})
	}
	b.Run("start", func(b *testing.B) {
		for b.Loop() {
			h, err := pluginhost.Start(ctx, []pluginhost.Spec{spec}, pluginhost.Options{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			h.Close()
		}
	})
}
