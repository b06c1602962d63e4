package evidence

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source"
)

var update = flag.Bool("update", false, "rewrite the .golden files of testdata/ from the current output")

// TestGolden reads every hand-written fixture in testdata/ (all formats, recognised by
// content) and compares the normalised events and the reported problems with the
// fixture's .golden file. Run `go test -update` to accept a deliberate change.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range inputs {
		if strings.HasSuffix(in, ".golden") {
			continue
		}
		n++
		t.Run(filepath.Base(in), func(t *testing.T) {
			got := render(t, in)
			golden := in + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (go test -update accepts it):\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
	if n < 5 {
		t.Fatalf("only %d fixtures found in testdata/", n)
	}
}

// render reads one fixture with every event kept and renders events and problems.
func render(t *testing.T, path string) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	opt := &source.Options{Problem: func(p *source.Problem) {
		fmt.Fprintf(&buf, "# problem: %s\n", strings.TrimPrefix(p.Error(), path+": "))
	}}
	st, err := ReadFile(context.Background(), path, opt, func(r *event.Record) error {
		ev := event.Normalize(r, true)
		ev.SourceFile = filepath.Base(ev.SourceFile)
		return enc.Encode(ev)
	})
	if err != nil {
		fmt.Fprintf(&buf, "# error: %v\n", err)
	}
	fmt.Fprintf(&buf, "# stats: records=%d emitted=%d skipped=%d bad_lines=%d problems=%d\n",
		st.Records, st.Emitted, st.Skipped, st.BadLines, st.Problems)
	return buf.Bytes()
}
