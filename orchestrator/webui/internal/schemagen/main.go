// Command schemagen writes the web UI's compact schema index (table → columns)
// from the extension's --spec snapshot and osquery's own schema:
//
//	go run ./internal/schemagen -ext ../../testdata/extension-spec.json \
//	  -osquery ../../../shared/reference/osquery-schema.json -o static/schema.json
//
// The console's SQL completion reads the output; it is committed and embedded.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
)

type specTable struct {
	Name      string   `json:"name"`
	Platforms []string `json:"platforms"`
	Evented   bool     `json:"evented"`
	Columns   []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		Required bool   `json:"required"`
		Hidden   bool   `json:"hidden"`
	} `json:"columns"`
}

// Table is one entry of the index.
type Table struct {
	Name      string   `json:"name"`
	Extension bool     `json:"extension,omitempty"` // an exechunt table
	Platforms []string `json:"platforms,omitempty"`
	Required  []string `json:"required,omitempty"` // columns a WHERE must constrain
	Columns   []string `json:"columns"`
}

func load(path string, ext bool) ([]Table, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ts []specTable
	if err := json.Unmarshal(b, &ts); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([]Table, 0, len(ts))
	for _, t := range ts {
		e := Table{Name: t.Name, Extension: ext, Platforms: t.Platforms}
		for _, c := range t.Columns {
			if c.Hidden {
				continue
			}
			e.Columns = append(e.Columns, c.Name)
			if c.Required {
				e.Required = append(e.Required, c.Name)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func main() {
	ext := flag.String("ext", "", "extension --spec snapshot (JSON)")
	osq := flag.String("osquery", "", "osquery schema (JSON)")
	outPath := flag.String("o", "static/schema.json", "output file")
	flag.Parse()
	byName := map[string]Table{}
	for _, src := range []struct {
		path string
		ext  bool
	}{{*osq, false}, {*ext, true}} { // extension tables win on a name clash
		if src.path == "" {
			continue
		}
		ts, err := load(src.path, src.ext)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, t := range ts {
			byName[t.Name] = t
		}
	}
	names := slices.Sorted(maps.Keys(byName))
	var buf bytes.Buffer
	buf.WriteString("{\"tables\":[\n")
	for i, n := range names {
		b, _ := json.Marshal(byName[n])
		buf.Write(b)
		if i < len(names)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]}\n")
	if err := os.WriteFile(*outPath, buf.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
