package osquerytest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	osquerygo "github.com/osquery/osquery-go"
	"github.com/osquery/osquery-go/gen/osquery"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestQueryContextJSON(t *testing.T) {
	cols := []Column{{"pid", "BIGINT", OpIndex}, {"name", "TEXT", 0}, {"cmdline", "TEXT", OpRequired}}
	got, err := QueryContextJSON(cols, []Constraint{
		Eq("cmdline", `a "quoted" \ value`),
		{Column: "pid", Op: GreaterThan, Expr: "10"},
		{Column: "pid", Op: LessThan, Expr: "20"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"constraints":[` +
		`{"name":"cmdline","list":[{"op":2,"expr":"a \"quoted\" \\ value"}],"affinity":"TEXT"},` +
		`{"name":"name","list":[],"affinity":"TEXT"},` +
		`{"name":"pid","list":[{"op":4,"expr":"10"},{"op":16,"expr":"20"}],"affinity":"BIGINT"}],` +
		`"colsUsed":["pid","name","cmdline"],"colsUsedBitset":7}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, err := QueryContextJSON(cols, []Constraint{Eq("nope", "1")}); err == nil {
		t.Error("a constraint on an unknown column must fail")
	}
}

func TestStartPathTooLong(t *testing.T) {
	if _, err := Start(context.Background(), "/tmp/"+strings.Repeat("x", 100)); err == nil {
		t.Error("a socket path osquery-go refuses must fail")
	}
}

// The manager side, driven by osquery-go's own client as an extension drives it.
func TestManager(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	c, err := osquerygo.NewClient(h.Socket(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	if st, err := c.Ping(); err != nil || st.Code != 0 {
		t.Fatalf("ping: %v %v", st, err)
	}
	reg := osquery.ExtensionRegistry{"table": {"t1": {{"id": "column", "name": "a", "type": "TEXT", "op": "2"}}}}
	st, err := c.RegisterExtension(&osquery.InternalExtensionInfo{Name: "x", Version: "1"}, reg)
	if err != nil || st.Code != 0 || st.UUID == 0 {
		t.Fatalf("register: %+v %v", st, err)
	}
	uuid := st.UUID
	for _, dup := range []struct {
		name string
		reg  osquery.ExtensionRegistry
	}{{"x", nil}, {"y", reg}} {
		st, err = c.RegisterExtension(&osquery.InternalExtensionInfo{Name: dup.name}, dup.reg)
		if err != nil || st.Code != 1 {
			t.Errorf("duplicate %s: %+v %v", dup.name, st, err)
		}
	}
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	r, err := h.WaitRegistered(short)
	if err == nil {
		t.Fatalf("nothing listens on %s yet, WaitRegistered = %+v", r.Socket, r)
	}
	if got := h.Registrations(); len(got) != 1 || got[0].UUID != uuid || got[0].Info.Name != "x" || got[0].Socket != h.Socket()+".1001" {
		t.Errorf("registrations = %+v", got)
	}
	cols, err := h.RegisteredColumns("t1")
	if err != nil || len(cols) != 1 || cols[0] != (Column{"a", "TEXT", OpRequired}) {
		t.Errorf("columns = %+v %v", cols, err)
	}
	exts, err := c.Extensions()
	if err != nil || exts[uuid] == nil || exts[uuid].Name != "x" || exts[0] == nil {
		t.Errorf("extensions = %v %v", exts, err)
	}
	opts, err := c.Options()
	if err != nil || opts["extensions_socket"].GetValue() != h.Socket() {
		t.Errorf("options = %v %v", opts, err)
	}
	if _, err := h.Generate(ctx, "nope"); err == nil {
		t.Error("generate on an unregistered table must fail")
	}
	if st, err := c.DeregisterExtension(uuid); err != nil || st.Code != 0 {
		t.Errorf("deregister: %+v %v", st, err)
	}
	if err := h.WaitDeregistered(ctx, uuid); err != nil {
		t.Error(err)
	}
	if len(h.History()) != 1 || len(h.Registrations()) != 0 {
		t.Errorf("history %v, active %v", h.History(), h.Registrations())
	}

	// Closing the harness breaks the extension's connection, as osqueryd exiting does.
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ping(); err == nil {
		t.Error("ping after Close must fail")
	}
	if _, err := h.WaitRegistered(ctx); err == nil {
		t.Error("WaitRegistered after Close must fail")
	}
	var se *StatusError
	if errors.As(error(&StatusError{1, "m"}), &se) && se.Error() != "extension status 1: m" {
		t.Errorf("StatusError = %q", se.Error())
	}
}
