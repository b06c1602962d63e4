package extension

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/extension/config"
	"github.com/exechunt/exechunt/extension/host"
	"github.com/exechunt/exechunt/tables/tablekit"
)

func TestTables(t *testing.T) {
	cfg := config.Default()
	tables, sigma, err := Tables(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	names := func(ts []tablekit.Table) map[string]bool {
		out := map[string]bool{}
		for _, tb := range ts {
			out[tb.Name] = true
		}
		return out
	}
	if n := names(tables); !n["command_line_analysis"] || !n["sigma_matches"] || sigma == nil {
		t.Errorf("tables = %v", n)
	}
	// The list must be servable: no duplicates, every table complete.
	if _, err := host.Plugins(tables, tablekit.Options{}); err != nil {
		t.Error(err)
	}
	// sigma_matches is served only with sigma_rules set.
	if n := names(Served(cfg, tables)); n["sigma_matches"] || !n["process_creation_events"] || len(n) != len(tables)-1 {
		t.Errorf("served without sigma_rules: %v", n)
	}
	cfg.SigmaRules = "/etc/exechunt/sigma"
	if n := names(Served(cfg, tables)); !n["sigma_matches"] {
		t.Errorf("served with sigma_rules: %v", n)
	}
}

func TestAnalyzerVector(t *testing.T) {
	cfg := config.Default()
	cfg.CharacterFrequencies = []float64{0}
	qc := table.QueryContext{Constraints: map[string]table.ConstraintList{"cmdline": {
		Constraints: []table.Constraint{{Operator: table.OperatorEquals, Expression: "powershell -c Get-Process"}}}}}
	for _, tt := range []struct {
		cfg  config.Config
		zero bool
	}{{config.Default(), false}, {cfg, true}} {
		tables, _, err := Tables(tt.cfg, slog.Default())
		if err != nil {
			t.Fatal(err)
		}
		var cmdline tablekit.Table
		for _, tb := range tables {
			if tb.Name == "command_line_analysis" {
				cmdline = tb
			}
		}
		rows, err := cmdline.Generate(context.Background(), qc)
		if err != nil || len(rows) != 1 {
			t.Fatalf("%v %v", rows, err)
		}
		if (rows[0]["cosine_similarity"] == "0") != tt.zero {
			t.Errorf("vector %v: cosine_similarity = %s", tt.cfg.CharacterFrequencies, rows[0]["cosine_similarity"])
		}
	}
}

func TestSpecsPlatforms(t *testing.T) {
	gen := func(context.Context, table.QueryContext) ([]map[string]string, error) { return nil, nil }
	cols := []table.ColumnDefinition{table.TextColumn("a")}
	var buf bytes.Buffer
	err := WriteSpec(&buf, []tablekit.Table{
		{Name: "all", Columns: cols, Generate: gen},
		{Name: "win", Columns: cols, Generate: gen, Platforms: []string{"windows"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var specs []struct {
		Name      string   `json:"name"`
		Platforms []string `json:"platforms"`
	}
	if err := json.Unmarshal(buf.Bytes(), &specs); err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 || len(specs[0].Platforms) != 3 || len(specs[1].Platforms) != 1 || specs[1].Platforms[0] != "windows" {
		t.Errorf("specs = %+v", specs)
	}
}
