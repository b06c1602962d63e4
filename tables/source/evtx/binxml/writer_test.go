package binxml

import (
	"bytes"
	"encoding/binary"
	"unicode/utf16"
)

// chunkWriter builds an EVTX chunk in memory for tests: a 0x200-byte chunk header,
// records, and BinXML tokens inside them. Offsets are chunk offsets.
type chunkWriter struct {
	b     []byte
	names map[string]int // interned names: name -> chunk offset of its structure
	dep   bool           // write the element-start dependency identifier
	first uint64
	n     int
}

func newChunkWriter() *chunkWriter {
	w := &chunkWriter{b: make([]byte, chunkHeaderSize), names: map[string]int{}}
	copy(w.b, "ElfChnk\x00")
	return w
}

func (w *chunkWriter) pos() int     { return len(w.b) }
func (w *chunkWriter) u8(v byte)    { w.b = append(w.b, v) }
func (w *chunkWriter) u16(v uint16) { w.b = binary.LittleEndian.AppendUint16(w.b, v) }
func (w *chunkWriter) u32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *chunkWriter) u64(v uint64) { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *chunkWriter) raw(b []byte) { w.b = append(w.b, b...) }

func utf16le(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

// name writes a name reference: inline on first use, else the earlier offset.
func (w *chunkWriter) name(n string) {
	if off, ok := w.names[n]; ok {
		w.u32(uint32(off))
		return
	}
	off := w.pos() + 4
	w.names[n] = off
	w.u32(uint32(off))
	w.u32(0) // next name in the hash bucket
	var h uint32
	for _, c := range utf16.Encode([]rune(n)) {
		h = h*65599 + uint32(c)
	}
	w.u16(uint16(h))
	w.u16(uint16(len(utf16.Encode([]rune(n)))))
	w.raw(utf16le(n))
	w.u16(0)
}

func (w *chunkWriter) fragmentHeader() { w.raw([]byte{tokFragmentHeader, 1, 1, 0}) }

// open writes an element start; close with closeStart()+...+end() or closeEmpty().
func (w *chunkWriter) open(name string, withAttrs bool) {
	if withAttrs {
		w.u8(tokOpenStart | tokFlagMore)
	} else {
		w.u8(tokOpenStart)
	}
	if w.dep {
		w.u16(0xFFFF)
	}
	w.u32(0) // data size (not used by decoders)
	w.name(name)
	if withAttrs {
		w.u32(0) // attribute list size
	}
}

func (w *chunkWriter) attr(name string)        { w.u8(tokAttribute); w.name(name) }
func (w *chunkWriter) closeStart()             { w.u8(tokCloseStart) }
func (w *chunkWriter) closeEmpty()             { w.u8(tokCloseEmpty) }
func (w *chunkWriter) end()                    { w.u8(tokEndElement) }
func (w *chunkWriter) eof()                    { w.u8(tokEOF) }
func (w *chunkWriter) entity(name string)      { w.u8(tokEntityRef); w.name(name) }
func (w *chunkWriter) charRef(c uint16)        { w.u8(tokCharRef); w.u16(c) }
func (w *chunkWriter) subst(idx int, typ byte) { w.u8(tokNormalSubst); w.u16(uint16(idx)); w.u8(typ) }
func (w *chunkWriter) optSubst(idx int, typ byte) {
	w.u8(tokOptionalSubst)
	w.u16(uint16(idx))
	w.u8(typ)
}

func (w *chunkWriter) text(s string) {
	w.u8(tokValue)
	w.u8(typString)
	w.u16(uint16(len(utf16.Encode([]rune(s)))))
	w.raw(utf16le(s))
}

func (w *chunkWriter) cdata(s string) {
	w.u8(tokCDATA)
	w.u16(uint16(len(utf16.Encode([]rune(s)))))
	w.raw(utf16le(s))
}

// textElement writes <name>text</name>.
func (w *chunkWriter) textElement(name, text string) {
	w.open(name, false)
	w.closeStart()
	w.text(text)
	w.end()
}

// substElement writes <name>%idx%</name>.
func (w *chunkWriter) substElement(name string, idx int, typ byte) {
	w.open(name, false)
	w.closeStart()
	w.subst(idx, typ)
	w.end()
}

// attrSubst writes <name attr="%idx%"/>, the substitution optional when opt is set.
func (w *chunkWriter) attrSubst(name, attr string, idx int, typ byte, opt bool) {
	w.open(name, true)
	w.attr(attr)
	if opt {
		w.optSubst(idx, typ)
	} else {
		w.subst(idx, typ)
	}
	w.closeEmpty()
}

// dataElement writes <Data Name="name"> and leaves the content to body.
func (w *chunkWriter) dataElement(name string, body func()) {
	w.open("Data", true)
	w.attr("Name")
	w.text(name)
	w.closeStart()
	body()
	w.end()
}

// templateInstance writes a template instance: the definition inline when *defOff is
// 0 (body writes the template's elements; *defOff is set to where it lies) or else a
// reference to *defOff, then the substitution values with their types.
func (w *chunkWriter) templateInstance(id uint32, defOff *int, body func(), vals [][]byte, types []byte) {
	w.u8(tokTemplate)
	w.u8(1)
	w.u32(id)
	if *defOff != 0 {
		w.u32(uint32(*defOff))
	} else {
		*defOff = w.pos() + 4
		w.u32(uint32(*defOff))
		w.u32(0)                                  // next template
		w.raw(bytes.Repeat([]byte{byte(id)}, 16)) // GUID
		sizeAt := w.pos()
		w.u32(0)
		bodyStart := w.pos()
		w.dep = true
		w.fragmentHeader()
		body()
		w.eof()
		w.dep = false
		binary.LittleEndian.PutUint32(w.b[sizeAt:], uint32(w.pos()-bodyStart))
	}
	w.u32(uint32(len(vals)))
	for i, b := range vals {
		w.u16(uint16(len(b)))
		w.u8(types[i])
		w.u8(0)
	}
	for _, b := range vals {
		w.raw(b)
	}
}

// record writes a record header, the BinXML written by body, and the size copy.
// It returns the record's chunk offset.
func (w *chunkWriter) record(id uint64, body func()) int {
	start := w.pos()
	w.raw([]byte(recordMagic))
	w.u32(0) // size, patched below
	w.u64(id)
	w.u64(133000000000000000) // FILETIME
	body()
	size := w.pos() - start + 4
	w.u32(uint32(size))
	binary.LittleEndian.PutUint32(w.b[start+4:], uint32(size))
	if w.n == 0 {
		w.first = id
	}
	w.n++
	return start
}

// chunk pads to 64 KiB and fills the chunk header fields a reader checks.
func (w *chunkWriter) chunk(lastRecordOffset int) []byte {
	out := make([]byte, chunkSize)
	copy(out, w.b)
	binary.LittleEndian.PutUint64(out[8:], w.first)                   // first record number
	binary.LittleEndian.PutUint64(out[16:], w.first+uint64(w.n)-1)    // last record number
	binary.LittleEndian.PutUint64(out[24:], w.first)                  // first record id
	binary.LittleEndian.PutUint64(out[32:], w.first+uint64(w.n)-1)    // last record id
	binary.LittleEndian.PutUint32(out[40:], 0x80)                     // header size
	binary.LittleEndian.PutUint32(out[44:], uint32(lastRecordOffset)) // last record offset
	binary.LittleEndian.PutUint32(out[48:], uint32(len(w.b)))         // free space offset
	return out
}
