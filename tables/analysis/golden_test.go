package analysis

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the decoding golden files in testdata/analysis/decode")

const decodeDir = "../../testdata/analysis/decode"

// decodeGolden is what the golden files pin: the layers and final text.
type decodeGolden struct {
	EncodedCommand string   `json:"encoded_command,omitempty"`
	DecodedCommand string   `json:"decoded_command"`
	Layers         []Layer  `json:"layers"`
	Indicators     []string `json:"indicators"`
}

// TestDecodeGolden decodes each input in testdata/analysis/decode (*.cmdline
// as a command line, *.ps1 as a script block) and compares the layers with
// the .golden.json beside it. Rewrite them with -update after checking a diff.
func TestDecodeGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join(filepath.FromSlash(decodeDir), "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range inputs {
		if strings.HasSuffix(in, ".golden.json") {
			continue
		}
		n++
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			text := strings.TrimRight(string(raw), "\n")
			var r Result
			if strings.HasSuffix(in, ".ps1") {
				r = AnalyzeScript(text, Script{})
			} else {
				r = AnalyzeCommandLine(text, Process{})
			}
			if len(r.Layers) == 0 {
				t.Fatalf("nothing decoded; tags %v", r.Indicators)
			}
			got, err := json.MarshalIndent(decodeGolden{r.EncodedCommand, r.DecodedCommand, r.Layers, r.Indicators}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(in, filepath.Ext(in)) + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (create it with -update)", err)
			}
			if strings.TrimSpace(string(want)) != string(got) {
				t.Errorf("decoding differs from %s:\n got: %s\nwant: %s", golden, got, want)
			}
		})
	}
	if n == 0 {
		t.Fatal("no decoding inputs")
	}
}
