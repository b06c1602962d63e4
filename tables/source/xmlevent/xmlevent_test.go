package xmlevent

import (
	"strings"
	"testing"

	"github.com/exechunt/exechunt/tables/event"
)

const sysmonLinux = `<Event><System><Provider Name="Linux-Sysmon" Guid="{ff032593-a8d3-4f13-b0d6-01fc615a0f97}"/><EventID>1</EventID><Level>4</Level><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime="2022-05-11T18:10:22.003485000Z"/><EventRecordID>245760</EventRecordID><Execution ProcessID="1590" ThreadID="1590"/><Channel>Linux-Sysmon/Operational</Channel><Computer>UBUNTU5</Computer><Security UserId="0"/></System><EventData><Data Name="ProcessId">17790</Data><Data Name="Image">/bin/bash</Data><Data Name="CommandLine">bash -c 'a &amp;&amp; b'</Data><Data Name="ParentImage">/usr/bin/java</Data></EventData></Event>`

func TestParseAndRecord(t *testing.T) {
	el, err := Parse([]byte(sysmonLinux))
	if err != nil {
		t.Fatal(err)
	}
	var rec event.Record
	ToRecord(el, &rec)
	if rec.Provider != "Linux-Sysmon" || rec.EventID != 1 || rec.RecordID != 245760 || rec.Computer != "UBUNTU5" ||
		rec.Keywords != 1<<63 || rec.ExecutionPID != 1590 || rec.UserSID != "0" || rec.Level != 4 {
		t.Errorf("system fields: %+v", rec)
	}
	if got := rec.Time.Format("2006-01-02T15:04:05.000000Z07:00"); got != "2022-05-11T18:10:22.003485Z" {
		t.Errorf("time = %s", got)
	}
	if v, _ := rec.Data.Get("CommandLine"); v != "bash -c 'a && b'" {
		t.Errorf("CommandLine = %q", v)
	}
}

func TestRepairs(t *testing.T) {
	tests := []struct {
		name, in, field, want string
		truncated             bool
	}{
		{"entity without semicolon", `<Event><EventData><Data Name="Image">&lt unknown process&gt </Data></EventData></Event>`, "Image", "< unknown process> ", false},
		{"bare ampersand", `<Event><EventData><Data Name="C">a & b</Data></EventData></Event>`, "C", "a & b", false},
		{"cut inside text", `<Event><EventData><Data Name="A">1</Data><Data Name="C">curl http://x/?a=1&b`, "C", "curl http://x/?a=1&b", true},
		{"cut inside a tag", `<Event><EventData><Data Name="A">1</Data><Data Na`, "A", "1", true},
		{"cut inside an entity", `<Event><EventData><Data Name="C">x &am`, "C", "x ", true},
		{"numeric references", `<Event><EventData><Data Name="C">&#65;&#x42;</Data></EventData></Event>`, "C", "AB", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			el, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if el.Truncated != tt.truncated {
				t.Errorf("truncated = %t", el.Truncated)
			}
			if got := Fields(el).Values[tt.field]; got != tt.want {
				t.Errorf("%s = %q, want %q", tt.field, got, tt.want)
			}
		})
	}
}

func TestRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not xml":     "hello",
		"not event":   "<Foo/>",
		"mismatched":  "<Event><System></Event>",
		"two roots":   "<Event/><Event/>",
		"deep":        "<Event>" + strings.Repeat("<a>", MaxDepth+1),
		"empty":       "",
		"only prolog": `<?xml version="1.0"?>`,
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestUnnamedAndUserData(t *testing.T) {
	el, err := Parse([]byte(`<Event><System><EventID>800</EventID></System><EventData><Data>first</Data><Data>second</Data></EventData></Event>`))
	if err != nil {
		t.Fatal(err)
	}
	f := Fields(el)
	if f.Values["#0"] != "first" || f.Values["#1"] != "second" {
		t.Errorf("unnamed data: %v", f.Values)
	}
	el, err = Parse([]byte(`<Event><UserData><LogFileCleared xmlns="x"><SubjectUserName>bob</SubjectUserName></LogFileCleared></UserData></Event>`))
	if err != nil {
		t.Fatal(err)
	}
	if Fields(el).Values["SubjectUserName"] != "bob" {
		t.Errorf("user data: %v", Fields(el).Values)
	}
}

// FuzzParse: any bytes give an element or an error, never a panic, and whatever parses
// maps to a record and an event.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sysmonLinux))
	f.Add([]byte(sysmonLinux[:len(sysmonLinux)/2]))
	f.Add([]byte(`<Event><EventData><Data Name="Image">&lt unknown&gt</Data>`))
	f.Add([]byte(`<Event><System><EventID>4104</EventID><Provider Name="Microsoft-Windows-PowerShell"/></System><EventData><Data Name="ScriptBlockText">&#x1F600;</Data></EventData></Event>`))
	f.Add([]byte(`<Event><System><EventID>800</EventID><Channel>Windows PowerShell</Channel></System><EventData><Data>c</Data><Data>&#9;HostApplication=p</Data><Data/></EventData><RenderingInfo><Message>m</Message></RenderingInfo></Event>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		el, err := Parse(data)
		if err != nil {
			return
		}
		var rec event.Record
		ToRecord(el, &rec)
		event.Normalize(&rec, true)
	})
}
