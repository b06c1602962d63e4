package packs

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated table of packs/README.md")

var tableRE = regexp.MustCompile(`(?i)\b(process_lineage|process_creation_events|powershell_script_blocks|command_line_analysis|sigma_matches)\b`)

// tablesOf lists the exechunt tables a query reads, in order of first use.
func tablesOf(sql string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range tableRE.FindAllString(sql, -1) {
		m = strings.ToLower(m)
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

func readsEventTable(sql string) bool {
	for _, t := range tablesOf(sql) {
		if t == "process_creation_events" || t == "powershell_script_blocks" || t == "sigma_matches" {
			return true
		}
	}
	return false
}

const (
	readmeBegin = "<!-- packs:begin -->"
	readmeEnd   = "<!-- packs:end -->"
)

// packTable renders the generated table of packs/README.md.
func packTable(ps []Pack) string {
	var b strings.Builder
	b.WriteString("| query | pack | technique | severity | tables | platform | schedule (interval) |\n|---|---|---|---|---|---|---|\n")
	for _, p := range ps {
		for _, q := range p.Queries {
			sev := q.Severity
			if sev == StackOnlySeverity {
				sev += " (stack-only)"
			}
			name := "`" + q.Name + "`"
			if p.Name == DefaultPushPack {
				name += " **default push**"
			}
			plat := q.Platform
			if plat == "" {
				plat = p.Platform
			}
			if plat == "" {
				plat = "all"
			}
			tables := tablesOf(q.SQL)
			for i, t := range tables {
				tables[i] = "`" + t + "`"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | `%s` (%ds) |\n", name, p.Name, q.Technique, sev,
				strings.Join(tables, ", "), plat, q.Schedule, q.Interval)
		}
	}
	return b.String()
}

// TestReadme checks that the table in packs/README.md is generated from the pack files
// (go test ./packs -run TestReadme -update rewrites it).
func TestReadme(t *testing.T) {
	ps, err := Load(FS)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i, j := strings.Index(text, readmeBegin), strings.Index(text, readmeEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md: markers %s … %s not found", readmeBegin, readmeEnd)
	}
	want := text[:i+len(readmeBegin)] + "\n" + packTable(ps) + text[j:]
	if want == text {
		return
	}
	if *update {
		if err := os.WriteFile("README.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Error("packs/README.md is stale: run go test ./packs -run TestReadme -update")
}

// TestDefaultPush: the default configuration's pack holds the live rare parent→child
// hunt the orchestrator pushes to every Windows host.
func TestDefaultPush(t *testing.T) {
	ps, err := Load(FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Name != DefaultPushPack {
			continue
		}
		for _, q := range p.Queries {
			if q.Platform != "windows" || strings.Join(q.Stack, ",") != "parent_name,name" || !slices.Contains(tablesOf(q.SQL), "process_lineage") || q.Interval <= 0 {
				t.Errorf("%s/%s: want a windows process_lineage query stacked by parent_name,name with an interval", p.Name, q.Name)
			}
		}
		if len(p.Queries) == 0 {
			t.Error("default-push has no query")
		}
		return
	}
	t.Errorf("no %s pack", DefaultPushPack)
}
