package sigmatable

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/sigma"
	"github.com/exechunt/exechunt/tables/eventtables"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// chain holds process creations (cmd.exe and powershell.exe running "iwr" at
// 10:00:00 and 10:00:01) and a script block in three parts whose text holds
// "DownloadString" (first part at 10:00:01), among others.
const chain = "../eventtables/testdata/chain.jsonl"

// rulesDir copies the named rule files of testdata (see its README) into a new
// folder.
func rulesDir(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// counted wraps the event tables so that a test sees which were read and with
// which constraints.
type counted struct {
	calls map[string][]table.QueryContext
}

func (c *counted) wrap(t tablekit.Table) tablekit.Table {
	gen := t.Generate
	t.Generate = func(ctx context.Context, qc table.QueryContext) ([]map[string]string, error) {
		c.calls[t.Name] = append(c.calls[t.Name], qc)
		return gen(ctx, qc)
	}
	return t
}

func newMatches(t *testing.T) (*Matches, *counted) {
	t.Helper()
	if _, err := os.Stat(chain); err != nil {
		t.Fatal(err)
	}
	store := eventtables.New(eventtables.Options{Paths: []string{chain}})
	c := &counted{calls: map[string][]table.QueryContext{}}
	return New(c.wrap(store.ProcessCreationTable()), c.wrap(store.ScriptBlockTable()), store.LineageTable()), c
}

func generateQC(t *testing.T, m *Matches, qc table.QueryContext) []map[string]string {
	t.Helper()
	gen := tablekit.Guard(Name, m.Table().Generate, tablekit.Options{})
	rows, err := gen(context.Background(), qc)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func constraints(col string, cs ...table.Constraint) table.QueryContext {
	return table.QueryContext{Constraints: map[string]table.ConstraintList{col: {Affinity: table.ColumnTypeText, Constraints: cs}}}
}

// summary is "rule_id kind name time" per row, sorted.
func summary(rows []map[string]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, strings.Join([]string{r["rule_id"][:8], r["level"], r["kind"], r["name"], r["time"]}, " "))
	}
	sort.Strings(out)
	return out
}

func TestCompileReport(t *testing.T) {
	m, _ := newMatches(t)
	dir := rulesDir(t, "iwr.yml", "download.yml", "conhost.yml", "network.yml", "unknown_field.yml", "broken.yml", "README.md")
	e, rep, err := m.Compile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rules != 3 || len(e.Rules()) != 3 || rep.OutOfScope != 1 || len(rep.Problems) != 2 {
		t.Fatalf("report %s, problems %v", rep, rep.Problems)
	}
	got := map[string]string{}
	for _, p := range rep.Problems {
		got[filepath.Base(p.File)] = p.String()
	}
	if !strings.Contains(got["broken.yml"], "broken.yml") || !strings.Contains(got["unknown_field.yml"], "no such column") ||
		!strings.Contains(got["unknown_field.yml"], "55555555-0000-0000-0000-000000000005") {
		t.Errorf("problems do not name the file, rule and reason: %v", got)
	}
	if m.Rules() != nil {
		t.Error("Compile changed the rules in use")
	}

	// No rule compiles: an error naming a refused file; the rules in use are kept.
	if _, err := m.Load(dir); err != nil {
		t.Fatal(err)
	}
	before := m.Rules()
	bad := rulesDir(t, "broken.yml", "network.yml")
	if _, err := m.Load(bad); err == nil || !strings.Contains(err.Error(), "no rule compiled") || !strings.Contains(err.Error(), "broken.yml") {
		t.Errorf("Load of no good rule: %v", err)
	}
	if _, err := m.Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("Load of a missing folder succeeded")
	}
	if m.Rules() != before {
		t.Error("a failed Load replaced the rules")
	}
}

func TestMatches(t *testing.T) {
	m, calls := newMatches(t)
	if rows := generateQC(t, m, table.QueryContext{}); len(rows) != 0 || len(calls.calls) != 0 {
		t.Fatalf("with no rules: %v rows, tables read %v", rows, calls.calls)
	}
	if _, err := m.Load(rulesDir(t, "iwr.yml", "download.yml", "conhost.yml")); err != nil {
		t.Fatal(err)
	}
	rows := generateQC(t, m, table.QueryContext{})
	want := []string{
		"11111111 high process_creation cmd.exe 1709287200",
		"11111111 high process_creation powershell.exe 1709287201",
		"22222222 medium script_block  1709287201",
		"33333333 low process_creation conhost.exe 1709287202",
	}
	if got := summary(rows); !reflect.DeepEqual(got, want) {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, r := range rows {
		if r["kind"] == "process_creation" && (r["process_guid"] == "" || r["pid"] == "" || !strings.Contains(r["excerpt"], "iwr") && r["name"] != "conhost.exe") {
			t.Errorf("process row lacks its fields: %v", r)
		}
		if r["kind"] == "script_block" && (!strings.Contains(r["excerpt"], "DownloadString") || r["pid"] != "4242") {
			t.Errorf("script row: %v", r)
		}
		if r["title"] == "" || r["technique"] != "T1059.001" || r["computer"] != "WS1" || !strings.Contains(r["evidence"], "chain.jsonl") {
			t.Errorf("row lacks rule or event fields: %v", r)
		}
	}
	for _, c := range []struct {
		name string
		qc   table.QueryContext
		want []string
		read []string // the source tables read
	}{
		{"level IN (high, low)", constraints("level", table.Constraint{Operator: table.OperatorEquals, Expression: "high"}, table.Constraint{Operator: table.OperatorEquals, Expression: "LOW"}),
			[]string{want[0], want[1], want[3]}, []string{"process_creation_events"}},
		{"level medium reads only the script blocks", constraints("level", table.Constraint{Operator: table.OperatorEquals, Expression: "medium"}),
			[]string{want[2]}, []string{"powershell_script_blocks"}},
		{"level of no rule reads nothing", constraints("level", table.Constraint{Operator: table.OperatorEquals, Expression: "critical"}),
			nil, nil},
		{"time >= 10:00:01", constraints("time", table.Constraint{Operator: table.OperatorGreaterThanOrEquals, Expression: "1709287201"}),
			want[1:], []string{"powershell_script_blocks", "process_creation_events"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls.calls = map[string][]table.QueryContext{}
			got := summary(generateQC(t, m, c.qc))
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			var read []string
			for name, qcs := range calls.calls {
				read = append(read, name)
				// The time constraints, and only they, reach the event tables.
				if len(qcs) != 1 || !reflect.DeepEqual(qcs[0].Constraints["time"], c.qc.Constraints["time"]) || len(qcs[0].Constraints) > 1 {
					t.Errorf("%s asked with %+v", name, qcs)
				}
			}
			sort.Strings(read)
			if !reflect.DeepEqual(read, c.read) {
				t.Errorf("tables read %v, want %v", read, c.read)
			}
		})
	}
}

func TestExcerptIsBounded(t *testing.T) {
	long := strings.Repeat("é", ExcerptChars+10)
	r := matchRow(&sigma.Query{}, "script_block", map[string]string{"script_text": long})
	if got := []rune(r["excerpt"]); len(got) != ExcerptChars {
		t.Errorf("excerpt of %d characters", len(got))
	}
}

// A panic under sigma_matches (in an event table it reads) is an error of the
// query, as for any table (tablekit.Guard), not a crash beside osqueryd.
func TestPanicIsAnError(t *testing.T) {
	m, _ := newMatches(t)
	m.sources[0].Generate = func(context.Context, table.QueryContext) ([]map[string]string, error) { panic("boom") }
	if _, err := m.Load(rulesDir(t, "iwr.yml")); err != nil {
		t.Fatal(err)
	}
	gen := tablekit.Guard(Name, m.Table().Generate, tablekit.Options{})
	if _, err := gen(context.Background(), table.QueryContext{}); !errors.Is(err, tablekit.ErrPanic) {
		t.Errorf("err = %v", err)
	}
}
