package eval

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/internal/corpus"
)

// Targets of issue 3: recall on labelled malicious execution events and the
// false-positive rate on listed benign process creations, at score >= Threshold.
const (
	minRecall = 0.90
	maxFPR    = 0.01
)

// TestEvaluate runs the evaluation over the corpus, prints the confusion table per
// technique (make eval) and fails below the targets.
func TestEvaluate(t *testing.T) {
	dir, ok := corpus.Dir()
	if !ok {
		t.Skip(corpus.SkipMessage)
	}
	rep, err := Evaluate(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if miss := rep.Missing(); len(miss) > 0 {
		for _, m := range miss {
			t.Errorf("labelled event not found: %s %s/%d record %d", m.File, m.Provider, m.EventID, m.RecordID)
		}
	}
	if len(rep.Malicious) < 200 || len(rep.Benign) < 150 {
		t.Fatalf("only %d malicious and %d benign rows: label files not read", len(rep.Malicious), len(rep.Benign))
	}
	t.Log("\n" + rep.Table())
	if testing.Verbose() {
		var b strings.Builder
		for _, r := range rep.Malicious {
			if !r.Detected() {
				fmt.Fprintf(&b, "  missed %-10s score %3d %v %s\n", r.Technique, r.Score, r.Indicators, clip(r.Summary, 150))
			}
		}
		for _, r := range rep.Benign {
			if r.Detected() {
				fmt.Fprintf(&b, "  false positive score %3d %v %s\n", r.Score, r.Indicators, clip(r.Summary, 150))
			}
		}
		t.Log("\n" + b.String())
	}
	if got := rep.Recall(); got < minRecall {
		t.Errorf("recall %.3f < %.2f", got, minRecall)
	}
	if got := rep.FalsePositiveRate(); got > maxFPR {
		t.Errorf("false-positive rate %.4f > %.2f", got, maxFPR)
	}
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
