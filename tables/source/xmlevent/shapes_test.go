package xmlevent

import (
	"bytes"
	"os"
	"testing"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/event/eventtest"
)

// TestPowerShellShapes reads testdata/powershell_shapes.xml (one <Event> per line, as
// `wevtutil qe /f:xml` or /f:RenderedXml writes them): unnamed <Data> items, an
// empty one, a record known only by its RenderingInfo message, and process paths
// with doubled backslashes.
func TestPowerShellShapes(t *testing.T) {
	data, err := os.ReadFile("testdata/powershell_shapes.xml")
	if err != nil {
		t.Fatal(err)
	}
	script := eventtest.ScriptAt(`C:\a.ps1`)
	script.ScriptText += " | % { $_ -gt 0 && 1 < 2 }" // XML escapes
	process := eventtest.Process
	process.CurrentDirectory = `C:\Users\bob\`
	process.ParentImage = `\\?\C:\Windows\explorer.exe` // the \\?\ prefix stays
	var events []event.Event
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	for _, line := range lines {
		el, err := Parse(line)
		if err != nil {
			t.Fatal(err)
		}
		var rec event.Record
		ToRecord(el, &rec)
		events = append(events, event.Normalize(&rec, false))
	}
	eventtest.Check(t, events, []eventtest.Want{
		{Name: "800 unnamed", Pipeline: &eventtest.Pipeline800},
		{Name: "4104 unnamed", Script: script},
		{Name: "4103 unnamed, empty UserData", Pipeline: &eventtest.Pipeline4103},
		{Name: "800 RenderingInfo only", Pipeline: eventtest.Rendered800()},
		{Name: "sysmon doubled backslashes", Process: &process},
	})
}
