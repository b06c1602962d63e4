package evidenceref

import (
	"reflect"
	"testing"
)

// TestWireShape: the column keeps the shape the tables have always written.
func TestWireShape(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"process creation", Encode(Part{File: "a.evtx", Format: "evtx", Locator: "chunk 0 record 3", Channel: "Security", EventRecordID: 7}),
			`{"file":"a.evtx","format":"evtx","locator":"chunk 0 record 3","channel":"Security","event_record_id":7}`},
		{"script block", EncodeList([]Part{{MessageNumber: 1, File: "p.jsonl", Locator: "line 2", EventRecordID: 9}, {MessageNumber: 2, File: "p.jsonl", Locator: "line 3"}}),
			`[{"message_number":1,"file":"p.jsonl","locator":"line 2","event_record_id":9},{"message_number":2,"file":"p.jsonl","locator":"line 3","event_record_id":0}]`},
		{"no parts", EncodeList(nil), `[]`},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, tt.got, tt.want)
		}
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		in      string
		want    []Part
		ref     string
		wantErr bool
	}{
		{"", nil, "-", false},
		{` {"file":"a.evtx","format":"evtx","locator":"x","channel":"Security","event_record_id":7}`,
			[]Part{{File: "a.evtx", Format: "evtx", Locator: "x", Channel: "Security", EventRecordID: 7}}, "a.evtx #7", false},
		{`[{"message_number":1,"file":"p","locator":"line 2","event_record_id":9},{"message_number":2,"file":"p","locator":"line 3","event_record_id":10}]`,
			[]Part{{MessageNumber: 1, File: "p", Locator: "line 2", EventRecordID: 9}, {MessageNumber: 2, File: "p", Locator: "line 3", EventRecordID: 10}}, "p #9,10", false},
		{`{"file":"j.jsonl","locator":"line 4"}`, []Part{{File: "j.jsonl", Locator: "line 4"}}, "j.jsonl", false},
		{`{"file":`, nil, "-", true},
		{`"a string"`, nil, "-", true},
	}
	for _, tt := range tests {
		got, err := Decode(tt.in)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Decode(%q) = %+v, %v; want %+v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
		if s := RefOf(got).String(); s != tt.ref {
			t.Errorf("RefOf(%q) = %q, want %q", tt.in, s, tt.ref)
		}
	}
}

// TestRoundTrip: what Encode writes, Decode reads back.
func TestRoundTrip(t *testing.T) {
	ps := []Part{{MessageNumber: 3, File: `C:\logs\ps.evtx`, Format: "evtx", Locator: "chunk 1 record 2", Channel: "Microsoft-Windows-PowerShell/Operational", EventRecordID: 1 << 40}}
	for _, s := range []string{Encode(ps[0]), EncodeList(ps)} {
		got, err := Decode(s)
		if err != nil || !reflect.DeepEqual(got, ps) {
			t.Errorf("Decode(%s) = %+v, %v", s, got, err)
		}
	}
}
