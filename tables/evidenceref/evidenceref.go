// Package evidenceref is the contract of the event tables' "evidence" column: where
// the events a row shows are in the evidence (file, format, place in the file,
// channel, event record id), as JSON. The event tables encode it; `exechunt scan`,
// the evaluations and anything else that maps a row back to its events decode it
// here, so both sides read the same fields the same way.
//
// A process creation's column is one object:
//
//	{"file":"Sysmon.evtx","format":"evtx","locator":"chunk 3 record 17","channel":"Microsoft-Windows-Sysmon/Operational","event_record_id":4021}
//
// A script block's is a list of its parts, in message order:
//
//	[{"message_number":1,"file":"PowerShell.evtx","locator":"chunk 0 record 5","event_record_id":88}, …]
package evidenceref

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Part is where one event is. Format and Channel are left out of the JSON when
// unknown (script-block parts carry neither); MessageNumber is a script-block part's
// number within its block (0, and left out, for a single event).
type Part struct {
	MessageNumber int    `json:"message_number,omitempty"`
	File          string `json:"file"`
	Format        string `json:"format,omitempty"`
	Locator       string `json:"locator"`
	Channel       string `json:"channel,omitempty"`
	EventRecordID uint64 `json:"event_record_id"`
}

// Encode renders one event's place: the object form of the column.
func Encode(p Part) string { return marshal(p) }

// EncodeList renders the places of several events (a script block's parts): the
// list form of the column.
func EncodeList(ps []Part) string {
	if ps == nil {
		ps = []Part{}
	}
	return marshal(ps)
}

func marshal(v any) string {
	b, _ := json.Marshal(v) // strings and numbers: never fails
	return string(b)
}

// Decode reads a column in either form. An empty column (a row of a table without
// one) is no parts and no error.
func Decode(s string) ([]Part, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, nil
	case s[0] == '{':
		var p Part
		if err := json.Unmarshal([]byte(s), &p); err != nil {
			return nil, fmt.Errorf("evidence column: %w", err)
		}
		return []Part{p}, nil
	case s[0] == '[':
		var ps []Part
		if err := json.Unmarshal([]byte(s), &ps); err != nil {
			return nil, fmt.Errorf("evidence column: %w", err)
		}
		return ps, nil
	}
	return nil, fmt.Errorf("evidence column: want a JSON object or list, got %.20q", s)
}

// Ref is the short form of a row's evidence that findings carry: the file and
// locator of its first event, and the record id of each event that has one
// (several for a script block made of several events).
type Ref struct {
	File           string   `json:"file,omitempty"`
	Locator        string   `json:"locator,omitempty"`
	EventRecordIDs []uint64 `json:"event_record_ids,omitempty"`
}

// RefOf summarises the parts of a column.
func RefOf(ps []Part) Ref {
	var r Ref
	for _, p := range ps {
		if r.File == "" {
			r.File, r.Locator = p.File, p.Locator
		}
		if p.EventRecordID != 0 {
			r.EventRecordIDs = append(r.EventRecordIDs, p.EventRecordID)
		}
	}
	return r
}

// IDs renders the event record ids joined by sep.
func (r Ref) IDs(sep string) string {
	ids := make([]string, len(r.EventRecordIDs))
	for i, id := range r.EventRecordIDs {
		ids[i] = strconv.FormatUint(id, 10)
	}
	return strings.Join(ids, sep)
}

// String renders the ref as "file #id,id" ("-" without a file).
func (r Ref) String() string {
	switch {
	case r.File == "":
		return "-"
	case len(r.EventRecordIDs) == 0:
		return r.File
	}
	return r.File + " #" + r.IDs(",")
}
