package evtx

import (
	"os"
	"testing"

	"github.com/Velocidex/ordereddict"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/event/eventtest"
	"github.com/exechunt/exechunt/tables/source"
)

// TestPowerShellShapes reads testdata/powershell_shapes.evtx (written by binxml's
// TestShapesFixture): records whose <Data> items are unnamed, a string array, or
// named with an empty value must yield their command, script and host application,
// and doubled backslashes in process paths are collapsed.
func TestPowerShellShapes(t *testing.T) {
	data, err := os.ReadFile("testdata/powershell_shapes.evtx")
	if err != nil {
		t.Fatal(err)
	}
	res := read(t, data, source.Options{})
	if res.err != nil || len(res.problems) > 0 {
		t.Fatalf("err=%v problems=%v", res.err, res.problems)
	}
	events := make([]event.Event, len(res.records))
	for i := range res.records {
		events[i] = event.Normalize(&res.records[i], false)
	}
	eventtest.Check(t, events, eventtest.EVTXShapes())
}

// TestDictFields covers the EventData forms Velocidex produces: named values, lists
// of unnamed strings ([]any or []string), and lists mixing {Name, Value} dicts with
// unnamed values (named items with an empty value stop Velocidex's normalisation).
func TestDictFields(t *testing.T) {
	pair := func(name string, value any) *ordereddict.Dict {
		d := ordereddict.NewDict().Set("Name", name)
		if value != nil {
			d.Set("Value", value)
		}
		return d
	}
	tests := []struct {
		name      string
		eventData *ordereddict.Dict
		want      [][2]string
	}{
		{"named", ordereddict.NewDict().Set("Image", "a.exe").Set("ProcessId", uint32(7)),
			[][2]string{{"Image", "a.exe"}, {"ProcessId", "7"}}},
		{"unnamed []any", ordereddict.NewDict().Set("Data", []any{"a", "b"}),
			[][2]string{{"#0", "a"}, {"#1", "b"}}},
		{"unnamed []string with Binary", ordereddict.NewDict().Set("Data", []string{"a", "b"}).Set("Binary", "00"),
			[][2]string{{"#0", "a"}, {"#1", "b"}, {"Binary", "00"}}},
		{"one unnamed string", ordereddict.NewDict().Set("Data", "only"), [][2]string{{"#0", "only"}}},
		{"mixed pairs", ordereddict.NewDict().Set("Data", []any{pair("ScriptBlockText", "x"), pair("Path", nil), "loose"}),
			[][2]string{{"ScriptBlockText", "x"}, {"Path", ""}, {"#0", "loose"}}},
		{"a field named Data among others", ordereddict.NewDict().Set("Data", "v").Set("Other", "w"),
			[][2]string{{"Data", "v"}, {"Other", "w"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newDictFields(ordereddict.NewDict().Set("EventData", tt.eventData))
			var got [][2]string
			f.Each(func(k, v string) { got = append(got, [2]string{k, v}) })
			if len(got) != len(tt.want) {
				t.Fatalf("Each = %q, want %q", got, tt.want)
			}
			for i, kv := range tt.want {
				if got[i] != kv {
					t.Errorf("Each[%d] = %q, want %q", i, got[i], kv)
				}
				if v, ok := f.Get(kv[0]); !ok || v != kv[1] {
					t.Errorf("Get(%q) = %q, %t", kv[0], v, ok)
				}
			}
		})
	}
}
