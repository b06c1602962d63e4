package offline

import (
	"strings"
	"testing"
)

// TestLineageOverEvidence: process_lineage over the corpus has one row per process
// creation, and the Empire launcher's PowerShell hangs under the wscript a user
// opened from Explorer, joined on process_guid with process_creation_events.
func TestLineageOverEvidence(t *testing.T) {
	f := engine(t)
	n := f.query(t, "SELECT count(*) FROM process_lineage")
	m := f.query(t, "SELECT count(*) FROM process_creation_events")
	if n[0][0] != m[0][0] {
		t.Errorf("process_lineage rows %v, process creations %v", n[0][0], m[0][0])
	}
	rows := f.query(t, `SELECT l.ancestry, l.depth, p.score FROM process_lineage l
		JOIN process_creation_events p ON p.process_guid = l.process_guid
		WHERE l.name = 'powershell.exe' AND l.parent_name = 'wscript.exe'`)
	if len(rows) == 0 {
		t.Fatal("no powershell.exe under wscript.exe")
	}
	for _, r := range rows {
		if !strings.HasSuffix(r[0].(string), "explorer.exe > wscript.exe > powershell.exe") || r[1].(int64) < 2 {
			t.Errorf("row %v", r)
		}
	}
}
