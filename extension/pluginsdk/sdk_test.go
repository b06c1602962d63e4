package pluginsdk_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/osquery/osquery-go/plugin/table"
	"go.uber.org/goleak"

	"github.com/exechunt/exechunt/extension/pluginsdk"
	"github.com/exechunt/exechunt/extension/pluginsdk/pluginsdktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var echoColumns = []table.ColumnDefinition{
	table.TextColumn("word", table.IndexColumn(), table.ColumnDescription("the word asked for")),
	table.IntegerColumn("n", table.RequiredColumn()),
	table.TextColumn("affinity", table.HiddenColumn()),
}

// echo returns n rows for each word = constraint; bad input is ErrInvalidArgument.
func echo(ctx context.Context, qc table.QueryContext) ([]map[string]string, error) {
	var rows []map[string]string
	n := 1
	if cl, ok := qc.Constraints["n"]; ok && len(cl.Constraints) > 0 {
		if _, err := fmt.Sscan(cl.Constraints[0].Expression, &n); err != nil {
			return nil, fmt.Errorf("%w: n must be an integer", pluginsdk.ErrInvalidArgument)
		}
	}
	for _, c := range qc.Constraints["word"].Constraints {
		switch c.Expression {
		case "panic":
			panic("asked to")
		case "sleep":
			<-ctx.Done()
			return nil, ctx.Err()
		}
		for i := range n {
			rows = append(rows, map[string]string{"word": c.Expression, "n": fmt.Sprint(i), "affinity": string(qc.Constraints["word"].Affinity)})
		}
	}
	return rows, nil
}

func echoTable() pluginsdk.Table {
	return pluginsdk.NewTable("echo", echoColumns, echo, pluginsdk.WithDescription("echoes"), pluginsdk.WithPlatforms("linux", "darwin"))
}

func qc(word, n string) table.QueryContext {
	q := table.QueryContext{Constraints: map[string]table.ConstraintList{
		"word": {Affinity: table.ColumnTypeText, Constraints: []table.Constraint{{Operator: table.OperatorEquals, Expression: word}}},
	}}
	if n != "" {
		q.Constraints["n"] = table.ConstraintList{Affinity: table.ColumnTypeInteger, Constraints: []table.Constraint{{Operator: table.OperatorEquals, Expression: n}}}
	}
	return q
}

func TestDescribe(t *testing.T) {
	c := pluginsdktest.Connect(t, echoTable())
	d, err := c.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := pluginsdk.Description{SDKVersion: pluginsdk.Version, Tables: []pluginsdk.TableSpec{{
		Name: "echo", Description: "echoes", Columns: echoColumns, Platforms: []string{"linux", "darwin"},
	}}}
	if !reflect.DeepEqual(want, d) {
		t.Errorf("describe:\n got %+v\nwant %+v", d, want)
	}
}

func TestGenerate(t *testing.T) {
	c := pluginsdktest.Connect(t, echoTable())
	ctx := context.Background()
	rows, err := c.Generate(ctx, "echo", qc("hello", "2"))
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]string{{"word": "hello", "n": "0", "affinity": "TEXT"}, {"word": "hello", "n": "1", "affinity": "TEXT"}}
	if !reflect.DeepEqual(want, rows) {
		t.Errorf("rows:\n got %v\nwant %v", rows, want)
	}
	rows, err = c.Generate(ctx, "echo", table.QueryContext{})
	if err != nil || len(rows) != 0 {
		t.Errorf("no constraint: %v %v", rows, err)
	}
}

// Many rows are sent in several stream messages (each well under gRPC's 4 MiB).
func TestGenerateLarge(t *testing.T) {
	c := pluginsdktest.Connect(t, echoTable())
	word := strings.Repeat("x", 1000)
	rows, err := c.Generate(context.Background(), "echo", qc(word, "20000")) // ~20 MB
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 20000 || rows[19999]["n"] != "19999" || rows[0]["word"] != word {
		t.Errorf("got %d rows", len(rows))
	}
}

// Status codes cross the process boundary: errors.Is with the SDK's sentinels.
func TestStatusCodes(t *testing.T) {
	c := pluginsdktest.Connect(t, echoTable())
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		table  string
		qc     table.QueryContext
		want   error
		substr string
	}{
		{"invalid", "echo", qc("a", "x"), pluginsdk.ErrInvalidArgument, "n must be an integer"},
		{"not found", "nope", qc("a", ""), pluginsdk.ErrNotFound, `no table "nope"`},
		{"panic", "echo", qc("panic", ""), pluginsdk.ErrInternal, "table echo panicked: asked to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Generate(ctx, tc.table, tc.qc)
			var se *pluginsdk.StatusError
			if !errors.Is(err, tc.want) || !errors.As(err, &se) || !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("err = %v, want %v containing %q", err, tc.want, tc.substr)
			}
		})
	}
	// The plugin keeps serving after a panic.
	if _, err := c.Generate(ctx, "echo", qc("a", "")); err != nil {
		t.Error(err)
	}
}

// The caller's deadline reaches the table's ctx.
func TestDeadline(t *testing.T) {
	c := pluginsdktest.Connect(t, echoTable())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Generate(ctx, "echo", qc("sleep", ""))
	if !errors.Is(err, pluginsdk.ErrDeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
}

func TestCheck(t *testing.T) {
	gen := func(context.Context, table.QueryContext) ([]map[string]string, error) { return nil, nil }
	col := []table.ColumnDefinition{table.TextColumn("a")}
	for _, tc := range []struct {
		name   string
		tables []pluginsdk.Table
	}{
		{"none", nil},
		{"no name", []pluginsdk.Table{pluginsdk.NewTable("", col, gen)}},
		{"no columns", []pluginsdk.Table{pluginsdk.NewTable("t", nil, gen)}},
		{"duplicate table", []pluginsdk.Table{pluginsdk.NewTable("t", col, gen), pluginsdk.NewTable("t", col, gen)}},
		{"duplicate column", []pluginsdk.Table{pluginsdk.NewTable("t", append(col, col...), gen)}},
	} {
		if err := pluginsdk.Check(tc.tables); !errors.Is(err, pluginsdk.ErrInvalidTable) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
	if err := pluginsdk.Check([]pluginsdk.Table{echoTable()}); err != nil {
		t.Error(err)
	}
}

// TestGenerateTooLarge: an answer past MaxResultBytes is refused with
// ErrResultTooLarge instead of being held (2 M rows took the extension to 806 MiB
// despite its 50 MiB limit), and its stream ends (goleak checks).
func TestGenerateTooLarge(t *testing.T) {
	c := pluginsdktest.Connect(t, echoTable())
	word := strings.Repeat("x", 1000)
	_, err := c.Generate(context.Background(), "echo", qc(word, "40000")) // ~43 MB
	if !errors.Is(err, pluginsdk.ErrResultTooLarge) {
		t.Errorf("40,000 rows of 1 KB: %v, want ErrResultTooLarge", err)
	}
	if rows, err := c.Generate(context.Background(), "echo", qc("small", "3")); err != nil || len(rows) != 3 {
		t.Errorf("the plugin after that: %d rows, %v", len(rows), err)
	}
}
