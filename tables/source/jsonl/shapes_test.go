package jsonl

import (
	"context"
	"os"
	"testing"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/event/eventtest"
	"github.com/exechunt/exechunt/tables/source"
)

// TestPowerShellShapes reads testdata/powershell_shapes.jsonl: one record per shape in
// which exports carry EventData (name/value pairs under every spelling, unnamed items,
// a bare list, numbered names, the rendered message only). Every record must yield its
// command, script or host application, and process paths lose doubled backslashes.
func TestPowerShellShapes(t *testing.T) {
	f, err := os.Open("testdata/powershell_shapes.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var events []event.Event
	var problems []string
	opt := &source.Options{Problem: func(p *source.Problem) { problems = append(problems, p.Error()) }}
	if _, err := Read(context.Background(), f, "powershell_shapes.jsonl", opt, func(r *event.Record) error {
		events = append(events, event.Normalize(r, false))
		return nil
	}); err != nil || len(problems) > 0 {
		t.Fatalf("err=%v problems=%v", err, problems)
	}
	for i, ev := range events {
		if ev.EventRecordID != uint64(i+1) {
			t.Fatalf("event %d is record %d", i, ev.EventRecordID)
		}
	}
	eventtest.Check(t, events, []eventtest.Want{
		{Name: "4104 @Name/#text, empty Path without #text", Script: &eventtest.Script},
		{Name: "4103 Name/Value", Pipeline: &eventtest.Pipeline4103},
		{Name: "sysmon name/value, bare list", Process: &eventtest.Process},
		{Name: "4688 Name/#text", Process: &eventtest.Process},
		{Name: "800 unnamed under one #text array (evtx, Rust)", Pipeline: &eventtest.Pipeline800},
		{Name: "4104 unnamed strings (xmltodict)", Script: eventtest.ScriptAt(`C:\a.ps1`)},
		{Name: "4103 unnamed #text objects", Pipeline: &eventtest.Pipeline4103},
		{Name: "4104 RenderingInfo message only", Script: &eventtest.Script},
		{Name: "800 winlogbeat param1..3", Pipeline: &eventtest.Pipeline800},
		{Name: "4103 winlogbeat, ContextInfo split into fields", Pipeline: &eventtest.Pipeline4103},
		{Name: "4104 winlogbeat message only", Script: eventtest.ScriptAt(`C:\a.ps1`)},
		{Name: "800 NXLog Message only", Pipeline: eventtest.Rendered800()},
		{Name: "4104 flat with nested EventData", Script: &eventtest.Script},
		{Name: "800 Data, Data1, Data2", Pipeline: &eventtest.Pipeline800},
	})
}
