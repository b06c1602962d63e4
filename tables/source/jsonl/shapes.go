package jsonl

import (
	"encoding/json"
	"errors"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source/xmlevent"
)

// errNotEvent is reported for JSON objects that carry no event ID in any known shape.
var errNotEvent = errors.New("JSON object is not an event record (no EventID in a known shape); skipped")

// toRecord recognises the record shape and fills rec.
func toRecord(m map[string]any, rec *event.Record) error {
	if ev, ok := m["Event"].(map[string]any); ok {
		return fromEventObject(ev, rec)
	}
	if wl, ok := m["winlog"].(map[string]any); ok {
		return fromWinlogbeat(m, wl, rec)
	}
	if x, ok := embeddedXML(m); ok {
		el, err := xmlevent.Parse([]byte(x))
		if err != nil {
			return err
		}
		xmlevent.ToRecord(el, rec)
		if rec.Computer == "" {
			rec.Computer = firstString(m, "Computer", "HostName", "Hostname", "_HOSTNAME")
		}
		return nil
	}
	return fromFlat(m, rec)
}

// embeddedXML finds event XML carried in a syslog/journald/Elastic message field.
func embeddedXML(m map[string]any) (string, bool) {
	for _, k := range []string{"SyslogMessage", "MESSAGE", "message", "Message", "syslog_message"} {
		s, ok := m[k].(string)
		if !ok {
			continue
		}
		i := strings.Index(s, "<Event")
		if i < 0 {
			continue
		}
		if j := strings.LastIndex(s, "</Event>"); j > i {
			return s[i : j+len("</Event>")], true
		}
		return s[i:], true // cut short by the transport; xmlevent keeps what is there
	}
	return "", false
}

// fromEventObject maps evtx_dump / python-evtx style {"Event": {"System": …}} objects,
// where attributes live under "#attributes" and text under "#text" or "Value".
func fromEventObject(ev map[string]any, rec *event.Record) error {
	sys, _ := ev["System"].(map[string]any)
	if sys == nil {
		return errors.New("JSON event object has no System; skipped")
	}
	rec.Provider = attr(sys["Provider"], "Name")
	if rec.Provider == "" {
		rec.Provider = attr(sys["Provider"], "EventSourceName")
	}
	rec.EventID = uint32(event.ParseUint(text(sys["EventID"])))
	rec.RecordID = event.ParseUint(text(sys["EventRecordID"]))
	rec.Channel = text(sys["Channel"])
	rec.Computer = text(sys["Computer"])
	rec.Keywords = event.ParseUint(text(sys["Keywords"]))
	rec.Level = int(event.ParseUint(text(sys["Level"])))
	rec.Time = parseTime(attr(sys["TimeCreated"], "SystemTime"))
	rec.ExecutionPID = int64(event.ParseUint(attr(sys["Execution"], "ProcessID")))
	rec.UserSID = attr(sys["Security"], "UserID")
	if ri, ok := ev["RenderingInfo"].(map[string]any); ok {
		rec.Message = text(ri["Message"])
	}
	f := newFields()
	data, ok := ev["EventData"]
	if !ok {
		if ud, isMap := ev["UserData"].(map[string]any); isMap {
			for _, inner := range ud { // one provider-named wrapper element
				data = inner
			}
		}
	}
	f.collect(data)
	rec.Data = f.MapFields
	return nil
}

// fields builds a record's MapFields; unnamed counts the unnamed items seen.
type fields struct {
	event.MapFields
	unnamed int
}

func newFields() *fields { return &fields{MapFields: event.MapFields{Values: map[string]string{}}} }

// add keeps the first value of a name.
func (f *fields) add(k, v string) {
	if _, dup := f.Values[k]; !dup {
		f.Values[k] = v
		f.Order = append(f.Order, k)
	}
}

// addUnnamed adds an unnamed item as "#0", "#1", … (event.Fields' convention).
func (f *fields) addUnnamed(v string) {
	f.add("#"+strconv.Itoa(f.unnamed), v)
	f.unnamed++
}

// collect adds the values of an EventData in any shape exports give it:
//
//	{"CommandLine": "…"}                                      named members
//	{"Data": [{"@Name": "X", "#text": "v"}, …]}                xmltodict, EvtxECmd
//	{"Data": [{"#attributes": {"Name": "X"}, "#text": "v"}]}   evtx_dump (python-evtx)
//	{"Data": [{"Name": "X", "Value": "v"}]}, {"name", "value"} name/value pairs
//	{"Data": ["a", "b"]}, {"Data": {"#text": ["a", "b"]}}      unnamed items
//	[{"Name": "X", "Value": "v"}, …]                            a bare list
//
// Unnamed items become "#0", "#1", … in order.
func (f *fields) collect(data any) {
	switch t := data.(type) {
	case []any:
		for _, it := range t {
			f.item(it)
		}
	case map[string]any:
		if _, isPair := pairName(t); isPair {
			f.item(t)
			return
		}
		for _, k := range slices.Sorted(maps.Keys(t)) {
			switch k {
			case "#attributes", "xmlns", "@xmlns":
			case "Data", "data":
				switch t[k].(type) {
				case []any, map[string]any:
					f.collectData(t[k])
				default: // a value named "Data", maybe beside "Data1", "Data2"…
					f.add(k, text(t[k]))
				}
			default:
				f.add(k, text(t[k]))
			}
		}
	case nil:
	default:
		f.addUnnamed(text(t))
	}
}

// collectData adds the items of a "Data" member that is a list or an object.
func (f *fields) collectData(v any) {
	if m, ok := v.(map[string]any); ok {
		if _, isPair := pairName(m); !isPair {
			if list, ok := m["#text"].([]any); ok { // evtx (Rust): unnamed items under one #text
				for _, it := range list {
					f.addUnnamed(text(it))
				}
				return
			}
		}
		f.item(m)
		return
	}
	list, _ := v.([]any)
	for _, it := range list {
		f.item(it)
	}
}

// item adds one Data item: a name/value pair, a bare value, or an object of named
// members.
func (f *fields) item(v any) {
	m, ok := v.(map[string]any)
	if !ok {
		f.addUnnamed(text(v))
		return
	}
	if name, isPair := pairName(m); isPair {
		if name == "" {
			f.addUnnamed(pairValue(m))
		} else {
			f.add(name, pairValue(m))
		}
		return
	}
	if len(m) == 1 {
		if v, ok := m[""]; ok { // OpenTelemetry: {"": "value"}
			f.addUnnamed(text(v))
			return
		}
	}
	f.collect(m)
}

// nameKeys and valueKeys are the members that carry an item's name and value.
var (
	nameKeys  = []string{"@Name", "Name", "name", "@name"}
	valueKeys = []string{"#text", "Value", "value", "#value", "@Value", "text"}
)

// pairName tells whether m is a name/value item (it has a name member, a value
// member, or both and nothing else of note) and returns the name.
func pairName(m map[string]any) (string, bool) {
	if a, ok := m["#attributes"].(map[string]any); ok {
		return text(a["Name"]), true
	}
	for _, k := range nameKeys {
		if v, ok := m[k]; ok {
			if s, isStr := v.(string); isStr && len(m) <= 2 {
				return s, true
			}
		}
	}
	if len(m) == 1 {
		for _, k := range valueKeys {
			if _, ok := m[k]; ok {
				if _, isList := m[k].([]any); !isList {
					return "", true
				}
			}
		}
	}
	return "", false
}

// pairValue is the value member of a name/value item ("" when it has none: an empty
// <Data Name="X"/>).
func pairValue(m map[string]any) string {
	for _, k := range valueKeys {
		if v, ok := m[k]; ok {
			return text(v)
		}
	}
	return ""
}

// fromWinlogbeat maps Winlogbeat/Elastic Agent records.
func fromWinlogbeat(m, wl map[string]any, rec *event.Record) error {
	id := text(wl["event_id"])
	if id == "" {
		if ev, ok := m["event"].(map[string]any); ok {
			id = text(ev["code"])
		}
	}
	if id == "" {
		return errNotEvent
	}
	rec.EventID = uint32(event.ParseUint(id))
	rec.Provider = text(wl["provider_name"])
	rec.Channel = text(wl["channel"])
	rec.Computer = text(wl["computer_name"])
	if rec.Computer == "" {
		if h, ok := m["host"].(map[string]any); ok {
			rec.Computer = text(h["name"])
		}
	}
	rec.RecordID = event.ParseUint(text(wl["record_id"]))
	if p, ok := wl["process"].(map[string]any); ok {
		rec.ExecutionPID = int64(event.ParseUint(text(p["pid"])))
	}
	if u, ok := wl["user"].(map[string]any); ok {
		rec.UserSID = text(u["identifier"])
	}
	rec.Time = parseTime(text(m["@timestamp"]))
	if rec.Time.IsZero() {
		rec.Time = parseTime(text(wl["time_created"]))
	}
	rec.Message = firstString(m, "message")
	f := newFields()
	f.collect(wl["event_data"])
	f.collect(wl["user_data"])
	rec.Data = f.MapFields
	return nil
}

// fromFlat maps flat records where System and EventData fields share one object:
// NXLog im_msvistalog as in OTRF Security-Datasets (EventID, SourceName, Channel,
// Hostname, RecordNumber, EventTime in the collector's local time) and similar.
func fromFlat(m map[string]any, rec *event.Record) error {
	idText := firstString(m, "EventID", "EventId", "event_id", "EventCode")
	if idText == "" {
		return errNotEvent
	}
	id, err := strconv.ParseUint(strings.TrimSpace(idText), 10, 32)
	if err != nil {
		return errNotEvent
	}
	rec.EventID = uint32(id)
	rec.Provider = firstString(m, "SourceName", "ProviderName", "Provider", "provider_name")
	rec.Channel = firstString(m, "Channel", "channel", "LogName")
	rec.Computer = firstString(m, "Hostname", "Computer", "ComputerName", "computer_name")
	rec.RecordID = event.ParseUint(firstString(m, "RecordNumber", "EventRecordID", "RecordId", "record_id"))
	rec.Keywords = event.ParseUint(firstString(m, "Keywords"))
	rec.ExecutionPID = int64(event.ParseUint(firstString(m, "ExecutionProcessID")))
	rec.UserSID = firstString(m, "UserID", "UserSid")
	rec.Level = int(event.ParseUint(firstString(m, "Level")))
	rec.Time = flatTime(m)
	f := newFields()
	for k, v := range m {
		if k != "EventData" && k != "UserData" {
			f.Values[k] = text(v)
		}
	}
	f.collect(m["EventData"]) // System fields at the top, EventData nested
	f.collect(m["UserData"])
	f.Order = nil // no source order: Each sorts
	rec.Data = f.MapFields
	return nil
}

// flatTime picks the best event time of a flat record. Sysmon's UtcTime is exact.
// NXLog's EventTime is in the collector's local zone without an offset; the offset is
// recovered from EventReceivedTime (same local clock) against @timestamp (UTC, set by
// the shipper seconds later), rounded to 15 minutes.
func flatTime(m map[string]any) time.Time {
	if t := parseTime(firstString(m, "UtcTime")); !t.IsZero() {
		return t
	}
	local := parseTime(firstString(m, "EventTime"))
	received := parseTime(firstString(m, "EventReceivedTime"))
	stamp := parseTime(firstString(m, "@timestamp"))
	if !local.IsZero() && !received.IsZero() && !stamp.IsZero() {
		off := stamp.Sub(received)
		q := 15 * time.Minute
		off = time.Duration(math.Round(float64(off)/float64(q))) * q
		return local.Add(off)
	}
	for _, k := range []string{"TimeCreated", "TimeGenerated", "@timestamp", "EventTime", "timestamp"} {
		if t := parseTime(firstString(m, k)); !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func parseTime(s string) time.Time { return xmlevent.ParseTime(s) }

// attr reads an XML attribute from an evtx_dump value ({"#attributes": {name: v}}) or
// a Velocidex-style value ({name: v}).
func attr(v any, name string) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if a, ok := m["#attributes"].(map[string]any); ok {
		if s := text(a[name]); s != "" {
			return s
		}
	}
	return text(m[name])
}

// text renders a JSON value as XML text: strings as they are, numbers exactly as
// written, objects by their "#text"/"Value" member, nil as "".
func text(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	case map[string]any:
		for _, k := range []string{"#text", "Value", "value"} {
			if inner, ok := t[k]; ok {
				return text(inner)
			}
		}
		b, _ := json.Marshal(t)
		return string(b)
	case []any:
		parts := make([]string, len(t))
		for i, p := range t {
			parts[i] = text(p)
		}
		return strings.Join(parts, "\n")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if v, ok := m[k]; ok && v != nil {
			if s := text(v); s != "" {
				return s
			}
		}
	}
	return ""
}
