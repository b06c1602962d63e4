package eventtables_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/eventtables"
	"github.com/exechunt/exechunt/tables/lineage"
	"github.com/exechunt/exechunt/tables/lineage/schema"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// fact is one process as both paths see it: the live collector lists it, and the
// offline table reads its Sysmon process creation (whose parent fields are the
// parent's own facts).
type fact struct {
	pid, ppid  int64
	image, cmd string
	user       string
	start      int // seconds after t0
	guid       string
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// facts mixes cases that made the tables drift: Windows names in upper or mixed
// case, a document dropping an encoded PowerShell (scored with its ancestry), a
// child of that (parent_suspicious), a root, and an orphan (pid 7000: its parent
// is in neither path's set, so its record names only the parent's pid).
var facts = []fact{
	{pid: 4, ppid: 0, image: "System", cmd: "", user: "NT AUTHORITY\\SYSTEM", start: 0, guid: "{00000000-0000-0000-0000-000000000004}"},
	{pid: 500, ppid: 4, image: `C:\Windows\System32\smss.exe`, cmd: `\SystemRoot\System32\smss.exe`, user: "NT AUTHORITY\\SYSTEM", start: 1, guid: "{00000000-0000-0000-0000-000000000500}"},
	{pid: 2000, ppid: 500, image: `C:\Windows\System32\USERINIT.EXE`, cmd: `C:\Windows\system32\userinit.exe`, user: `CORP\alice`, start: 10, guid: "{00000000-0000-0000-0000-000000002000}"},
	{pid: 3000, ppid: 2000, image: `C:\Windows\Explorer.EXE`, cmd: `C:\Windows\Explorer.EXE`, user: `CORP\alice`, start: 11, guid: "{00000000-0000-0000-0000-000000003000}"},
	{pid: 3100, ppid: 3000, image: `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, cmd: `"WINWORD.EXE" /n C:\Users\alice\Downloads\invoice.docm`, user: `CORP\alice`, start: 60, guid: "{00000000-0000-0000-0000-000000003100}"},
	{pid: 3200, ppid: 3100, image: `C:\Windows\System32\cmd.exe`, cmd: `cmd.exe /c powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA`, user: `CORP\alice`, start: 61, guid: "{00000000-0000-0000-0000-000000003200}"},
	{pid: 3300, ppid: 3200, image: `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, cmd: `powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA`, user: `CORP\alice`, start: 62, guid: "{00000000-0000-0000-0000-000000003300}"},
	{pid: 3400, ppid: 3300, image: `C:\Windows\System32\conhost.exe`, cmd: `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`, user: `CORP\alice`, start: 63, guid: "{00000000-0000-0000-0000-000000003400}"},
	{pid: 7000, ppid: 6999, image: `C:\Windows\System32\svchost.exe`, cmd: `C:\Windows\system32\svchost.exe -k netsvcs`, user: "NT AUTHORITY\\SYSTEM", start: 30, guid: "{00000000-0000-0000-0000-000000007000}"},
}

// collector is the live table's Source over the facts, as a Windows snapshot gives
// them: image base names as written, GUIDs (from Sysmon history) normalised.
type collector map[int64]lineage.Proc

func newCollector() collector {
	c := collector{}
	for _, f := range facts {
		name := f.image[strings.LastIndexAny(f.image, `\/`)+1:]
		c[f.pid] = lineage.Proc{PID: f.pid, PPID: f.ppid, Name: name, Path: f.image, Cmdline: f.cmd, User: f.user,
			Start: t0.Add(time.Duration(f.start) * time.Second), GUID: event.GUID(f.guid)}
	}
	return c
}

func (c collector) List(context.Context) ([]lineage.Proc, error) {
	out := make([]lineage.Proc, 0, len(facts))
	for _, f := range facts {
		out = append(out, c[f.pid])
	}
	return out, nil
}

func (c collector) Get(_ context.Context, pid int64) (lineage.Proc, error) {
	p, ok := c[pid]
	if !ok {
		return lineage.Proc{}, fmt.Errorf("pid %d: %w", pid, lineage.ErrNotFound)
	}
	return p, nil
}

// writeSysmon writes the facts as Sysmon 1 events (JSON lines), latest first: the
// offline table must not depend on the order of the evidence.
func writeSysmon(t *testing.T) string {
	byPID := map[int64]fact{}
	for _, f := range facts {
		byPID[f.pid] = f
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for i := len(facts) - 1; i >= 0; i-- {
		f := facts[i]
		data := map[string]string{
			"ProcessGuid": f.guid, "ProcessId": fmt.Sprint(f.pid), "Image": f.image, "CommandLine": f.cmd, "User": f.user,
			"ParentProcessId": fmt.Sprint(f.ppid),
		}
		if par, ok := byPID[f.ppid]; ok {
			data["ParentProcessGuid"], data["ParentImage"], data["ParentCommandLine"] = par.guid, par.image, par.cmd
		}
		err := enc.Encode(map[string]any{
			"@timestamp": t0.Add(time.Duration(f.start) * time.Second).Format(time.RFC3339),
			"winlog": map[string]any{
				"channel": "Microsoft-Windows-Sysmon/Operational", "computer_name": "WS1", "event_id": 1,
				"provider_name": "Microsoft-Windows-Sysmon", "record_id": i + 1, "event_data": data,
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "sysmon.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func byPID(t *testing.T, tbl tablekit.Table, qc table.QueryContext) map[string]map[string]string {
	t.Helper()
	rows, err := tbl.Generate(context.Background(), qc)
	if err != nil {
		t.Fatalf("%s: %v", tbl.Name, err)
	}
	out := map[string]map[string]string{}
	for _, r := range rows {
		out[r[schema.PID]] = r
	}
	return out
}

// TestLiveAndOfflineLineageAgree runs one process set through the live
// process_lineage (its collector seam) and the offline one (the same processes as
// Sysmon process creations) and compares every column of every row, for a full
// listing and for the `pid =` push-down.
func TestLiveAndOfflineLineageAgree(t *testing.T) {
	a := analysis.New()
	store := eventtables.New(eventtables.Options{Paths: []string{writeSysmon(t)}, Analyzer: a})
	offline := store.LineageTable()
	live := lineage.New(lineage.Options{Source: newCollector(), Scorer: store.LineageScorer()})
	for _, c := range offline.Columns {
		if _, ok := schemaColumn(live, c.Name); !ok {
			t.Fatalf("live table lacks %s", c.Name)
		}
	}
	if len(offline.Columns) != len(live.Columns) {
		t.Fatalf("columns: offline %d, live %d", len(offline.Columns), len(live.Columns))
	}

	queries := map[string]table.QueryContext{
		"all":          {},
		"pid = 3400":   eq(schema.PID, "3400"),
		"pid = 7000":   eq(schema.PID, "7000"),
		"name = ...":   eq(schema.Name, "winword.exe"),
		"name (upper)": eq(schema.Name, "WINWORD.EXE"),
	}
	for name, qc := range queries {
		got, want := byPID(t, live, qc), byPID(t, offline, qc)
		if len(got) != len(want) {
			t.Errorf("%s: live %d rows, offline %d", name, len(got), len(want))
		}
		for pid, w := range want {
			g := got[pid]
			for _, c := range offline.Columns {
				if g[c.Name] != w[c.Name] {
					t.Errorf("%s: pid %s column %s: live %q, offline %q", name, pid, c.Name, g[c.Name], w[c.Name])
				}
			}
		}
	}

	// The cases the set is there for.
	rows := byPID(t, offline, table.QueryContext{})
	for pid, want := range map[string]map[string]string{
		"3100": {schema.Name: "winword.exe", schema.ParentName: "explorer.exe", schema.Status: "complete",
			schema.Ancestry: "system > smss.exe > userinit.exe > explorer.exe > winword.exe"},
		"7000": {schema.Ancestry: "? > svchost.exe", schema.Status: "parent_unknown", schema.ParentName: "", schema.Depth: "0"},
		"3200": {schema.ParentName: "winword.exe", schema.GUID: "00000000-0000-0000-0000-000000003200"},
	} {
		for col, v := range want {
			if rows[pid][col] != v {
				t.Errorf("pid %s: %s = %q, want %q", pid, col, rows[pid][col], v)
			}
		}
	}
	if !strings.Contains(rows["3400"][schema.Indicators], "parent_suspicious") {
		t.Errorf("conhost under the encoded PowerShell: %q", rows["3400"][schema.Indicators])
	}
}

func schemaColumn(tbl tablekit.Table, name string) (table.ColumnDefinition, bool) {
	for _, c := range tbl.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return table.ColumnDefinition{}, false
}

func eq(col, v string) table.QueryContext {
	return table.QueryContext{Constraints: map[string]table.ConstraintList{col: {Constraints: []table.Constraint{{Operator: table.OperatorEquals, Expression: v}}}}}
}
