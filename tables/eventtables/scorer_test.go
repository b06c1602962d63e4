package eventtables

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/evidence"
)

// TestEventsScoreLikeTheTables: `exechunt events` (evidence.Walk with a Scorer as its
// Lineage) gives every process creation the indicators and score of its
// process_creation_events row, parent_suspicious included, even when the suspicious
// parent is in a file read after its child's.
func TestEventsScoreLikeTheTables(t *testing.T) {
	data, err := os.ReadFile("testdata/chain.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var child, rest []string
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if strings.Contains(line, "conhost.exe") && strings.Contains(line, `"event_id": 1,`) {
			child = append(child, line)
		} else {
			rest = append(rest, line)
		}
	}
	if len(child) != 1 {
		t.Fatalf("want one conhost process creation in chain.jsonl, found %d", len(child))
	}
	for name, lines := range map[string][]string{"a_child.jsonl": child, "b_parents.jsonl": rest} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(lines, "")), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	a := analysis.New()
	rows := procs(t, New(Options{Paths: []string{dir}, Analyzer: a}), table.QueryContext{})
	tables := map[string]string{}
	for _, r := range rows {
		tables[r["event_record_id"]] = r["indicators"] + " " + r["score"]
	}
	events := map[string]string{}
	opt := evidence.Options{Analyzer: a, Lineage: NewScorer(a, 0)}
	if _, err := evidence.Walk(context.Background(), []string{dir}, opt, func(e *event.Event) error {
		if e.ProcessCreation != nil {
			events[strconv.FormatUint(e.EventRecordID, 10)] = strings.Join(e.Indicators, ",") + " " + strconv.Itoa(e.Score)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(events) != len(tables) || len(events) != 5 {
		t.Fatalf("%d events, %d rows, want 5 each", len(events), len(tables))
	}
	for id, want := range tables {
		if events[id] != want {
			t.Errorf("record %s: events %q, table %q", id, events[id], want)
		}
	}
	conhost := rows[0]
	for _, r := range rows {
		if r["name"] == "conhost.exe" {
			conhost = r
		}
	}
	if !strings.Contains(events[conhost["event_record_id"]], "parent_suspicious") {
		t.Errorf("conhost under the malicious PowerShell: %q", events[conhost["event_record_id"]])
	}
}
