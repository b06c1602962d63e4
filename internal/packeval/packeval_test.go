package packeval

import (
	"context"
	"testing"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/packs"
)

// Targets of issue 9.
const (
	minRecall            = 0.90
	maxBenignPerThousand = 1.0
)

// TestEvaluatePacks runs every pack over the corpus (make eval-packs), prints recall
// per technique and the benign background with -v, and fails below the targets.
func TestEvaluatePacks(t *testing.T) {
	dir, ok := corpus.Dir()
	if !ok {
		t.Skip(corpus.SkipMessage)
	}
	ps, err := packs.Load(packs.FS)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(context.Background(), dir, ps)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Malicious) < 200 || len(rep.Benign) < 150 {
		t.Fatalf("only %d labelled and %d benign rows: label files not read", len(rep.Malicious), len(rep.Benign))
	}
	for _, q := range rep.Queries {
		if q.Err != nil {
			t.Errorf("%s/%s: %v", q.Pack, q.Query, q.Err)
		}
	}
	t.Log("\n" + rep.Table())
	if testing.Verbose() {
		t.Log("\n" + rep.Misses())
	}
	if got := rep.Recall(); got < minRecall {
		t.Errorf("recall %.3f < %.2f", got, minRecall)
	}
	for _, tr := range rep.ByTechnique() {
		if tr.Hit == 0 {
			t.Errorf("technique %s: none of %d labelled events found", tr.Technique, tr.Labelled)
		}
	}
	if got := rep.BenignPerThousand(); got > maxBenignPerThousand {
		t.Errorf("%.2f benign process creations flagged per 1,000 > %.0f", got, maxBenignPerThousand)
	}
}
