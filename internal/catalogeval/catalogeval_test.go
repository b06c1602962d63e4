package catalogeval

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/packs"
)

// Floors: what the current tags, scores and packs reach on the catalog, rounded
// down, so that a regression fails; the goal (Goal) is printed beside them.
const (
	minScoredShare = 0.96  // 317 of 329 commands (0.964); 93 of 387 (0.240) before the catalogue rules
	minFoundShare  = 0.969 // 319 of 329 (0.970)
)

// TestEvaluateCatalog turns the LOLBAS catalog into process creations, runs the row
// score and every pack over them (make eval-catalog), prints the per-binary table,
// the totals and every miss with -v, and fails below the floors.
func TestEvaluateCatalog(t *testing.T) {
	dir, ok := corpus.LOLBASDir()
	if !ok {
		t.Skip(corpus.LOLBASSkipMessage)
	}
	ps, err := packs.Load(packs.FS)
	if err != nil {
		t.Fatal(err)
	}
	evidence := t.TempDir()
	if d := os.Getenv("EXECHUNT_CATALOG_EVIDENCE"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		evidence = d
	}
	start := time.Now()
	rep, err := Evaluate(context.Background(), dir, evidence, ps)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("evaluated in %v; evidence in %s", time.Since(start).Round(time.Millisecond), evidence)
	for _, q := range rep.Queries {
		if q.Err != nil {
			t.Errorf("%s/%s: %v", q.Pack, q.Query, q.Err)
		}
	}
	n, bins, _, _, _ := rep.Totals()
	if n < 300 || bins < 150 {
		t.Fatalf("only %d commands from %d binaries: catalog not read", n, bins)
	}
	for _, c := range rep.Cases {
		for _, e := range c.Events {
			if !e.Shown {
				t.Errorf("%s: event %d (%s) not in the tables", c.Entry.Name, e.Record, e.CommandLine)
			}
		}
	}
	t.Log("\n" + rep.Table())
	if testing.Verbose() {
		t.Log("\nmisses (every command not both scored and found):\n" + rep.Misses())
		t.Log("\n" + rep.Scope())
	}
	t.Logf("floors: score %.2f, packs %.2f (goal %.2f)", minScoredShare, minFoundShare, Goal)
	if got := rep.ScoredShare(); got < minScoredShare {
		t.Errorf("share of commands scoring >= %d: %.3f < floor %.2f", Threshold, got, minScoredShare)
	}
	if got := rep.FoundShare(); got < minFoundShare {
		t.Errorf("share of commands found by a pack: %.3f < floor %.2f", got, minFoundShare)
	}
}

// TestExclusionsNameCatalogCommands: every line of excluded.tsv names a binary of
// the catalog and, when it names a command, one of that binary's commands exactly, so
// a typo cannot leave a command in the evaluation while the report says it is out.
func TestExclusionsNameCatalogCommands(t *testing.T) {
	dir, ok := corpus.LOLBASDir()
	if !ok {
		t.Skip(corpus.LOLBASSkipMessage)
	}
	entries, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	excluded, err := Excluded()
	if err != nil {
		t.Fatal(err)
	}
	commands := map[string]map[string]bool{}
	for _, e := range entries {
		k := strings.ToLower(e.Name)
		if commands[k] == nil {
			commands[k] = map[string]bool{}
		}
		for _, c := range e.Commands {
			commands[k][strings.TrimSpace(c.Command)] = true
		}
	}
	for _, x := range excluded {
		cmds, ok := commands[strings.ToLower(x.Binary)]
		switch {
		case !ok:
			t.Errorf("excluded.tsv: %s is not a binary of the catalog", x.Binary)
		case x.Command != "" && !cmds[x.Command]:
			t.Errorf("excluded.tsv: %s has no command %q", x.Binary, x.Command)
		}
	}
}
