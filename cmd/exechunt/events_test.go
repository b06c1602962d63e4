package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/offline"
)

// TestEventsParentSuspicious: `exechunt events` scores a process under a suspicious
// parent as the event tables do (see eventtables.TestEventsScoreLikeTheTables).
func TestEventsParentSuspicious(t *testing.T) {
	stdout, stderr, code := runCLIErr(t, "events", "-q", "../../tables/eventtables/testdata/chain.jsonl")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	found := false
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var e struct {
			Image      string   `json:"image"`
			Indicators []string `json:"indicators"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(strings.ToLower(e.Image), `\conhost.exe`) {
			found = true
			if !strings.Contains(strings.Join(e.Indicators, ","), "parent_suspicious") {
				t.Errorf("conhost under the malicious PowerShell: %v", e.Indicators)
			}
		}
	}
	if !found {
		t.Fatal("no conhost.exe process creation in the output")
	}
}

// TestEventsTableSkipsEmptyPipelines: `events --format table` lists PowerShell
// pipeline records that carry a command or script, not those with none (PowerShell
// writes many); jsonl keeps every record.
func TestEventsTableSkipsEmptyPipelines(t *testing.T) {
	const head = `{"Event": {"System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-PowerShell"}}, "EventID": 4103, "EventRecordID": %s, "TimeCreated": {"#attributes": {"SystemTime": "2024-03-01T10:11:12.000000Z"}}, "Channel": "Microsoft-Windows-PowerShell/Operational", "Computer": "WS01"}, "EventData": {"Data": [%s]}}}`
	records := []string{
		strings.Replace(strings.Replace(head, "%s", "1", 1), "%s", `{"Name": "ContextInfo", "Value": "        Host Application = powershell.exe -enc SQBFAFgA\r\n"}, {"Name": "Payload", "Value": "CommandInvocation(Invoke-WebRequest): x"}`, 1),
		strings.Replace(strings.Replace(head, "%s", "2", 1), "%s", `{"Name": "ContextInfo", "Value": ""}, {"Name": "Payload", "Value": ""}`, 1),
	}
	path := filepath.Join(t.TempDir(), "ps.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(records, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		format string
		lines  int // output lines, the table's header included
	}{
		{"table", 2},
		{"jsonl", 2},
	} {
		stdout, stderr, code := runCLIErr(t, "events", "-q", "--format", tc.format, path)
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if code != 0 || len(lines) != tc.lines {
			t.Errorf("--format %s: exit %d, %d lines, want %d\n%s%s", tc.format, code, len(lines), tc.lines, stdout, stderr)
		}
		if tc.format == "table" && !strings.Contains(stdout, "Invoke-WebRequest") {
			t.Errorf("table lacks the pipeline with content:\n%s", stdout)
		}
	}
}

// TestSQLHelpNamesEveryTable: `sql --help` names every table the offline engine
// mounts, so a new table cannot be left out of it.
func TestSQLHelpNamesEveryTable(t *testing.T) {
	help, _, code := runCLIErr(t, "sql", "--help")
	if code != 0 {
		t.Fatalf("sql --help: exit %d", code)
	}
	for _, tbl := range offline.Tables(nil, nil, nil) {
		if !strings.Contains(help, tbl.Name) {
			t.Errorf("sql --help does not name %s", tbl.Name)
		}
	}
}
