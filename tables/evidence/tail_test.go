package evidence

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source"
)

func tailOnce(t *testing.T, path string, cur *Cursor) (locators []string, reset bool) {
	t.Helper()
	_, reset, err := Tail(context.Background(), path, cur, source.Options{}, func(r *event.Record) error {
		locators = append(locators, r.Locator)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return locators, reset
}

func TestTailLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sysmon.log")
	line := func(id string) string {
		return `May 11 18:10:22 h sysmon: <Event><System><Provider Name="Linux-Sysmon"/><EventID>1</EventID><EventRecordID>` + id +
			`</EventRecordID><Channel>Linux-Sysmon/Operational</Channel></System><EventData><Data Name="Image">/bin/sh</Data></EventData></Event>` + "\n"
	}
	if err := os.WriteFile(path, []byte("noise\n"+line("1")+line("2")), 0o644); err != nil {
		t.Fatal(err)
	}
	var cur Cursor
	got, _ := tailOnce(t, path, &cur)
	if len(got) != 2 || got[0] != "line 2" || got[1] != "line 3" {
		t.Fatalf("first tail = %v", got)
	}
	if got, _ := tailOnce(t, path, &cur); len(got) != 0 {
		t.Fatalf("unchanged file re-read: %v", got)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(line("3") + line("4")[:40]) // the 4th line is still being written
	f.Close()
	if got, _ := tailOnce(t, path, &cur); len(got) != 1 || got[0] != "line 4" {
		t.Fatalf("second tail = %v", got)
	}
	f, _ = os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(line("4")[40:])
	f.Close()
	if got, _ := tailOnce(t, path, &cur); len(got) != 1 || got[0] != "line 5" {
		t.Fatalf("third tail = %v", got)
	}
	// Rotation: a new, shorter file at the same path is read from its start.
	os.Remove(path)
	os.WriteFile(path, []byte(line("9")), 0o644)
	if got, reset := tailOnce(t, path, &cur); len(got) != 1 || got[0] != "line 1" || !reset {
		t.Fatalf("after rotation = %v reset=%t", got, reset)
	}
}

func TestTailEVTX(t *testing.T) {
	dir, ok := corpus.Dir()
	if !ok {
		t.Skip(corpus.SkipMessage)
	}
	src := filepath.Join(dir, "sbousseaden_EVTX-ATTACK-SAMPLES/AutomatedTestingTools/panache_sysmon_vs_EDRTestingScript.evtx")
	var cur Cursor
	all, _ := tailOnce(t, src, &cur)
	if len(all) != 122 || cur.NextFileRecordID != 123 {
		t.Fatalf("first tail: %d records, next %d", len(all), cur.NextFileRecordID)
	}
	// Touch the file's identity check: a changed mtime makes Tail look again, and the
	// record cursor makes it read nothing old.
	cur.ModTime = cur.ModTime.Add(-1)
	if again, _ := tailOnce(t, src, &cur); len(again) != 0 {
		t.Fatalf("re-read %d old records", len(again))
	}
}
