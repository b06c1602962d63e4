package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/osquery/osquery-go/plugin/table"
	"go.uber.org/goleak"

	"github.com/exechunt/exechunt/extension/osquerytest"
	"github.com/exechunt/exechunt/tables/tablekit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// echo returns one row per constraint it was given, so the test sees the query
// context as the table received it.
var echo = tablekit.Table{
	Name:        "echo",
	Description: "echoes its constraints",
	Columns: []table.ColumnDefinition{
		table.BigIntColumn("pid", table.IndexColumn()),
		table.TextColumn("name", table.RequiredColumn()),
		table.TextColumn("op"),
		table.DoubleColumn("hidden_x", table.HiddenColumn(), table.AdditionalColumn(), table.OptimizedColumn()),
	},
	Generate: func(_ context.Context, qc table.QueryContext) ([]map[string]string, error) {
		var rows []map[string]string
		for col, cl := range qc.Constraints {
			for _, c := range cl.Constraints {
				rows = append(rows, map[string]string{"name": col + ":" + string(cl.Affinity), "op": strconv.Itoa(int(c.Operator)), "pid": c.Expression})
			}
		}
		return rows, nil
	},
}

func simple(name string, gen table.GenerateFunc) tablekit.Table {
	return tablekit.Table{Name: name, Columns: []table.ColumnDefinition{table.TextColumn("x")}, Generate: gen}
}

var (
	panicky = simple("panicky", func(context.Context, table.QueryContext) ([]map[string]string, error) {
		var m map[string]string
		m["boom"] = "x" // a nil-map write: a runtime panic, not just panic("...")
		return nil, nil
	})
	slow = simple("slow", func(ctx context.Context, _ table.QueryContext) ([]map[string]string, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	failing = simple("failing", func(context.Context, table.QueryContext) ([]map[string]string, error) {
		return nil, errors.New("source unreadable")
	})
	big = simple("big", func(context.Context, table.QueryContext) ([]map[string]string, error) {
		rows := make([]map[string]string, 50000)
		for i := range rows {
			rows[i] = map[string]string{"x": strings.Repeat("y", 100) + strconv.Itoa(i)}
		}
		return rows, nil
	})
	elsewhere = tablekit.Table{Name: "elsewhere", Columns: echo.Columns, Generate: echo.Generate, Platforms: []string{"plan9"}}
)

type running struct {
	h    *osquerytest.Harness
	done chan error
	stop context.CancelFunc
}

// start runs the host against a new harness.
func start(t *testing.T, tables []tablekit.Table, o Options) *running {
	t.Helper()
	h, err := osquerytest.Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if o.Logger == nil {
		o.Logger = quiet
	}
	if o.PingInterval == 0 {
		o.PingInterval = 50 * time.Millisecond
	}
	r := &running{h: h, done: make(chan error, 1), stop: cancel}
	go func() { r.done <- Run(ctx, h.Socket(), tables, o) }()
	return r
}

func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s")
		return nil
	}
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestServe(t *testing.T) {
	ctx := timeout(t)
	r := start(t, []tablekit.Table{echo, panicky, slow, failing, big, elsewhere},
		Options{Version: "1.2.3", Table: tablekit.Options{Timeout: time.Second}})
	reg, err := r.h.WaitRegistered(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Info.Name != "exechunt" || reg.Info.Version != "1.2.3" {
		t.Errorf("info = %+v", reg.Info)
	}
	if got, want := reg.Tables(), []string{"big", "echo", "failing", "panicky", "slow"}; !reflect.DeepEqual(got, want) {
		t.Errorf("tables = %v, want %v (elsewhere is not for this platform)", got, want)
	}
	if !strings.HasPrefix(reg.Socket, r.h.Socket()+".") {
		t.Errorf("extension socket %s", reg.Socket)
	}
	if err := r.h.Ping(ctx, reg.UUID); err != nil {
		t.Errorf("ping the extension: %v", err)
	}

	wantCols := []osquerytest.Column{
		{Name: "pid", Type: "BIGINT", Op: osquerytest.OpIndex},
		{Name: "name", Type: "TEXT", Op: osquerytest.OpRequired},
		{Name: "op", Type: "TEXT", Op: 0},
		{Name: "hidden_x", Type: "DOUBLE", Op: osquerytest.OpAdditional | osquerytest.OpOptimized | osquerytest.OpHidden},
	}
	registered, err := r.h.RegisteredColumns("echo")
	if err != nil || !reflect.DeepEqual(registered, wantCols) {
		t.Errorf("registered columns = %+v, %v", registered, err)
	}
	cols, err := r.h.Columns(ctx, "echo")
	if err != nil || !reflect.DeepEqual(cols, wantCols) {
		t.Errorf("columns = %+v, %v", cols, err)
	}

	rows, err := r.h.Generate(ctx, "echo", osquerytest.Eq("name", "bash"),
		osquerytest.Constraint{Column: "pid", Op: osquerytest.GreaterThan, Expr: "10"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, row := range rows {
		got[row["name"]+" "+row["op"]+" "+row["pid"]] = true
	}
	if want := map[string]bool{"name:TEXT 2 bash": true, "pid:BIGINT 4 10": true}; !reflect.DeepEqual(got, want) {
		t.Errorf("echoed constraints = %v, want %v", got, want)
	}

	// A panic is a status-1 answer, and the extension goes on serving.
	for i := 0; i < 2; i++ {
		_, err = r.h.Generate(ctx, "panicky")
		var se *osquerytest.StatusError
		if !errors.As(err, &se) || se.Code != 1 || !strings.Contains(se.Message, "panicked") {
			t.Errorf("panicky: err = %v", err)
		}
	}
	for name, want := range map[string]string{"slow": "deadline exceeded", "failing": "source unreadable"} {
		_, err = r.h.Generate(ctx, name)
		var se *osquerytest.StatusError
		if !errors.As(err, &se) || se.Code != 1 || !strings.Contains(se.Message, want) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if rows, err := r.h.Generate(ctx, "big"); err != nil || len(rows) != 50000 || rows[49999]["x"] != strings.Repeat("y", 100)+"49999" {
		t.Errorf("big: %d rows, %v", len(rows), err)
	}
	if rows, err := r.h.Generate(ctx, "echo", osquerytest.Eq("name", "still serving")); err != nil || len(rows) != 1 {
		t.Errorf("after the failures: %v %v", rows, err)
	}
	resp, err := r.h.Call(ctx, "table", "echo", map[string]string{"action": "generate", "context": "{not json"})
	if err != nil || resp.Status.Code != 1 {
		t.Errorf("bad context: %+v %v", resp, err)
	}

	// Cancelling the context deregisters and returns nil.
	r.stop()
	if err := r.wait(t); err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
	if err := r.h.WaitDeregistered(ctx, reg.UUID); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(reg.Socket); !os.IsNotExist(err) {
		t.Errorf("the extension socket is left behind: %v", err)
	}
}

// When osqueryd goes away the ping fails and Run returns ErrOsqueryGone.
func TestOsqueryGone(t *testing.T) {
	ctx := timeout(t)
	r := start(t, []tablekit.Table{echo}, Options{})
	if _, err := r.h.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := r.h.Close(); err != nil {
		t.Fatal(err)
	}
	err := r.wait(t)
	if !errors.Is(err, ErrOsqueryGone) {
		t.Fatalf("err = %v, want ErrOsqueryGone", err)
	}
	t.Logf("Run returned %v after the manager closed: %v", time.Since(began).Round(time.Millisecond), err)
}

// osquery may ask the extension to shut down: Run deregisters and returns nil.
func TestShutdownCall(t *testing.T) {
	ctx := timeout(t)
	r := start(t, []tablekit.Table{echo}, Options{})
	reg, err := r.h.WaitRegistered(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.h.Shutdown(ctx, reg.UUID); err != nil {
		t.Fatal(err)
	}
	if err := r.wait(t); err != nil {
		t.Errorf("Run after a shutdown call: %v", err)
	}
	if err := r.h.WaitDeregistered(ctx, reg.UUID); err != nil {
		t.Error(err)
	}
}

// osqueryd refuses a second extension with the same name; Run reports it.
func TestRegistrationRefused(t *testing.T) {
	ctx := timeout(t)
	r := start(t, []tablekit.Table{echo}, Options{})
	if _, err := r.h.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	err := Run(ctx, r.h.Socket(), []tablekit.Table{panicky}, Options{Logger: quiet, PingInterval: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "Duplicate extension") {
		t.Errorf("second registration: err = %v", err)
	}
	r.stop()
	if err := r.wait(t); err != nil {
		t.Error(err)
	}
}

func TestNoOsquery(t *testing.T) {
	sock := t.TempDir() + "/osquery.em"
	guard, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard
	defer cancel()
	err := Run(guard, sock, []tablekit.Table{echo}, Options{Logger: quiet, SocketWait: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), sock) {
		t.Errorf("err = %v", err)
	}
	if guard.Err() != nil {
		t.Error("Run did not give up on its own after SocketWait")
	}
}

func TestInvalidTables(t *testing.T) {
	noGen := echo
	noGen.Generate = nil
	dupCol := simple("dupcol", echo.Generate)
	dupCol.Columns = append(dupCol.Columns, table.IntegerColumn("x"))
	tests := []struct {
		name   string
		tables []tablekit.Table
		want   string
	}{
		{"duplicate table", []tablekit.Table{echo, panicky, echo}, "table echo is given twice"},
		{"no name", []tablekit.Table{simple("", echo.Generate)}, "no name"},
		{"no generate", []tablekit.Table{noGen}, "no generate"},
		{"no columns", []tablekit.Table{{Name: "c", Generate: echo.Generate}}, "no columns"},
		{"duplicate column", []tablekit.Table{dupCol}, `duplicate column name "x"`},
		{"nothing for this platform", []tablekit.Table{elsewhere}, "no table runs on"},
		{"no tables", nil, "no table runs on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The socket does not exist: validation must fail before connecting.
			err := Run(context.Background(), "/nonexistent/osquery.em", tt.tables, Options{Logger: quiet})
			if !errors.Is(err, ErrInvalidTables) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// Plugins is what the spec is made from: one plugin per table, in order.
func TestPlugins(t *testing.T) {
	ps, err := Plugins([]tablekit.Table{echo, elsewhere, panicky}, tablekit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name()+"/"+p.RegistryName())
	}
	if fmt.Sprint(names) != "[echo/table panicky/table]" {
		t.Errorf("plugins = %v", names)
	}
	b, err := json.Marshal(ps[0].Routes())
	if err != nil || !strings.Contains(string(b), `"op":"2"`) {
		t.Errorf("routes = %s %v", b, err)
	}
}

// BenchmarkGenerateLarge is one generate of 50,000 rows (about 6 MB) over the
// Thrift socket, as osquery core receives it.
func BenchmarkGenerateLarge(b *testing.B) {
	h, err := osquerytest.Start(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, h.Socket(), []tablekit.Table{big}, Options{Logger: quiet}) }()
	defer func() { cancel(); <-done }()
	if _, err := h.WaitRegistered(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rows, err := h.Generate(ctx, "big")
		if err != nil || len(rows) != 50000 {
			b.Fatal(len(rows), err)
		}
	}
}

// TestStopWhenOsqueryHangs: when osqueryd stops answering but keeps its sockets
// open, a stop signal still ends Run within StopTimeout, without a deregistration
// (it waited out the socket timeout on every ping and deregistration attempt:
// 8-30 s, and a signal did not cut it short). Here the socket timeout is an hour.
func TestStopWhenOsqueryHangs(t *testing.T) {
	ctx := timeout(t)
	r := start(t, []tablekit.Table{echo}, Options{SocketWait: time.Hour, StopTimeout: 200 * time.Millisecond})
	if _, err := r.h.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	r.h.Hang()
	time.Sleep(150 * time.Millisecond) // let a ping or two get stuck
	r.stop()
	if err := r.wait(t); err != nil {
		t.Errorf("Run after a stop signal with a hung osqueryd: %v", err)
	}
	r.h.Close() // releases the calls left waiting, so that their goroutines end
}

// TestFramedClientGetsAnError: a client that speaks thrift's framed transport to
// the extension has its connection ended at once (it waited out its own timeout).
func TestFramedClientGetsAnError(t *testing.T) {
	ctx := timeout(t)
	r := start(t, []tablekit.Table{echo}, Options{})
	reg, err := r.h.WaitRegistered(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("unix", reg.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A framed "ping" call: the frame's length, then a strict binary message.
	msg := []byte{0x80, 0x01, 0x00, 0x01, 0, 0, 0, 4, 'p', 'i', 'n', 'g', 0, 0, 0, 1, 0}
	frame := append([]byte{0, 0, 0, byte(len(msg))}, msg...)
	if _, err := conn.Write(frame); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(8 * time.Second)) // a hang guard
	_, err = conn.Read(make([]byte, 64))
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("a framed client got %v; want its connection closed", err)
	}
	// A plain client still works.
	if err := r.h.Ping(ctx, reg.UUID); err != nil {
		t.Errorf("ping after that: %v", err)
	}
	r.stop()
	r.wait(t)
}
