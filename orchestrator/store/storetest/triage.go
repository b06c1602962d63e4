package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/store"
)

func testTriage(t *testing.T, s store.Store) {
	ctx := context.Background()
	if got, err := s.TriageStates(ctx); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v %v", got, err)
	}
	steps := []store.Triage{
		{Query: "q1", Key: "winword.exe\x1fpowershell.exe", State: apiv1.TriageAcknowledged, By: "alice", At: t0},
		{Query: "q1", Key: "winword.exe\x1fpowershell.exe", State: apiv1.TriageSuppressed, Reason: "macro test lab", By: "bob", At: t0.Add(time.Second)},
		{Query: "q2", Key: "x", State: apiv1.TriageResolved, By: "alice", At: t0.Add(2 * time.Second)},
	}
	for _, st := range steps {
		if err := s.SetTriage(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.TriageStates(ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("states: %v %v", got, err)
	}
	if got[0] != steps[1] || got[1] != steps[2] {
		t.Errorf("states = %+v, want the latest of each stack", got)
	}
	hist, err := s.TriageHistory(ctx, "q1", "winword.exe\x1fpowershell.exe")
	if err != nil || len(hist) != 2 || hist[0] != steps[0] || hist[1] != steps[1] {
		t.Errorf("history = %+v %v", hist, err)
	}
}

func testSuppressionRules(t *testing.T, s store.Store) {
	ctx := context.Background()
	r, err := s.AddSuppressionRule(ctx, store.SuppressionRule{Query: "rarity/*", Pattern: "*name=backup.exe*", Hosts: []string{"db01", "db02"},
		Reason: "nightly backup", By: "bob", At: t0})
	if err != nil || r.ID == 0 {
		t.Fatalf("add: %+v %v", r, err)
	}
	if _, err := s.AddSuppressionRule(ctx, store.SuppressionRule{Pattern: "*", Reason: "all", At: t0}); err != nil {
		t.Fatal(err)
	}
	rules, err := s.SuppressionRules(ctx)
	if err != nil || len(rules) != 2 || rules[0].Pattern != r.Pattern || len(rules[0].Hosts) != 2 || !rules[0].At.Equal(t0) || rules[1].Hosts == nil {
		t.Fatalf("rules = %+v %v", rules, err)
	}
	if err := s.DeleteSuppressionRule(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSuppressionRule(ctx, r.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	if rules, _ := s.SuppressionRules(ctx); len(rules) != 1 {
		t.Errorf("after delete: %+v", rules)
	}
}
