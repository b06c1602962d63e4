// Package xmlevent decodes Windows-event XML (<Event><System>…</System><EventData>…)
// into a small element tree and maps it to an event.Record. Sysmon for Linux writes
// exactly this XML into syslog, `wevtutil qe /f:xml` exports it, and the EVTX reader's
// own BinXML fallback builds the same tree, so all three share one mapping.
package xmlevent

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/exechunt/exechunt/tables/event"
)

// Element is one XML element: its name, attributes, character data and children.
type Element struct {
	Name     string
	Attrs    []Attr
	Text     string
	Children []*Element
	// Truncated is set on the root when the XML ended before </Event> (syslog cuts
	// messages at 1–2 KiB); the elements read before the cut are kept.
	Truncated bool
}

// Attr is one attribute of an Element.
type Attr struct{ Name, Value string }

// Child returns the first child called name, or nil.
func (e *Element) Child(name string) *Element {
	if e == nil {
		return nil
	}
	for _, c := range e.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Attr returns the value of the attribute called name ("" if absent).
func (e *Element) Attr(name string) string {
	if e == nil {
		return ""
	}
	for _, a := range e.Attrs {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

// ChildText is the text of the first child called name ("" if absent).
func (e *Element) ChildText(name string) string {
	if c := e.Child(name); c != nil {
		return c.Text
	}
	return ""
}

// MaxDepth bounds element nesting; real events nest 4 deep.
const MaxDepth = 64

// ErrNotEvent is returned when the XML is well formed but not an <Event>.
var ErrNotEvent = errors.New("xml is not an <Event> element")

// Parse decodes one <Event> element. It rejects malformed XML and nesting deeper
// than MaxDepth with an error (never a panic). Two defects of real Sysmon-for-Linux
// output are repaired: entities written without their semicolon ("&lt unknown
// process&gt") and XML cut short by the syslog message size limit, which yields the
// elements before the cut with Truncated set.
func Parse(data []byte) (*Element, error) {
	data = fixEntities(data)
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	var stack []*Element
	var root *Element
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			if root != nil && len(stack) > 0 && isUnexpectedEOF(err) {
				root.Truncated = true
				break
			}
			return nil, fmt.Errorf("xml: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= MaxDepth {
				return nil, fmt.Errorf("xml: elements nested deeper than %d", MaxDepth)
			}
			el := &Element{Name: t.Name.Local}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
					continue
				}
				el.Attrs = append(el.Attrs, Attr{Name: a.Name.Local, Value: a.Value})
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("xml: more than one root element")
				}
				root = el
			} else {
				parent := stack[len(stack)-1]
				parent.Children = append(parent.Children, el)
			}
			stack = append(stack, el)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("xml: no element")
	}
	if root.Name != "Event" {
		return nil, fmt.Errorf("%w (root is <%s>)", ErrNotEvent, root.Name)
	}
	return root, nil
}

func isUnexpectedEOF(err error) bool {
	var se *xml.SyntaxError
	return errors.As(err, &se) && strings.Contains(se.Msg, "unexpected EOF")
}

// fixEntities adds the missing semicolon to the five predefined entities and escapes
// a bare '&' that starts no entity, and drops a partial tag or entity at the very end
// (the cut of a truncated message), so that the strict decoder can read the rest.
func fixEntities(b []byte) []byte {
	if lt := bytes.LastIndexByte(b, '<'); lt > bytes.LastIndexByte(b, '>') {
		b = b[:lt]
	}
	if bytes.IndexByte(b, '&') < 0 {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); i++ {
		if b[i] != '&' {
			out = append(out, b[i])
			continue
		}
		rest := b[i+1:]
		if semi := bytes.IndexByte(rest, ';'); semi > 0 && semi <= 10 && validEntity(rest[:semi]) {
			out = append(out, '&')
			continue
		}
		fixed := false
		for _, name := range [...]string{"quot", "apos", "amp", "lt", "gt"} {
			if bytes.HasPrefix(rest, []byte(name)) {
				out = append(out, '&')
				out = append(out, name...)
				out = append(out, ';')
				i += len(name)
				fixed = true
				break
			}
		}
		if !fixed {
			if i+1 >= len(b) || len(rest) < 6 && bytes.IndexByte(rest, ';') < 0 && isEntityPrefix(rest) {
				break // a partial entity at the cut: drop it
			}
			out = append(out, "&amp;"...)
		}
	}
	return out
}

func validEntity(name []byte) bool {
	switch string(name) {
	case "quot", "apos", "amp", "lt", "gt":
		return true
	}
	if len(name) > 1 && name[0] == '#' {
		for _, c := range name[1:] {
			if !(c >= '0' && c <= '9' || c == 'x' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
		return true
	}
	return false
}

func isEntityPrefix(rest []byte) bool {
	for _, name := range [...]string{"quot", "apos", "amp", "lt", "gt", "#"} {
		if len(rest) < len(name) && strings.HasPrefix(name, string(rest)) {
			return true
		}
	}
	return false
}

// ToRecord fills rec's System fields and Data from an <Event> element. Fields it
// cannot parse stay zero; it never fails.
func ToRecord(ev *Element, rec *event.Record) {
	sys := ev.Child("System")
	rec.Provider = sys.Child("Provider").Attr("Name")
	if rec.Provider == "" {
		rec.Provider = sys.Child("Provider").Attr("EventSourceName")
	}
	id, _ := strconv.ParseUint(strings.TrimSpace(sys.ChildText("EventID")), 10, 32)
	rec.EventID = uint32(id)
	rec.RecordID, _ = strconv.ParseUint(strings.TrimSpace(sys.ChildText("EventRecordID")), 10, 64)
	rec.Channel = strings.TrimSpace(sys.ChildText("Channel"))
	rec.Computer = strings.TrimSpace(sys.ChildText("Computer"))
	rec.Keywords = event.ParseUint(sys.ChildText("Keywords"))
	rec.Level, _ = strconv.Atoi(strings.TrimSpace(sys.ChildText("Level")))
	rec.Time = ParseTime(sys.Child("TimeCreated").Attr("SystemTime"))
	rec.ExecutionPID, _ = strconv.ParseInt(sys.Child("Execution").Attr("ProcessID"), 10, 64)
	sec := sys.Child("Security")
	rec.UserSID = sec.Attr("UserID")
	if rec.UserSID == "" {
		rec.UserSID = sec.Attr("UserId") // Sysmon for Linux spells it so
	}
	rec.Data = Fields(ev)
	rec.Message = ev.Child("RenderingInfo").ChildText("Message") // wevtutil /f:RenderedXml
	rec.Truncated = ev.Truncated
}

// Fields returns the EventData (or UserData) values of an <Event> element: named
// <Data Name="…"> values by name, unnamed ones as "#0", "#1", ….
func Fields(ev *Element) event.MapFields {
	f := event.MapFields{Values: map[string]string{}}
	add := func(k, v string) {
		if _, dup := f.Values[k]; dup {
			return
		}
		f.Values[k] = v
		f.Order = append(f.Order, k)
	}
	if ed := ev.Child("EventData"); ed != nil {
		n := 0
		for _, c := range ed.Children {
			name := c.Attr("Name")
			if name == "" {
				if c.Name != "Data" {
					name = c.Name
				} else {
					name = "#" + strconv.Itoa(n)
					n++
				}
			}
			add(name, c.Text)
		}
	}
	if ud := ev.Child("UserData"); ud != nil {
		for _, wrapper := range ud.Children {
			for _, c := range wrapper.Children {
				add(c.Name, c.Text)
			}
		}
	}
	return f
}

// ParseTime reads an event timestamp: RFC 3339 with any fraction (Windows writes 7
// digits, Sysmon for Linux 9), or "2006-01-02 15:04:05.000" as in Sysmon's UtcTime,
// always as UTC. A zero time is returned for anything else.
func ParseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
