package jsonl

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source"
)

const sysmonLine = `{"EventID":1,"SourceName":"Microsoft-Windows-Sysmon","Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"H","RecordNumber":9,"UtcTime":"2021-01-01 00:00:00.000","Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd /c whoami","ProcessId":"0x10"}`

// hugeLine yields `{"a":"xxxx…"}` of n bytes followed by a newline and tail, without
// ever holding the line in memory.
type hugeLine struct {
	n, done int
	tail    string
}

func (h *hugeLine) Read(p []byte) (int, error) {
	if h.done >= h.n {
		if h.tail == "" {
			return 0, io.EOF
		}
		c := copy(p, h.tail)
		h.tail = h.tail[c:]
		return c, nil
	}
	i := 0
	for ; i < len(p) && h.done < h.n; i++ {
		switch {
		case h.done == 0:
			p[i] = '{'
		case h.done == h.n-1:
			p[i] = '\n'
		default:
			p[i] = 'x'
		}
		h.done++
	}
	return i, nil
}

func TestHugeLineIsReportedAndSkipped(t *testing.T) {
	var problems []*source.Problem
	var got []string
	opt := &source.Options{Problem: func(p *source.Problem) { problems = append(problems, p) }}
	in := &hugeLine{n: 200 << 20, tail: sysmonLine + "\n"}
	st, err := Read(context.Background(), in, "huge.jsonl", opt, func(r *event.Record) error {
		v, _ := r.Data.Get("CommandLine")
		got = append(got, v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || !errors.Is(problems[0], source.ErrLineTooLong) || !strings.Contains(problems[0].Error(), "huge.jsonl: line 1 (offset 0)") {
		t.Fatalf("problems = %v, want one line-too-long naming file and line", problems)
	}
	if len(got) != 1 || got[0] != "cmd /c whoami" {
		t.Errorf("events after the huge line = %q", got)
	}
	if st.BadLines != 1 || st.Emitted != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestShapes(t *testing.T) {
	tests := []struct {
		name, in       string
		wantProvider   string
		wantID         uint32
		wantField      string
		wantFieldValue string
	}{
		{"flat nxlog", sysmonLine, "Microsoft-Windows-Sysmon", 1, "ProcessId", "0x10"},
		{"winlogbeat string id", `{"@timestamp":"2021-01-01T00:00:00Z","winlog":{"event_id":"4688","provider_name":"Microsoft-Windows-Security-Auditing","channel":"Security","event_data":{"NewProcessName":"C:\\a.exe"}}}`,
			"Microsoft-Windows-Security-Auditing", 4688, "NewProcessName", `C:\a.exe`},
		{"winlogbeat event.code", `{"event":{"code":"4104"},"winlog":{"provider_name":"Microsoft-Windows-PowerShell","event_data":{"ScriptBlockText":"iex"}}}`,
			"Microsoft-Windows-PowerShell", 4104, "ScriptBlockText", "iex"},
		{"event object Data list", `{"Event":{"System":{"Provider":{"#attributes":{"Name":"P"}},"EventID":{"#text":"7"}},"EventData":{"Data":[{"#attributes":{"Name":"A"},"#text":"1"},{"#text":"unnamed"}]}}}`,
			"P", 7, "#0", "unnamed"},
		{"velocidex style", `{"Event":{"System":{"Provider":{"Name":"P"},"EventID":{"Value":9}},"EventData":{"X":"y"}}}`, "P", 9, "X", "y"},
		{"journald message xml", `{"MESSAGE":"<Event><System><Provider Name=\"Linux-Sysmon\"/><EventID>1</EventID></System><EventData><Data Name=\"Image\">/bin/sh</Data></EventData></Event>","_HOSTNAME":"h"}`,
			"Linux-Sysmon", 1, "Image", "/bin/sh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var recs []event.Record
			var problems []string
			opt := &source.Options{Problem: func(p *source.Problem) { problems = append(problems, p.Error()) }}
			_, err := Read(context.Background(), strings.NewReader(tt.in+"\n"), "x.jsonl", opt, func(r *event.Record) error {
				recs = append(recs, *r)
				return nil
			})
			if err != nil || len(problems) > 0 || len(recs) != 1 {
				t.Fatalf("err=%v problems=%v records=%d", err, problems, len(recs))
			}
			r := recs[0]
			if r.Provider != tt.wantProvider || r.EventID != tt.wantID {
				t.Errorf("provider/id = %q/%d, want %q/%d", r.Provider, r.EventID, tt.wantProvider, tt.wantID)
			}
			if v, _ := r.Data.Get(tt.wantField); v != tt.wantFieldValue {
				t.Errorf("%s = %q, want %q", tt.wantField, v, tt.wantFieldValue)
			}
		})
	}
}

func TestKeywordsKeepPrecision(t *testing.T) {
	for in, want := range map[string]uint64{
		`-9214364837600034816`:   9232379236109516800,
		`"0x8000000000000000"`:   1 << 63,
		`9223372036854775809`:    9223372036854775809,
		`"-9223372036854775808"`: 1 << 63,
	} {
		var got uint64
		line := `{"EventID":1,"SourceName":"Microsoft-Windows-Sysmon","Keywords":` + in + "}\n"
		Read(context.Background(), strings.NewReader(line), "k.jsonl", nil, func(r *event.Record) error { got = r.Keywords; return nil })
		if got != want {
			t.Errorf("Keywords %s = %d, want %d", in, got, want)
		}
	}
}

// FuzzJSON feeds arbitrary bytes to the JSON reader: it must never panic, never
// return an error for bad content, and never emit more records than it decoded.
func FuzzJSON(f *testing.F) {
	f.Add([]byte(sysmonLine + "\n"))
	f.Add([]byte("Record 1\n{\"Event\":{\"System\":{\"EventID\":1}}}\n"))
	f.Add([]byte(`[{"winlog":{"event_id":1}}, 3, "x"]`))
	f.Add([]byte("{\"SyslogMessage\":\"<Event><System><EventID>1</EventID></System><EventData><Data Name=\\\"Image\\\">&lt a</Data>\"}\n"))
	f.Add([]byte("{\"EventID\":\n{"))
	f.Add([]byte(`{"Event":{"System":{"EventID":800,"Channel":"Windows PowerShell"},"EventData":{"Data":{"#text":["c","\tHostApplication=p","x"]}}}}` + "\n"))
	f.Add([]byte(`{"EventID":4104,"Channel":"Microsoft-Windows-PowerShell/Operational","EventData":[{"@Name":"ScriptBlockText"},{"name":"Path","value":1},{"":"u"},["n"]]}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := Read(context.Background(), strings.NewReader(string(data)), "fuzz.jsonl", nil, func(r *event.Record) error {
			event.Normalize(r, true)
			return nil
		})
		if err != nil {
			t.Fatalf("error on content (should be a problem): %v", err)
		}
		if st.Emitted > st.Records {
			t.Fatalf("emitted %d > records %d", st.Emitted, st.Records)
		}
	})
}
