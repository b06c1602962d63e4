package main

import (
	"context"
	"strings"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/extension/pluginsdk"
)

var columns = []table.ColumnDefinition{
	table.TextColumn("name", table.IndexColumn(), table.ColumnDescription("file name, lower case (certutil.exe)")),
	table.TextColumn("function", table.ColumnDescription("abused function (LOLBAS category): download, execute, awl_bypass, decode, copy, ads, credentials, dump, compile")),
	table.TextColumn("technique", table.IndexColumn(), table.ColumnDescription("MITRE ATT&CK technique id (T1218.010)")),
	table.TextColumn("technique_name", table.ColumnDescription("MITRE ATT&CK technique name")),
	table.TextColumn("example", table.ColumnDescription("a representative command line")),
	table.TextColumn("paths", table.ColumnDescription("usual locations, comma-separated")),
	table.TextColumn("source", table.ColumnDescription("the LOLBAS project page")),
}

func catalogTable() pluginsdk.Table {
	return pluginsdk.NewTable("lolbas_catalog", columns, generate, pluginsdk.WithDescription(
		"Living-off-the-land binaries, scripts and libraries (LOLBAS): one row per abused function, with its ATT&CK technique"))
}

// generate returns the catalog; "name =" and "technique =" constraints are
// pushed down (names compared case-insensitively; SQLite applies the exact
// comparison afterwards, as osquery does).
func generate(_ context.Context, qc table.QueryContext) ([]map[string]string, error) {
	names := equals(qc, "name")
	techniques := equals(qc, "technique")
	var rows []map[string]string
	for _, e := range catalog {
		if names != nil && !names[e.name] || techniques != nil && !techniques[strings.ToUpper(e.technique)] {
			continue
		}
		rows = append(rows, map[string]string{
			"name":           e.name,
			"function":       e.function,
			"technique":      e.technique,
			"technique_name": techniqueNames[e.technique],
			"example":        e.example,
			"paths":          strings.Join(e.paths, ","),
			"source":         e.source,
		})
	}
	return rows, nil
}

// equals returns the set of values of "column =" constraints (lower case for
// name, upper case for technique), or nil when there is none.
func equals(qc table.QueryContext, column string) map[string]bool {
	cl, ok := qc.Constraints[column]
	if !ok {
		return nil
	}
	var set map[string]bool
	for _, c := range cl.Constraints {
		if c.Operator != table.OperatorEquals {
			continue
		}
		if set == nil {
			set = map[string]bool{}
		}
		v := strings.ToLower(c.Expression)
		if column == "technique" {
			v = strings.ToUpper(c.Expression)
		}
		set[v] = true
	}
	return set
}
