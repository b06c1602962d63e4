package finding

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/exechunt/exechunt/tables/evidenceref"
)

func TestJSON(t *testing.T) {
	tests := []struct {
		name string
		fd   Finding
		want string
	}{
		{"full", Finding{Pack: "p", Query: "q", Technique: "T1059.001", Severity: "high",
			Evidence: evidenceref.Ref{File: "a.evtx", Locator: "chunk 0 record 1", EventRecordIDs: []uint64{7}},
			Columns:  []string{"z", "cmdline", "score", "ratio", "gone"},
			Row:      map[string]any{"z": "last<>&", "cmdline": `cmd /c "x"`, "score": int64(80), "ratio": 0.5, "gone": nil}},
			`{"pack":"p","query":"q","technique":"T1059.001","severity":"high","evidence":{"file":"a.evtx","locator":"chunk 0 record 1","event_record_ids":[7]},"row":{"z":"last<>&","cmdline":"cmd /c \"x\"","score":80,"ratio":0.5,"gone":null}}`},
		{"no technique, severity or evidence", Finding{Pack: "p", Query: "q", Columns: []string{"n"}, Row: map[string]any{"n": int64(1)}},
			`{"pack":"p","query":"q","evidence":{},"row":{"n":1}}`},
	}
	for _, tt := range tests {
		b, err := tt.fd.MarshalJSON() // json.Marshal would escape < > & again
		if err != nil || string(b) != tt.want {
			t.Errorf("%s: Marshal = %s, %v\nwant %s", tt.name, b, err, tt.want)
			continue
		}
		var back Finding
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, tt.fd) {
			t.Errorf("%s: Unmarshal = %+v, %v\nwant %+v", tt.name, back, err, tt.fd)
		}
	}
	var fd Finding
	if err := json.Unmarshal([]byte(`{"pack":"p","row":[1]}`), &fd); err == nil {
		t.Error("a row that is not an object decodes")
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{nil, ""}, {"s", "s"}, {int64(-3), "-3"}, {2.5, "2.5"}, {[]byte("b"), "b"}, {true, "true"},
	}
	for _, tt := range tests {
		if got := Text(tt.v); got != tt.want {
			t.Errorf("Text(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
