package evidence

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source"
)

// shortProvider names providers as MANIFEST.md does.
var shortProvider = map[string]string{
	"Microsoft-Windows-Sysmon":            "Sysmon",
	"Linux-Sysmon":                        "Linux-Sysmon",
	"Microsoft-Windows-Security-Auditing": "Security-Auditing",
	"Microsoft-Windows-PowerShell":        "PowerShell",
}

var checkedKeys = []string{"Sysmon/1", "Linux-Sysmon/1", "Security-Auditing/4688", "PowerShell/4104"}

// TestCorpusCountsMatchManifest reads every EVTX and JSON file the corpus manifest
// lists and compares the process-creation and script-block counts per file.
func TestCorpusCountsMatchManifest(t *testing.T) {
	dir, ok := corpus.Dir()
	if !ok {
		t.Skip(corpus.SkipMessage)
	}
	want, err := corpus.Manifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 150 {
		t.Fatalf("manifest lists only %d evidence files; the parser of MANIFEST.md is broken", len(want))
	}
	totals := map[string]int{}
	for _, exp := range want {
		path := filepath.Join(dir, exp.File)
		got := map[string]int{}
		var problems []string
		opt := &source.Options{
			Want:    func(p, c string, id uint32) bool { return event.Classify(p, c, id) != event.KindOther },
			Problem: func(p *source.Problem) { problems = append(problems, p.Error()) },
		}
		st, err := ReadFile(context.Background(), path, opt, func(r *event.Record) error {
			got[fmt.Sprintf("%s/%d", shortProvider[r.Provider], r.EventID)]++
			return nil
		})
		if err != nil {
			t.Errorf("%s: %v", exp.File, err)
			continue
		}
		if st.DamagedChunks != 0 || st.BadLines != 0 {
			t.Errorf("%s: %d damaged chunks, %d bad lines: %s", exp.File, st.DamagedChunks, st.BadLines, strings.Join(problems, "; "))
		}
		for _, k := range checkedKeys {
			totals[k] += got[k]
			n, listed := exp.Counts[k]
			switch {
			case listed || exp.Exact:
				if got[k] != n {
					t.Errorf("%s: %s = %d, manifest says %d", exp.File, k, got[k], n)
				}
			case got[k] > exp.Other:
				t.Errorf("%s: %s = %d, more than the manifest's other=%d", exp.File, k, got[k], exp.Other)
			}
		}
	}
	t.Logf("%d files checked; totals %v", len(want), totals)
}
