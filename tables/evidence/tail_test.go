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

// TestTailAudit: an audit event whose records are written across two tails is
// joined; when the log is rotated, the event it left unfinished is finished and the
// new file read from its start.
func TestTailAudit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	rec := func(typ, serial, body string) string {
		return "type=" + typ + " msg=audit(1765101000.250:" + serial + "): " + body + "\n"
	}
	syscall := func(serial string) string {
		return rec("SYSCALL", serial, `arch=c000003e syscall=59 success=yes exit=0 items=1 ppid=1 pid=`+serial+` auid=0 uid=0 tty=(none) ses=1 comm="id" exe="/usr/bin/id" key=(null)`)
	}
	write := func(s string) {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		f.Close()
	}
	write(syscall("10") + rec("EXECVE", "10", `argc=1 a0="id"`))
	var cur Cursor
	if got, _ := tailOnce(t, path, &cur); len(got) != 0 || cur.Format != FormatAudit {
		t.Fatalf("first tail = %v (format %q): the event is not complete yet", got, cur.Format)
	}
	write(rec("CWD", "10", `cwd="/"`) + rec("PROCTITLE", "10", "proctitle=6964") + syscall("11") + rec("EXECVE", "11", `argc=1 a0="id"`))
	if got, _ := tailOnce(t, path, &cur); len(got) != 1 || got[0] != "line 1" {
		t.Fatalf("second tail = %v", got)
	}
	// Rotation: event 11 (no PROCTITLE yet) is finished, then the new file is read.
	os.Remove(path)
	write(syscall("12") + rec("EXECVE", "12", `argc=1 a0="id"`) + rec("PROCTITLE", "12", "proctitle=6964"))
	if got, reset := tailOnce(t, path, &cur); len(got) != 2 || got[0] != "line 5" || got[1] != "line 1" || !reset {
		t.Fatalf("after rotation = %v reset=%t", got, reset)
	}
}

// TestTailAuditResume: a restart resumes at the first record of the oldest event
// still missing records, so that it is not lost.
func TestTailAuditResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	text := "type=SYSCALL msg=audit(1765101000.250:10): arch=c000003e syscall=59 success=yes exit=0 items=1 ppid=1 pid=10 auid=0 uid=0 tty=(none) ses=1 comm=\"id\" exe=\"/usr/bin/id\" key=(null)\n" +
		"type=PROCTITLE msg=audit(1765101000.250:10): proctitle=6964\n"
	second := "type=SYSCALL msg=audit(1765101000.300:11): arch=c000003e syscall=59 success=yes exit=0 items=1 ppid=1 pid=11 auid=0 uid=0 tty=(none) ses=1 comm=\"id\" exe=\"/usr/bin/id\" key=(null)\n"
	if err := os.WriteFile(path, []byte(text+second), 0o644); err != nil {
		t.Fatal(err)
	}
	var cur Cursor
	if got, _ := tailOnce(t, path, &cur); len(got) != 1 {
		t.Fatalf("tail = %v", got)
	}
	off, line := cur.Resume()
	if off != int64(len(text)) || line != 2 || cur.Offset != int64(len(text+second)) {
		t.Errorf("resume at %d (line %d), want %d (line 2); cursor at %d", off, line, len(text), cur.Offset)
	}
}
