package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/offline/finding"
	"github.com/exechunt/exechunt/offline/scan"
	"github.com/exechunt/exechunt/packs"
	"github.com/exechunt/exechunt/tables/evidenceref"
)

var queries = []scan.Query{
	{Pack: "basics", Query: packs.Query{Name: "hh", SQL: "SELECT …", Technique: "T1218.001", Severity: "high", Description: "Compiled HTML. More text."}},
	{Pack: "basics", Query: packs.Query{Name: "lines", SQL: "SELECT …", Severity: "low"}},
}

var findings = []finding.Finding{
	{Pack: "basics", Query: "hh", Technique: "T1218.001", Severity: "high",
		Evidence: evidenceref.Ref{File: "/ev/Sysmon_Exec_CompiledHTML.evtx", Locator: "chunk 0 record 3", EventRecordIDs: []uint64{4021}},
		Columns:  []string{"name", "score", "cmdline", "evidence"},
		Row:      map[string]any{"name": "hh.exe", "score": int64(80), "cmdline": "hh.exe  C:\\a.chm\n<x>", "evidence": `{"file":"/ev/Sysmon_Exec_CompiledHTML.evtx"}`}},
	{Pack: "basics", Query: "lines", Severity: "low",
		Evidence: evidenceref.Ref{File: "/ev/sysmon.log", Locator: "line 42", EventRecordIDs: []uint64{1, 2}},
		Columns:  []string{"name"}, Row: map[string]any{"name": "sh"}},
	{Pack: "basics", Query: "lines", Severity: "low", Columns: []string{"name"}, Row: map[string]any{"name": nil}},
}

func write(t *testing.T, format string) string {
	t.Helper()
	var b bytes.Buffer
	w, err := NewFindingWriter(format, &b, queries, "v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	for i := range findings {
		if err := w.Write(&findings[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestTable(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(write(t, "table")), "\n")
	want := []string{"SEVERITY", "high ", " T1218.001 ", " basics/hh ", "Sysmon_Exec_CompiledHTML.evtx #4021", `name=hh.exe score=80 cmdline=hh.exe C:\a.chm <x>`}
	if len(lines) != 4 || !strings.HasPrefix(lines[0], want[0]) {
		t.Fatalf("table:\n%s", strings.Join(lines, "\n"))
	}
	for _, w := range want[1:] {
		if !strings.Contains(lines[1], w) {
			t.Errorf("table row %q lacks %q", lines[1], w)
		}
	}
	if !strings.Contains(lines[2], "sysmon.log #1,2") || !strings.HasSuffix(strings.TrimSpace(lines[3]), "basics/lines  -") {
		t.Errorf("table rows:\n%s\n%s", lines[2], lines[3])
	}
}

func TestJSON(t *testing.T) {
	out := write(t, "json")
	var got []finding.Finding
	if err := json.Unmarshal([]byte(out), &got); err != nil || !reflect.DeepEqual(got, findings) {
		t.Errorf("json = %+v, %v\n%s", got, err, out)
	}
	if !strings.Contains(out, `<x>`) {
		t.Errorf("json escapes HTML:\n%s", out)
	}
	var b bytes.Buffer
	w, _ := NewFindingWriter("json", &b, nil, "")
	w.Close()
	if b.String() != "[]\n" {
		t.Errorf("no findings: %q", b.String())
	}
}

func TestCSV(t *testing.T) {
	recs, err := csv.NewReader(strings.NewReader(write(t, "csv"))).ReadAll()
	if err != nil || len(recs) != 4 {
		t.Fatalf("csv: %v %q", err, recs)
	}
	want := [][]string{
		{"pack", "query", "technique", "severity", "file", "event_record_ids", "row"},
		{"basics", "hh", "T1218.001", "high", "/ev/Sysmon_Exec_CompiledHTML.evtx", "4021", `{"name":"hh.exe","score":80,"cmdline":"hh.exe  C:\\a.chm\n<x>","evidence":"{\"file\":\"/ev/Sysmon_Exec_CompiledHTML.evtx\"}"}`},
		{"basics", "lines", "", "low", "/ev/sysmon.log", "1 2", `{"name":"sh"}`},
	}
	for i, w := range want {
		if !reflect.DeepEqual(recs[i], w) {
			t.Errorf("csv line %d = %q, want %q", i, recs[i], w)
		}
	}
}

// TestSARIF: what GitHub code scanning reads of SARIF 2.1.0.
func TestSARIF(t *testing.T) {
	out := write(t, "sarif")
	var sarif struct {
		Schema  string `json:"$schema"`
		Version string
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name, Version, SemanticVersion string
					Rules                          []struct {
						ID                   string
						ShortDescription     struct{ Text string }
						DefaultConfiguration struct{ Level string }
						Properties           map[string]any
					}
				}
			}
			Results []struct {
				RuleID    string
				RuleIndex int
				Level     string
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
				PartialFingerprints map[string]string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &sarif); err != nil {
		t.Fatalf("sarif: %v\n%s", err, out)
	}
	if sarif.Version != "2.1.0" || sarif.Schema == "" || len(sarif.Runs) != 1 {
		t.Fatalf("sarif envelope: %+v", sarif)
	}
	run := sarif.Runs[0]
	d := run.Tool.Driver
	if d.Name != "exechunt" || d.Version != "v1.2.3" || d.SemanticVersion != "1.2.3" || len(d.Rules) != 2 || len(run.Results) != 3 {
		t.Fatalf("sarif driver %+v, %d results", d, len(run.Results))
	}
	if r := d.Rules[0]; r.ID != "basics/hh" || r.ShortDescription.Text != "Compiled HTML." || r.DefaultConfiguration.Level != "error" || r.Properties["security-severity"] != "8.0" {
		t.Errorf("sarif rule %+v", r)
	}
	wantLoc := []struct {
		uri  string
		line int
	}{{"file:///ev/Sysmon_Exec_CompiledHTML.evtx", 1}, {"file:///ev/sysmon.log", 42}, {"", 0}}
	for i, r := range run.Results {
		rule := d.Rules[r.RuleIndex]
		if rule.ID != r.RuleID || r.Level == "" || r.Message.Text == "" || len(r.PartialFingerprints) == 0 {
			t.Errorf("sarif result %d: %+v", i, r)
		}
		var uri string
		var line int
		if len(r.Locations) == 1 {
			uri, line = r.Locations[0].PhysicalLocation.ArtifactLocation.URI, r.Locations[0].PhysicalLocation.Region.StartLine
		}
		if uri != wantLoc[i].uri || line != wantLoc[i].line {
			t.Errorf("sarif result %d at %q line %d, want %+v", i, uri, line, wantLoc[i])
		}
	}
}

func TestFormats(t *testing.T) {
	tests := []struct {
		format  string
		finding bool // a format of NewFindingWriter
		row     bool // a format of NewRowWriter
	}{
		{"table", true, true}, {"json", true, true}, {"csv", true, true}, {"sarif", true, false}, {"xml", false, false},
	}
	for _, tt := range tests {
		if _, err := NewFindingWriter(tt.format, &bytes.Buffer{}, nil, ""); (err == nil) != tt.finding {
			t.Errorf("NewFindingWriter(%q): %v", tt.format, err)
		}
		if _, err := NewRowWriter(tt.format, &bytes.Buffer{}); (err == nil) != tt.row {
			t.Errorf("NewRowWriter(%q): %v", tt.format, err)
		}
	}
}

func TestRows(t *testing.T) {
	cols := []string{"n", "s", "z", "f"}
	vals := []any{int64(1), "a,b\nc", nil, 0.5}
	tests := []struct{ format, want string }{
		{"json", "[\n  {\"n\":1,\"s\":\"a,b\\nc\",\"z\":null,\"f\":0.5}\n]\n"},
		{"csv", "n,s,z,f\n1,\"a,b\nc\",,0.5\n"},
		{"table", "N  S      Z  F\n1  a,b c     0.5\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		w, err := NewRowWriter(tt.format, &b)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Header(cols); err != nil {
			t.Fatal(err)
		}
		if err := w.Row(vals); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil || b.String() != tt.want {
			t.Errorf("%s: %q, %v; want %q", tt.format, b.String(), err, tt.want)
		}
	}
}

// TestTableKeepsCommandLines: the table format shows command lines whole (their
// end matters as much as their start) and shortens only the other values.
func TestTableKeepsCommandLines(t *testing.T) {
	long := "powershell.exe -NoProfile " + strings.Repeat("-Arg value ", 60) + "-EncodedCommand SQBFAFgA"
	script := strings.Repeat("Write-Host x; ", 40)
	for _, tc := range []struct {
		col, value string
		whole      bool
	}{
		{"cmdline", long, true},
		{"parent_cmdline", long, true},
		{"command_line", long, true},
		{"host_application", long, true},
		{"script_text", script, false},
	} {
		fd := finding.Finding{Pack: "p", Query: "q", Severity: "high", Columns: []string{tc.col, "name"},
			Row: map[string]any{tc.col: tc.value, "name": "powershell.exe"}}
		var b bytes.Buffer
		w, err := NewFindingWriter("table", &b, nil, "v")
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(&fd); err != nil {
			t.Fatal(err)
		}
		w.Close()
		want := tc.col + "=" + OneLine(tc.value, len(tc.value)) + " name=powershell.exe"
		if got := strings.Contains(b.String(), want); got != tc.whole {
			t.Errorf("%s: whole in the table = %v, want %v\n%s", tc.col, got, tc.whole, b.String())
		}
		if !tc.whole && !strings.Contains(b.String(), "…") {
			t.Errorf("%s: not shortened\n%s", tc.col, b.String())
		}
	}
}
