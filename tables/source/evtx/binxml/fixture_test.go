package binxml

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/tables/source/xmlevent"
)

const (
	fixtureScriptText = `if ($n -gt 0 -and 1 > 0) { $x = 2 < 3 && 'it’s' "quoted" 'apos' } <#raw cdata#> done`
	fixtureBlockID    = "6d3c2f7e-1b2a-4c5d-9e8f-0a1b2c3d4e5f"
	fixturePath       = `C:\Users\bob\AppData\Local\Temp\stage 2.ps1`
)

// writeInline4104 writes a PowerShell 4104 record with inline XML (no template):
// EventID arrives as text and EventData as Name/Value pairs, and ScriptBlockText is
// split by entity references, a character reference and a CDATA section.
func writeInline4104(w *chunkWriter, id uint64) int {
	return w.record(id, func() {
		w.fragmentHeader()
		w.open("Event", true)
		w.attr("xmlns")
		w.text("http://schemas.microsoft.com/win/2004/08/events/event")
		w.closeStart()

		w.open("System", false)
		w.closeStart()
		w.open("Provider", true)
		w.attr("Name")
		w.text("Microsoft-Windows-PowerShell")
		w.attr("Guid")
		w.text("{A0C1853B-5C40-4B15-8766-3CF1C58F985A}")
		w.closeEmpty()
		w.textElement("EventID", "4104")
		w.textElement("Level", "5")
		w.open("TimeCreated", true)
		w.attr("SystemTime")
		w.text("2024-03-01T10:11:12.1234567Z")
		w.closeEmpty()
		w.textElement("EventRecordID", "4242")
		w.textElement("Channel", "Microsoft-Windows-PowerShell/Operational")
		w.textElement("Computer", "WS01.corp.example")
		w.open("Security", true)
		w.attr("UserID")
		w.text("S-1-5-21-1-2-3-1001")
		w.closeEmpty()
		w.end() // System

		w.open("EventData", false)
		w.closeStart()
		w.dataElement("MessageNumber", func() { w.text("1") })
		w.dataElement("MessageTotal", func() { w.text("1") })
		w.dataElement("ScriptBlockText", func() {
			w.text("if ($n -gt 0 -and 1 ")
			w.entity("gt")
			w.text(" 0) { $x = 2 ")
			w.entity("lt")
			w.text(" 3 ")
			w.entity("amp")
			w.entity("amp")
			w.text(" 'it")
			w.charRef(0x2019)
			w.text("s' ")
			w.entity("quot")
			w.text("quoted")
			w.entity("quot")
			w.text(" ")
			w.entity("apos")
			w.text("apos")
			w.entity("apos")
			w.text(" } ")
			w.cdata("<#raw cdata#>")
			w.text(" done")
		})
		w.dataElement("ScriptBlockId", func() { w.text(fixtureBlockID) })
		w.dataElement("Path", func() { w.text(fixturePath) })
		w.end() // EventData
		w.end() // Event
		w.eof()
	})
}

func inlineChunk(dep bool) ([]byte, int) {
	w := newChunkWriter()
	w.dep = dep
	off := writeInline4104(w, 1)
	return w.chunk(off), off
}

func TestInlineRecord(t *testing.T) {
	for _, dep := range []bool{false, true} {
		t.Run(fmt.Sprintf("dependency-id=%v", dep), func(t *testing.T) {
			chunk, off := inlineChunk(dep)
			if IsTemplated(chunk, off) {
				t.Fatal("IsTemplated = true for an inline record")
			}
			ev, err := ParseRecord(chunk, off)
			if err != nil {
				t.Fatal(err)
			}
			sys := ev.Child("System")
			checks := map[string]string{
				"EventID":       sys.ChildText("EventID"),
				"EventRecordID": sys.ChildText("EventRecordID"),
				"Channel":       sys.ChildText("Channel"),
				"Computer":      sys.ChildText("Computer"),
				"Provider":      sys.Child("Provider").Attr("Name"),
				"SystemTime":    sys.Child("TimeCreated").Attr("SystemTime"),
				"UserID":        sys.Child("Security").Attr("UserID"),
			}
			want := map[string]string{
				"EventID": "4104", "EventRecordID": "4242", "Channel": "Microsoft-Windows-PowerShell/Operational",
				"Computer": "WS01.corp.example", "Provider": "Microsoft-Windows-PowerShell",
				"SystemTime": "2024-03-01T10:11:12.1234567Z", "UserID": "S-1-5-21-1-2-3-1001",
			}
			for k, v := range want {
				if checks[k] != v {
					t.Errorf("%s = %q, want %q", k, checks[k], v)
				}
			}
			if len(ev.Attrs) != 0 {
				t.Errorf("xmlns attribute kept: %v", ev.Attrs)
			}
			data := dataMap(ev)
			if data["ScriptBlockText"] != fixtureScriptText {
				t.Errorf("ScriptBlockText = %q\nwant %q", data["ScriptBlockText"], fixtureScriptText)
			}
			if data["ScriptBlockId"] != fixtureBlockID || data["Path"] != fixturePath {
				t.Errorf("ScriptBlockId = %q, Path = %q", data["ScriptBlockId"], data["Path"])
			}

			// The same tree xmlevent.Parse builds from the rendered XML.
			xmlText := renderXML(ev)
			fromXML, err := xmlevent.Parse([]byte(xmlText))
			if err != nil {
				t.Fatalf("xmlevent.Parse(%s): %v", xmlText, err)
			}
			if a, b := renderXML(fromXML), xmlText; a != b {
				t.Errorf("tree differs from xmlevent.Parse's:\n%s\n%s", a, b)
			}
		})
	}
}

func dataMap(ev *xmlevent.Element) map[string]string {
	m := map[string]string{}
	for _, d := range ev.Child("EventData").Children {
		m[d.Attr("Name")] = d.Text
	}
	return m
}

// renderXML renders a tree as XML (for comparing with xmlevent.Parse).
func renderXML(e *xmlevent.Element) string {
	var sb strings.Builder
	var walk func(*xmlevent.Element)
	esc := func(s string) string {
		var b bytes.Buffer
		_ = xml.EscapeText(&b, []byte(s))
		return b.String()
	}
	walk = func(e *xmlevent.Element) {
		sb.WriteString("<" + e.Name)
		for _, a := range e.Attrs {
			sb.WriteString(" " + a.Name + `="` + esc(a.Value) + `"`)
		}
		sb.WriteString(">" + esc(e.Text))
		for _, c := range e.Children {
			walk(c)
		}
		sb.WriteString("</" + e.Name + ">")
	}
	walk(e)
	return sb.String()
}

// writeTemplated writes two records using one template: the first defines it inline,
// the second references it by offset. The template exercises the value types.
func templatedChunk() (chunk []byte, offs []int) {
	w := newChunkWriter()
	var defOff int
	vals := func(n int) [][]byte {
		guid := []byte{0x3B, 0x85, 0xC1, 0xA0, 0x40, 0x5C, 0x15, 0x4B, 0x87, 0x66, 0x3C, 0xF1, 0xC5, 0x8F, 0x98, 0x5A}
		sid := []byte{1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xE9, 3, 0, 0}
		systime := make([]byte, 16)
		for i, v := range []uint16{2024, 3, 2, 5, 10, 11, 12, 123} {
			binary.LittleEndian.PutUint16(systime[2*i:], v)
		}
		le := func(v uint64, size int) []byte {
			b := binary.LittleEndian.AppendUint64(nil, v)
			return b[:size]
		}
		return [][]byte{
			guid,                      // 0 GUID
			nil,                       // 1 null (optional Qualifiers)
			le(4104, 2),               // 2 uint16 EventID
			le(0x8000000000000000, 8), // 3 HexInt64 Keywords
			le(uint64(time.Date(2024, 3, 5, 10, 11, 12, 0, time.UTC).Unix()+11644473600)*10000000+1234567, 8), // 4 FILETIME
			le(uint64(9000+n), 8),       // 5 uint64 EventRecordID
			utf16le("Test/Operational"), // 6 string
			utf16le("HOST-1\x00"),       // 7 string with trailing NUL
			sid,                         // 8 SID
			le(1, 4),                    // 9 bool
			{0xDE, 0xAD, 0xBE, 0xEF},    // 10 binary
			systime,                     // 11 SYSTEMTIME
			le(0x1a4c, 4),               // 12 HexInt32
			le(uint64(0xFFFFFFFB), 4),   // 13 int32 -5
			utf16le("a\x00bc\x00"),      // 14 string array
			nil,                         // 15 null (optional)
		}
	}
	types := []byte{typGUID, typNull, typUint16, typHexInt64, typFileTime, typUint64, typString, typString,
		typSID, typBool, typBinary, typSysTime, typHexInt32, typInt32, typString | typArray, typNull}

	body := func() {
		w.open("Event", true)
		w.attr("xmlns")
		w.text("http://schemas.microsoft.com/win/2004/08/events/event")
		w.closeStart()
		w.open("System", false)
		w.closeStart()
		w.open("Provider", true)
		w.attr("Name")
		w.text("Test-Provider")
		w.attr("Guid")
		w.optSubst(0, typGUID)
		w.closeEmpty()
		w.open("EventID", true)
		w.attr("Qualifiers")
		w.optSubst(1, typUint16)
		w.closeStart()
		w.subst(2, typUint16)
		w.end()
		w.substElement("Keywords", 3, typHexInt64)
		w.attrSubst("TimeCreated", "SystemTime", 4, typFileTime, false)
		w.substElement("EventRecordID", 5, typUint64)
		w.substElement("Channel", 6, typString)
		w.substElement("Computer", 7, typString)
		w.attrSubst("Security", "UserID", 8, typSID, true)
		w.end() // System
		w.open("EventData", false)
		w.closeStart()
		for i, name := range []string{"Flag", "Blob", "When", "Pid", "Count", "Items", "Empty"} {
			idx := 9 + i
			w.dataElement(name, func() { w.optSubst(idx, types[idx]) })
		}
		w.end() // EventData
		w.end() // Event
	}
	writeInstance := func(id uint64, n int) int {
		return w.record(id, func() {
			w.fragmentHeader()
			w.templateInstance(0x1234, &defOff, body, vals(n), types)
			w.eof()
		})
	}
	offs = append(offs, writeInstance(1, 1), writeInstance(2, 2))
	return w.chunk(offs[len(offs)-1]), offs
}

func TestTemplatedRecords(t *testing.T) {
	chunk, offs := templatedChunk()
	for i, off := range offs {
		if !IsTemplated(chunk, off) {
			t.Errorf("record %d: IsTemplated = false", i)
		}
		ev, err := ParseRecord(chunk, off)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		got := renderXML(ev)
		want := `<Event><System><Provider Name="Test-Provider" Guid="{A0C1853B-5C40-4B15-8766-3CF1C58F985A}"></Provider>` +
			`<EventID>4104</EventID><Keywords>0x8000000000000000</Keywords>` +
			`<TimeCreated SystemTime="2024-03-05T10:11:12.1234567Z"></TimeCreated>` +
			fmt.Sprintf(`<EventRecordID>%d</EventRecordID>`, 9001+i) +
			`<Channel>Test/Operational</Channel><Computer>HOST-1</Computer>` +
			`<Security UserID="S-1-5-21-1-2-3-1001"></Security></System>` +
			`<EventData><Data Name="Flag">true</Data><Data Name="Blob">DEADBEEF</Data>` +
			`<Data Name="When">2024-03-05T10:11:12.1230000Z</Data><Data Name="Pid">0x1a4c</Data>` +
			`<Data Name="Count">-5</Data><Data Name="Items">a</Data><Data Name="Items">bc</Data>` +
			`<Data Name="Empty"></Data></EventData></Event>`
		if got != want {
			t.Errorf("record %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func TestNestedBinXMLValue(t *testing.T) {
	w := newChunkWriter()
	var off int
	off = w.record(1, func() {
		w.fragmentHeader()
		w.u8(tokTemplate)
		w.u8(1)
		w.u32(1)
		defOff := w.pos() + 4
		w.u32(uint32(defOff))
		w.u32(0)
		w.raw(make([]byte, 16))
		sizeAt := w.pos()
		w.u32(0)
		bodyStart := w.pos()
		w.dep = true
		w.fragmentHeader()
		w.open("Event", false)
		w.closeStart()
		w.substElement("UserData", 0, typBinXML)
		w.end()
		w.eof()
		w.dep = false
		binary.LittleEndian.PutUint32(w.b[sizeAt:], uint32(w.pos()-bodyStart))
		// The value: a fragment without dependency identifiers.
		w.u32(1)
		lenAt := w.pos()
		w.u16(0)
		w.u8(typBinXML)
		w.u8(0)
		valStart := w.pos()
		w.fragmentHeader()
		w.open("Inner", false)
		w.closeStart()
		w.open("Val", false)
		w.closeStart()
		w.text("x")
		w.entity("amp")
		w.text("y")
		w.end()
		w.end()
		w.eof()
		binary.LittleEndian.PutUint16(w.b[lenAt:], uint16(w.pos()-valStart))
		w.eof()
	})
	chunk := w.chunk(off)
	ev, err := ParseRecord(chunk, off)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := renderXML(ev), `<Event><UserData><Inner><Val>x&amp;y</Val></Inner></UserData></Event>`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestGarbageAndTruncation(t *testing.T) {
	chunk, off := inlineChunk(false)
	size := int(binary.LittleEndian.Uint32(chunk[off+4:]))

	// Every truncation of the record (size field shrunk, bytes after it zeroed) that
	// loses content errors; a record missing only its final EOF token is accepted.
	for cut := recordHeaderSize; cut < size-5; cut++ {
		c := append([]byte(nil), chunk...)
		for i := off + cut; i < off+size; i++ {
			c[i] = 0
		}
		binary.LittleEndian.PutUint32(c[off+4:], uint32(cut+4))
		if _, err := ParseRecord(c, off); err == nil {
			t.Errorf("record cut at %d of %d bytes: no error", cut, size)
		}
	}
	// The chunk itself cut short.
	for _, n := range []int{0, 10, off, off + 23, off + 100, off + size - 1} {
		if _, err := ParseRecord(chunk[:n], off); err == nil {
			t.Errorf("chunk of %d bytes: no error", n)
		}
	}
	cases := map[string]func(c []byte){
		"bad magic":      func(c []byte) { c[off] = 'X' },
		"huge size":      func(c []byte) { binary.LittleEndian.PutUint32(c[off+4:], 0xFFFFFFF0) },
		"unknown token":  func(c []byte) { c[off+recordHeaderSize+4] = 0x3F },
		"name off chunk": func(c []byte) { binary.LittleEndian.PutUint32(c[off+recordHeaderSize+4+1+4:], 0x7FFFFFFF) },
		"all 0xFF":       func(c []byte) { fill(c[off+recordHeaderSize:off+size-4], 0xFF) },
		"template to self": func(c []byte) {
			b := c[off+recordHeaderSize+4:]
			b[0], b[1] = tokTemplate, 1
			binary.LittleEndian.PutUint32(b[6:], uint32(off+recordHeaderSize))
		},
	}
	for name, mutate := range cases {
		c := append([]byte(nil), chunk...)
		mutate(c)
		if _, err := ParseRecord(c, off); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := ParseRecord(chunk, -1); err == nil {
		t.Error("negative offset: no error")
	}
	if _, err := ParseRecord(nil, 0); err == nil {
		t.Error("nil chunk: no error")
	}
	if IsTemplated(nil, 0) || IsTemplated(chunk, -5) {
		t.Error("IsTemplated true on garbage")
	}
}

// A template whose body instantiates itself recurses until the depth limit.
func TestSelfReferencingTemplate(t *testing.T) {
	w := newChunkWriter()
	off := w.record(1, func() {
		w.fragmentHeader()
		w.u8(tokTemplate)
		w.u8(1)
		w.u32(1)
		defOff := w.pos() + 4
		w.u32(uint32(defOff))
		w.u32(0)
		w.raw(make([]byte, 16))
		sizeAt := w.pos()
		w.u32(0)
		bodyStart := w.pos()
		w.fragmentHeader()
		w.u8(tokTemplate)
		w.u8(1)
		w.u32(1)
		w.u32(uint32(defOff))
		w.u32(0) // no values
		w.eof()
		binary.LittleEndian.PutUint32(w.b[sizeAt:], uint32(w.pos()-bodyStart))
		w.u32(0)
		w.eof()
	})
	_, err := ParseRecord(w.chunk(off), off)
	if !errors.Is(err, ErrBudget) {
		t.Fatalf("err = %v, want ErrBudget", err)
	}
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}
