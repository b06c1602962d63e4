package main

import (
	"encoding/json"
	"strings"
	"testing"
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
