// Package binxml is a small, independent, bounds-checked decoder of the Binary XML
// (BinXML) that EVTX event records are stored in ([MS-EVEN6] 2.2.12, libyal's
// "Windows XML Event Log (EVTX) format").
//
// It is the EVTX reader's one decoder. ParseRecord decodes every token type
// (EntityRef, CharRef and CDATA included, which the Velocidex parser used before
// skipped without their payload, cutting inline records at their first "&gt;"),
// template instances included, into the same xmlevent.Element tree that
// xmlevent.Parse builds from the rendered XML. Records are found by chunk offset, so
// the reader also decodes the records after a damaged one. TestCorpusAgainstLibevtx
// compares every corpus record with libyal's evtxexport.
//
// Robustness: every read is bounds-checked against the chunk, fragment nesting
// (templates and BinXml values) and element nesting are limited to MaxDepth, and a
// per-record budget bounds tokens, elements and output bytes, so garbage input yields
// an error — never a panic, an endless loop or an allocation beyond a small multiple
// of the chunk size.
package binxml

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/exechunt/exechunt/tables/source/xmlevent"
)

// Limits applied to one ParseRecord call.
const (
	// MaxDepth bounds element nesting and fragment recursion (template bodies and
	// BinXml substitution values). Real events nest 4-6 deep.
	MaxDepth = 32
	// MaxElements bounds the elements (and attributes) built for one record.
	MaxElements = 4096
	// MaxTokens bounds the BinXML tokens processed for one record, template bodies
	// re-read for every instance included.
	MaxTokens = 1 << 18
	// maxOutputFactor bounds the text produced: at most maxOutputFactor*len(chunk)
	// bytes (+ a small constant) of names, values and text per record.
	maxOutputFactor = 4
)

const (
	recordHeaderSize = 24
	recordMagic      = "**\x00\x00"
	chunkHeaderSize  = 0x200
)

// ErrBudget is wrapped by errors caused by a record exceeding one of the limits.
var ErrBudget = errors.New("binxml: record exceeds decoding limits")

// errInternal marks a recovered panic (a bug; the fuzz test fails on it).
var errInternal = errors.New("binxml: internal error")

// ErrTruncated is wrapped by errors caused by a read past the end of the data.
var ErrTruncated = errors.New("binxml: truncated data")

// BinXML token types (the 0x40 bit is the "more data"/"has attributes" flag).
const (
	tokEOF             = 0x00
	tokOpenStart       = 0x01
	tokCloseStart      = 0x02
	tokCloseEmpty      = 0x03
	tokEndElement      = 0x04
	tokValue           = 0x05
	tokAttribute       = 0x06
	tokCDATA           = 0x07
	tokCharRef         = 0x08
	tokEntityRef       = 0x09
	tokPITarget        = 0x0A
	tokPIData          = 0x0B
	tokTemplate        = 0x0C
	tokNormalSubst     = 0x0D
	tokOptionalSubst   = 0x0E
	tokFragmentHeader  = 0x0F
	tokFlagMore        = 0x40
	fragmentHeaderSize = 4
)

// IsTemplated reports whether the record's BinXML starts (after the fragment header
// 0x0F 01 01 00) with a TemplateInstance token (0x0C). False means inline XML or a
// record too damaged to tell (ParseRecord then returns an error).
func IsTemplated(chunk []byte, recordOffset int) bool {
	start, end, err := recordBounds(chunk, recordOffset)
	if err != nil || end-start < fragmentHeaderSize+1 {
		return false
	}
	return chunk[start] == tokFragmentHeader && chunk[start+fragmentHeaderSize] == tokTemplate
}

// ParseRecord decodes the BinXML of the event record whose header ("**\x00\x00",
// size, id, filetime) starts at recordOffset within chunk (the whole 64 KiB chunk,
// since names and templates are referenced by chunk offset). It returns the <Event>
// element as xmlevent.Parse would build it from the rendered XML: entity and
// character references decoded, CDATA kept, adjacent text concatenated, xmlns
// attributes and name prefixes dropped. Substitution values are rendered as Windows
// renders them.
func ParseRecord(chunk []byte, recordOffset int) (el *xmlevent.Element, err error) {
	defer func() {
		// Belt and braces: every read is checked, but a reader must never panic.
		if r := recover(); r != nil {
			el, err = nil, fmt.Errorf("%w at record 0x%x: %v", errInternal, recordOffset, r)
		}
	}()
	start, end, err := recordBounds(chunk, recordOffset)
	if err != nil {
		return nil, err
	}
	p := &parser{
		chunk:     chunk,
		names:     make(map[uint32]string),
		outBudget: maxOutputFactor*len(chunk) + 4096,
	}
	root := &frame{el: &xmlevent.Element{}}
	p.stack = []*frame{root}
	if err := p.fragment(start, end, nil, true); err != nil {
		return nil, fmt.Errorf("record at chunk offset 0x%x: %w", recordOffset, err)
	}
	if len(p.stack) != 1 {
		return nil, fmt.Errorf("record at chunk offset 0x%x: %w: %d element(s) left open", recordOffset, ErrTruncated, len(p.stack)-1)
	}
	if len(root.el.Children) == 0 {
		return nil, fmt.Errorf("record at chunk offset 0x%x: binxml: no element", recordOffset)
	}
	ev := root.el.Children[0]
	if ev.Name != "Event" {
		return nil, fmt.Errorf("record at chunk offset 0x%x: %w (root is <%s>)", recordOffset, xmlevent.ErrNotEvent, ev.Name)
	}
	return ev, nil
}

// recordBounds checks the record header and returns the chunk range of its BinXML.
func recordBounds(chunk []byte, off int) (start, end int, err error) {
	if off < 0 || off > len(chunk)-recordHeaderSize {
		return 0, 0, fmt.Errorf("record offset 0x%x outside the %d-byte chunk: %w", off, len(chunk), ErrTruncated)
	}
	if string(chunk[off:off+4]) != recordMagic {
		return 0, 0, fmt.Errorf("record at chunk offset 0x%x: bad record magic % x", off, chunk[off:off+4])
	}
	size := int64(binary.LittleEndian.Uint32(chunk[off+4:]))
	if size < recordHeaderSize+4 || int64(off)+size > int64(len(chunk)) {
		return 0, 0, fmt.Errorf("record at chunk offset 0x%x: size %d does not fit the chunk: %w", off, size, ErrTruncated)
	}
	// The record ends with a copy of its size.
	return off + recordHeaderSize, off + int(size) - 4, nil
}

// value is one template substitution value: its type and raw bytes.
type value struct {
	typ  byte
	off  int // chunk offset of data
	data []byte
}

// frame is an element being built, with its text and attribute buffers.
type frame struct {
	el       *xmlevent.Element
	text     []byte
	inAttrs  bool     // between the element start and its close-start token
	attr     []byte   // value of the attribute being built
	attrName string   // "" when no attribute is being built
	attrSeen bool     // the attribute has a value other than a null optional substitution
	array    []string // set when an array substitution makes the element repeat
	isArray  bool
}

type parser struct {
	chunk     []byte
	names     map[uint32]string
	stack     []*frame // stack[0] is a synthetic document node
	depth     int      // fragment recursion depth
	tokens    int
	elements  int
	outBudget int
}

// stream is a cursor over chunk[pos:end].
type stream struct {
	pos, end int
}

func (p *parser) need(s *stream, n int) error {
	if n < 0 || s.pos > s.end-n {
		return fmt.Errorf("%w: need %d byte(s) at chunk offset 0x%x, %d left", ErrTruncated, n, s.pos, s.end-s.pos)
	}
	return nil
}

func (p *parser) u8(s *stream) (byte, error) {
	if err := p.need(s, 1); err != nil {
		return 0, err
	}
	v := p.chunk[s.pos]
	s.pos++
	return v, nil
}

func (p *parser) u16(s *stream) (uint16, error) {
	if err := p.need(s, 2); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint16(p.chunk[s.pos:])
	s.pos += 2
	return v, nil
}

func (p *parser) u32(s *stream) (uint32, error) {
	if err := p.need(s, 4); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint32(p.chunk[s.pos:])
	s.pos += 4
	return v, nil
}

func (p *parser) bytes(s *stream, n int) ([]byte, error) {
	if err := p.need(s, n); err != nil {
		return nil, err
	}
	v := p.chunk[s.pos : s.pos+n]
	s.pos += n
	return v, nil
}

// spend charges n output bytes against the record's budget.
func (p *parser) spend(n int) error {
	p.outBudget -= n
	if p.outBudget < 0 {
		return fmt.Errorf("%w: too much output", ErrBudget)
	}
	return nil
}

func (p *parser) cur() *frame { return p.stack[len(p.stack)-1] }

// fragment decodes the token stream chunk[start:end] until its EOF token (or end).
// vals are the substitution values in scope (nil outside a template body). autoDep
// is true where the element-start dependency identifier may be absent (records and
// BinXml values); template bodies always carry it.
func (p *parser) fragment(start, end int, vals []value, autoDep bool) error {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > MaxDepth {
		return fmt.Errorf("%w: fragments nested deeper than %d", ErrBudget, MaxDepth)
	}
	if start < 0 || end > len(p.chunk) || start > end {
		return fmt.Errorf("%w: fragment 0x%x..0x%x outside the chunk", ErrTruncated, start, end)
	}
	base := len(p.stack)
	s := &stream{pos: start, end: end}
	for s.pos < s.end {
		p.tokens++
		if p.tokens > MaxTokens {
			return fmt.Errorf("%w: more than %d tokens", ErrBudget, MaxTokens)
		}
		tokPos := s.pos
		tok, _ := p.u8(s)
		var err error
		switch tok {
		case tokEOF:
			if len(p.stack) != base {
				return fmt.Errorf("%w: end of fragment at 0x%x with %d element(s) open", ErrTruncated, tokPos, len(p.stack)-base)
			}
			return nil
		case tokFragmentHeader:
			_, err = p.bytes(s, fragmentHeaderSize-1)
		case tokOpenStart, tokOpenStart | tokFlagMore:
			err = p.openElement(s, tok&tokFlagMore != 0, !autoDep)
		case tokCloseStart:
			err = p.closeStart(tokPos)
		case tokCloseEmpty, tokEndElement:
			err = p.closeElement(tokPos, base)
		case tokValue, tokValue | tokFlagMore:
			err = p.valueText(s)
		case tokAttribute, tokAttribute | tokFlagMore:
			err = p.attribute(s, tokPos)
		case tokCDATA, tokCDATA | tokFlagMore:
			var str string
			if str, err = p.prefixedString(s); err == nil {
				err = p.addText(str, true)
			}
		case tokCharRef, tokCharRef | tokFlagMore:
			var c uint16
			if c, err = p.u16(s); err == nil {
				err = p.addText(string(rune(c)), true)
			}
		case tokEntityRef, tokEntityRef | tokFlagMore:
			var name string
			if name, err = p.name(s); err == nil {
				err = p.addText(entity(name), true)
			}
		case tokPITarget:
			_, err = p.name(s)
		case tokPIData:
			_, err = p.prefixedString(s)
		case tokTemplate:
			err = p.templateInstance(s, tokPos)
		case tokNormalSubst, tokOptionalSubst:
			err = p.substitution(s, vals, tok == tokOptionalSubst)
		default:
			err = fmt.Errorf("binxml: unknown token 0x%02x at chunk offset 0x%x", tok, tokPos)
		}
		if err != nil {
			return err
		}
	}
	if len(p.stack) != base {
		return fmt.Errorf("%w: fragment ends at 0x%x with %d element(s) open", ErrTruncated, s.end, len(p.stack)-base)
	}
	return nil
}

// entity returns the text of a named entity reference.
func entity(name string) string {
	switch name {
	case "amp":
		return "&"
	case "lt":
		return "<"
	case "gt":
		return ">"
	case "quot":
		return `"`
	case "apos":
		return "'"
	}
	return "&" + name + ";"
}

// openElement reads an element start: [dependency id], data size, name, [attribute
// list size]. withDep says the dependency identifier is certainly present; otherwise
// its presence is detected from where the name offset points.
func (p *parser) openElement(s *stream, hasAttrs, withDep bool) error {
	if err := p.endAttr(); err != nil {
		return err
	}
	if len(p.stack) > MaxDepth {
		return fmt.Errorf("%w: elements nested deeper than %d", ErrBudget, MaxDepth)
	}
	if f := p.cur(); f.inAttrs {
		return fmt.Errorf("binxml: element start at 0x%x inside an attribute list", s.pos-1)
	}
	if !withDep && !p.plausibleName(s.pos+4, s.pos+8) && p.plausibleName(s.pos+6, s.pos+10) {
		withDep = true
	}
	if withDep {
		if _, err := p.u16(s); err != nil {
			return err
		}
	}
	if _, err := p.u32(s); err != nil { // data size
		return err
	}
	name, err := p.name(s)
	if err != nil {
		return err
	}
	if hasAttrs {
		if _, err := p.u32(s); err != nil {
			return err
		}
	}
	if err := p.countElement(); err != nil {
		return err
	}
	el := &xmlevent.Element{Name: localName(name)}
	parent := p.cur()
	parent.el.Children = append(parent.el.Children, el)
	p.stack = append(p.stack, &frame{el: el, inAttrs: true})
	return nil
}

func (p *parser) countElement() error {
	p.elements++
	if p.elements > MaxElements {
		return fmt.Errorf("%w: more than %d elements", ErrBudget, MaxElements)
	}
	return nil
}

// plausibleName reports whether a name offset stored at chunk[at:at+4] is either the
// inline position inline (a name defined right there) or a reference back into the
// chunk to a well-formed name.
func (p *parser) plausibleName(at, inline int) bool {
	if at < 0 || at > len(p.chunk)-4 {
		return false
	}
	off := int(binary.LittleEndian.Uint32(p.chunk[at:]))
	if off != inline && (off < chunkHeaderSize || off >= at) {
		return false
	}
	_, _, err := p.readNameAt(off)
	return err == nil
}

// readNameAt decodes the name structure at chunk offset off (next offset, hash,
// character count, UTF-16 characters, NUL) and returns it with its size in bytes.
func (p *parser) readNameAt(off int) (string, int, error) {
	if off < 0 || off > len(p.chunk)-8 {
		return "", 0, fmt.Errorf("%w: name offset 0x%x outside the chunk", ErrTruncated, off)
	}
	n := int(binary.LittleEndian.Uint16(p.chunk[off+6:]))
	size := 8 + 2*n + 2
	if off > len(p.chunk)-size {
		return "", 0, fmt.Errorf("%w: name at 0x%x (%d chars) runs past the chunk", ErrTruncated, off, n)
	}
	if p.chunk[off+size-2] != 0 || p.chunk[off+size-1] != 0 {
		return "", 0, fmt.Errorf("binxml: name at 0x%x is not NUL-terminated", off)
	}
	if n == 0 {
		return "", 0, fmt.Errorf("binxml: empty name at 0x%x", off)
	}
	return decodeUTF16(p.chunk[off+8 : off+8+2*n]), size, nil
}

// name reads a name reference (uint32 chunk offset). When the offset is the current
// position the name is defined inline and skipped over; otherwise it is interned
// elsewhere in the chunk.
func (p *parser) name(s *stream) (string, error) {
	off, err := p.u32(s)
	if err != nil {
		return "", err
	}
	if int64(off) == int64(s.pos) {
		name, size, err := p.readNameAt(s.pos)
		if err != nil {
			return "", err
		}
		if _, err := p.bytes(s, size); err != nil {
			return "", err
		}
		p.names[off] = name
		return name, p.spend(len(name))
	}
	if name, ok := p.names[off]; ok {
		return name, p.spend(len(name))
	}
	if int64(off) >= int64(len(p.chunk)) {
		return "", fmt.Errorf("%w: name offset 0x%x outside the chunk", ErrTruncated, off)
	}
	name, _, err := p.readNameAt(int(off))
	if err != nil {
		return "", err
	}
	p.names[off] = name
	return name, p.spend(len(name))
}

// localName drops a namespace prefix, as encoding/xml's Name.Local does.
func localName(n string) string {
	for i := len(n) - 1; i >= 0; i-- {
		if n[i] == ':' {
			return n[i+1:]
		}
	}
	return n
}

// prefixedString reads a uint16 character count and that many UTF-16LE characters.
func (p *parser) prefixedString(s *stream) (string, error) {
	n, err := p.u16(s)
	if err != nil {
		return "", err
	}
	b, err := p.bytes(s, 2*int(n))
	if err != nil {
		return "", err
	}
	return decodeUTF16(b), nil
}

func (p *parser) closeStart(at int) error {
	if err := p.endAttr(); err != nil {
		return err
	}
	f := p.cur()
	if len(p.stack) == 1 || !f.inAttrs {
		return fmt.Errorf("binxml: unexpected close-start token at chunk offset 0x%x", at)
	}
	f.inAttrs = false
	return nil
}

func (p *parser) closeElement(at, base int) error {
	if err := p.endAttr(); err != nil {
		return err
	}
	if len(p.stack) <= base || len(p.stack) == 1 {
		return fmt.Errorf("binxml: unbalanced end-element token at chunk offset 0x%x", at)
	}
	f := p.cur()
	p.stack = p.stack[:len(p.stack)-1]
	f.el.Text = string(f.text)
	if !f.isArray {
		return nil
	}
	// An array substitution repeats the element once per item.
	parent := p.cur()
	kids := parent.el.Children[:len(parent.el.Children)-1]
	for i, item := range f.array {
		c := f.el
		if i > 0 {
			// Copies share nothing, so the tree never becomes a DAG whose walk
			// would cost more than the element budget.
			var err error
			if c, err = p.deepCopy(f.el); err != nil {
				return err
			}
		}
		if err := p.spend(len(item)); err != nil {
			return err
		}
		c.Text = item
		kids = append(kids, c)
	}
	parent.el.Children = kids
	return nil
}

// deepCopy copies an element tree, charging its elements and text to the budget.
func (p *parser) deepCopy(e *xmlevent.Element) (*xmlevent.Element, error) {
	if err := p.countElement(); err != nil {
		return nil, err
	}
	if err := p.spend(len(e.Name) + len(e.Text)); err != nil {
		return nil, err
	}
	c := &xmlevent.Element{Name: e.Name, Text: e.Text}
	if len(e.Attrs) > 0 {
		c.Attrs = make([]xmlevent.Attr, len(e.Attrs))
		for i, a := range e.Attrs {
			if err := p.spend(len(a.Name) + len(a.Value)); err != nil {
				return nil, err
			}
			c.Attrs[i] = a
		}
	}
	for _, k := range e.Children {
		kc, err := p.deepCopy(k)
		if err != nil {
			return nil, err
		}
		c.Children = append(c.Children, kc)
	}
	return c, nil
}

// attribute starts a new attribute on the current element.
func (p *parser) attribute(s *stream, at int) error {
	if err := p.endAttr(); err != nil {
		return err
	}
	f := p.cur()
	if len(p.stack) == 1 || !f.inAttrs {
		return fmt.Errorf("binxml: attribute token outside an element start at chunk offset 0x%x", at)
	}
	name, err := p.name(s)
	if err != nil {
		return err
	}
	f.attrName = name
	f.attr = f.attr[:0]
	f.attrSeen = false
	return nil
}

// endAttr completes the attribute being built, if any. Attributes whose only value
// is a null optional substitution are omitted, as Windows does; xmlns attributes are
// dropped, as xmlevent.Parse does.
func (p *parser) endAttr() error {
	f := p.cur()
	if f.attrName == "" {
		return nil
	}
	name := f.attrName
	f.attrName = ""
	if !f.attrSeen || name == "xmlns" || len(name) > 6 && name[:6] == "xmlns:" {
		return nil
	}
	if err := p.countElement(); err != nil {
		return err
	}
	f.el.Attrs = append(f.el.Attrs, xmlevent.Attr{Name: localName(name), Value: string(f.attr)})
	return nil
}

// addText appends character data to the attribute being built or to the element's
// text. seen is false for a null optional substitution.
func (p *parser) addText(str string, seen bool) error {
	if err := p.spend(len(str)); err != nil {
		return err
	}
	f := p.cur()
	if f.attrName != "" {
		f.attr = append(f.attr, str...)
		f.attrSeen = f.attrSeen || seen
		return nil
	}
	if len(p.stack) == 1 {
		return nil // text outside the root element is dropped, like whitespace
	}
	if f.inAttrs {
		return errors.New("binxml: text inside an element start without an attribute")
	}
	f.text = append(f.text, str...)
	return nil
}

func (p *parser) valueText(s *stream) error {
	typ, err := p.u8(s)
	if err != nil {
		return err
	}
	if typ != typString {
		return fmt.Errorf("binxml: value token of type 0x%02x at chunk offset 0x%x (want UTF-16 string)", typ, s.pos-2)
	}
	str, err := p.prefixedString(s)
	if err != nil {
		return err
	}
	return p.addText(str, true)
}

// templateInstance reads a template instance: its definition (inline on first use in
// the chunk, otherwise referenced by chunk offset) and its substitution values, then
// decodes the definition's body with those values.
func (p *parser) templateInstance(s *stream, at int) error {
	if _, err := p.u8(s); err != nil { // unknown, 1
		return err
	}
	if _, err := p.u32(s); err != nil { // template id
		return err
	}
	defOff32, err := p.u32(s)
	if err != nil {
		return err
	}
	defOff := int64(defOff32)
	if defOff < chunkHeaderSize || defOff > int64(len(p.chunk))-24 {
		return fmt.Errorf("binxml: template definition offset 0x%x at chunk offset 0x%x outside the chunk", defOff, at)
	}
	// Definition: next template offset (4), GUID (16), data size (4), body.
	def := int(defOff)
	bodySize := int64(binary.LittleEndian.Uint32(p.chunk[def+20:]))
	bodyStart := def + 24
	if bodySize > int64(len(p.chunk)-bodyStart) {
		return fmt.Errorf("%w: template body at 0x%x (%d bytes) runs past the chunk", ErrTruncated, bodyStart, bodySize)
	}
	bodyEnd := bodyStart + int(bodySize)
	if def == s.pos {
		if _, err := p.bytes(s, 24+int(bodySize)); err != nil {
			return err
		}
	}
	n, err := p.u32(s)
	if err != nil {
		return err
	}
	if int64(n)*4 > int64(s.end-s.pos) {
		return fmt.Errorf("%w: %d substitution descriptors at chunk offset 0x%x", ErrTruncated, n, s.pos)
	}
	vals := make([]value, n)
	sizes := make([]uint16, n)
	for i := range vals {
		sizes[i], _ = p.u16(s)
		vals[i].typ, _ = p.u8(s)
		if _, err := p.u8(s); err != nil {
			return err
		}
	}
	for i := range vals {
		vals[i].off = s.pos
		b, err := p.bytes(s, int(sizes[i]))
		if err != nil {
			return fmt.Errorf("substitution value %d: %w", i, err)
		}
		vals[i].data = b
	}
	return p.fragment(bodyStart, bodyEnd, vals, false)
}

// substitution renders substitution value idx into the current attribute or element.
func (p *parser) substitution(s *stream, vals []value, optional bool) error {
	idx, err := p.u16(s)
	if err != nil {
		return err
	}
	declared, err := p.u8(s)
	if err != nil {
		return err
	}
	_ = declared // the value's own descriptor type is authoritative
	if vals == nil {
		return fmt.Errorf("binxml: substitution token at chunk offset 0x%x outside a template", s.pos-4)
	}
	if int(idx) >= len(vals) {
		return p.addText("", !optional) // missing value: treated as null
	}
	v := vals[idx]
	if v.typ == typNull || (v.typ != typString && len(v.data) == 0) {
		return p.addText("", !optional)
	}
	if v.typ == typBinXML {
		f := p.cur()
		if f.attrName != "" || len(p.stack) == 1 {
			return p.addText(hexUpper(v.data), true)
		}
		if f.inAttrs {
			f.inAttrs = false // a nested fragment can only be element content
		}
		return p.fragment(v.off, v.off+len(v.data), nil, true)
	}
	if v.typ&typArray != 0 {
		items, err := arrayItems(v.typ&^typArray, v.data)
		if err != nil {
			return err
		}
		f := p.cur()
		if f.attrName != "" || len(p.stack) == 1 || f.inAttrs {
			joined := ""
			for i, it := range items {
				if i > 0 {
					joined += ","
				}
				joined += it
				if err := p.spend(len(it) + 1); err != nil {
					return err
				}
			}
			return p.addText(joined, true)
		}
		total := 0
		for _, it := range items {
			total += len(it)
		}
		if err := p.spend(total); err != nil {
			return err
		}
		f.isArray = true
		f.array = append(f.array, items...)
		return nil
	}
	str, err := formatValue(v.typ, v.data)
	if err != nil {
		return err
	}
	return p.addText(str, true)
}

// decodeUTF16 decodes UTF-16LE bytes (an odd trailing byte is dropped) into UTF-8,
// trimming trailing NULs as Windows does when rendering.
func decodeUTF16(b []byte) string {
	n := len(b) / 2
	for n > 0 && b[2*n-2] == 0 && b[2*n-1] == 0 {
		n--
	}
	ascii := true
	for i := 0; i < n; i++ {
		if b[2*i+1] != 0 || b[2*i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		out := make([]byte, n)
		for i := range out {
			out[i] = b[2*i]
		}
		return string(out)
	}
	u := make([]uint16, n)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}
