package evtx

import (
	"os"
	"testing"

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
